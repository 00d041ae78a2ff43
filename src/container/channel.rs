//! The socketpair between `create` and the container's init: small typed messages,
//! one per SOCK_SEQPACKET datagram, so a message is never split or merged.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair};
use serde::{Deserialize, Serialize};

use crate::sys;

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// parent → init: uid/gid maps written, cgroup joined; go on.
    Go,
    /// init → parent: the pid of init when joining a pid namespace forced a fork.
    Pid(i32),
    /// init → parent: mounts done, run prestart/createRuntime hooks now.
    MountsReady,
    /// parent → init: hooks done, go on to createContainer hooks and pivot_root.
    HooksDone,
    /// init → parent: everything is set up; init now waits on the exec fifo.
    Ready,
    /// init → parent: setup failed; the whole error chain as text.
    Error(String),
}

pub struct Channel {
    fd: OwnedFd,
}

pub fn pair() -> Result<(Channel, Channel), sys::Error> {
    let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(|e| sys::Error::new("socketpair", e))?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    pub fn send(&self, msg: &Msg) -> Result<(), sys::Error> {
        // Serialising these plain enums cannot fail: no maps with non-string keys.
        let data = serde_json::to_vec(msg).unwrap_or_default();
        send(self.fd.as_raw_fd(), &data, MsgFlags::MSG_NOSIGNAL).map_err(|e| sys::Error::new("send", e))?;
        Ok(())
    }

    /// The next message, or None when the other side closed (exited).
    pub fn recv(&self) -> Result<Option<Msg>, sys::Error> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    return serde_json::from_slice(&buf[..n])
                        .map(Some)
                        .map_err(|_| sys::Error::new("recv (bad message)", nix::errno::Errno::EBADMSG));
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(sys::Error::new("recv", e)),
            }
        }
    }
}
