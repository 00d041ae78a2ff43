//! Walking a tree through directory fds and writing each entry (see the
//! module doc of `pack`).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::AtFlags;
use nix::sys::stat::{FileStat, SFlag, fstat, fstatat};
use tar::EntryType;

use super::header::{self, Entry};
use super::{PackError, PackOptions, PackStats, Times};
use crate::sys::fs::{fgetxattr, flistxattr, openat2};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// xattrs never written: overlayfs's own bookkeeping (origin, impure,
/// redirect…; whiteouts are converted instead) and the host's SELinux label.
fn is_skipped_xattr(name: &str) -> bool {
    name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") || name == "security.selinux"
}

pub(super) struct Walker<'a, W: Write> {
    out: W,
    opts: &'a PackOptions,
    /// (dev, ino) of files with more than one link → their first name.
    links: HashMap<(u64, u64), Vec<u8>>,
    stats: PackStats,
    root_dev: u64,
}

fn read_err(op: &'static str, path: &Path) -> impl FnOnce(nix::Error) -> PackError + use<> {
    let path = path.to_path_buf();
    move |e| PackError::Read { op, path, source: e.into() }
}

impl<'a, W: Write> Walker<'a, W> {
    pub(super) fn new(out: W, opts: &'a PackOptions, root: BorrowedFd<'_>) -> Result<Self, PackError> {
        let st = fstat(root.as_raw_fd()).map_err(read_err("stat", Path::new(".")))?;
        Ok(Walker { out, opts, links: HashMap::new(), stats: PackStats::default(), root_dev: st.st_dev })
    }

    pub(super) fn finish(mut self) -> Result<PackStats, PackError> {
        header::finish(&mut self.out).map_err(PackError::Write)?;
        self.out.flush().map_err(PackError::Write)?;
        Ok(self.stats)
    }

    /// Write every child of `dir` (whose archive path is `at`), in byte order.
    pub(super) fn children(&mut self, dir: BorrowedFd<'_>, at: &Path) -> Result<(), PackError> {
        for name in sorted_names(dir).map_err(read_err("read dir", at))? {
            self.entry(dir, &name, &at.join(&name))?;
        }
        Ok(())
    }

    fn is_excluded(&self, at: &Path) -> bool {
        self.opts.exclude.iter().any(|x| at == x)
    }

    /// Whether `at` is a parent of an excluded path.
    fn holds_excluded(&self, at: &Path) -> bool {
        self.opts.exclude.iter().any(|x| x.starts_with(at) && x != at)
    }

    /// Write `name` in `dir` as `at` (empty: a directory's contents only).
    pub(super) fn entry(&mut self, dir: BorrowedFd<'_>, name: &OsStr, at: &Path) -> Result<(), PackError> {
        if self.is_excluded(at) {
            return Ok(());
        }
        let st = fstatat(Some(dir.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(read_err("stat", at))?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        match kind {
            SFlag::S_IFDIR => self.directory(dir, name, at, &st),
            SFlag::S_IFREG => self.regular(dir, name, at, &st),
            SFlag::S_IFLNK => {
                let target = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), name).map_err(read_err("readlink", at))?;
                let e = self.meta(at.as_os_str().as_bytes(), EntryType::Symlink, &st, Some(target.as_bytes()), &[]);
                self.write(&e, io::empty())
            }
            SFlag::S_IFCHR if self.opts.whiteouts && st.st_rdev == 0 => {
                let mut wh = at.parent().map(Path::to_path_buf).unwrap_or_default();
                let mut n = OsString::from(WHITEOUT_PREFIX);
                n.push(name);
                wh.push(n);
                let mut e = self.meta(wh.as_os_str().as_bytes(), EntryType::Regular, &st, None, &[]);
                e.mode = 0o600;
                self.write(&e, io::empty())
            }
            SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
                let t = match kind {
                    SFlag::S_IFCHR => EntryType::Char,
                    SFlag::S_IFBLK => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut e = self.meta(at.as_os_str().as_bytes(), t, &st, None, &[]);
                e.device = (nix::sys::stat::major(st.st_rdev) as u32, nix::sys::stat::minor(st.st_rdev) as u32);
                self.write(&e, io::empty())
            }
            // Sockets (and anything else) are not archived, as docker's archiver skips them.
            _ => Ok(()),
        }
    }

