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
    /// init → parent: mounts done, run prestart/createRuntime hooks now (only
    /// when the config has some: see `InitConfig::runtime_hooks`).
    MountsReady,
    /// parent → init: hooks done, go on to createContainer hooks and pivot_root.
    HooksDone,
    /// init → parent: everything is set up; init now waits on the exec fifo or,
    /// for `run` (no fifo), goes on to execve at once: a failure after this
    /// comes back as `Error`, success as EOF (the channel is CLOEXEC).
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

    /// [`send`](Self::send) with write(2): the last report of a setup process,
    /// which may come after its seccomp filter is loaded, and a strict profile
    /// allows `write` (the program needs it) where it denies `sendto`. A
    /// SOCK_SEQPACKET write is one datagram, as a send is. Only while the other
    /// side holds the channel: without MSG_NOSIGNAL, a write to a closed peer
    /// raises SIGPIPE once the caller's dispositions are reset for execve.
    pub fn write_msg(&self, msg: &Msg) -> Result<(), sys::Error> {
        let data = serde_json::to_vec(msg).unwrap_or_default();
        nix::unistd::write(&self.fd, &data).map_err(|e| sys::Error::new("write", e))?;
        Ok(())
    }

    /// The next message, or None when the other side closed (exited).
    pub fn recv(&self) -> Result<Option<Msg>, sys::Error> {
        loop {
            // The datagram's length first (MSG_TRUNC reports it whole), so the buffer
            // is what the message needs: most are a dozen bytes, an error carrying a
            // hook's output some KiB; a fixed 64 KiB buffer was 16 pages touched per
            // message, in every `create`'s peak RSS.
            let len = match recv(self.fd.as_raw_fd(), &mut [], MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC) {
                Ok(0) => return Ok(None),
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(sys::Error::new("recv", e)),
            };
            let mut buf = vec![0u8; len];
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_any_size_arrive_whole_and_eof_is_none() {
        let (a, b) = pair().unwrap();
        a.send(&Msg::Ready).unwrap();
        let long = "x".repeat(70 * 1024);
        a.send(&Msg::Error(long.clone())).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Msg::Ready));
        assert_eq!(b.recv().unwrap(), Some(Msg::Error(long)));
        a.write_msg(&Msg::Error("after the filter".into())).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Msg::Error("after the filter".into())));
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
    }
}
