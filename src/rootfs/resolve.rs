//! Paths inside the rootfs, resolved without ever leaving it: every lookup goes
//! through openat2(RESOLVE_IN_ROOT), so a symlink to `/` or a chain of `..` in an
//! image lands inside the rootfs (CVE-2021-30465 and its relatives). Mounts go onto
//! `/proc/self/fd/N` of the opened target, so a swap after the check cannot move
//! them.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::sys::{self, mount as sm};

const RESOLVE: u64 = sm::RESOLVE_IN_ROOT | sm::RESOLVE_NO_MAGICLINKS;

/// The rootfs, opened once.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
    /// The root's (st_dev, st_ino), read once: every target is checked against it.
    id: (u64, u64),
}

/// What to create when the target is missing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

impl Root {
    pub fn open(path: &Path) -> Result<Root, sys::Error> {
        let fd = sys::fd::open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| sys::Error::with_path("open rootfs", path, e))?;
        let id = identity(&fd)?;
        Ok(Root { fd, path: path.to_path_buf(), id })
    }

    /// Open `inside` as an O_PATH handle without following its last component:
    /// a symlink there is returned as itself.
    pub fn open_nofollow(&self, inside: &Path) -> Result<OwnedFd, sys::Error> {
        sm::openat2(self.fd.as_fd(), &relative(inside), libc::O_PATH | libc::O_NOFOLLOW, 0, RESOLVE)
    }

    /// Open `inside` as an O_PATH handle without following any symlink on the way.
    pub fn open_no_symlinks(&self, inside: &Path) -> Result<OwnedFd, sys::Error> {
        let resolve = sm::RESOLVE_IN_ROOT | sm::RESOLVE_NO_SYMLINKS;
        sm::openat2(self.fd.as_fd(), &relative(inside), libc::O_PATH | libc::O_NOFOLLOW, 0, resolve)
    }

    /// Whether an opened target is the rootfs root itself.
    pub fn is_same(&self, target: &OwnedFd) -> Result<bool, sys::Error> {
        Ok(identity(target)? == self.id)
    }

    /// Where an opened object sits, as a path inside the rootfs (from its
    /// /proc/self/fd link); None if it is not under the rootfs.
    pub fn inside(&self, fd: &OwnedFd) -> Option<PathBuf> {
        let real = std::fs::read_link(proc_fd(fd)).ok()?;
        let rel = real.strip_prefix(&self.path).ok()?;
        Some(Path::new("/").join(rel))
    }

    /// Open `inside` (absolute, relative to the rootfs) as an O_PATH handle.
    pub fn open_path(&self, inside: &Path) -> Result<OwnedFd, sys::Error> {
        sm::openat2(self.fd.as_fd(), &relative(inside), libc::O_PATH, 0, RESOLVE)
    }

    /// Open `inside`, creating missing directories on the way and the last
    /// component as `kind`. Every step is resolved in the root; a dangling
    /// symlink on the way is followed inside the root and its target created
    /// there (as runc's securejoin + MkdirAll do).
    pub fn create(&self, inside: &Path, kind: Kind) -> Result<OwnedFd, sys::Error> {
        let mut want = inside.to_path_buf();
        // Bounded like the kernel's symlink limit, so a loop cannot spin.
        for _ in 0..40 {
            match self.create_once(&want, kind)? {
                Created::Done(fd) => return Ok(fd),
                Created::Retry(next) => want = next,
            }
        }
        Err(sys::Error::with_path("create (too many symlinks)", inside, Errno::ELOOP))
    }

    fn create_once(&self, inside: &Path, kind: Kind) -> Result<Created, sys::Error> {
        if let Ok(fd) = self.open_path(inside) {
            return Ok(Created::Done(fd));
        }
        let rel = relative(inside);
        let comps: Vec<&std::ffi::OsStr> =
            rel.components().filter_map(|c| if let Component::Normal(n) = c { Some(n) } else { None }).collect();
        let (mut dir, first) = self.deepest_start(&comps)?;
        for (i, name) in comps.iter().enumerate().skip(first) {
            let last = i + 1 == comps.len();
            let next = Path::new(name);
            match sm::openat2(dir.as_fd(), next, libc::O_PATH, 0, RESOLVE) {
                Ok(fd) => {
                    dir = fd;
                    continue;
                }
                Err(e) if e.errno == Errno::ENOENT => {}
                Err(e) => return Err(e),
            }
            // The parent is an O_PATH fd: go through its /proc/self/fd link to
            // create the entry in exactly that directory.
            let parent = proc_fd(&dir);
            let target = parent.join(name);
            if let Ok(link) = std::fs::read_link(&target) {
                // A dangling symlink: continue from its target, inside the root.
                let here = std::fs::read_link(&parent)
                    .ok()
                    .and_then(|p| p.strip_prefix(&self.path).ok().map(Path::to_path_buf));
                let base = if link.is_absolute() {
                    PathBuf::from("/")
                } else {
                    PathBuf::from("/").join(here.unwrap_or_default())
                };
                let rest: PathBuf = comps[i + 1..].iter().collect();
                return Ok(Created::Retry(base.join(link).join(rest)));
            }
            if last && kind == Kind::File {
                match sys::fd::open(
                    &target,
                    OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
                    Mode::from_bits_truncate(0o644),
                ) {
                    Ok(fd) => drop(fd),
                    Err(Errno::EEXIST) => {}
                    Err(e) => return Err(sys::Error::with_path("create", inside, e)),
                }
            } else {
                match nix::unistd::mkdir(&target, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(sys::Error::with_path("mkdir", inside, e)),
                }
            }
            dir = sm::openat2(dir.as_fd(), next, libc::O_PATH, 0, RESOLVE)?;
        }
        Ok(Created::Done(dir))
    }
}

