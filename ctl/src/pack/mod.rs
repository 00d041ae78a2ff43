//! The counterpart of `unpack/`: a directory tree becomes a tar stream, for
//! a layer made from a container's upper dir (`commit`, `build`), `export`
//! and `cp` out of a container.
//!
//! The tree is walked through directory fds only (`openat2` with
//! `O_NOFOLLOW`, `fstatat` with `AT_SYMLINK_NOFOLLOW`), so a symlink — even
//! one a running container swaps in while it is read — is archived as a link
//! and never followed. Names are visited in byte order at every level (as
//! Go's `filepath.Walk`, which docker's archiver uses), so the same tree
//! always gives the same bytes. Entries are written as docker writes them:
//! no entry for the root itself, directories with a trailing `/`, GNU long
//! names, xattrs as PAX `SCHILY.xattr.*` records, hard links inside the tree
//! as link entries, sockets skipped. With [`PackOptions::whiteouts`],
//! overlayfs's markers become the OCI ones (moby's
//! `overlayWhiteoutConverter`): a 0/0 character device `name` is written as
//! an empty file `.wh.name`, a directory with `trusted.overlay.opaque=y` gets
//! a `.wh..wh..opq` entry after its own.

mod changes;
mod header;
mod tree;

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

pub(crate) use changes::changes;

/// What happens to entry times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Times {
    /// As they are on disk (seconds; docker truncates too).
    #[default]
    Keep,
    /// Any time later than this many seconds since the epoch is written as
    /// it (`Clamp(0)` zeroes every time): the same tree gives the same
    /// layer digest whenever it was made (SOURCE_DATE_EPOCH's rule).
    #[cfg_attr(not(test), allow(dead_code))] // build's reproducible layers
    Clamp(i64),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PackOptions {
    /// The tree is an overlayfs upper dir: convert its whiteouts.
    pub whiteouts: bool,
    pub times: Times,
    /// Paths relative to the packed root (`etc/hostname`) left out, with
    /// everything under them; a directory that then holds nothing and is
    /// the parent of one of them is left out too (see [`MOUNT_TARGETS`]).
    pub exclude: Vec<PathBuf>,
    /// Do not descend into another file system (its mount point is written
    /// as an empty directory): `export` of a mounted rootfs.
    pub one_file_system: bool,
}

/// What docker keeps in a container's init layer (below the rw layer, so
/// never part of `diff`, `commit` or a build step): the mount targets the
/// runtime creates when the image lacks them. The same paths in our upper
/// dir are those mount targets.
pub(crate) const MOUNT_TARGETS: &[&str] = &[
    ".dockerenv",
    "dev/console",
    "dev/pts",
    "dev/shm",
    "etc/hostname",
    "etc/hosts",
    "etc/mtab",
    "etc/resolv.conf",
    "proc",
    "sys",
];

impl PackOptions {
    /// For a container's upper dir: whiteouts converted, mount targets left out.
    pub(crate) fn upper_dir(times: Times) -> PackOptions {
        PackOptions {
            whiteouts: true,
            times,
            exclude: MOUNT_TARGETS.iter().map(PathBuf::from).collect(),
            one_file_system: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum PackError {
    #[error("{op} {path:?}")]
    Read { op: &'static str, path: PathBuf, source: io::Error },
    #[error("write archive")]
    Write(#[source] io::Error),
}

/// What was written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackStats {
    pub entries: u64,
    /// Sum of regular file sizes.
    pub bytes: u64,
}

/// Write the contents of the directory `root` (not an entry for `root`
/// itself) as a tar stream to `out`, end-of-archive blocks included.
pub(crate) fn pack_dir(root: BorrowedFd<'_>, out: impl Write, opts: &PackOptions) -> Result<PackStats, PackError> {
    let mut w = tree::Walker::new(out, opts, root)?;
    w.children(root, Path::new(""))?;
    w.finish()
}

/// Write the entry `name` in the directory `parent` (a file, link or a
/// whole directory tree) as `as_name` in the archive (`cp`: the source's base
/// name; an empty `as_name` writes a directory's contents only).
pub(crate) fn pack_entry(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    as_name: &Path,
    out: impl Write,
    opts: &PackOptions,
) -> Result<PackStats, PackError> {
    let mut w = tree::Walker::new(out, opts, parent)?;
    w.entry(parent, name, as_name)?;
    w.finish()
}

#[cfg(test)]
mod tests;
