//! What touches the store is berthctl's: the supervisor runs
//! `berthctl __hook <id> <event>` (conmon's exit command, podman's
//! `container cleanup`) and reads its one-line answer. The supervisor itself
//! never opens the database, so it maps no SQLite, TLS or async runtime.

use std::process::{Command, Stdio};

use crate::args::Args;
use crate::launch::{Detail, Failure};

/// Run one hook; its first line of output ("" when it failed, which the
/// caller treats as "stay down").
fn run(a: &Args, event: &[&std::ffi::OsStr]) -> String {
    let res = Command::new(&a.berthctl)
        .arg("--data-root")
        .arg(&a.data_root)
        .arg("--runroot")
        .arg(&a.runroot)
        .arg("--runtime")
        .arg(&a.runtime)
        .arg("__hook")
        .arg(&a.id)
        .args(event)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .output();
    match res {
        Ok(out) if out.status.success() => {
            String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").to_string()
        }
        Ok(out) => {
            eprintln!("berthctl __hook {}: {}", a.id, out.status);
            String::new()
        }
        Err(e) => {
            eprintln!("run {:?} __hook: {e}", a.berthctl);
            String::new()
        }
    }
}

/// The container exited with `code` (and the runtime deleted it; the OOM
/// killer struck in it when `oom_killed`): berthctl records it and tears the
/// network down; true if the restart policy asks for another start, else
/// berthctl has finished (unmounted, removed for `--rm`).
pub(crate) fn exited(a: &Args, code: i32, oom_killed: bool) -> bool {
    let code = code.to_string();
    let mut event: Vec<&std::ffi::OsStr> = vec!["exited".as_ref(), code.as_ref()];
    if oom_killed {
        event.push("--oom-killed".as_ref());
    }
    run(a, &event) == "restart"
}

/// A start failed: berthctl records the failure and finishes; its answer is
/// "<exit code> <message>" for the command that started us.
pub(crate) fn failed(a: &Args, f: &Failure) -> (i32, String) {
    let mut event: Vec<&std::ffi::OsStr> = vec!["failed".as_ref(), f.verb.as_ref()];
    match &f.detail {
        Detail::Output(path) => event.extend([std::ffi::OsStr::new("--output"), path.as_os_str()]),
        Detail::Message(m) => event.extend([std::ffi::OsStr::new("--message"), std::ffi::OsStr::new(m)]),
    }
    let answer = run(a, &event);
    match answer.split_once(' ') {
        Some((code, msg)) if code.parse::<i32>().is_ok() => (code.parse().unwrap_or(125), msg.to_string()),
        _ => (125, format!("runtime {} {}: failed (see supervisor.log)", f.verb, a.id)),
    }
}

/// Before a restart: berthctl counts it and prepares the bundle again;
/// false when the container is to stay down (stopped meanwhile, or the
/// preparation failed — berthctl has then finished).
pub(crate) fn restart(a: &Args) -> bool {
    run(a, &["restart".as_ref()]) == "ok"
}

/// A restarted container runs as `pid`.
pub(crate) fn running(a: &Args, pid: i32) {
    run(a, &["running".as_ref(), pid.to_string().as_ref()]);
}

/// The container runs as `pid` under this supervisor (`supervisor`), and
/// the berthctl that started it went away before recording that.
pub(crate) fn adopted(a: &Args, pid: i32, supervisor: u32) {
    run(a, &["running".as_ref(), pid.to_string().as_ref(), "--supervisor".as_ref(), supervisor.to_string().as_ref()]);
}

/// `stop` ended a restart wait: berthctl finishes.
pub(crate) fn stopped(a: &Args) {
    run(a, &["stopped".as_ref()]);
}

/// The health checks' status changed: berthctl logs docker's
/// `health_status: <status>` event.
pub(crate) fn health(a: &Args, status: &str) {
    run(a, &["health".as_ref(), status.as_ref()]);
}
