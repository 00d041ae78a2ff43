//! The kernel's process events connector (netlink `NETLINK_CONNECTOR`, group
//! `CN_IDX_PROC`, include/uapi/linux/cn_proc.h): one message per exec and exit
//! of any process on the host, sent as it happens. `start` listens while it
//! releases init, so that it learns whether init reached execve even when a
//! subreaper has reaped init before /proc could be read.
//!
//! The connector works only for a caller in the initial user, pid and network
//! namespaces with CAP_NET_ADMIN; elsewhere [`ProcEvents::subscribe`] fails and
//! the caller does without.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{MsgFlags, NetlinkAddr, bind, recv, send, setsockopt, sockopt};

use super::{Error, Result};

const NETLINK_CONNECTOR: i32 = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_EVENT_NONE: u32 = 0;
const PROC_EVENT_EXEC: u32 = 2;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// struct nlmsghdr (16 bytes) + struct cn_msg (20 bytes).
const HEADERS: usize = 36;
/// struct proc_event: what, cpu, timestamp_ns, then the event's data.
const EVENT_DATA: usize = HEADERS + 16;

/// One event about a process, by its pid (the thread group id) as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcEvent {
    /// It completed an execve.
    Exec { pid: i32 },
    /// It exited: the wait status (`exit_code`, as waitpid's) it left.
    Exit { pid: i32, status: i32 },
}

/// A subscription to the process events connector.
pub struct ProcEvents {
    fd: OwnedFd,
}

impl ProcEvents {
    /// Subscribe, and wait (up to `timeout`) for the kernel to acknowledge it:
    /// without the acknowledgement no event is coming (not the initial
    /// namespaces, no privilege), and that is an error.
    pub fn subscribe(timeout: Duration) -> Result<ProcEvents> {
        // JUSTIFICATION: nix's SockProtocol has no NETLINK_CONNECTOR.
        // SAFETY: socket(2) takes no pointers; the returned fd is checked and then
        // owned by exactly one OwnedFd.
        let raw = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, NETLINK_CONNECTOR) };
        if raw < 0 {
            return Err(Error::new("socket NETLINK_CONNECTOR", Errno::last()));
        }
        // SAFETY: `raw` is a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // Every process's events come in while we listen: room for a burst
        // (best effort; a lost event is reported by `watch`, not missed).
        let _ = setsockopt(&fd, sockopt::RcvBufForce, &(4 << 20));
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, CN_IDX_PROC)).map_err(|e| Error::new("bind proc connector", e))?;
        let mut msg = Vec::with_capacity(HEADERS + 4);
        let len = (HEADERS + 4) as u32;
        msg.extend_from_slice(&len.to_ne_bytes());
        msg.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
        msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
        msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
        msg.extend_from_slice(&std::process::id().to_ne_bytes());
        msg.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        msg.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
        msg.extend_from_slice(&0u32.to_ne_bytes()); // ack
        msg.extend_from_slice(&4u16.to_ne_bytes()); // len of the data
        msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
        msg.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
        send(fd.as_raw_fd(), &msg, MsgFlags::empty()).map_err(|e| Error::new("send proc connector listen", e))?;
        let events = ProcEvents { fd };
        let end = Instant::now() + timeout;
        loop {
            let Some(buf) = events.recv_until(end)? else {
                return Err(Error::new("proc connector: no acknowledgement", Errno::ETIMEDOUT));
            };
            if u32_at(&buf, HEADERS) == Some(PROC_EVENT_NONE) {
                return match u32_at(&buf, EVENT_DATA) {
                    Some(0) | None => Ok(events),
                    Some(err) => Err(Error::new("proc connector listen", Errno::from_raw(err as i32))),
                };
            }
        }
    }

    /// The events about `pid` that arrive until `deadline`, stopping at the first
    /// that decides its fate: its execve or its exit.
    /// Other processes' events are skipped. Lost events (the socket's buffer
    /// overflowed: ENOBUFS) are an error: the caller cannot know what it missed.
    pub fn watch(&self, pid: i32, deadline: Instant) -> Result<Vec<ProcEvent>> {
        let mut seen = Vec::new();
        while let Some(buf) = self.recv_until(deadline)? {
            let (Some(what), Some(tgid)) = (u32_at(&buf, HEADERS), i32_at(&buf, EVENT_DATA + 4)) else { continue };
            if tgid != pid {
                continue;
            }
            match what {
                PROC_EVENT_EXEC => {
                    seen.push(ProcEvent::Exec { pid });
                    break;
                }
                PROC_EVENT_EXIT => {
                    let status = i32_at(&buf, EVENT_DATA + 8).unwrap_or(0);
                    seen.push(ProcEvent::Exit { pid, status });
                    break;
                }
                _ => {}
            }
        }
        Ok(seen)
    }

    /// One message, or None once `deadline` has passed.
    fn recv_until(&self, deadline: Instant) -> Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => {}
                Err(e) => return Err(Error::new("poll proc connector", e)),
            }
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(Some(buf));
                }
                Err(Errno::EAGAIN | Errno::EINTR) => continue,
                Err(e) => return Err(Error::new("recv proc connector", e)),
            }
        }
    }
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(buf: &[u8], at: usize) -> Option<i32> {
    u32_at(buf, at).map(|v| v as i32)
}
