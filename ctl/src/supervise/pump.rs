//! The supervisor's event loop while the container runs: container output
//! to the log and to attached clients, clients' stdin and resizes to the
//! container, new attach connections, and SIGCHLD for the container's exit.
//! After the exit, output is drained until the container's ends close (or
//! for at most a second, when something outside the container holds them).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::launch::ContainerIo;
use crate::logwriter::LogWriter;
use crate::protocol::{self, FrameReader};

const DRAIN: Duration = Duration::from_secs(1);

/// An attached client and the streams it asked for.
pub(crate) struct Client {
    stream: UnixStream,
    reader: FrameReader,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    /// This client records the exit itself (the foreground `run`).
    pub(crate) claims_exit: bool,
}

impl Client {
    /// Take a new connection and read its hello (which streams it wants).
    pub(crate) fn accept(listener: &UnixListener) -> io::Result<Client> {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut reader = FrameReader::default();
        let mut buf = [0u8; 256];
        let hello = loop {
            if let Some((kind, payload)) = reader.next_frame()? {
                if kind != protocol::HELLO {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "attach: first frame is not a hello"));
                }
                break String::from_utf8_lossy(&payload).into_owned();
            }
            let n = stream.try_clone()?.read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "attach: closed before hello"));
            }
            reader.feed(&buf[..n]);
        };
        stream.set_read_timeout(None)?;
        let has = |s: &str| hello.split(',').any(|w| w == s);
        Ok(Client {
            stream,
            reader,
            stdin: has("stdin"),
            stdout: has("stdout"),
            stderr: has("stderr"),
            claims_exit: has(protocol::CLAIM_EXIT),
        })
    }

    fn send(&mut self, kind: u8, data: &[u8]) -> io::Result<()> {
        protocol::write_frame(&mut self.stream, kind, data)
    }

    /// Tell the client the container exited with `code`.
    pub(crate) fn send_exit(&mut self, code: i32) {
        let _ = self.send(protocol::EXIT, code.to_string().as_bytes());
    }

    /// Hand the exit to the client that claimed it: EXIT (the status, and
    /// whether the OOM killer struck, which it records), then its answer
    /// (whether to restart) once it has recorded the exit. None when it went
    /// away or said nothing within `timeout`: the caller runs the hook itself.
    pub(crate) fn hand_exit(&mut self, code: i32, oom_killed: bool, timeout: Duration) -> Option<bool> {
        let status = if oom_killed { format!("{code} {}", protocol::OOM_KILLED) } else { code.to_string() };
        self.send(protocol::EXIT, status.as_bytes()).ok()?;
        self.stream.set_read_timeout(Some(timeout)).ok()?;
        let mut buf = [0u8; 4096];
        loop {
            while let Ok(Some((kind, payload))) = self.reader.next_frame() {
                if kind == protocol::EXIT_DONE {
                    return match payload.as_slice() {
                        b"restart" => Some(true),
                        b"done" => Some(false),
                        _ => None,
                    };
                }
            }
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.reader.feed(&buf[..n]),
            }
        }
    }
}

/// What the loop saw end.
pub(crate) struct Outcome {
    pub code: i32,
}

pub(crate) struct Pump<'a> {
    pub io: ContainerIo,
    pub log: Option<&'a mut LogWriter>,
    pub clients: &'a mut Vec<Client>,
    pub listener: &'a UnixListener,
    pub signals: &'a SignalFd,
    pub pid: i32,
    /// The health checks, run while the container does.
    pub health: Option<&'a mut crate::health::Monitor<'a>>,
}

enum Source {
    Signals,
    Listener,
    Output(u8),
    Client(usize),
    Probe,
}

