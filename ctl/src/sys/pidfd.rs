//! pidfd_open(2): wait for any process's exit without racing pid reuse.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// A pidfd for `pid` (pidfd_open(2)): readable once the process has exited,
/// and immune to pid reuse.
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1;
    // no memory is shared with the kernel.
    // JUSTIFICATION: nix 0.29 has no pidfd_open.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::other("pidfd_open returned an out-of-range fd"))?;
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
