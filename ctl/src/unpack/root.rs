//! A layer's target directory, through which every path of the layer is
//! reached. Parents are opened with openat2 `RESOLVE_IN_ROOT`, so `..`,
//! absolute symlinks and symlinked parents written by the layer itself all
//! resolve inside the directory; the last component is then created with a
//! `*at` call on that parent fd that never follows a symlink
//! (O_CREAT|O_EXCL, mkdirat, symlinkat, mknodat, linkat). This is the same rule
//! the runtime applies to mount targets (CVE-2021-30465) and what keeps the
//! tar crate's own extraction escapes (RUSTSEC-2021-0080) out of our path.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::Mode;
use nix::unistd::UnlinkatFlags;

use crate::sys::fs::{RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2};

/// A path inside the layer, cleaned: no empty, `.` or `..` components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CleanPath {
    pub parent: PathBuf,
    /// None for the root itself (`./`).
    pub name: Option<OsString>,
}

/// Split a tar path into parent and name. A `..` component is refused rather
/// than resolved: docker calls such an entry a breakout.
pub(super) fn clean(raw: &[u8]) -> Option<CleanPath> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return None,
            c => parts.push(c),
        }
    }
    let name = parts.pop().map(|n| OsStr::from_bytes(n).to_os_string());
    let parent: PathBuf = parts.iter().map(|p| OsStr::from_bytes(p)).collect();
    Some(CleanPath { parent, name })
}

pub(super) struct Root {
    fd: OwnedFd,
    /// The last parent opened, by path: most entries share a directory.
    cached: Option<(PathBuf, OwnedFd)>,
}

const DIR_FLAGS: i32 = libc::O_RDONLY | libc::O_DIRECTORY;

impl Root {
    pub(super) fn open(dir: &Path) -> Result<Root, Errno> {
        let f = File::open(dir).map_err(errno_of)?;
        Ok(Root { fd: OwnedFd::from(f), cached: None })
    }

    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Forget the cached parent: something was removed, and a path that
    /// resolved to it may now resolve elsewhere.
    pub(super) fn invalidate(&mut self) {
        self.cached = None;
    }

    /// Open `parent` (relative to the root, resolved inside it), creating
    /// missing directories 0755 root:root as docker does.
    pub(super) fn parent(&mut self, parent: &Path) -> Result<BorrowedFd<'_>, Errno> {
        let hit = matches!(&self.cached, Some((p, _)) if p == parent);
        if !hit {
            let fd = self.open_or_create_dir(parent)?;
            self.cached = Some((parent.to_path_buf(), fd));
        }
        match &self.cached {
            Some((_, fd)) => Ok(fd.as_fd()),
            None => Err(Errno::ENOENT),
        }
    }

    /// Open a directory inside the root; None when something on the path is missing.
    pub(super) fn open_dir(&self, path: &Path) -> Result<Option<OwnedFd>, Errno> {
        if path.as_os_str().is_empty() {
            return self.fd.try_clone().map(Some).map_err(errno_of);
        }
        match openat2(self.fd.as_fd(), path, DIR_FLAGS, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if e.errno == Errno::ENOENT => Ok(None),
            Err(e) => Err(e.errno),
        }
    }

    /// Create the missing directories of `path`. A component that exists
    /// but cannot be opened as a directory is a symlink whose target is
    /// missing: its target is created instead, inside the root (docker's
    /// FollowSymlinkInScope), with at most 40 such hops as the kernel allows.
    fn open_or_create_dir(&self, path: &Path) -> Result<OwnedFd, Errno> {
        let mut todo = path.to_path_buf();
        for _ in 0..MAX_SYMLINK_HOPS {
            match self.create_dirs(&todo)? {
                Created::Dir(fd) => return Ok(fd),
                Created::Redirect(next) => todo = next,
            }
        }
        Err(Errno::ELOOP)
    }

    fn create_dirs(&self, path: &Path) -> Result<Created, Errno> {
        if let Some(fd) = self.open_dir(path)? {
            return Ok(Created::Dir(fd));
        }
        let comps: Vec<&OsStr> = path.iter().collect();
        let mut dir = self.open_dir(Path::new(""))?.ok_or(Errno::ENOENT)?;
        let mut so_far = PathBuf::new();
        for (i, comp) in comps.iter().enumerate() {
            let next = so_far.join(comp);
            if let Some(fd) = self.open_dir(&next)? {
                (dir, so_far) = (fd, next);
                continue;
            }
            match nix::sys::stat::mkdirat(Some(dir.as_raw_fd()), *comp, Mode::from_bits_truncate(0o755)) {
                Ok(()) => {
                    dir = self.open_dir(&next)?.ok_or(Errno::ENOENT)?;
                    so_far = next;
                }
                Err(Errno::EEXIST) => {
                    let target = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), *comp)?;
                    let target = Path::new(&target);
                    // Resolution of the new path is the kernel's again (openat2
                    // RESOLVE_IN_ROOT), so `..` in the target is handled as it would be.
                    let mut redirected = match target.strip_prefix("/") {
                        Ok(abs) => abs.to_path_buf(),
                        Err(_) => so_far.join(target),
                    };
                    redirected.extend(&comps[i + 1..]);
                    return Ok(Created::Redirect(redirected));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Created::Dir(dir))
    }
}

/// The kernel's limit on symlinks followed in one lookup.
const MAX_SYMLINK_HOPS: usize = 40;

enum Created {
    Dir(OwnedFd),
    Redirect(PathBuf),
}

/// Remove `name` in `dir`, a whole tree if it is a directory. Only fds opened
/// without following symlinks are descended into.
pub(super) fn remove_all(dir: BorrowedFd<'_>, name: &OsStr) -> Result<(), Errno> {
    match nix::unistd::unlinkat(Some(dir.as_raw_fd()), name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => return Ok(()),
        Err(Errno::EISDIR) | Err(Errno::EPERM) => {}
        Err(e) => return Err(e),
    }
    let sub = openat2(dir, Path::new(name), DIR_FLAGS | libc::O_NOFOLLOW, 0, 0).map_err(|e| e.errno)?;
    let names: Vec<OsString> = {
        let mut d = nix::dir::Dir::from_fd(sub.try_clone().map_err(errno_of)?.into_raw_fd())?;
        d.iter()
            .filter_map(Result::ok)
            .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_os_string())
            .filter(|n| n != "." && n != "..")
            .collect()
    };
    for n in names {
        remove_all(sub.as_fd(), &n)?;
    }
    nix::unistd::unlinkat(Some(dir.as_raw_fd()), name, UnlinkatFlags::RemoveDir)
}

pub(super) fn errno_of(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_splits_and_drops_dots() {
        let c = clean(b"./a//b/./c").unwrap();
        assert_eq!(c.parent, PathBuf::from("a/b"));
        assert_eq!(c.name.as_deref(), Some(OsStr::new("c")));
        assert_eq!(clean(b"./").unwrap().name, None);
        assert_eq!(clean(b"/etc/passwd").unwrap().parent, PathBuf::from("etc"));
    }

    #[test]
    fn dotdot_is_refused() {
        assert!(clean(b"../x").is_none());
        assert!(clean(b"a/../../x").is_none());
    }

    #[test]
    fn parents_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("esc")).unwrap();
        let mut root = Root::open(dir.path()).unwrap();
        let fd = root.parent(Path::new("esc/sub")).unwrap();
        nix::sys::stat::mkdirat(Some(fd.as_raw_fd()), "made", Mode::from_bits_truncate(0o755)).unwrap();
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(dir.path().join(outside.path().strip_prefix("/").unwrap()).join("sub/made").is_dir());
    }
}
