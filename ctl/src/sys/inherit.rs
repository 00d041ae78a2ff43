//! Taking ownership of a descriptor a parent left open for us (the
//! supervisor's attach socket, `--attach-fd`).

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
