//! Making the rootfs the root: pivot_root as runc does it (no temporary old-root
//! directory), or MS_MOVE + chroot for `--no-pivot` (ramdisk roots).

use std::path::Path;

use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;

use super::RootfsError;
use crate::sys;

fn sys_err<'a>(call: &'static str, path: &'a Path) -> impl FnOnce(nix::errno::Errno) -> RootfsError + 'a {
    move |e| RootfsError::Pivot { source: sys::Error::with_path(call, path, e) }
}

pub(super) fn pivot(rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    if no_pivot {
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
