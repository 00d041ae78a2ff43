//! Lifecycle actions the commands share: what state a container is really
//! in (the record, checked against the runtime when its supervisor is
//! gone), stop with docker's timeout, kill, and removal. They work with or
//! without a live supervisor, so `kill -9` of one leaks nothing.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::record::Container;
use super::runtime::Runtime;
use super::store::Store;
use super::{Layout, is_alive, now_rfc3339, rootfs};
use crate::config::{self, Config};

/// docker's stop timeout when neither `-t` nor `--stop-timeout` says.
pub(crate) const DEFAULT_STOP_TIMEOUT: i64 = 10;

/// The record after an exit with `code` at `now`.
pub(crate) fn mark_exited(r: &mut Container, code: i32, now: &str) {
    r.state.status = "exited".into();
    r.state.running = false;
    r.state.paused = false;
    r.state.restarting = false;
    r.state.pid = 0;
    r.state.exit_code = code;
    r.state.finished_at = now.to_string();
}

/// The runtime this container was created with.
pub(crate) fn runtime_for(config: &Config, c: &Container) -> anyhow::Result<Runtime> {
    let name = if c.host_config.runtime.is_empty() { &config.runtime_name } else { &c.host_config.runtime };
    let path = if *name == config.runtime_name { config.runtime.clone() } else { config::resolve_runtime(name)? };
    Ok(Runtime::new(&path, &config.runroot))
}

/// Whether the record says a process may be up.
pub(crate) fn is_active(c: &Container) -> bool {
    c.state.running || c.state.paused || c.state.restarting
}

/// The container as it really is: when the record says it runs but its
/// supervisor is gone (killed), ask the runtime; if the container is down
/// too, record the exit and clean up what the supervisor would have.
pub(crate) fn refresh(config: &Config, store: &mut Store, c: Container) -> anyhow::Result<Container> {
    if !is_active(&c) || c.supervisor.as_ref().is_some_and(is_alive) {
        return Ok(c);
    }
    let rt = runtime_for(config, &c)?;
    match rt.state(&c.id)? {
        Some(s) if s.status == "running" || s.status == "paused" || s.status == "created" => Ok(c),
        _ => {
            // The supervisor writes `<run>/exit` before its hook records the
            // exit; without it the status went with the supervisor: docker
            // reports 137 for a container found dead after its shim vanished,
            // and 255 for one that was running when the host went down.
            let exit_file = Layout::new(config, &c.id).run.join("exit");
            let recorded = std::fs::read_to_string(exit_file).ok().and_then(|t| t.trim().parse().ok());
            let code = recorded.unwrap_or_else(|| if host_went_down(config, &c) { 255 } else { 137 });
            let health = super::health::at_exit(&Layout::new(config, &c.id).run);
            cleanup_after_exit(config, &rt, &c);
            let now = now_rfc3339();
            let change = |r: &mut Container| {
                mark_exited(r, code, &now);
                r.supervisor = None;
                if health.is_some() {
                    r.state.health = health.clone();
                }
            };
            Ok(store.update_logged(&c.id, change, |r| vec![r.event("die").attr("exitCode", code.to_string())])?)
        }
    }
}

/// Whether the container was running when the host went down: its run
/// dir (on the runroot, a tmpfs) is gone though no supervisor removed it, or
/// it last started before this boot of the host (`btime` of /proc/stat).
fn host_went_down(config: &Config, c: &Container) -> bool {
    if !Layout::new(config, &c.id).run.exists() {
        return true;
    }
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse::<i64>().ok())));
    let started = chrono::DateTime::parse_from_rfc3339(&c.state.started_at).ok().map(|t| t.timestamp());
    matches!((boot, started), (Some(b), Some(s)) if s < b)
}

/// Look a container up by what the user typed, and refresh it.
pub(crate) fn lookup(config: &Config, store: &mut Store, reference: &str) -> anyhow::Result<Container> {
    let c = store.lookup(reference)?;
    refresh(config, store, c)
}

/// Read a container by id again, and refresh it.
pub(crate) fn reload(config: &Config, store: &mut Store, id: &str) -> anyhow::Result<Container> {
    let c = store.get(id)?;
    refresh(config, store, c)
}

