//! A container's root filesystem: an overlay of the image's layers (lower,
//! read-only, top first) with the container's own upper and work dirs,
//! mounted at `containers/<id>/rootfs` while it runs and unmounted after.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::{Component, Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

#[derive(Debug, thiserror::Error)]
pub(crate) enum RootfsError {
    #[error("mount overlay on {target:?} (lowerdir {lower} dirs)")]
    Mount {
        target: PathBuf,
        lower: usize,
        #[source]
        source: nix::Error,
    },
    #[error("unmount {target:?}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("create {path:?}")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("container has no image layers")]
    NoLayers,
}

/// Whether something is mounted exactly at `target` (from /proc/self/mountinfo).
pub(crate) fn is_mounted(target: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return false };
    let want = target.to_string_lossy();
    info.lines().any(|l| l.split(' ').nth(4).is_some_and(|mp| unescape(mp) == want))
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

/// Mount the overlay (nothing to do when it is already there, e.g. after a
/// restart). `--read-only` is applied by the runtime (root.readonly).
///
/// `volatile` (for `--rm` containers, whose upper dir is deleted at the
/// exit) mounts with overlayfs' `volatile` option: no sync of the upper
/// filesystem, neither for the container's fsyncs nor at the unmount, where
/// it cost a journal commit of the host's filesystem (3 ms, and 50–260 ms
/// when the disk is busy; bench/RESULTS.md). Kernels before 5.10 refuse the
/// option: the mount is then made without it.
pub(crate) fn mount_overlay(
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    volatile: bool,
) -> Result<(), RootfsError> {
    if lower.is_empty() {
        return Err(RootfsError::NoLayers);
    }
    for dir in [upper, work, target] {
        std::fs::create_dir_all(dir).map_err(|source| RootfsError::Create { path: dir.to_path_buf(), source })?;
    }
    if is_mounted(target) {
        return Ok(());
    }
    let lowers: Vec<String> = lower.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let data = format!("lowerdir={},upperdir={},workdir={}", lowers.join(":"), upper.display(), work.display());
    let mount_with = |data: &str| mount(Some("overlay"), target, Some("overlay"), MsFlags::empty(), Some(data));
    let mounted = if volatile {
        // A volatile mount leaves `work/work/incompat/volatile` behind and
        // the kernel refuses the next mount while it is there (a restart):
        // nothing needs recovering for a container whose upper dir goes away.
        let _ = std::fs::remove_dir_all(work.join("work/incompat/volatile"));
        mount_with(&format!("{data},volatile")).or_else(|e| match e {
            nix::Error::EINVAL => mount_with(&data),
            e => Err(e),
        })
    } else {
        mount_with(&data)
    };
    mounted.map_err(|source| RootfsError::Mount { target: target.to_path_buf(), lower: lower.len(), source })
}

/// Unmount the rootfs if it is mounted (lazily, so a process still holding
/// it open cannot make removal fail).
pub(crate) fn unmount(target: &Path) -> Result<(), RootfsError> {
    if !is_mounted(target) {
        return Ok(());
    }
    umount2(target, MntFlags::MNT_DETACH)
        .map_err(|source| RootfsError::Unmount { target: target.to_path_buf(), source })
}

/// `mkdir -p` of `path` inside `root`, each step resolved in the root so a
/// symlink in the image cannot point the creation outside it.
pub(crate) fn mkdir_in_root(root: &Path, path: &str) -> io::Result<()> {
    let root_dir = File::open(root)?;
    let mut done = PathBuf::from("/");
    for comp in Path::new(path).components() {
        let Component::Normal(name) = comp else { continue };
        let parent = crate::sys::open_dir_in_root(root_dir.as_fd(), &done)?;
        match nix::sys::stat::mkdirat(
            Some(std::os::fd::AsRawFd::as_raw_fd(&parent)),
            name,
            nix::sys::stat::Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) | Err(nix::Error::EEXIST) => {}
            Err(e) => return Err(e.into()),
        }
        done.push(name);
    }
    crate::sys::open_dir_in_root(root_dir.as_fd(), &done).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mkdir_in_root_stays_inside() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).unwrap();
        // The link's target is resolved inside the root, where it does not
        // exist: creation there either fails or lands inside, never outside.
        let made = mkdir_in_root(root.path(), "/escape/app/data");
        assert!(!outside.path().join("app").exists(), "followed a symlink out of the root");
        if made.is_ok() {
            assert!(root.path().join(outside.path().strip_prefix("/").unwrap()).join("app/data").is_dir());
        }
        mkdir_in_root(root.path(), "/srv/www").unwrap();
        assert!(root.path().join("srv/www").is_dir());
    }

    #[test]
    fn mountinfo_unescape() {
        assert_eq!(unescape("/a\\040b"), "/a b");
    }
}
