//! The per-container supervisor, berthctl's side of it. The supervisor is a
//! small program of its own (`berthctl-supervise`, `ctl/src/supervise/`,
//! conmon's model) that holds the container's stdio, writes its log, serves
//! the attach socket, reaps it and applies the restart backoff; it never
//! opens the store. berthctl does what needs the store or the network:
//! `spawn` prepares the bundle, binds the attach socket (and connects to it,
//! to attach) and starts the supervisor, and the supervisor
//! calls back `berthctl __hook <id> <event>` (conmon's exit command) after
//! each exit, failure or restart; `hook` below answers those.

pub(crate) mod client;
pub(crate) mod launch;
pub(crate) mod logfile;
pub(crate) mod protocol;
pub(crate) mod restart;
pub(crate) mod spawn;

use std::path::PathBuf;

use anyhow::Context;

use crate::config::Config;
use crate::container::record::ZERO_TIME;
use crate::container::runtime::{self, RuntimeError};
use crate::container::store::Store;
use crate::container::{Layout, lifecycle, now_rfc3339, rootfs};

/// What the supervisor tells berthctl (`berthctl __hook <id> <event>`).
#[derive(Debug, clap::Subcommand)]
pub(crate) enum HookEvent {
    /// The container exited with CODE and the runtime deleted it. Prints
    /// "restart" when the policy asks for another start, else "done".
    Exited {
        code: i32,
        /// The OOM killer killed a process of the container (its memory
        /// cgroup's `oom_kill` count, read by the supervisor before delete).
        #[arg(long)]
        oom_killed: bool,
    },
    /// `<runtime> VERB` (create or start) failed. Prints "<exit code> <message>".
    Failed {
        verb: String,
        /// The runtime's `--log` JSON or stderr.
        #[arg(long)]
        output: Option<PathBuf>,
        /// A failure of the supervisor's own.
        #[arg(long)]
        message: Option<String>,
    },
    /// Before a restart: count it, prepare the bundle. Prints "ok" or "done".
    Restart,
    /// A restarted container runs as PID (or a new one, when the berthctl
    /// that started it went away before recording it: then under SUPERVISOR).
    Running {
        pid: i32,
        #[arg(long)]
        supervisor: Option<i32>,
    },
    /// `stop` ended a restart wait.
    Stopped,
    /// The health checks' status changed to STATUS: docker's
    /// `health_status: STATUS` event.
    Health { status: String },
}

/// The hidden `__hook` command: one event from a supervisor.
pub(crate) fn hook(config: &Config, id: &str, event: &HookEvent) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    match event {
        HookEvent::Exited { code, oom_killed } => {
            let restart = exited(config, &mut store, id, *code, *oom_killed)?;
            println!("{}", if restart { "restart" } else { "done" });
        }
        HookEvent::Failed { verb, output, message } => {
            let message = match (output, message) {
                (_, Some(m)) => m.clone(),
                (Some(path), None) => {
                    let text = std::fs::read(path).unwrap_or_default();
                    let msg = runtime::log_message(&text).unwrap_or_else(|| "failed with no message".into());
                    let verb = if verb == "create" { "create" } else { "start" };
                    RuntimeError::Failed { verb, id: id.to_string(), message: msg }.to_string()
                }
                (None, None) => format!("runtime {verb} {id}: failed"),
            };
            let code = failure_code(&message);
            failed(config, &mut store, id, code, &message);
            println!("{code} {message}");
        }
        HookEvent::Restart => println!("{}", if restart(config, &mut store, id)? { "ok" } else { "done" }),
        HookEvent::Running { pid, supervisor } => {
            let supervisor = supervisor.map(|sup| crate::container::record::ProcessId {
                pid: sup,
                start_time: crate::container::process_start_time(sup).unwrap_or(0),
            });
            record_running(&mut store, id, *pid, supervisor)?
        }
        HookEvent::Health { status } => {
            let c = store.get(id)?;
            store.log(&c.event(&format!("health_status: {status}")));
        }
        HookEvent::Stopped => {
            store.update(id, |r| {
                r.state.status = "exited".into();
                r.state.restarting = false;
            })?;
            finish(config, &mut store, id);
        }
    }
    Ok(0)
}

/// docker's exit code for a start that failed with `message`.
fn failure_code(message: &str) -> i32 {
    RuntimeError::Failed { verb: "create", id: String::new(), message: message.to_string() }.exit_code()
}