/// What the supervisor does after an exit, done by a command in its place.
fn cleanup_after_exit(config: &Config, rt: &Runtime, c: &Container) {
    if let Err(e) = rt.delete(&c.id, true) {
        tracing::debug!(error = %e, "runtime delete");
    }
    if let Err(e) = crate::network::stop(config, &c.id) {
        tracing::warn!(error = %e, "network teardown");
    }
    let layout = Layout::new(config, &c.id);
    if let Err(e) = rootfs::unmount(&layout.rootfs()) {
        tracing::warn!(error = %e, "unmount rootfs");
    }
    let _ = std::fs::remove_dir_all(&layout.run);
    if let Err(e) = crate::volume::attach::deactivate(&config.data_root, &c.id) {
        tracing::warn!(error = %e, "deactivate volumes");
    }
}

/// After a stop the old supervisor finishes its cleanup (unmount, run dir);
/// a new one must not start before, or it would lose its run dir and rootfs.
pub(crate) fn wait_supervisor_gone(store: &Store, id: &str) {
    if let Ok(Container { supervisor: Some(sup), .. }) = store.get(id)
        && is_alive(&sup)
    {
        wait_pid(sup.pid, Duration::from_secs(10));
    }
}

/// Block until `pid` exits or `timeout` passes; true if it exited.
fn wait_pid(pid: i32, timeout: Duration) -> bool {
    let Ok(fd) = crate::sys::pidfd_open(pid) else { return true };
    let t = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
    matches!(poll(&mut [PollFd::new(fd.as_fd(), PollFlags::POLLIN)], t), Ok(n) if n > 0)
}

