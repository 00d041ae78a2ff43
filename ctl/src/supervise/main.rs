//! `berthctl-supervise`: the per-container supervisor, conmon's model, as a
//! small program of its own (berthctl starts it from beside itself). It
//! makes its own session and becomes a child subreaper, so it outlives the
//! command that started it and the container's init is reparented to it.
//! It takes the attach connections already queued on the socket berthctl
//! bound and passed down (`--attach-fd`: the foreground `run` is connected
//! before we exist, so it sees the first byte of output), runs `<runtime>
//! run --detach`, tells its parent over its stdin/stdout pipes (the
//! handshake: "started <pid>", then waits for "recorded" — berthctl has
//! recorded the container running, so no exit can be recorded before it; or
//! "error <exit code> <message>"), holds the container's stdio, writes the
//! json-file log, serves the attach socket, reaps the container, runs
//! `<runtime> delete` and restarts per policy with docker's backoff. One poll
//! loop, blocking I/O, no async runtime.
//!
//! It never opens berthctl's database: berthctl prepares the bundle, and
//! after each exit the supervisor writes the status to `<run>/exit` and runs
//! `berthctl __hook` (`hook.rs`) to record it (with the OOM killer's
//! verdict, read from the cgroup before `delete`: `oom.rs`), tear the network down, unmount
//! and decide on a restart. So its idle memory is a small binary's, not
//! berthctl's (tokio, rustls, SQLite); see bench/RESULTS.md.
#![deny(unsafe_code)]

mod args;
mod backoff;
mod health;
mod hook;
mod launch;
mod logwriter;
mod oom;
#[path = "../supervisor/protocol.rs"]
mod protocol;
mod pump;
#[allow(unsafe_code)]
mod sys;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use nix::sys::signal::{SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use args::Args;
use launch::{ContainerIo, Failure};
use logwriter::LogWriter;
use pump::{Client, Pump};

/// How long a client that claimed the exit may take to record it before the
/// supervisor runs `berthctl __hook exited` itself.
const CLAIMED_EXIT_TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    let args = match args::parse(std::env::args_os().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("berthctl-supervise: {e} (it is started by berthctl, not by hand)");
            std::process::exit(2);
        }
    };
    match Supervisor::new(args) {
        Ok(mut sup) => {
            let code = sup.supervise();
            std::process::exit(code);
        }
        Err(e) => {
            eprintln!("berthctl-supervise: {e}");
            // The parent reads this line in place of "created".
            println!("error 125 supervisor: {e}");
            std::process::exit(125);
        }
    }
}

/// The supervisor's handshake with the command that started it (its stdin
/// and stdout while the handshake lasts).
struct Handshake {
    from_parent: BufReader<std::io::Stdin>,
    to_parent: std::io::Stdout,
}

impl Handshake {
    fn say(&mut self, line: &str) {
        let _ = writeln!(self.to_parent, "{line}");
        let _ = self.to_parent.flush();
    }

    /// Wait for "recorded"; false if the parent went away or said anything else.
    fn wait_recorded(&mut self) -> bool {
        let mut line = String::new();
        matches!(self.from_parent.read_line(&mut line), Ok(n) if n > 0) && line.trim() == "recorded"
    }
}

struct Supervisor {
    args: Args,
    listener: UnixListener,
    signals: SignalFd,
    clients: Vec<Client>,
}

impl Supervisor {
    fn new(args: Args) -> Result<Supervisor, String> {
        nix::unistd::setsid().map_err(|e| format!("setsid: {e}"))?;
        nix::sys::prctl::set_child_subreaper(true).map_err(|e| format!("prctl PR_SET_CHILD_SUBREAPER: {e}"))?;
        let mask = pump::handled_signals();
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
            .map_err(|e| format!("block signals: {e}"))?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(|e| format!("signalfd: {e}"))?;
        std::fs::create_dir_all(&args.run).map_err(|e| format!("create {:?}: {e}", args.run))?;
        let listener = match args.attach_fd {
            Some(fd) => sys::inherited_listener(fd)?,
            None => {
                let sock = args.run.join("attach");
                let _ = std::fs::remove_file(&sock);
                UnixListener::bind(&sock).map_err(|e| format!("bind attach socket {sock:?}: {e}"))?
            }
        };
        Ok(Supervisor { args, listener, signals, clients: Vec::new() })
    }

