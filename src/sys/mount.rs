//! Mount-related syscalls nix 0.29 lacks: openat2 (to resolve paths inside a root
//! without leaving it), mount_setattr (recursive attributes, idmaps), and
//! open_tree/move_mount (detached copies of a tree, attached elsewhere later).

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use super::{Error, Result};

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
            // SAFETY: openat2 succeeded, so `ret` is a new fd in our table that no
            // other owner knows; the OwnedFd becomes its only owner.
            return Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) });
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
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
/// The atime mode is a 3-valued field, not a flag: RELATIME is its zero value.
pub const MOUNT_ATTR_ATIME_MASK: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x00;

/// open_tree(2) flags.
pub const OPEN_TREE_CLONE: u32 = 1;
pub const AT_RECURSIVE: u32 = 0x8000;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount at `path` (an fd path such as /proc/self/fd/N
/// works): set and clear MOUNT_ATTR_* on it, or with `recursive` (AT_RECURSIVE)
/// on the whole tree.
pub fn mount_setattr(path: &Path, set: u64, clear: u64, recursive: bool) -> Result<()> {
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
            if recursive { libc::AT_RECURSIVE as libc::c_uint } else { 0 },
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret == -1 {
        return Err(Error::with_path("mount_setattr", path, Errno::last()));
    }
    Ok(())
}

/// mount_setattr(2) with MOUNT_ATTR_IDMAP on the detached tree `tree` (from
/// [`open_tree_clone`]): its files' ids are shown through the mappings of the user
/// namespace `userns`. `recursive` applies it to every mount of the tree. The
/// kernel allows this only on a mount not yet attached anywhere.
pub fn mount_setattr_idmap(tree: BorrowedFd<'_>, userns: BorrowedFd<'_>, recursive: bool) -> Result<()> {
    let attr =
        MountAttr { attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: 0, userns_fd: userns.as_raw_fd() as u64 };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: the path is a static empty NUL-terminated string (AT_EMPTY_PATH makes
    // the call act on `tree` itself), `attr` is a fully initialised mount_attr alive
    // for the call and its size is passed; both fds are live borrowed fds.
    // JUSTIFICATION: nix 0.29 has no mount_setattr.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret == -1 {
        return Err(Error::new("mount_setattr MOUNT_ATTR_IDMAP", Errno::last()));
    }
    Ok(())
}

/// open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount at `path`
/// (with every mount under it when `recursive`), as an fd that keeps it alive
/// until it is attached with [`move_mount_to`] or closed.
pub fn open_tree_clone(path: &Path, recursive: bool) -> Result<OwnedFd> {
    let cpath =
        CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::with_path("open_tree", path, Errno::EINVAL))?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: `cpath` is NUL-terminated and alive for the call; open_tree reads
    // nothing else from us. The returned fd is new and owned by nobody else.
    // JUSTIFICATION: nix 0.29 has no open_tree.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, cpath.as_ptr(), flags) };
    if ret < 0 {
        return Err(Error::with_path("open_tree", path, Errno::last()));
    }
    // SAFETY: open_tree succeeded, so `ret` is a new fd in our table that no other
    // owner knows; the OwnedFd becomes its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

/// move_mount(2): attach the detached tree `tree` on the opened mount point
/// `target` (both given as fds, so no path is looked up again).
pub fn move_mount_to(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: both paths are the same static empty NUL-terminated string (the
    // EMPTY_PATH flags make the fds themselves source and target); both fds are
    // live borrowed fds.
    // JUSTIFICATION: nix 0.29 has no move_mount.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if ret == -1 {
        return Err(Error::new("move_mount", Errno::last()));
    }
    Ok(())
}