/// [`wait_recorded`] for a container that may remove itself: the supervisor of
/// an `--rm` one deletes the record once the container is down, which is the
/// stop done (None).
fn wait_down(config: &Config, store: &mut Store, id: &str, timeout: Duration) -> anyhow::Result<Option<Container>> {
    match wait_recorded(config, store, id, timeout) {
        Ok(c) => Ok(Some(c)),
        Err(e) if removed(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The record is gone: removed (`--rm`) while we acted on it.
fn removed(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<super::store::StoreError>(), Some(super::store::StoreError::NotFound(_)))
}

/// SIGKILL through the runtime; a container that has exited meanwhile (and an
/// `--rm` one deleted by its supervisor, unknown to the runtime) is not an error.
fn kill_now(rt: &Runtime, c: &Container) -> anyhow::Result<()> {
    match rt.kill(&c.id, "KILL") {
        Err(e) if !wait_pid(c.state.pid, Duration::ZERO) => Err(e.into()),
        _ => Ok(()),
    }
}

/// Wait until the record shows the container down (the supervisor records
/// it), or do the supervisor's part if it is gone.
fn wait_recorded(config: &Config, store: &mut Store, id: &str, timeout: Duration) -> anyhow::Result<Container> {
    let deadline = Instant::now() + timeout;
    loop {
        let c = reload(config, store, id)?;
        if !c.state.running && !c.state.paused {
            return Ok(c);
        }
        if Instant::now() >= deadline {
            return Ok(c);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// docker's stop: the stop signal (SIGTERM unless `--stop-signal`), then
/// SIGKILL after `timeout` seconds; the restart policy is not applied after.
pub(crate) fn stop(config: &Config, store: &mut Store, id: &str, timeout: Option<i64>) -> anyhow::Result<()> {
    let c = store.update(id, |r| r.manually_stopped = true)?;
    let c = refresh(config, store, c)?;
    if c.state.restarting
        && let Some(sup) = c.supervisor.filter(is_alive)
    {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(sup.pid), nix::sys::signal::Signal::SIGTERM);
    }
    if !c.state.running && !c.state.paused {
        return Ok(());
    }
    let rt = runtime_for(config, &c)?;
    let timeout = timeout.or(c.config.stop_timeout).unwrap_or(DEFAULT_STOP_TIMEOUT);
    let signal = c.config.stop_signal.clone().unwrap_or_else(|| "SIGTERM".into());
    if c.state.paused {
        // A frozen process cannot act on SIGTERM: docker kills it outright.
        store.log(&kill_event(&c, "KILL"));
        rt.kill(&c.id, "KILL")?;
    } else {
        store.log(&kill_event(&c, &signal));
        if let Err(e) = rt.kill(&c.id, &signal) {
            tracing::debug!(error = %e, "stop signal");
        }
    }
    if !wait_pid(c.state.pid, Duration::from_secs(timeout.max(0) as u64)) {
        store.log(&kill_event(&c, "KILL"));
        kill_now(&rt, &c)?;
        wait_pid(c.state.pid, Duration::from_secs(10));
    }
    let c = wait_down(config, store, id, Duration::from_secs(10))?.unwrap_or(c);
    store.log(&c.event("stop"));
    Ok(())
}

/// Send a signal to a running container (docker's kill; SIGKILL by default).
pub(crate) fn kill(config: &Config, store: &mut Store, id: &str, signal: &str) -> anyhow::Result<()> {
    let c = reload(config, store, id)?;
    if !c.state.running && !c.state.paused {
        anyhow::bail!("Cannot kill container: {id}: Container {id} is not running");
    }
    let rt = runtime_for(config, &c)?;
    let is_kill = matches!(signal.trim_start_matches("SIG"), "KILL" | "9");
    if is_kill {
        store.update(id, |r| r.manually_stopped = true)?;
    }
    rt.kill(&c.id, signal)?;
    store.log(&kill_event(&c, signal));
    if is_kill {
        wait_pid(c.state.pid, Duration::from_secs(10));
        wait_down(config, store, id, Duration::from_secs(10))?;
    }
    Ok(())
}

/// docker's `kill` event: the signal as its number.
fn kill_event(c: &Container, signal: &str) -> crate::events::Event {
    let name = signal.trim_start_matches("SIG").to_ascii_uppercase();
    let number = name.parse::<i32>().ok().or_else(|| {
        std::str::FromStr::from_str(&format!("SIG{name}")).ok().map(|s: nix::sys::signal::Signal| s as i32)
    });
    c.event("kill").attr("signal", number.map_or(name, |n| n.to_string()))
}

/// Remove a container that is down (forced: killed first); with `volumes`
/// (`rm -v`, `run --rm`) its anonymous volumes go too.
pub(crate) fn remove(config: &Config, store: &mut Store, id: &str, force: bool, volumes: bool) -> anyhow::Result<()> {
    let c = reload(config, store, id)?;
    if is_active(&c) {
        if !force {
            anyhow::bail!(
                "You cannot remove a running container {id}. Stop the container before attempting removal or force remove"
            );
        }
        store.update(id, |r| r.manually_stopped = true)?;
        if let Some(sup) = c.supervisor.filter(is_alive)
            && c.state.restarting
        {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(sup.pid), nix::sys::signal::Signal::SIGTERM);
        }
        let rt = runtime_for(config, &c)?;
        if c.state.running || c.state.paused {
            let _ = rt.kill(&c.id, "KILL");
            wait_pid(c.state.pid, Duration::from_secs(10));
        }
        // An `--rm` container's supervisor may have removed it meanwhile: done.
        let Some(c) = wait_down(config, store, id, Duration::from_secs(10))? else { return Ok(()) };
        // Wait for the supervisor to finish its own cleanup before we take the files away.
        if let Some(sup) = c.supervisor.filter(is_alive) {
            wait_pid(sup.pid, Duration::from_secs(10));
        }
        cleanup_after_exit(config, &rt, &c);
    }
    let c = match store.get(id) {
        Err(super::store::StoreError::NotFound(_)) => return Ok(()),
        c => c?,
    };
    // Whatever a crash left set up goes before the leases and ports do.
    crate::network::stop(config, id)?;
    remove_files(config, &c)?;
    // References go before the record: a failure leaves the container to
    // remove again, never a volume held by a container that is gone.
    crate::volume::attach::release(&config.data_root, id, volumes)?;
    store.remove(id)?;
    Ok(())
}

/// Unmount and delete a container's files (data dir, run dir, logs).
pub(crate) fn remove_files(config: &Config, c: &Container) -> anyhow::Result<()> {
    let layout = Layout::new(config, &c.id);
    rootfs::unmount(&layout.rootfs())?;
    let _ = std::fs::remove_dir_all(&layout.run);
    match std::fs::remove_dir_all(&layout.dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!("remove {:?}: {e}", layout.dir)),
    }
}
