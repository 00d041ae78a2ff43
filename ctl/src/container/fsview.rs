//! A container's files as `export` and `cp` see them, whatever its state.
//!
//! - Running (or paused): `cp` goes through `/proc/<pid>/root`, the
//!   container's own view, so its volumes, bind mounts and tmpfs are where
//!   the container sees them (docker mounts the volumes for a copy too);
//!   `export` reads the overlay mounted at `containers/<id>/rootfs`, which
//!   holds no mounts of the container.
//! - Stopped or never started: the overlay is mounted — read-only as
//!   `lowerdir=upper:lowers…` for reading, with its upper and work dirs for
//!   `cp` into it — with the volumes and bind mounts on top, in a private
//!   mount namespace of a scoped thread. The namespace dies with the thread,
//!   so nothing stays mounted whatever happens, and nothing is seen from the
//!   host meanwhile.
//!
//! Paths inside are resolved by the caller with openat2 `RESOLVE_IN_ROOT`
//! against the root fd given to it, so no symlink leads out of the container.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

use super::record::Container;
use super::{Layout, rootfs};
use crate::config::Config;
use crate::sys::fs::{RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2};
use crate::volume::spec::Kind;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ViewError {
    #[error("open {path:?}")]
    Open { path: PathBuf, source: io::Error },
    #[error("private mount namespace")]
    Unshare(#[source] nix::Error),
    #[error("mount {what} on {target:?}")]
    Mount {
        what: String,
        target: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("container has no image layers")]
    NoLayers,
    #[error("mount namespace thread panicked")]
    Panicked,
}

/// Read only, or writable (`cp` into the container).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

fn open_dir(path: &Path) -> Result<OwnedFd, ViewError> {
    File::open(path).map(OwnedFd::from).map_err(|source| ViewError::Open { path: path.to_path_buf(), source })
}

fn is_up(c: &Container) -> bool {
    (c.state.running || c.state.paused) && c.state.pid > 0
}

/// An O_PATH fd of `path` inside `root` (symlinks resolved inside it).
fn open_in_root(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, crate::sys::SysError> {
    openat2(root, Path::new(path), libc::O_PATH, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
}

/// The path of an open fd, for mount(2), which takes paths only.
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Run `f` on the container's root as its processes see it (volumes and
/// bind mounts included); see the module doc.
pub(crate) fn with_root<T: Send>(
    config: &Config,
    c: &Container,
    access: Access,
    f: impl FnOnce(BorrowedFd<'_>) -> T + Send,
) -> Result<T, ViewError> {
    if is_up(c) {
        let root = open_dir(&PathBuf::from(format!("/proc/{}/root", c.state.pid)))?;
        return Ok(f(root.as_fd()));
    }
    in_private_mounts(|| {
        let target = mount_stopped(config, c, access)?;
        let root = open_dir(&target)?;
        mount_volumes(c, root.as_fd(), access)?;
        Ok(f(root.as_fd()))
    })
}

/// Run `f` on the container's root file system alone, no mounts on it
/// (`export`).
pub(crate) fn with_rootfs<T: Send>(
    config: &Config,
    c: &Container,
    f: impl FnOnce(BorrowedFd<'_>) -> T + Send,
) -> Result<T, ViewError> {
    let target = Layout::new(config, &c.id).rootfs();
    if is_up(c) && rootfs::is_mounted(&target) {
        let root = open_dir(&target)?;
        return Ok(f(root.as_fd()));
    }
    in_private_mounts(|| {
        let target = mount_stopped(config, c, Access::Read)?;
        let root = open_dir(&target)?;
        Ok(f(root.as_fd()))
    })
}

/// Run `f` on a scoped thread in a mount namespace of its own, where no
/// mount propagates back to the host's.
fn in_private_mounts<T: Send>(f: impl FnOnce() -> Result<T, ViewError> + Send) -> Result<T, ViewError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            // CLONE_NEWNS implies CLONE_FS: this thread leaves the process's
            // shared root/cwd, and only it changes namespace.
            unshare(CloneFlags::CLONE_NEWNS).map_err(ViewError::Unshare)?;
            mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>).map_err(
                |source| ViewError::Mount { what: "private propagation".into(), target: "/".into(), source },
            )?;
            f()
        })
        .join()
        .unwrap_or(Err(ViewError::Panicked))
    })
}

