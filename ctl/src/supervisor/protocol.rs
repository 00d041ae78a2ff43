//! The attach socket's wire format, shared by the supervisor and the
//! commands that attach (`run`, `attach`, `start -a`): frames of
//! `[kind, 0, 0, 0, length (u32 big-endian)]` then the payload, as docker's
//! multiplexed stream, with kinds for stdin, resize, close and exit. The
//! supervisor binary includes this file too (`supervise/main.rs`).

use std::io::{self, Write};

pub(crate) const STDIN: u8 = 0;
pub(crate) const STDOUT: u8 = 1;
pub(crate) const STDERR: u8 = 2;
/// Supervisor → client: the container exited; payload is the status in decimal
/// (followed by " oom-killed" for the client that claimed the exit, when so).
pub(crate) const EXIT: u8 = 3;
/// Client → supervisor: "rows cols".
pub(crate) const RESIZE: u8 = 4;
/// Client → supervisor: no more stdin.
pub(crate) const CLOSE_STDIN: u8 = 5;
/// Client → supervisor, first frame: which streams it wants, e.g. "stdin,stdout,stderr";
/// the word "exit-hook" claims the exit: the supervisor sends this client EXIT
/// first and lets it record the exit in place of `berthctl __hook exited`.
pub(crate) const HELLO: u8 = 6;
/// Client → supervisor, after EXIT to the client that claimed the exit: what
/// its record of the exit decided, "restart" or "done".
pub(crate) const EXIT_DONE: u8 = 7;
/// The hello word that claims the exit.
pub(crate) const CLAIM_EXIT: &str = "exit-hook";
/// After the status in the EXIT to the client that claimed the exit: the
/// OOM killer struck in the container's cgroup.
pub(crate) const OOM_KILLED: &str = "oom-killed";

const HEADER: usize = 8;
/// A frame larger than this is a protocol error, not an allocation.
const MAX_FRAME: usize = 1 << 20;

pub(crate) fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| io::Error::other("frame too large"))?;
    let mut buf = Vec::with_capacity(HEADER + payload.len());
    buf.extend_from_slice(&[kind, 0, 0, 0]);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf)
}

/// Reassembles frames from bytes as they arrive.
#[derive(Debug, Default)]
pub(crate) struct FrameReader {
    buf: Vec<u8>,
    closed: bool,
}

impl FrameReader {
    /// A reader whose peer has gone: nothing more will arrive.
    #[allow(dead_code)] // only the supervisor (which includes this file) uses it
    pub(crate) fn closed() -> FrameReader {
        FrameReader { buf: Vec::new(), closed: true }
    }

    #[allow(dead_code)] // only the supervisor (which includes this file) uses it
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if one has arrived.
    pub(crate) fn next_frame(&mut self) -> io::Result<Option<(u8, Vec<u8>)>> {
        if self.buf.len() < HEADER {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("attach frame of {len} bytes")));
        }
        if self.buf.len() < HEADER + len {
            return Ok(None);
        }
        let kind = self.buf[0];
        let payload = self.buf[HEADER..HEADER + len].to_vec();
        self.buf.drain(..HEADER + len);
        Ok(Some((kind, payload)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_being_split() {
        let mut wire = Vec::new();
        write_frame(&mut wire, STDOUT, b"hello").unwrap();
        write_frame(&mut wire, EXIT, b"3").unwrap();
        let mut r = FrameReader::default();
        r.feed(&wire[..3]);
        assert!(r.next_frame().unwrap().is_none());
        r.feed(&wire[3..]);
        assert_eq!(r.next_frame().unwrap(), Some((STDOUT, b"hello".to_vec())));
        assert_eq!(r.next_frame().unwrap(), Some((EXIT, b"3".to_vec())));
        assert_eq!(r.next_frame().unwrap(), None);
    }
}
