//! A container's network namespace as a file: made by a short-lived thread
//! that unshares its network namespace, brings `lo` up and bind-mounts
//! `/proc/thread-self/ns/net` onto `<runroot>/netns/<id>` (the mount keeps
//! the namespace alive after the thread ends, as `ip netns add` does). The
//! runtime joins it by path from config.json; the driver configures it.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

#[derive(Debug, thiserror::Error)]
pub(crate) enum NetnsError {
    #[error("netns {path:?}: {what}")]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> NetnsError {
    let path = path.to_path_buf();
    move |source| NetnsError::Io { path, what, source }
}

/// The netns file of a container.
pub(crate) fn path(runroot: &Path, container_id: &str) -> PathBuf {
    runroot.join("netns").join(container_id)
}

/// Whether `path` is a mounted network namespace (not just the empty file).
pub(crate) fn is_mounted(path: &Path) -> bool {
    let ns = std::fs::metadata(path);
    let dir = path.parent().and_then(|p| std::fs::metadata(p).ok());
    use std::os::unix::fs::MetadataExt;
    matches!((ns, dir), (Ok(ns), Some(dir)) if ns.dev() != dir.dev())
}

/// Create a fresh network namespace bound at `path`, `lo` up. On failure
/// nothing is left at `path`.
pub(crate) fn create(path: &Path) -> Result<(), NetnsError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir, "create directory"))?;
    }
    std::fs::File::options().create(true).truncate(false).write(true).open(path).map_err(io(path, "create file"))?;
    let target = path.to_path_buf();
    // unshare(CLONE_NEWNET) moves only the calling thread: a scoped thread
    // does it so the caller stays in its namespace.
    let made = std::thread::scope(|s| s.spawn(|| bind_new_netns(&target)).join());
    let result = match made {
        Ok(r) => r,
        Err(_) => {
            Err(NetnsError::Io { path: target.clone(), what: "thread", source: std::io::Error::other("panicked") })
        }
    };
    if result.is_err() {
        let _ = umount2(path, MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(path);
    }
    result
}

fn bind_new_netns(target: &Path) -> Result<(), NetnsError> {
    let errno =
        |what| move |e: nix::errno::Errno| NetnsError::Io { path: target.to_path_buf(), what, source: e.into() };
    unshare(CloneFlags::CLONE_NEWNET).map_err(errno("unshare(CLONE_NEWNET)"))?;
    crate::sys::netif::set_loopback_up().map_err(errno("set lo up"))?;
    mount(Some("/proc/thread-self/ns/net"), target, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .map_err(errno("bind mount /proc/thread-self/ns/net"))
}

/// Unmount and remove the netns file; a file already gone is fine.
pub(crate) fn remove(path: &Path) -> Result<(), NetnsError> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(NetnsError::Io { path: path.into(), what: "umount", source: e.into() }),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetnsError::Io { path: path.into(), what: "remove", source: e }),
    }
}
