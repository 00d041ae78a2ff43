//! Apply one layer tar to an empty snapshot directory, safely. The `tar` crate
//! only parses; every file is created by `root.rs` through a parent fd opened
//! inside the directory (openat2 `RESOLVE_IN_ROOT`), so no entry can write
//! outside it whatever its path, symlinks or hard links say. Whiteouts become
//! what overlayfs reads: `.wh.name` a 0/0 character device `name`,
//! `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on its directory.
//! Owners, modes (setuid included, set after chown), xattrs and times are
//! kept; holes in files are kept as holes.

mod entry;
mod root;

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

pub(crate) use entry::read_full;
use root::Root;

/// The prefix of a whiteout entry, and the opaque-directory marker (AUFS's
/// names, which OCI image-spec layer.md adopted).
const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

#[derive(Debug, thiserror::Error)]
pub(crate) enum UnpackError {
    #[error("read layer tar")]
    Read(#[source] io::Error),
    #[error("open layer root {path:?}")]
    Root { path: PathBuf, source: io::Error },
    #[error("entry {path:?}: path leaves the layer root")]
    Escape { path: String },
    #[error("entry {path:?}: {op}")]
    Entry { path: String, op: &'static str, source: io::Error },
    #[error("entry {path:?}: unsupported entry type {kind:?}")]
    Unsupported { path: String, kind: u8 },
}

/// What was applied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnpackStats {
    pub entries: u64,
    /// Sum of regular file sizes: the layer's size as docker counts it.
    pub bytes: u64,
}

/// How an archive that is not an image layer is applied (`cp` into a
/// container or out of one).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UnpackOptions {
    /// `.wh.` names are plain files of that name, not whiteouts.
    pub literal_names: bool,
    /// Every entry is owned by this uid/gid rather than the archive's
    /// (docker cp: the container's root going in without `-a`, the caller
    /// coming out).
    pub owner: Option<(u32, u32)>,
}

/// Apply the uncompressed tar stream `layer` onto `dir`. The caller owns
/// making `dir` durable (the snapshot syncs the file system once at the end).
pub(crate) fn unpack(layer: impl Read, dir: &Path) -> Result<UnpackStats, UnpackError> {
    unpack_with(layer, dir, &UnpackOptions::default())
}

/// [`unpack`], with `opts`.
pub(crate) fn unpack_with(layer: impl Read, dir: &Path, opts: &UnpackOptions) -> Result<UnpackStats, UnpackError> {
    let mut root = Root::open(dir).map_err(|e| UnpackError::Root { path: dir.to_path_buf(), source: e.into() })?;
    let mut archive = tar::Archive::new(layer);
    let mut stats = UnpackStats::default();
    let mut dir_times = Vec::new();
    for e in archive.entries().map_err(UnpackError::Read)? {
        let mut e = e.map_err(UnpackError::Read)?;
        let raw = e.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let path = root::clean(&raw).ok_or_else(|| UnpackError::Escape { path: shown.clone() })?;
        let fail = |op: &'static str| {
            let path = shown.clone();
            move |errno: Errno| UnpackError::Entry { path, op, source: errno.into() }
        };
        if let Some(name) = path
            .name
            .as_ref()
            .and_then(|n| n.to_str())
            .filter(|n| n.starts_with(WHITEOUT_PREFIX) && !opts.literal_names)
        {
            let name = name.to_string();
            entry::whiteout(&mut root, &path.parent, &name).map_err(fail("whiteout"))?;
            stats.entries += 1;
            continue;
        }
        let mut meta = entry::Meta::read(&mut e).map_err(UnpackError::Read)?;
        if let Some((uid, gid)) = opts.owner {
            meta.set_owner(uid, gid);
        }
        let kind = e.header().entry_type();
        let created = entry::create(&mut root, &path, &meta, kind, &mut e);
        match created {
            Ok(entry::Created::Dir(mtime)) => dir_times.push((path, mtime)),
            Ok(entry::Created::File(n)) => stats.bytes += n,
            Ok(entry::Created::Other) => {}
            Err(entry::CreateError::Sys(op, errno)) => return Err(fail(op)(errno)),
            Err(entry::CreateError::Read(err)) => return Err(UnpackError::Read(err)),
            Err(entry::CreateError::Unsupported) => {
                return Err(UnpackError::Unsupported { path: shown, kind: kind.as_byte() });
            }
        }
        stats.entries += 1;
    }
    // Directory times last: creating children changed them.
    for (path, mtime) in dir_times {
        entry::set_dir_time(&root, &path, mtime).map_err(|errno| UnpackError::Entry {
            path: path.parent.join(path.name.unwrap_or_default()).display().to_string(),
            op: "set times",
            source: errno.into(),
        })?;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests;
