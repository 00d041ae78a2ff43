//! Making the rootfs the root: pivot_root as runc does it (no temporary old-root
//! directory), MS_MOVE + chroot for `--no-pivot` (ramdisk roots), or chroot
//! alone for a container that shares the caller's mount namespace.

use std::path::Path;

use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;

use super::RootfsError;
use crate::sys;

fn sys_err<'a>(call: &'static str, path: &'a Path) -> impl FnOnce(nix::errno::Errno) -> RootfsError + 'a {
    move |e| RootfsError::Pivot { source: sys::Error::with_path(call, path, e) }
}

pub(super) fn chroot(rootfs: &Path) -> Result<(), RootfsError> {
    nix::unistd::chdir(rootfs).map_err(sys_err("chdir", rootfs))?;
    nix::unistd::chroot(".").map_err(sys_err("chroot", rootfs))?;
    nix::unistd::chdir("/").map_err(sys_err("chdir", Path::new("/")))
}

pub(super) fn pivot(rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    if no_pivot {
        hide_full_proc_and_sys(rootfs)?;
        nix::unistd::chdir(rootfs).map_err(sys_err("chdir", rootfs))?;
        mount(Some(rootfs), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
            .map_err(sys_err("mount move", rootfs))?;
        nix::unistd::chroot(".").map_err(sys_err("chroot", rootfs))?;
        return nix::unistd::chdir("/").map_err(sys_err("chdir", Path::new("/")));
    }
    let old = sys::fd::open("/", OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(sys_err("open", Path::new("/")))?;
    let new = sys::fd::open(rootfs, OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(sys_err("open", rootfs))?;
    nix::unistd::fchdir(std::os::fd::AsRawFd::as_raw_fd(&new)).map_err(sys_err("fchdir", rootfs))?;
    // pivot_root(".", ".") stacks the old root on top of the new one; unmounting
    // "." afterwards removes it without needing a directory for it in the image.
    nix::unistd::pivot_root(".", ".").map_err(sys_err("pivot_root", rootfs))?;
    nix::unistd::fchdir(std::os::fd::AsRawFd::as_raw_fd(&old)).map_err(sys_err("fchdir", Path::new("old root")))?;
    // Make the old root a slave so the unmount does not propagate to the host.
    mount(None::<&str>, ".", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>)
        .map_err(sys_err("mount rslave", Path::new("old root")))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(sys_err("umount", Path::new("old root")))?;
    nix::unistd::chdir("/").map_err(sys_err("chdir", Path::new("/")))
}

/// Before `--no-pivot`'s chroot, as runc's msMoveRoot: every mount of a whole
/// procfs or sysfs outside the rootfs is unmounted, or, where that is refused
/// (mounts locked by a user namespace), covered with an empty tmpfs. chroot
/// leaves them in the mount namespace, and the kernel lets a process mount a
/// fresh procfs (one without the masked paths) as long as a fully visible one
/// exists there.
fn hide_full_proc_and_sys(rootfs: &Path) -> Result<(), RootfsError> {
    let text = crate::sys::procfs::read("/proc/self/mountinfo").map_err(|source| RootfsError::Io {
        what: "read",
        path: "/proc/self/mountinfo".into(),
        source,
    })?;
    let mut full: Vec<_> = sys::mountinfo::parse(&text)
        .into_iter()
        .filter(|m| m.root == Path::new("/") && (m.fstype == "proc" || m.fstype == "sysfs"))
        .filter(|m| !m.mountpoint.starts_with(rootfs))
        .map(|m| m.mountpoint)
        .collect();
    // Deepest first, so that a parent's unmount does not take a path we still need.
    full.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in &full {
        match mount(None::<&str>, p, None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>) {
            Ok(()) => {}
            // Gone with a parent already unmounted.
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(sys_err("mount rslave", p)(e)),
        }
        match umount2(p, MntFlags::MNT_DETACH) {
            Ok(()) => {}
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::EPERM) => {
                mount(Some("tmpfs"), p, Some("tmpfs"), MsFlags::empty(), None::<&str>)
                    .map_err(sys_err("mount tmpfs over", p))?;
            }
            Err(e) => return Err(sys_err("umount", p)(e)),
        }
    }
    Ok(())
}