    fn directory(&mut self, dir: BorrowedFd<'_>, name: &OsStr, at: &Path, st: &FileStat) -> Result<(), PackError> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let fd = openat2(dir, Path::new(name), flags, 0, 0).map_err(|e| PackError::Read {
            op: "open dir",
            path: at.to_path_buf(),
            source: e.errno.into(),
        })?;
        if self.holds_excluded(at) && self.is_empty_after_exclusion(fd.as_fd(), at)? {
            return Ok(());
        }
        let xattrs = xattrs_of(fd.as_fd(), at)?;
        let opaque = self.opts.whiteouts && xattrs.iter().any(|(k, v)| k == OPAQUE_XATTR && v == b"y");
        let kept: Vec<(String, Vec<u8>)> = xattrs.into_iter().filter(|(k, _)| !is_skipped_xattr(k)).collect();
        if !at.as_os_str().is_empty() {
            let mut n = at.as_os_str().as_bytes().to_vec();
            n.push(b'/');
            let e = self.meta(&n, EntryType::Directory, st, None, &kept);
            self.write(&e, io::empty())?;
        }
        if opaque {
            let marker = at.join(OPAQUE_MARKER);
            let mut e = self.meta(marker.as_os_str().as_bytes(), EntryType::Regular, st, None, &[]);
            e.mode &= 0o777;
            self.write(&e, io::empty())?;
        }
        if self.opts.one_file_system && st.st_dev != self.root_dev {
            return Ok(());
        }
        self.children(fd.as_fd(), at)
    }

    /// Whether a directory holds nothing but excluded paths (recursively).
    fn is_empty_after_exclusion(&self, dir: BorrowedFd<'_>, at: &Path) -> Result<bool, PackError> {
        for name in sorted_names(dir).map_err(read_err("read dir", at))? {
            let child = at.join(&name);
            if self.is_excluded(&child) {
                continue;
            }
            if !self.holds_excluded(&child) {
                return Ok(false);
            }
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            match openat2(dir, Path::new(&name), flags, 0, 0) {
                Ok(fd) if self.is_empty_after_exclusion(fd.as_fd(), &child)? => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    fn regular(&mut self, dir: BorrowedFd<'_>, name: &OsStr, at: &Path, st: &FileStat) -> Result<(), PackError> {
        let path = at.as_os_str().as_bytes();
        if st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key).cloned() {
                let e = self.meta(path, EntryType::Link, st, Some(&first), &[]);
                return self.write(&e, io::empty());
            }
            self.links.insert(key, path.to_vec());
        }
        // O_NONBLOCK: should a fifo be swapped in after the stat, opening it does not hang.
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
        let fd = openat2(dir, Path::new(name), flags, 0, 0).map_err(|e| PackError::Read {
            op: "open",
            path: at.to_path_buf(),
            source: e.errno.into(),
        })?;
        let st = fstat(fd.as_raw_fd()).map_err(read_err("stat", at))?;
        if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
            // Replaced by something else since the walk saw it: written as it is now next time.
            return Ok(());
        }
        if self.opts.whiteouts && fgetxattr(fd.as_fd(), "trusted.overlay.metacopy", at).ok().flatten().is_some() {
            return Err(PackError::Read {
                op: "read (overlayfs metacopy: the data is in a lower layer)",
                path: at.to_path_buf(),
                source: io::Error::from_raw_os_error(libc::EOPNOTSUPP),
            });
        }
        let xattrs: Vec<_> = xattrs_of(fd.as_fd(), at)?.into_iter().filter(|(k, _)| !is_skipped_xattr(k)).collect();
        let mut e = self.meta(path, EntryType::Regular, &st, None, &xattrs);
        e.size = st.st_size as u64;
        self.stats.bytes += e.size;
        let file = File::from(fd);
        self.write(&e, ReadErr { file })
    }

    fn meta<'e>(
        &self,
        name: &'e [u8],
        kind: EntryType,
        st: &FileStat,
        link: Option<&'e [u8]>,
        xattrs: &'e [(String, Vec<u8>)],
    ) -> Entry<'e> {
        let mtime = match self.opts.times {
            Times::Keep => st.st_mtime,
            Times::Clamp(t) => st.st_mtime.min(t),
        };
        Entry {
            name,
            kind,
            mode: st.st_mode & 0o7777,
            uid: u64::from(st.st_uid),
            gid: u64::from(st.st_gid),
            mtime: mtime.max(0) as u64,
            size: 0,
            link,
            device: (0, 0),
            xattrs,
        }
    }

    fn write(&mut self, e: &Entry<'_>, data: impl io::Read) -> Result<(), PackError> {
        self.stats.entries += 1;
        header::write(&mut self.out, e, data).map_err(|err| {
            // A failed read of the file's data is the file's error, not the archive's.
            if !err.get_ref().is_some_and(|r| r.is::<FileReadError>()) {
                return PackError::Write(err);
            }
            let source = match err.into_inner().map(|b| b.downcast::<FileReadError>()) {
                Some(Ok(f)) => f.0,
                _ => io::Error::other("read failed"),
            };
            PackError::Read { op: "read", path: PathBuf::from(OsStr::from_bytes(e.name)), source }
        })
    }
}

/// A file's reads, their errors marked as the file's (see `write`).
struct ReadErr {
    file: File,
}

#[derive(Debug, thiserror::Error)]
#[error("read")]
struct FileReadError(io::Error);

impl io::Read for ReadErr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(&mut self.file, buf).map_err(|e| io::Error::other(FileReadError(e)))
    }
}

/// The names in a directory (no `.`/`..`), in byte order.
pub(super) fn sorted_names(dir: BorrowedFd<'_>) -> nix::Result<Vec<OsString>> {
    // A new open file description: a dup would share (and leave at the end)
    // the directory offset of `dir`.
    let fd = openat2(dir, Path::new("."), libc::O_RDONLY | libc::O_DIRECTORY, 0, 0).map_err(|e| e.errno)?;
    let mut d = nix::dir::Dir::from_fd(fd.into_raw_fd())?;
    let mut names = Vec::new();
    for e in d.iter() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// Every xattr of an open file or directory, names in byte order.
pub(super) fn xattrs_of(fd: BorrowedFd<'_>, at: &Path) -> Result<Vec<(String, Vec<u8>)>, PackError> {
    let err =
        |e: crate::sys::SysError| PackError::Read { op: "read xattrs", path: at.to_path_buf(), source: e.errno.into() };
    let mut names = flistxattr(fd, at).map_err(err)?;
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        if let Some(v) = fgetxattr(fd, &n, at).map_err(err)? {
            out.push((n, v));
        }
    }
    Ok(out)
}
