//! `berth run`: create + start + wait, forwarding signals to the container and, for
//! a terminal without `--console-socket`, relaying our stdio to the pty.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;


use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};

use super::Global;
use crate::container::{self, state};
use crate::sys;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub create: super::create::Args,
    /// Do not wait: return once the container is started
    #[arg(short, long)]
    pub detach: bool,
    /// Do not delete the container after it exits
    #[arg(long)]
    pub keep: bool,
}

const FORWARDED: [Signal; 9] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGCHLD,
];

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    let id = args.create.id.clone();
    let mut opts = args.create.options(g);
    let spec_terminal = crate::spec::load(&opts.bundle)
        .ok()
        .and_then(|s| s.process().as_ref().and_then(|p| p.terminal()))
        .unwrap_or(false);
    // A terminal without a console socket: we are the console socket's receiver.
    let mut listener = None;
    if spec_terminal && opts.console_socket.is_none() && !args.detach {
        std::fs::create_dir_all(&g.root)?;
        let path = g.root.join(format!(".console-{}-{}.sock", id, std::process::id()));
        let _ = std::fs::remove_file(&path);
        listener = Some((UnixListener::bind(&path)?, path.clone()));
        opts.console_socket = Some(path);
    }
    let created = container::create(&opts);
    let master = match (&listener, &created) {
        (Some((l, path)), Ok(_)) => {
            let (stream, _) = l.accept()?;
            let _ = std::fs::remove_file(path);
            Some(sys::fd::recv_fd(stream.as_fd())?.0)
        }
        (Some((_, path)), Err(_)) => {
            let _ = std::fs::remove_file(path);
            None
        }
        _ => None,
    };
    let created = created?;
    if args.detach {
        container::start(&g.root, &id)?;
        return Ok(0);
    }
    let mut mask = SigSet::empty();
    for s in FORWARDED {
        mask.add(s);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None).map_err(|e| sys::Error::new("sigprocmask", e))?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| sys::Error::new("signalfd", e))?;
    if let Err(e) = container::start(&g.root, &id) {
        let _ = container::delete(&g.root, &id, true);
        return Err(e.into());
    }
    let _raw = master.as_ref().and_then(|m| RawMode::enter(m.as_fd()));
    let code = wait_loop(&created, &sfd, master.as_ref())?;
    drop(_raw);
    if !args.keep {
        container::delete(&g.root, &id, true)?;
    }
    Ok(code)
}

/// Wait for init to exit; forward signals; relay the pty. Returns the exit status
/// as a shell reports it (128+N for signal N).
fn wait_loop(created: &container::Created, sfd: &SignalFd, master: Option<&OwnedFd>) -> anyhow::Result<i32> {
    let pid = created.pid;
    let stdin = std::io::stdin();
    let mut stdin_open = master.is_some();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(code) = reap(created) {
            if let Some(m) = master {
                drain(m, &mut buf);
            }
            return Ok(code);
        }
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
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
        let ready = |i: usize, fds: &[PollFd]| {
            fds.get(i).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty())
        };
        let (sig_ready, m_ready, in_ready) = (ready(0, &fds), ready(1, &fds), ready(2, &fds));
        drop(fds);
        if sig_ready {
            while let Ok(Some(info)) = sfd.read_signal() {
                let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else { continue };
                match sig {
                    Signal::SIGCHLD => {}
                    Signal::SIGWINCH => {
                        if let Some(m) = master {
                            if let Ok(ws) = sys::tty::get_winsize(stdin.as_fd()) {
                                let _ = sys::tty::set_winsize(m.as_fd(), &ws);
                            }
                        }
                    }
                    other => {
                        let _ = nix::sys::signal::kill(pid, other);
                    }
                }
            }
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

/// The exit status once init is gone.
fn reap(created: &container::Created) -> Option<i32> {
    if !created.is_child {
        // Init is our grandchild: we cannot learn its status, only that it ended.
        return (!state::is_alive(created.state.pid, created.state.init_start_time)).then_some(0);
    }
    match waitpid(created.pid, Some(WaitPidFlag::WNOHANG)) {
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