/// Mount the stopped container's overlay on its rootfs dir (in the private
/// namespace; the host's stays as it is) and return that dir.
fn mount_stopped(config: &Config, c: &Container, access: Access) -> Result<PathBuf, ViewError> {
    if c.lower_dirs.is_empty() {
        return Err(ViewError::NoLayers);
    }
    let layout = Layout::new(config, &c.id);
    let (upper, work, target) = (layout.upper(), layout.work(), layout.rootfs());
    for d in [&upper, &work, &target] {
        std::fs::create_dir_all(d).map_err(|source| ViewError::Open { path: d.clone(), source })?;
    }
    let lowers: Vec<String> = c.lower_dirs.iter().map(|p| p.display().to_string()).collect();
    let (data, flags) = match access {
        // The upper dir as the top lower layer: no work dir is needed, and
        // none is shared with a start of the container meanwhile.
        Access::Read => (format!("lowerdir={}:{}", upper.display(), lowers.join(":")), MsFlags::MS_RDONLY),
        Access::Write => (
            format!("lowerdir={},upperdir={},workdir={}", lowers.join(":"), upper.display(), work.display()),
            MsFlags::empty(),
        ),
    };
    mount(Some("overlay"), &target, Some("overlay"), flags, Some(data.as_str()))
        .map_err(|source| ViewError::Mount { what: "overlay".into(), target: target.clone(), source })?;
    Ok(target)
}

/// Bind the container's volumes and bind mounts where it would see them,
/// read-only as they are for it. A destination missing in the rootfs is
/// skipped (the container never ran with it).
fn mount_volumes(c: &Container, root: BorrowedFd<'_>, access: Access) -> Result<(), ViewError> {
    let mut points: Vec<_> =
        c.mount_points.iter().filter(|m| matches!(m.kind, Kind::Volume | Kind::Bind) && !m.source.is_empty()).collect();
    points.sort_by_key(|m| m.destination.split('/').filter(|s| !s.is_empty()).count());
    for m in points {
        let Ok(dest) = open_in_root(root, &m.destination) else { continue };
        let err = |source| ViewError::Mount { what: m.source.clone(), target: m.destination.clone().into(), source };
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        mount(Some(m.source.as_str()), &fd_path(&dest), None::<&str>, bind, None::<&str>).map_err(err)?;
        if !m.rw || access == Access::Read {
            // The bind now covers the path: opened again, it is the mount's root.
            let top = open_in_root(root, &m.destination)
                .map_err(|e| ViewError::Open { path: m.destination.clone().into(), source: e.errno.into() })?;
            let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            mount(None::<&str>, &fd_path(&top), None::<&str>, flags, None::<&str>).map_err(err)?;
        }
    }
    Ok(())
}

/// A path inside a container, found without leaving it: its parent
/// directory (opened with `RESOLVE_IN_ROOT`) and its name there.
#[derive(Debug)]
pub(crate) struct Located {
    pub parent: OwnedFd,
    pub name: std::ffi::OsString,
    /// The entry itself (not followed); None when it does not exist.
    pub stat: Option<nix::sys::stat::FileStat>,
    /// The path after following symlinks as asked, `/`-rooted.
    pub path: PathBuf,
}

impl Located {
    pub(crate) fn is_dir(&self) -> bool {
        self.stat.is_some_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR)
    }
    pub(crate) fn is_symlink(&self) -> bool {
        self.stat.is_some_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFLNK)
    }
}

/// Clean an in-container path lexically: `/`-rooted, no `.`, `..` stops at `/`.
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Find `path` in the tree at `root`. Its parent must exist (ENOENT
/// otherwise); the entry itself may not. With `follow`, a symlink at the end
/// is followed first ([`follow_path`]).
pub(crate) fn locate(root: BorrowedFd<'_>, path: &Path, follow: bool) -> Result<Located, crate::sys::SysError> {
    let path = if follow { follow_path(root, path) } else { clean(path) };
    let name = path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| ".".into());
    let parent_path = path.parent().unwrap_or(Path::new("/"));
    let parent = open_dir_in(root, parent_path)?;
    let stat =
        nix::sys::stat::fstatat(Some(parent.as_raw_fd()), name.as_os_str(), nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
            .ok();
    Ok(Located { parent, name, stat, path })
}

fn open_dir_in(root: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd, crate::sys::SysError> {
    openat2(root, path, libc::O_RDONLY | libc::O_DIRECTORY, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
}

/// `path` with a symlink at its end followed, its target read as the
/// container would, inside `root`, until the end is no symlink or cannot be
/// looked at (up to 40 links, as the kernel allows): docker's `LinkTarget`,
/// which may name a path that does not exist.
pub(crate) fn follow_path(root: BorrowedFd<'_>, path: &Path) -> PathBuf {
    let mut path = clean(path);
    for _ in 0..40 {
        let (Some(name), Some(parent_path)) = (path.file_name(), path.parent()) else { break };
        let Ok(parent) = open_dir_in(root, parent_path) else { break };
        match nix::fcntl::readlinkat(Some(parent.as_raw_fd()), name) {
            Ok(target) => path = clean(&parent_path.join(target)),
            Err(_) => break,
        }
    }
    path
}
