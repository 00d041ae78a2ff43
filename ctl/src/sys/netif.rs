//! Network interface flags by ioctl, for what a fresh network namespace
//! needs before anything runs in it: its loopback up (runc and crun bring
//! `lo` up only in a namespace they create themselves, not in one given by
//! path, and docker's `--network none` shows `lo` up).

use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

/// Set `IFF_UP` on `lo` in the calling thread's network namespace.
pub(crate) fn set_loopback_up() -> Result<(), Errno> {
    let sock = socket(AddressFamily::Inet, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value (empty name, no flags).
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `sock` is an open socket we own for the whole call; SIOCGIFFLAGS
    // reads the name from and writes the flags into `req`, which lives on our
    // stack and is an ifreq as the ioctl expects.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union just above.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as for SIOCGIFFLAGS; SIOCSIFFLAGS only reads `req`.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) })?;
    Ok(())
}
