//! Passing fds over unix sockets (SCM_RIGHTS), as runc does for the console.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

use super::{Error, Result};

/// Send `fd` over the unix socket `sock`, with `name` as the payload (runc sends the
/// pty's name, and containerd ignores it).
pub fn send_fd(sock: BorrowedFd<'_>, name: &[u8], fd: BorrowedFd<'_>) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(name)];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None).map_err(|e| Error::new("sendmsg", e))?;
    Ok(())
}

/// Receive one fd sent with [`send_fd`]; returns it with the payload.
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<(OwnedFd, Vec<u8>)> {
    let mut buf = vec![0u8; 4096];
    let mut cmsg_space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let (fd, len) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg_space), MsgFlags::MSG_CMSG_CLOEXEC)
            .map_err(|e| Error::new("recvmsg", e))?;
        let mut fd = None;
        for c in msg.cmsgs().map_err(|e| Error::new("recvmsg", e))? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                fd = fds.first().copied();
            }
        }
        (fd, msg.bytes)
    };
    let raw = fd.ok_or(Error::new("recvmsg (no SCM_RIGHTS)", nix::errno::Errno::EBADMSG))?;
    buf.truncate(len);
    // SAFETY: the kernel just installed `raw` in our fd table for this message; nothing
    // else in the process knows it, so the OwnedFd becomes its only owner.
    // JUSTIFICATION: nix returns received fds as RawFd.
    Ok((unsafe { OwnedFd::from_raw_fd(raw) }, buf))
}

/// Take ownership of an fd that nix returned as a RawFd from a call that just
/// created it (open, openat, dup).
pub fn own(fd: std::os::fd::RawFd) -> OwnedFd {
    // SAFETY: callers pass an fd freshly returned by a successful syscall, which no
    // other owner in the process holds.
    // JUSTIFICATION: nix 0.29 returns RawFd from open/openat/dup.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