impl Root {
    /// Where `create_once` starts its walk: usually only the last component is
    /// missing, so at its parent (resolved in the root, as from the top), else
    /// at the root. Returns the directory and the index of the first component
    /// to walk from it.
    fn deepest_start(&self, comps: &[&std::ffi::OsStr]) -> Result<(OwnedFd, usize), sys::Error> {
        if comps.len() > 1 {
            let parent: PathBuf = comps[..comps.len() - 1].iter().collect();
            if let Ok(fd) = sm::openat2(self.fd.as_fd(), &parent, libc::O_PATH | libc::O_DIRECTORY, 0, RESOLVE) {
                return Ok((fd, comps.len() - 1));
            }
        }
        let fd = sm::openat2(self.fd.as_fd(), Path::new("."), libc::O_PATH | libc::O_DIRECTORY, 0, RESOLVE)?;
        Ok((fd, 0))
    }
}

enum Created {
    Done(OwnedFd),
    Retry(PathBuf),
}

/// The file type of an opened object (fstat, which on an O_NOFOLLOW handle of a
/// symlink describes the symlink itself).
pub fn file_type(fd: &OwnedFd) -> Result<nix::sys::stat::SFlag, sys::Error> {
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|e| sys::Error::new("fstat", e))?;
    Ok(nix::sys::stat::SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT))
}

/// (st_dev, st_ino) of an opened object: fstat on the fd itself (an O_PATH
/// handle opened through its symlinks is the object they lead to), not a lookup
/// of its /proc/self/fd link.
fn identity(fd: &OwnedFd) -> Result<(u64, u64), sys::Error> {
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|e| sys::Error::new("fstat", e))?;
    Ok((st.st_dev, st.st_ino))
}

/// `/proc/self/fd/N` for an fd: the way to name an opened object in mount(2).
pub fn proc_fd(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `/a/b` → `a/b`; `/` → `.`.
fn relative(p: &Path) -> PathBuf {
    let r: PathBuf = p.components().filter(|c| !matches!(c, Component::RootDir)).collect();
    if r.as_os_str().is_empty() { PathBuf::from(".") } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_to_host_root_resolves_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/", dir.path().join("escape")).unwrap();
        std::os::unix::fs::symlink("../../../../..", dir.path().join("up")).unwrap();
        let root = Root::open(dir.path()).unwrap();
        let fd = root.create(Path::new("/escape/etc/target"), Kind::Dir).unwrap();
        let real = std::fs::read_link(proc_fd(&fd)).unwrap();
        assert_eq!(real, dir.path().join("etc/target"));
        let fd = root.create(Path::new("/up/file"), Kind::File).unwrap();
        assert_eq!(std::fs::read_link(proc_fd(&fd)).unwrap(), dir.path().join("file"));
        assert!(dir.path().join("file").is_file());
        // A dangling symlink to a host path is created inside the root.
        std::os::unix::fs::symlink("/host/only/dir", dir.path().join("dangling")).unwrap();
        let fd = root.create(Path::new("/dangling/sub"), Kind::Dir).unwrap();
        assert_eq!(std::fs::read_link(proc_fd(&fd)).unwrap(), dir.path().join("host/only/dir/sub"));
        // A symlink loop is an error, not a hang.
        std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
        assert!(root.create(Path::new("/loop/x"), Kind::Dir).is_err());
    }
}
