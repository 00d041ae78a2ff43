//! The per-container supervisor: berthctl itself in a hidden mode
//! (`berthctl __supervise <id>`), conmon's model. `start`/`run` spawn it; it
//! makes its own session and becomes a child subreaper, so it outlives the
//! command that started it and the container's init is reparented to it.
//! It runs `<runtime> create`, tells its parent over its stdin/stdout pipes
//! (the handshake: "created", then waits for "start", then "started"), runs
//! `<runtime> start`, holds the container's stdio, writes the json-file log,
//! serves the attach socket, reaps the container, records the exit, runs
//! `<runtime> delete`, unmounts, and restarts per policy. No async runtime:
//! one poll loop.

pub(crate) mod client;
pub(crate) mod launch;
pub(crate) mod logfile;
pub(crate) mod protocol;
pub(crate) mod pump;
pub(crate) mod restart;
pub(crate) mod spawn;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::SigmaskHow;
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::config::Config;
use crate::container::record::{Container, ProcessId, ZERO_TIME};
use crate::container::runtime::Runtime;
use crate::container::store::Store;
use crate::container::{Layout, lifecycle, now_rfc3339, rootfs};
use launch::{ContainerIo, LaunchError};
use logfile::{LogWriter, Rotation};
use pump::{Client, Pump};

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

    /// Wait for "start"; false if the parent went away or said anything else.
    fn wait_start(&mut self) -> bool {
        let mut line = String::new();
        matches!(self.from_parent.read_line(&mut line), Ok(n) if n > 0) && line.trim() == "start"
    }

    fn fail(&mut self, e: &LaunchError) {
        self.say(&format!("error {} {}", e.exit_code(), clone_msg(e)));
    }
}

fn clone_msg(e: &LaunchError) -> anyhow::Error {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.ends_with(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        src = s.source();
    }
    anyhow::anyhow!(msg)
}

struct Supervisor {
    config: Config,
    id: String,
    layout: Layout,
    runtime: Runtime,
    store: Store,
    listener: UnixListener,
    signals: SignalFd,
    clients: Vec<Client>,
}

/// The hidden `__supervise` command.
pub(crate) fn main(config: &Config, id: &str) -> anyhow::Result<i32> {
    nix::unistd::setsid().context("setsid")?;
    nix::sys::prctl::set_child_subreaper(true).context("prctl PR_SET_CHILD_SUBREAPER")?;
    let mask = pump::handled_signals();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None).context("block signals")?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).context("signalfd")?;
    let store = Store::open(&config.data_root)?;
    let c = store.get(id)?;
    let layout = Layout::new(config, id);
    std::fs::create_dir_all(&layout.run).with_context(|| format!("create {:?}", layout.run))?;
    let sock = layout.attach_socket();
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).with_context(|| format!("bind attach socket {sock:?}"))?;
    let runtime = Runtime::new(&config.runtime, &config.runroot);
    let mut sup = Supervisor {
        config: config.clone(),
        id: id.to_string(),
        layout,
        runtime,
        store,
        listener,
        signals,
        clients: Vec::new(),
    };
    let me = std::process::id() as i32;
    let me = ProcessId { pid: me, start_time: crate::container::process_start_time(me).unwrap_or(0) };
    sup.store.update(id, |r| r.supervisor = Some(me))?;
    let handshake = Handshake { from_parent: BufReader::new(std::io::stdin()), to_parent: std::io::stdout() };
    let code = sup.supervise(c, handshake);
    sup.finish();
    // Clients hear of the exit only once the container is fully down (and
    // removed, for --rm), so `run --rm x; ps -a` never sees it.
    sup.notify_exit(code);
    Ok(code)
}

