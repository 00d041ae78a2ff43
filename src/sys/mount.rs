//! Mount-related syscalls nix 0.29 lacks: openat2 (to resolve paths inside a root
//! without leaving it) and mount_setattr (recursive attributes, idmaps).

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use super::{Error, Result};

/// RESOLVE_* flags for [`openat2`].
pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

/// The kernel's `struct open_how` (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(2): open `path` relative to `dir` with `flags`/`mode`, resolving as
/// `resolve` says. With RESOLVE_IN_ROOT, absolute symlinks and `..` stay inside
/// `dir` (CVE-2021-30465).
pub fn openat2(dir: BorrowedFd<'_>, path: &Path, flags: i32, mode: u32, resolve: u64) -> Result<OwnedFd> {
    let cpath =
        CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::with_path("openat2", path, Errno::EINVAL))?;
    let how = OpenHow { flags: (flags | libc::O_CLOEXEC) as u64, mode: mode as u64, resolve };
    loop {
        // SAFETY: `cpath` is a NUL-terminated string and `how` a fully initialised
        // open_how, both alive for the call; the size passed is that of `how`. `dir`
        // is a live borrowed fd. The returned fd is new and owned by nobody else.
        // JUSTIFICATION: nix 0.29 has no openat2.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                cpath.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if ret >= 0 {
            return Ok(super::fd::own(ret as i32));
        }
        match Errno::last() {
            // openat2 asks callers to retry when a rename raced with RESOLVE_IN_ROOT.
            Errno::EAGAIN | Errno::EINTR => continue,
            e => return Err(Error::with_path("openat2", path, e)),
        }
    }
}

pub const MOUNT_ATTR_RDONLY: u64 = 0x01;
pub const MOUNT_ATTR_NOSUID: u64 = 0x02;
pub const MOUNT_ATTR_NODEV: u64 = 0x04;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x08;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount at `path` (an fd path such as /proc/self/fd/N
/// works) with AT_RECURSIVE: set and clear MOUNT_ATTR_* on the whole tree.
pub fn mount_setattr_recursive(path: &Path, set: u64, clear: u64) -> Result<()> {
    let cpath = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::with_path("mount_setattr", path, Errno::EINVAL))?;
    let attr = MountAttr { attr_set: set, attr_clr: clear, propagation: 0, userns_fd: 0 };
    // SAFETY: `cpath` is NUL-terminated and `attr` a fully initialised mount_attr
    // (the kernel's struct layout: four u64), both alive for the call; the size
    // passed is that of `attr`.
    // JUSTIFICATION: nix 0.29 has no mount_setattr.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            cpath.as_ptr(),
            libc::AT_RECURSIVE as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret == -1 {
        return Err(Error::with_path("mount_setattr", path, Errno::last()));
    }
    Ok(())
}
