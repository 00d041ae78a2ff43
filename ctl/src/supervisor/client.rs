//! Attaching to a running container through its supervisor's socket, as
//! `run` (foreground), `attach` and `start -a` do: container output to our
//! stdout/stderr, our stdin to the container, the terminal in raw mode with
//! its size sent on SIGWINCH for a tty, docker's detach keys (ctrl-p ctrl-q),
//! and SIGINT/SIGTERM passed on to the container without a tty (sig-proxy).

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios;

use super::protocol::{self, FrameReader};
use crate::container::runtime::Runtime;

pub(crate) struct AttachOpts {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    /// Where to send proxied signals (container id and its runtime).
    pub proxy: Option<(Runtime, String)>,
    /// Record the container's exit here, in place of the supervisor's
    /// `berthctl __hook exited` (the foreground `run` and `start -a`): called
    /// with the exit status and whether the OOM killer struck, it answers
    /// whether to restart (None: it failed, the supervisor runs the hook).
    pub exit_hook: Option<ExitHook>,
}

/// What records an exit for `AttachOpts::exit_hook`.
pub(crate) type ExitHook = Box<dyn Fn(i32, bool) -> Option<bool>>;

/// How an attach ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AttachEnd {
    Exited(i32),
    Detached,
    /// The supervisor went away without reporting an exit.
    Lost,
}

/// Connect and say which streams we want.
pub(crate) fn connect(socket: &Path, opts: &AttachOpts) -> io::Result<UnixStream> {
    let mut s = UnixStream::connect(socket)?;
    let mut want = Vec::new();
    for (on, name) in [
        (opts.stdin, "stdin"),
        (opts.stdout, "stdout"),
        (opts.stderr, "stderr"),
        (opts.exit_hook.is_some(), protocol::CLAIM_EXIT),
    ] {
        if on {
            want.push(name);
        }
    }
    protocol::write_frame(&mut s, protocol::HELLO, want.join(",").as_bytes())?;
    Ok(s)
}

/// Restores the terminal's settings when dropped.
pub(crate) struct RawMode {
    saved: termios::Termios,
}

impl RawMode {
    /// Raw mode on our stdin when `on` (and it is a terminal).
    pub(crate) fn enter_if(on: bool) -> Option<RawMode> {
        if on { RawMode::enter() } else { None }
    }

    fn enter() -> Option<RawMode> {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), termios::SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(io::stdin().as_fd(), termios::SetArg::TCSANOW, &self.saved);
    }
}

/// Detect ctrl-p ctrl-q in what the user types; returns the bytes to send
/// and whether the sequence was seen.
#[derive(Default)]
struct DetachKeys {
    held_p: bool,
}

impl DetachKeys {
    fn scan(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.held_p {
                self.held_p = false;
                if b == 0x11 {
                    return (out, true);
                }
                out.push(0x10);
            }
            if b == 0x10 {
                self.held_p = true;
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

fn send_size(sock: &mut UnixStream) {
    if let Ok(ws) = crate::sys::window_size(io::stdout().as_fd()) {
        let _ = protocol::write_frame(sock, protocol::RESIZE, format!("{} {}", ws.rows, ws.cols).as_bytes());
    }
}

/// Pump until the container exits, we detach or the supervisor goes.
pub(crate) fn pump(mut sock: UnixStream, opts: &AttachOpts) -> io::Result<AttachEnd> {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGWINCH, Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        mask.add(s);
    }
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
    let stdin_tty = nix::unistd::isatty(0).unwrap_or(false);
    let _raw = if opts.tty && opts.stdin && stdin_tty { RawMode::enter() } else { None };
    if opts.tty {
        send_size(&mut sock);
    }
    let mut reader = FrameReader::default();
    let mut keys = DetachKeys::default();
    let mut stdin_open = opts.stdin;
    let mut buf = vec![0u8; 32 * 1024];
    let stdin = io::stdin();
    loop {
        let (sock_ready, stdin_ready, sig_ready) = {
            let mut fds =
                vec![PollFd::new(sock.as_fd(), PollFlags::POLLIN), PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
            let r = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            (r(&fds[0]), fds.get(2).is_some_and(r), r(&fds[1]))
        };
        if sig_ready {
            while let Ok(Some(info)) = signals.read_signal() {
                handle_signal(info.ssi_signo as i32, &mut sock, opts);
            }
        }
        if stdin_ready {
            let n = stdin.lock().read(&mut buf).unwrap_or(0);
            if n == 0 {
                stdin_open = false;
                let _ = protocol::write_frame(&mut sock, protocol::CLOSE_STDIN, b"");
            } else {
                let (data, detach) = if opts.tty { keys.scan(&buf[..n]) } else { (buf[..n].to_vec(), false) };
                if !data.is_empty() {
                    protocol::write_frame(&mut sock, protocol::STDIN, &data)?;
                }
                if detach {
                    return Ok(AttachEnd::Detached);
                }
            }
        }
        if sock_ready {
            let n = sock.read(&mut buf)?;
            if n == 0 {
                return Ok(AttachEnd::Lost);
            }
            reader.feed(&buf[..n]);
            while let Some((kind, payload)) = reader.next_frame()? {
                match kind {
                    protocol::STDOUT => write_all_flush(&mut io::stdout().lock(), &payload),
                    protocol::STDERR => write_all_flush(&mut io::stderr().lock(), &payload),
                    protocol::EXIT => {
                        let status = String::from_utf8_lossy(&payload).into_owned();
                        let mut words = status.split_whitespace();
                        let code = words.next().and_then(|w| w.parse().ok()).unwrap_or(-1);
                        let oom_killed = words.any(|w| w == protocol::OOM_KILLED);
                        record_exit(&mut sock, opts, code, oom_killed);
                        return Ok(AttachEnd::Exited(code));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// With an exit hook the supervisor waits for our record of the exit: run
/// the hook and tell it what was decided (nothing when the hook failed, so
/// the supervisor records the exit itself).
fn record_exit(sock: &mut UnixStream, opts: &AttachOpts, code: i32, oom_killed: bool) {
    let Some(hook) = &opts.exit_hook else { return };
    if let Some(restart) = hook(code, oom_killed) {
        let answer: &[u8] = if restart { b"restart" } else { b"done" };
        let _ = protocol::write_frame(sock, protocol::EXIT_DONE, answer);
    }
}

fn write_all_flush(w: &mut impl Write, data: &[u8]) {
    // A closed stdout (e.g. `| head`) must not stop the container: drop the output.
    let _ = w.write_all(data).and_then(|()| w.flush());
}

fn handle_signal(signo: i32, sock: &mut UnixStream, opts: &AttachOpts) {
    if signo == Signal::SIGWINCH as i32 {
        if opts.tty {
            send_size(sock);
        }
        return;
    }
    if opts.tty {
        return;
    }
    if let Some((rt, id)) = &opts.proxy {
        let name =
            Signal::try_from(signo).map(|s| s.as_str().trim_start_matches("SIG").to_string()).unwrap_or_default();
        if let Err(e) = rt.kill(id, &name) {
            tracing::warn!(error = %e, "forward signal");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_as_docker() {
        let mut k = DetachKeys::default();
        assert_eq!(k.scan(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(k.scan(b"\x11rest"), (Vec::new(), true));
        let mut k = DetachKeys::default();
        assert_eq!(k.scan(b"\x10x"), (b"\x10x".to_vec(), false));
    }
}