impl Supervisor {
    /// Run the container until it stays down; its last exit status.
    fn supervise(&mut self, mut c: Container, handshake: Handshake) -> i32 {
        let mut handshake = Some(handshake);
        let mut backoff = restart::Backoff::default();
        loop {
            let started = Instant::now();
            let code = match self.run_once(&c, handshake.as_mut()) {
                Ok(code) => code,
                Err(e) => {
                    if let Some(h) = handshake.as_mut() {
                        h.fail(&e);
                    }
                    self.record_failure(&e);
                    return e.exit_code();
                }
            };
            if let Some(h) = handshake.take() {
                drop(h);
                detach_stdio();
            }
            c = match self.store.get(&self.id) {
                Ok(c) => c,
                Err(_) => return code,
            };
            if !restart::should_restart(&c.host_config.restart_policy, code, c.restart_count, c.manually_stopped) {
                return code;
            }
            self.notify_exit(code);
            let delay = backoff.delay(started.elapsed());
            if !self.wait_restart(delay) {
                return code;
            }
        }
    }

    /// One create/start/run/exit cycle; the exit status.
    fn run_once(&mut self, c: &Container, handshake: Option<&mut Handshake>) -> Result<i32, LaunchError> {
        launch::prepare(&self.config, c, &self.layout)?;
        let (io, pid) = match launch::create(c, &self.layout, &self.runtime) {
            Ok(v) => v,
            Err(e) => {
                self.cleanup_runtime();
                return Err(e);
            }
        };
        if let Some(h) = handshake {
            h.say("created");
            if !h.wait_start() {
                self.cleanup_runtime();
                return Err(LaunchError::Io {
                    what: "start aborted by berthctl",
                    path: self.layout.dir.clone(),
                    source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
                });
            }
            // The parent connected before it said "start": take those
            // clients now so they see the first byte of output.
            self.accept_pending();
            if let Err(e) = self.runtime.start(&c.id) {
                self.cleanup_runtime();
                return Err(e.into());
            }
            h.say("started");
        } else if let Err(e) = self.runtime.start(&c.id) {
            self.cleanup_runtime();
            return Err(e.into());
        }
        self.record_running(pid);
        let memory_cgroup = crate::container::oom::memory_cgroup_of(pid);
        let code = self.pump(c, io, pid);
        // Read before `delete` removes the cgroup.
        let oom = memory_cgroup.as_deref().is_some_and(|d| crate::container::oom::kills(d) > 0);
        self.cleanup_runtime();
        self.record_exit(code, oom);
        Ok(code)
    }