impl Pump<'_> {
    pub(crate) fn run(mut self) -> Outcome {
        let mut exit: Option<(i32, Instant)> = None;
        let mut open = match &self.io {
            ContainerIo::Pipes { .. } => vec![1u8, 2],
            ContainerIo::Tty { .. } => vec![1u8],
        };
        loop {
            if let Some((code, since)) = exit
                && (open.is_empty() || since.elapsed() >= DRAIN)
            {
                return Outcome { code };
            }
            let timeout = match (exit, self.health.as_deref()) {
                (Some((_, since)), _) => Some(DRAIN.saturating_sub(since.elapsed())),
                (None, Some(h)) => Some(h.deadline().saturating_duration_since(Instant::now())),
                (None, None) => None,
            };
            let ready = self.wait(&open, timeout);
            for source in ready {
                match source {
                    Source::Signals => {
                        if let Some(code) = self.reap() {
                            exit.get_or_insert((code, Instant::now()));
                            // The checks end with the container, no probe left running.
                            if let Some(h) = self.health.as_deref_mut() {
                                h.stop();
                            }
                        }
                    }
                    Source::Probe => {
                        if let Some(h) = self.health.as_deref_mut() {
                            h.read_output();
                        }
                    }
                    Source::Listener => match Client::accept(self.listener) {
                        Ok(c) => self.clients.push(c),
                        Err(e) => eprintln!("attach connection refused: {e}"),
                    },
                    Source::Output(stream) => {
                        if !self.forward_output(stream) {
                            open.retain(|s| *s != stream);
                        }
                    }
                    Source::Client(i) => self.client_input(i),
                }
            }
            self.clients.retain(|c| !c.reader_closed());
            if exit.is_none()
                && let Some(h) = self.health.as_deref_mut()
            {
                h.tick();
            }
        }
    }

    fn output_fd(&self, stream: u8) -> BorrowedFd<'_> {
        match (&self.io, stream) {
            (ContainerIo::Tty { master }, _) => master.as_fd(),
            (ContainerIo::Pipes { stdout, .. }, 1) => stdout.as_fd(),
            (ContainerIo::Pipes { stderr, .. }, _) => stderr.as_fd(),
        }
    }

    /// Poll everything; return the sources that are ready.
    fn wait(&self, open: &[u8], timeout: Option<Duration>) -> Vec<Source> {
        let mut sources = vec![Source::Signals, Source::Listener];
        let mut fds = vec![
            PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.listener.as_fd(), PollFlags::POLLIN),
        ];
        for &s in open {
            sources.push(Source::Output(s));
            fds.push(PollFd::new(self.output_fd(s), PollFlags::POLLIN));
        }
        for (i, c) in self.clients.iter().enumerate() {
            sources.push(Source::Client(i));
            fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
        }
        if let Some(fd) = self.health.as_deref().and_then(|h| h.output_fd()) {
            sources.push(Source::Probe);
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        let timeout = timeout.map_or(PollTimeout::NONE, |d| PollTimeout::try_from(d).unwrap_or(PollTimeout::MAX));
        match poll(&mut fds, timeout) {
            Ok(0) | Err(Errno::EINTR) => return Vec::new(),
            Ok(_) => {}
            Err(e) => {
                eprintln!("poll: {e}");
                std::thread::sleep(Duration::from_millis(10));
                return Vec::new();
            }
        }
        let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
        let flags: Vec<bool> = fds.iter().map(ready).collect();
        drop(fds);
        sources.into_iter().zip(flags).filter(|(_, r)| *r).map(|(s, _)| s).collect()
    }

    /// Drain the signalfd and reap children; the container's status if it
    /// exited. A health probe's runtime that exited is its result.
    fn reap(&mut self) -> Option<i32> {
        while let Ok(Some(_)) = self.signals.read_signal() {}
        let mut code = None;
        loop {
            let (pid, status) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, c)) => (pid.as_raw(), c),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid.as_raw(), 128 + sig as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            };
            if pid == self.pid {
                code = Some(status);
            } else if let Some(h) = self.health.as_deref_mut() {
                h.child_exited(pid, status);
            }
        }
        code
    }

    /// Read one chunk of output; false once the stream is closed.
    fn forward_output(&mut self, stream: u8) -> bool {
        let mut buf = [0u8; 32 * 1024];
        let res = match (&mut self.io, stream) {
            (ContainerIo::Tty { master }, _) => master.read(&mut buf),
            (ContainerIo::Pipes { stdout, .. }, 1) => stdout.read(&mut buf),
            (ContainerIo::Pipes { stderr, .. }, _) => stderr.read(&mut buf),
        };
        let n = match res {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted || e.kind() == io::ErrorKind::WouldBlock => return true,
            // EIO: the pty's last slave end closed.
            Err(_) => return false,
        };
        let data = &buf[..n];
        if let Some(log) = self.log.as_deref_mut()
            && let Err(e) = log.write(stream, data)
        {
            eprintln!("write container log: {e}");
        }
        let kind = if stream == 2 { protocol::STDERR } else { protocol::STDOUT };
        self.clients.retain_mut(|c| {
            let wants = if kind == protocol::STDERR { c.stderr } else { c.stdout };
            !wants || c.send(kind, data).is_ok()
        });
        true
    }

    fn client_input(&mut self, i: usize) {
        let Some(client) = self.clients.get_mut(i) else { return };
        let mut buf = [0u8; 16 * 1024];
        match client.stream.read(&mut buf) {
            Ok(0) | Err(_) => {
                client.reader = FrameReader::closed();
                return;
            }
            Ok(n) => client.reader.feed(&buf[..n]),
        }
        while let Ok(Some((kind, payload))) = client.reader.next_frame() {
            if !client.stdin && kind != protocol::RESIZE {
                continue;
            }
            match kind {
                protocol::STDIN => write_stdin(&mut self.io, &payload),
                protocol::CLOSE_STDIN => {
                    if let ContainerIo::Pipes { stdin, .. } = &mut self.io {
                        *stdin = None;
                    }
                }
                protocol::RESIZE => resize(&self.io, &payload),
                _ => {}
            }
        }
    }
}

impl Client {
    fn reader_closed(&self) -> bool {
        self.reader.is_closed()
    }
}

fn write_stdin(io: &mut ContainerIo, data: &[u8]) {
    let target: Option<&mut File> = match io {
        ContainerIo::Tty { master } => Some(master),
        ContainerIo::Pipes { stdin, .. } => stdin.as_mut(),
    };
    // A container that closed its stdin just does not read it any more.
    if let Some(f) = target {
        let _ = f.write_all(data);
    }
}

fn resize(io: &ContainerIo, payload: &[u8]) {
    let ContainerIo::Tty { master } = io else { return };
    let text = String::from_utf8_lossy(payload);
    let mut it = text.split_whitespace().filter_map(|w| w.parse::<u16>().ok());
    if let (Some(rows), Some(cols)) = (it.next(), it.next())
        && let Err(e) = crate::sys::set_window_size(master.as_fd(), crate::sys::WinSize { rows, cols })
    {
        eprintln!("resize pty: {e}");
    }
}

/// The signals the supervisor handles through its signalfd.
pub(crate) fn handled_signals() -> nix::sys::signal::SigSet {
    let mut set = nix::sys::signal::SigSet::empty();
    for s in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        set.add(s);
    }
    set
}