/// Record the exit and tear the network down; whether to restart (then the
/// record says "restarting"), else finish.
pub(crate) fn exited(
    config: &Config,
    store: &mut Store,
    id: &str,
    code: i32,
    oom_killed: bool,
) -> anyhow::Result<bool> {
    if let Err(e) = crate::network::stop(config, id) {
        tracing::warn!(error = %e, "network teardown");
    }
    let now = now_rfc3339();
    let health = crate::container::health::at_exit(&Layout::new(config, id).run);
    let change = |r: &mut crate::container::record::Container| {
        lifecycle::mark_exited(r, code, &now);
        r.state.oom_killed = oom_killed;
        if health.is_some() {
            r.state.health = health.clone();
        }
    };
    // docker's daemon hears containerd's oom event before the exit.
    let events = |r: &crate::container::record::Container| {
        let die = r.event("die").attr("exitCode", code.to_string());
        if oom_killed { vec![r.event("oom"), die] } else { vec![die] }
    };
    let c = store.update_logged(id, change, events)?;
    if restart::should_restart(&c.host_config.restart_policy, code, c.restart_count, c.manually_stopped) {
        store.update(id, |r| {
            r.state.status = "restarting".into();
            r.state.restarting = true;
        })?;
        return Ok(true);
    }
    finish(config, store, id);
    Ok(false)
}

/// A start that failed: recorded with its message, the network torn down,
/// finished.
pub(crate) fn failed(config: &Config, store: &mut Store, id: &str, code: i32, message: &str) {
    if let Err(e) = crate::network::stop(config, id) {
        tracing::warn!(error = %e, "network teardown");
    }
    let now = now_rfc3339();
    if let Err(e) = store.update(id, |r| {
        lifecycle::mark_exited(r, code, &now);
        r.state.error = message.to_string();
    }) {
        tracing::warn!(error = %e, "record failure");
    }
    finish(config, store, id);
}

/// Count a restart and prepare the bundle again; false when the container
/// stays down (stopped or its policy changed meanwhile, or the preparation failed).
fn restart(config: &Config, store: &mut Store, id: &str) -> anyhow::Result<bool> {
    let c = store.update(id, |r| r.restart_count += 1)?;
    // The policy is read again: `update --restart` during the backoff wait
    // counts as much as one before the exit.
    let policy = &c.host_config.restart_policy;
    let wanted = restart::should_restart(policy, c.state.exit_code, c.restart_count.saturating_sub(1), false);
    if c.manually_stopped || !wanted {
        store.update(id, |r| {
            r.state.status = "exited".into();
            r.state.restarting = false;
        })?;
        finish(config, store, id);
        return Ok(false);
    }
    if let Err(e) = launch::prepare(config, &c, &Layout::new(config, id)) {
        let message = crate::cli::error_chain(&anyhow::Error::new(e));
        failed(config, store, id, 125, &message);
        return Ok(false);
    }
    Ok(true)
}

/// The container runs as `pid` (under the supervisor `supervisor`, on the
/// first start).
pub(crate) fn record_running(
    store: &mut Store,
    id: &str,
    pid: i32,
    supervisor: Option<crate::container::record::ProcessId>,
) -> anyhow::Result<()> {
    let now = now_rfc3339();
    store
        .update_logged(
            id,
            |r| {
                r.state.status = "running".into();
                r.state.running = true;
                r.state.restarting = false;
                r.state.paused = false;
                r.state.pid = pid;
                r.state.started_at = now;
                r.state.finished_at = ZERO_TIME.into();
                r.state.error.clear();
                if supervisor.is_some() {
                    r.supervisor = supervisor;
                }
            },
            |r| vec![r.event("start")],
        )
        .with_context(|| format!("record container {id} running"))?;
    Ok(())
}

/// The container stays down: unmount, drop the run dir, remove the
/// container when `--rm` asked for it, and clear the supervisor from the record.
pub(crate) fn finish(config: &Config, store: &mut Store, id: &str) {
    let layout = Layout::new(config, id);
    if let Err(e) = rootfs::unmount(&layout.rootfs()) {
        tracing::warn!(error = %e, "unmount rootfs");
    }
    let _ = std::fs::remove_dir_all(&layout.run);
    if let Err(e) = crate::volume::attach::deactivate(&config.data_root, id) {
        tracing::warn!(error = %e, "deactivate volumes");
    }
    match store.get(id) {
        Ok(c) if c.host_config.auto_remove => {
            if let Err(e) = lifecycle::remove_files(config, &c) {
                tracing::warn!(error = %e, "remove container files");
            }
            // run --rm takes its anonymous volumes along (docker's rule).
            match crate::volume::attach::release(&config.data_root, id, true) {
                Ok(_) => {
                    let _ = store.remove(id);
                }
                Err(e) => tracing::warn!(error = %e, "release volumes"),
            }
        }
        Ok(_) => {
            let _ = store.update(id, |r| r.supervisor = None);
        }
        Err(_) => {}
    }
}