    fn pump(&mut self, c: &Container, io: ContainerIo, pid: i32) -> i32 {
        let mut log = if c.host_config.log_config.kind == "none" {
            None
        } else {
            let rotation = Rotation::from_opts(&c.host_config.log_config.config)
                .unwrap_or(Rotation { max_size: 10 << 20, max_files: 3 });
            match LogWriter::open(&self.layout.log_file(), rotation) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "open container log");
                    None
                }
            }
        };
        let outcome = Pump {
            io,
            log: log.as_mut(),
            clients: &mut self.clients,
            listener: &self.listener,
            signals: &self.signals,
            pid,
        }
        .run();
        if let Some(l) = log.as_mut()
            && let Err(e) = l.flush_partial()
        {
            tracing::warn!(error = %e, "write container log");
        }
        outcome.code
    }

    fn notify_exit(&mut self, code: i32) {
        for client in &mut self.clients {
            client.send_exit(code);
        }
        self.clients.clear();
    }

    fn accept_pending(&mut self) {
        let _ = self.listener.set_nonblocking(true);
        while let Ok(true) = nix::poll::poll(
            &mut [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&self.listener), nix::poll::PollFlags::POLLIN)],
            nix::poll::PollTimeout::ZERO,
        )
        .map(|n| n > 0)
        {
            let _ = self.listener.set_nonblocking(false);
            match Client::accept(&self.listener) {
                Ok(c) => self.clients.push(c),
                Err(e) => {
                    tracing::warn!(error = %e, "attach connection refused");
                    break;
                }
            }
        }
        let _ = self.listener.set_nonblocking(false);
    }

    /// Sleep out the restart delay; false if `stop` asked us to stay down.
    fn wait_restart(&mut self, delay: Duration) -> bool {
        let _ = self.store.update(&self.id, |r| {
            r.state.status = "restarting".into();
            r.state.restarting = true;
        });
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fds =
                [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&self.signals), nix::poll::PollFlags::POLLIN)];
            let t = nix::poll::PollTimeout::try_from(left).unwrap_or(nix::poll::PollTimeout::MAX);
            if let Ok(n) = nix::poll::poll(&mut fds, t)
                && n > 0
            {
                while let Ok(Some(sig)) = self.signals.read_signal() {
                    if sig.ssi_signo == nix::sys::signal::Signal::SIGTERM as u32 {
                        return false;
                    }
                }
            }
        }
        match self.store.update(&self.id, |r| r.restart_count += 1) {
            Ok(r) => !r.manually_stopped,
            Err(_) => false,
        }
    }

    fn record_running(&mut self, pid: i32) {
        let now = now_rfc3339();
        let change = |r: &mut Container| {
            r.state.status = "running".into();
            r.state.running = true;
            r.state.restarting = false;
            r.state.paused = false;
            r.state.pid = pid;
            r.state.started_at = now;
            r.state.finished_at = ZERO_TIME.into();
            r.state.error.clear();
            r.state.oom_killed = false;
        };
        if let Err(e) = self.store.update_logged(&self.id, change, |r| vec![r.event("start")]) {
            tracing::warn!(error = %e, "record running");
        }
    }

    fn record_exit(&mut self, code: i32, oom: bool) {
        let now = now_rfc3339();
        let change = |r: &mut Container| {
            lifecycle::mark_exited(r, code, &now);
            r.state.oom_killed = oom;
        };
        let events = |r: &Container| {
            let die = r.event("die").attr("exitCode", code.to_string());
            if oom { vec![r.event("oom"), die] } else { vec![die] }
        };
        if let Err(e) = self.store.update_logged(&self.id, change, events) {
            tracing::warn!(error = %e, "record exit");
        }
    }

    fn record_failure(&mut self, e: &LaunchError) {
        let msg = clone_msg(e).to_string();
        let code = e.exit_code();
        let now = now_rfc3339();
        let _ = self.store.update(&self.id, |r| {
            lifecycle::mark_exited(r, code, &now);
            r.state.error = msg;
        });
    }

    /// `<runtime> delete --force` and the network's teardown, as after every run.
    fn cleanup_runtime(&self) {
        if let Err(e) = self.runtime.delete(&self.id, true) {
            tracing::warn!(error = %e, "runtime delete");
        }
        if let Err(e) = crate::network::stop(&self.config, &self.id) {
            tracing::warn!(error = %e, "network teardown");
        }
    }

    /// The container stays down: unmount, drop the run dir, remove the
    /// container when `--rm` asked for it, and clear our pid from the record.
    fn finish(&mut self) {
        if let Err(e) = rootfs::unmount(&self.layout.rootfs()) {
            tracing::warn!(error = %e, "unmount rootfs");
        }
        let _ = std::fs::remove_dir_all(&self.layout.run);
        if let Err(e) = crate::volume::attach::deactivate(&self.config.data_root, &self.id) {
            tracing::warn!(error = %e, "deactivate volumes");
        }
        match self.store.get(&self.id) {
            Ok(c) if c.host_config.auto_remove => {
                if let Err(e) = lifecycle::remove_files(&self.config, &c) {
                    tracing::warn!(error = %e, "remove container files");
                }
                // run --rm takes its anonymous volumes along (docker's rule).
                match crate::volume::attach::release(&self.config.data_root, &self.id, true) {
                    Ok(_) => {
                        let _ = self.store.remove(&self.id);
                    }
                    Err(e) => tracing::warn!(error = %e, "release volumes"),
                }
            }
            Ok(_) => {
                let _ = self.store.update(&self.id, |r| r.supervisor = None);
            }
            Err(_) => {}
        }
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