    /// Run the container until it stays down; its last exit status.
    fn supervise(&mut self) -> i32 {
        let mut handshake =
            Some(Handshake { from_parent: BufReader::new(std::io::stdin()), to_parent: std::io::stdout() });
        let mut backoff = backoff::Backoff::default();
        loop {
            let first = handshake.is_some();
            let started = Instant::now();
            let (io, pid) = match self.launch(handshake.as_mut()) {
                Ok(v) => v,
                Err(f) => {
                    launch::delete(&self.args);
                    let (code, msg) = hook::failed(&self.args, &f);
                    if let Some(h) = handshake.as_mut() {
                        h.say(&format!("error {code} {msg}"));
                    }
                    self.notify_exit(code);
                    return code;
                }
            };
            if let Some(h) = handshake.take() {
                drop(h);
                detach_stdio();
            }
            if !first {
                hook::running(&self.args, pid);
            }
            // Found while init lives, read before `delete` removes it.
            let memory_cgroup = oom::memory_cgroup_of(pid);
            let code = self.pump(io, pid);
            let oom_killed = memory_cgroup.as_deref().is_some_and(|d| oom::kills(d) > 0);
            launch::delete(&self.args);
            self.write_exit_file(code);
            // A foreground `run` that claimed the exit records it itself
            // (one berthctl process fewer); else, or if it fails, the hook.
            let restart = match self.hand_exit(code, oom_killed) {
                Some(restart) => restart,
                None => hook::exited(&self.args, code, oom_killed),
            };
            // Clients hear of the exit only once berthctl has recorded it
            // (and removed the container, for --rm), so `run --rm x; ps -a`
            // never sees it.
            self.notify_exit(code);
            if !restart {
                return code;
            }
            if !self.wait_restart(backoff.delay(started.elapsed())) {
                hook::stopped(&self.args);
                return code;
            }
            if !hook::restart(&self.args) {
                return code;
            }
        }
    }

    /// `<runtime> run --detach`, with the handshake on the first start.
    fn launch(&mut self, handshake: Option<&mut Handshake>) -> Result<(ContainerIo, i32), Failure> {
        // The parent connected before it started us: take those clients
        // now so they see the first byte of output.
        self.accept_pending();
        let (io, pid) = launch::run(&self.args)?;
        if let Some(h) = handshake {
            h.say(&format!("started {pid}"));
            if !h.wait_recorded() {
                // berthctl went away before it recorded the start (killed):
                // the container runs, so record it as the restart path does.
                hook::adopted(&self.args, pid, std::process::id());
            }
        }
        Ok((io, pid))
    }

    fn pump(&mut self, io: ContainerIo, pid: i32) -> i32 {
        // Each start begins the checks again (docker's initHealthMonitor).
        let mut health = self.args.health.as_ref().map(|s| health::Monitor::start(&self.args, s));
        let mut log = match &self.args.log {
            None => None,
            Some((path, max_size, max_files)) => match LogWriter::open(path, *max_size, *max_files) {
                Ok(w) => Some(w),
                Err(e) => {
                    eprintln!("open container log {path:?}: {e}");
                    None
                }
            },
        };
        let outcome = Pump {
            io,
            log: log.as_mut(),
            clients: &mut self.clients,
            listener: &self.listener,
            signals: &self.signals,
            pid,
            health: health.as_mut(),
        }
        .run();
        if let Some(l) = log.as_mut()
            && let Err(e) = l.flush_partial()
        {
            eprintln!("write container log: {e}");
        }
        outcome.code
    }

    /// `<run>/exit`: the status, for berthctl to find should this process
    /// die before its hook has recorded it.
    fn write_exit_file(&self, code: i32) {
        let path = self.args.run.join("exit");
        if let Err(e) = std::fs::write(&path, format!("{code}\n")) {
            eprintln!("write {path:?}: {e}");
        }
    }

    /// Give the exit to the client that claimed it; its decision, if it made one.
    fn hand_exit(&mut self, code: i32, oom_killed: bool) -> Option<bool> {
        let i = self.clients.iter().position(|c| c.claims_exit)?;
        let mut client = self.clients.remove(i);
        client.hand_exit(code, oom_killed, CLAIMED_EXIT_TIMEOUT)
    }

    fn notify_exit(&mut self, code: i32) {
        for client in &mut self.clients {
            client.send_exit(code);
        }
        self.clients.clear();
    }

    fn accept_pending(&mut self) {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        loop {
            let ready = poll(&mut [PollFd::new(self.listener.as_fd(), PollFlags::POLLIN)], PollTimeout::ZERO);
            if !matches!(ready, Ok(n) if n > 0) {
                return;
            }
            match Client::accept(&self.listener) {
                Ok(c) => self.clients.push(c),
                Err(e) => {
                    eprintln!("attach connection refused: {e}");
                    return;
                }
            }
        }
    }

    /// Sleep out the restart delay; false if `stop` (SIGTERM) asked us to stay down.
    fn wait_restart(&mut self, delay: Duration) -> bool {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fds = [PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
            let t = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
            if let Ok(n) = poll(&mut fds, t)
                && n > 0
            {
                while let Ok(Some(sig)) = self.signals.read_signal() {
                    if sig.ssi_signo == Signal::SIGTERM as u32 {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// After the handshake the supervisor's stdin and stdout point at /dev/null,
/// so the parent's pipes close and it can exit.
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        let _ = nix::unistd::dup2(null.as_raw_fd(), 0);
        let _ = nix::unistd::dup2(null.as_raw_fd(), 1);
    }
}
