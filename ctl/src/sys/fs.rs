//! Confined file-system calls: openat2 with `RESOLVE_IN_ROOT` (so `..` and
//! absolute symlinks inside an image stay inside it), and the xattr calls on an
//! fd that nix 0.29 lacks.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use super::SysError;

/// Resolve every component as if `dir` were `/`: `..` stops at it and absolute
/// symlinks restart from it (openat2(2)).
pub(crate) const RESOLVE_IN_ROOT: u64 = 0x10;
/// Refuse /proc magic links (`/proc/self/fd/N`) during resolution.
pub(crate) const RESOLVE_NO_MAGICLINKS: u64 = 0x02;

/// The kernel's `struct open_how` (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn cstring(call: &'static str, path: &Path) -> Result<CString, SysError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| SysError::new(call, path, Errno::EINVAL))
}

/// openat2(2): open `path` relative to `dir` with `flags` (O_CLOEXEC is always
/// added) and `mode`, resolving as `resolve` says.
pub(crate) fn openat2(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> Result<OwnedFd, SysError> {
    let cpath = cstring("openat2", path)?;
    let how = OpenHow { flags: (flags | libc::O_CLOEXEC) as u64, mode: u64::from(mode), resolve };
    loop {
        // SAFETY: `cpath` is NUL-terminated and `how` a fully initialised open_how,
        // both alive for the call, and the size passed is that of `how`; `dir` is a
        // live borrowed fd. A non-negative result is a new fd nobody else owns.
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
            // SAFETY: the kernel just returned this fd to us and nothing else holds it.
            return Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) });
        }
        match Errno::last() {
            // openat2 returns EAGAIN when a concurrent rename raced the lookup.
            Errno::EINTR | Errno::EAGAIN => continue,
            errno => return Err(SysError::new("openat2", path, errno)),
        }
    }
}

/// fsetxattr(2) on an open file or directory (not an O_PATH fd).
pub(crate) fn fsetxattr(fd: BorrowedFd<'_>, name: &str, value: &[u8], what: &Path) -> Result<(), SysError> {
    let cname = CString::new(name).map_err(|_| SysError::new("fsetxattr", what, Errno::EINVAL))?;
    // SAFETY: `cname` is NUL-terminated and `value` is a live slice whose pointer and
    // length are passed together; `fd` is a live borrowed fd. The kernel only reads
    // both buffers.
    // JUSTIFICATION: nix 0.29 has no xattr calls.
    let ret = unsafe { libc::fsetxattr(fd.as_raw_fd(), cname.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if ret < 0 { Err(SysError::new("fsetxattr", what, Errno::last())) } else { Ok(()) }
}

/// fgetxattr(2): the value of `name` on `fd`, or None when it is not set.
pub(crate) fn fgetxattr(fd: BorrowedFd<'_>, name: &str, what: &Path) -> Result<Option<Vec<u8>>, SysError> {
    let cname = CString::new(name).map_err(|_| SysError::new("fgetxattr", what, Errno::EINVAL))?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: `cname` is NUL-terminated; `buf` is a live, writable buffer whose
        // pointer and length are passed together, so the kernel writes within it.
        // JUSTIFICATION: nix 0.29 has no xattr calls.
        let ret = unsafe { libc::fgetxattr(fd.as_raw_fd(), cname.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if ret >= 0 {
            buf.truncate(ret as usize);
            return Ok(Some(buf));
        }
        match Errno::last() {
            Errno::ENODATA => return Ok(None),
            // The value is bigger than the buffer (or grew): the kernel's limit is 64 KiB.
            Errno::ERANGE if buf.len() < XATTR_SIZE_MAX => buf.resize(XATTR_SIZE_MAX, 0),
            errno => return Err(SysError::new("fgetxattr", what, errno)),
        }
    }
}

/// The kernel's limit on one xattr value, and on a file's whole name list.
const XATTR_SIZE_MAX: usize = 65536;

/// flistxattr(2): the names of the xattrs set on `fd` (not an O_PATH fd).
pub(crate) fn flistxattr(fd: BorrowedFd<'_>, what: &Path) -> Result<Vec<String>, SysError> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `buf` is a live, writable buffer whose pointer and length are
        // passed together, so the kernel writes within it; `fd` is a live borrowed fd.
        // JUSTIFICATION: nix 0.29 has no xattr calls.
        let ret = unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if ret >= 0 {
            buf.truncate(ret as usize);
            break;
        }
        match Errno::last() {
            Errno::ERANGE if buf.len() < XATTR_SIZE_MAX => buf.resize(XATTR_SIZE_MAX, 0),
            // The file system has no xattrs at all (some tmpfs, procfs).
            Errno::EOPNOTSUPP => return Ok(Vec::new()),
            errno => return Err(SysError::new("flistxattr", what, errno)),
        }
    }
    Ok(buf.split(|&b| b == 0).filter(|n| !n.is_empty()).map(|n| String::from_utf8_lossy(n).into_owned()).collect())
}
