//! Passing fds over unix sockets (SCM_RIGHTS), as runc does for the console.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};

use nix::NixPath;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::pty::PtyMaster;
use nix::sys::stat::Mode;

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

use super::{Error, Result};

/// Send `fd` over the unix socket `sock`, with `name` as the payload (runc sends the
/// pty's name, and containerd ignores it).
pub fn send_fd(sock: BorrowedFd<'_>, name: &[u8], fd: BorrowedFd<'_>) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(name)];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    // MSG_NOSIGNAL: a peer that went away is an EPIPE to report, not a SIGPIPE.
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None).map_err(|e| Error::new("sendmsg", e))?;
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
    let raw = fd.ok_or(Error::new("recvmsg (no SCM_RIGHTS)", Errno::EBADMSG))?;
    buf.truncate(len);
    // SAFETY: the kernel just installed `raw` in our fd table for this message; nothing
    // else in the process knows it, so the OwnedFd becomes its only owner.
    // JUSTIFICATION: nix returns received fds as RawFd.
    Ok((unsafe { OwnedFd::from_raw_fd(raw) }, buf))
}

/// open(2), the fd returned owned. The errno is nix's, so callers add the path.
pub fn open<P: ?Sized + NixPath>(path: &P, flags: OFlag, mode: Mode) -> std::result::Result<OwnedFd, Errno> {
    let fd = nix::fcntl::open(path, flags, mode)?;
    // SAFETY: `fd` was just returned by a successful open(2) in this call; no other
    // owner in the process knows the number, so the OwnedFd becomes its only owner.
    // JUSTIFICATION: nix 0.29 returns RawFd from open.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The fd of a pty master, owned. `PtyMaster` owns its fd and `into_raw_fd` gives
/// that ownership up, so nothing else closes it.
pub fn from_pty_master(master: PtyMaster) -> OwnedFd {
    let fd = master.into_raw_fd();
    // SAFETY: `into_raw_fd` consumed the only owner of `fd` (the PtyMaster) without
    // closing it; the OwnedFd takes that ownership over.
    // JUSTIFICATION: nix 0.29's PtyMaster converts to RawFd, not OwnedFd.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
