//! Waiting for a container process we started (`run`, `exec`): signals forwarded
//! to it, and for a terminal without `--console-socket`, our stdio relayed to the
//! pty whose master we received on a console socket of our own.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigmaskHow, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::sys;

/// What `run` and `exec` take on their signalfd, as runc's forwarder takes every
/// signal (signal.Notify): all catchable ones but SIGURG (Go's runtime keeps it)
/// and glibc's 32 and 33, the real-time signals included. SIGCHLD (the child's exit) and SIGWINCH (the
/// pty's size) are acted on; every other one is forwarded.
fn forwarded() -> Vec<i32> {
    sys::process::CATCHABLE_SIGNALS.into_iter().filter(|&s| s != libc::SIGURG && s != 32 && s != 33).collect()
}

/// The forwarded signals, blocked and readable from a signalfd.
pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    /// Reset what our caller ignored or blocked, before the container's process
    /// is made: it inherits both, and an ignored SIGINT would never reach it
    /// (runc's Go runtime takes every signal back).
    pub fn reset_inherited() -> anyhow::Result<()> {
        sys::process::reset_ignored_signals(&forwarded())?;
        Ok(())
    }

    /// `exec`'s part of [`reset_inherited`](Self::reset_inherited): SIGCHLD
    /// alone. Ignored, it would have the kernel reap our child before we wait for
    /// it. The rest need nothing here: the process `exec` starts resets every
    /// signal itself before execve (`container::setup::exec`), exec starts no
    /// other program, and a blocked signal is queued for the signalfd even when
    /// ignored. (`run` resets them all: its hooks start with its dispositions.)
    pub fn reset_child_signal() -> anyhow::Result<()> {
        sys::process::reset_ignored_signals(&[libc::SIGCHLD])?;
        Ok(())
    }

    pub fn block() -> anyhow::Result<Signals> {
        let mask = sys::process::signal_set(&forwarded())?;
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None).map_err(|e| sys::Error::new("sigprocmask", e))?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(|e| sys::Error::new("signalfd", e))?;
        Ok(Signals { fd })
    }
}

/// A console socket of our own, for a terminal without `--console-socket`.
pub struct ConsoleListener {
    listener: UnixListener,
    pub path: PathBuf,
}

impl ConsoleListener {
    pub fn bind(root: &Path, id: &str) -> anyhow::Result<ConsoleListener> {
        std::fs::create_dir_all(root)?;
        let path = root.join(format!(".console-{id}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        Ok(ConsoleListener { listener, path })
    }

    /// The pty master, once the process has sent it (`ok`: the call that was to
    /// send it succeeded). The socket file is removed either way.
    pub fn finish(self, ok: bool) -> anyhow::Result<Option<OwnedFd>> {
        let _ = std::fs::remove_file(&self.path);
        if !ok {
            return Ok(None);
        }
        let (stream, _) = self.listener.accept()?;
        Ok(Some(sys::fd::recv_fd(stream.as_fd())?.0))
    }
}

/// Wait for `pid` (our child) to exit; forward signals to it; relay the pty.
/// Returns the exit status as a shell reports it (128+N for signal N).
pub fn supervise(pid: Pid, signals: &Signals, master: Option<&OwnedFd>) -> anyhow::Result<i32> {
    let _raw = master.and_then(|m| RawMode::enter(m.as_fd()));
    let stdin = std::io::stdin();
    let mut stdin_open = master.is_some();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(code) = reap(pid) {
            if let Some(m) = master {
                drain(m, &mut buf);
            }
            return Ok(code);
        }
        let (sig_ready, m_ready, in_ready) = wait_ready(signals, master, stdin_open)?;
        if sig_ready {
            forward_signals(pid, signals, master);
        }
        if let Some(m) = master {
            if m_ready {
                match nix::unistd::read(m.as_raw_fd(), &mut buf) {
                    Ok(n) if n > 0 => {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(&buf[..n]);
                        let _ = out.flush();
                    }
                    _ => {}
                }
            }
            if in_ready {
                match stdin.lock().read(&mut buf) {
                    Ok(0) | Err(_) => stdin_open = false,
                    Ok(n) => {
                        let _ = nix::unistd::write(m, &buf[..n]);
                    }
                }
            }
        }
    }
}

/// Poll (200 ms at most) the signalfd, and with a pty its master and our stdin:
/// which of the three are ready.
fn wait_ready(signals: &Signals, master: Option<&OwnedFd>, stdin_open: bool) -> anyhow::Result<(bool, bool, bool)> {
    let stdin = std::io::stdin();
    let mut fds = vec![PollFd::new(signals.fd.as_fd(), PollFlags::POLLIN)];
    if let Some(m) = master {
        fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
    }
    match poll(&mut fds, PollTimeout::from(200u16)) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => {}
        Err(e) => return Err(sys::Error::new("poll", e).into()),
    }
    let ready = |i: usize| fds.get(i).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
    Ok((ready(0), ready(1), ready(2)))
}

/// Every pending signal: SIGWINCH resizes the pty, SIGCHLD is ours, the rest go
/// to `pid`.
fn forward_signals(pid: Pid, signals: &Signals, master: Option<&OwnedFd>) {
    while let Ok(Some(info)) = signals.fd.read_signal() {
        let sig = info.ssi_signo as i32;
        match sig {
            libc::SIGCHLD => {}
            libc::SIGWINCH => {
                if let Some(m) = master
                    && let Ok(ws) = sys::tty::get_winsize(std::io::stdin().as_fd())
                {
                    let _ = sys::tty::set_winsize(m.as_fd(), &ws);
                }
            }
            other => {
                let _ = sys::process::send_signal(pid, other);
            }
        }
    }
}

fn drain(master: &OwnedFd, buf: &mut [u8]) {
    let mut out = std::io::stdout();
    loop {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if !matches!(poll(&mut fds, PollTimeout::from(50u16)), Ok(n) if n > 0) {
            break;
        }
        match nix::unistd::read(master.as_raw_fd(), buf) {
            Ok(n) if n > 0 => {
                let _ = out.write_all(&buf[..n]);
            }
            _ => break,
        }
    }
    let _ = out.flush();
}

/// The exit status once `pid` is gone.
fn reap(pid: Pid) -> Option<i32> {
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => Some(code),
        Ok(WaitStatus::Signaled(_, sig, _)) => Some(128 + sig as i32),
        Ok(_) => None,
        Err(_) => Some(255),
    }
}

/// Our terminal in raw mode while we relay a pty; restored on drop.
struct RawMode {
    saved: termios::Termios,
}

impl RawMode {
    fn enter(master: BorrowedFd<'_>) -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        if let Ok(ws) = sys::tty::get_winsize(stdin.as_fd()) {
            let _ = sys::tty::set_winsize(master, &ws);
        }
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), termios::SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), termios::SetArg::TCSANOW, &self.saved);
    }
}
