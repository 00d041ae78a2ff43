//! The supervisor's only `unsafe`: berthctl's own wrappers from `src/sys/`
//! (SCM_RIGHTS for the pty master, the window-size ioctl), shared by path so
//! both binaries run the same reviewed code; and taking the attach socket
//! berthctl passed down.

#[path = "../sys/scm.rs"]
mod scm;
#[path = "../sys/tty.rs"]
// window_size is for berthctl's own terminal; the supervisor only sets sizes.
#[allow(dead_code)]
mod tty;

pub(crate) use scm::recv_fd;
pub(crate) use tty::{WinSize, set_window_size};

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

/// The listening attach socket berthctl left open for us as `fd`
/// (`--attach-fd`), made close-on-exec so the runtime does not inherit it.
pub(crate) fn inherited_listener(fd: RawFd) -> Result<UnixListener, String> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    // Fails (EBADF) unless `fd` is open: checked before we own it.
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|e| format!("attach socket fd {fd}: {e}"))?;
    // SAFETY: `fd` is open (checked just above) and was inherited from
    // berthctl for this purpose; the command line names it once and nothing
    // else in this process opened or owns it, so we take its only ownership.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(UnixListener::from(owned))
}
