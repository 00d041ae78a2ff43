//! `diff`: what a container's upper dir changed over its image, by moby's
//! rules (`archive.OverlayChanges`, pkg/archive/changes.go): a 0/0
//! character device is a deletion, an opaque directory that exists below is
//! a deletion too; anything else is a modification when some lower layer has
//! the path and an addition when none does. A directory that only holds
//! changes (same mode, size and time as below) is not listed itself, but the
//! parent of an addition or deletion always is. Paths come in walk order
//! (names in byte order at each level), as docker prints them.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::AtFlags;
use nix::sys::stat::{FileStat, SFlag, fstatat};

use super::PackError;
use super::tree::{sorted_names, xattrs_of};
use crate::sys::fs::openat2;

/// Refuse any symlink on the way to a lower layer's entry.
const RESOLVE_NO_SYMLINKS: u64 = 0x04;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Modify,
    Add,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// Absolute in the container: `/etc/passwd`.
    pub path: PathBuf,
    pub kind: ChangeKind,
}

impl fmt::Display for Change {
    /// docker's line: `C /etc`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = match self.kind {
            ChangeKind::Modify => 'C',
            ChangeKind::Add => 'A',
            ChangeKind::Delete => 'D',
        };
        write!(f, "{k} {}", self.path.display())
    }
}

struct Walk<'a> {
    lowers: Vec<OwnedFd>,
    exclude: &'a [PathBuf],
    changed_dirs: HashSet<PathBuf>,
    out: Vec<Change>,
}

fn err(op: &'static str, at: &Path) -> impl FnOnce(nix::Error) -> PackError + use<> {
    let path = at.to_path_buf();
    move |e| PackError::Read { op, path, source: e.into() }
}

/// The changes in `upper` over `lowers` (any order); `exclude` as
/// [`super::PackOptions::exclude`] (paths relative to the root).
pub(crate) fn changes(upper: &Path, lowers: &[PathBuf], exclude: &[PathBuf]) -> Result<Vec<Change>, PackError> {
    let open = |p: &Path| {
        std::fs::File::open(p).map(OwnedFd::from).map_err(|source| PackError::Read {
            op: "open",
            path: p.to_path_buf(),
            source,
        })
    };
    let root = open(upper)?;
    let lowers = lowers.iter().map(|l| open(l)).collect::<Result<Vec<_>, _>>()?;
    let mut w = Walk { lowers, exclude, changed_dirs: HashSet::new(), out: Vec::new() };
    w.dir(root.as_fd(), Path::new(""))?;
    Ok(w.out)
}

impl Walk<'_> {
    fn dir(&mut self, dir: BorrowedFd<'_>, at: &Path) -> Result<(), PackError> {
        for name in sorted_names(dir).map_err(err("read dir", at))? {
            let rel = at.join(&name);
            if self.exclude.iter().any(|x| x == &rel) {
                continue;
            }
            let st = fstatat(Some(dir.as_raw_fd()), name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(err("stat", &rel))?;
            let is_dir = kind(&st) == SFlag::S_IFDIR;
            let sub = if is_dir {
                let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
                Some(openat2(dir, Path::new(&name), flags, 0, 0).map_err(|e| err("open dir", &rel)(e.errno))?)
            } else {
                None
            };
            self.entry(&rel, &st, sub.as_ref().map(|f| f.as_fd()))?;
            if let Some(sub) = sub {
                self.dir(sub.as_fd(), &rel)?;
            }
        }
        Ok(())
    }

    fn entry(&mut self, rel: &Path, st: &FileStat, dir: Option<BorrowedFd<'_>>) -> Result<(), PackError> {
        let path = Path::new("/").join(rel);
        let kind = if kind(st) == SFlag::S_IFCHR && st.st_rdev == 0 {
            ChangeKind::Delete
        } else if let Some(fd) = dir
            && xattrs_of(fd, rel)?.iter().any(|(k, v)| k == "trusted.overlay.opaque" && v == b"y")
            && self.below(rel).is_some()
        {
            ChangeKind::Delete
        } else {
            match self.below(rel) {
                None => ChangeKind::Add,
                Some(low) => {
                    let holds_excluded = self.exclude.iter().any(|x| x.starts_with(rel));
                    if dir.is_some() && kind(&low) == SFlag::S_IFDIR && (holds_excluded || same_dir(st, &low)) {
                        // Listed only as the parent of an addition or deletion.
                        return Ok(());
                    }
                    ChangeKind::Modify
                }
            }
        };
        if dir.is_some() {
            self.changed_dirs.insert(path.clone());
        }
        if matches!(kind, ChangeKind::Add | ChangeKind::Delete)
            && let Some(parent) = path.parent().filter(|p| *p != Path::new("/"))
            && self.changed_dirs.insert(parent.to_path_buf())
        {
            self.out.push(Change { path: parent.to_path_buf(), kind: ChangeKind::Modify });
        }
        self.out.push(Change { path, kind });
        Ok(())
    }

    /// The entry at `rel` in the first lower layer that has it (no symlink
    /// followed on the way).
    fn below(&self, rel: &Path) -> Option<FileStat> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        let name = rel.file_name().unwrap_or(OsStr::new("."));
        self.lowers.iter().find_map(|l| {
            let p = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
            let d = openat2(l.as_fd(), p, libc::O_PATH | libc::O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS).ok()?;
            fstatat(Some(d.as_raw_fd()), name.as_bytes(), AtFlags::AT_SYMLINK_NOFOLLOW).ok()
        })
    }
}

fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

/// moby's test for a directory copied up only because of its children:
/// same size, mode and modification time (a zero nanosecond part on either
/// side compares seconds only: `sameFsTime`).
fn same_dir(a: &FileStat, b: &FileStat) -> bool {
    let time = a.st_mtime == b.st_mtime
        && (a.st_mtime_nsec == b.st_mtime_nsec || a.st_mtime_nsec == 0 || b.st_mtime_nsec == 0);
    a.st_size == b.st_size && a.st_mode == b.st_mode && time
}
