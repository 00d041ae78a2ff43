//! Receiving a descriptor over a unix socket (SCM_RIGHTS).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

/// Receive one descriptor sent with SCM_RIGHTS (the runtime's
/// `--console-socket` protocol: the pty master, with its name as payload).
pub(crate) fn recv_fd(sock: &UnixStream) -> io::Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(io::Error::from)?;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: SCM_RIGHTS installed this descriptor in our table for us
            // alone (MSG_CMSG_CLOEXEC keeps it from children); we take its only
            // ownership. Extra descriptors, if a peer sent more, are closed below.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            for &extra in &fds[1..] {
                // SAFETY: as above, each is ours alone; dropping closes it.
                drop(unsafe { OwnedFd::from_raw_fd(extra) });
            }
            return Ok(owned);
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidData, "no SCM_RIGHTS descriptor in the message"))
}
