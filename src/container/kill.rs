//! `kill`: send a signal to init, or with `--all` to every process in the
//! container's cgroup. Signals are taken as runc takes them: `KILL`, `SIGKILL`, `9`.

use std::path::Path;
use std::str::FromStr;

use nix::sys::signal::{Signal, kill as send};
use nix::unistd::Pid;

use super::error::{Cause, ContainerError};
use super::load_state as load;
use super::state::Status;
use crate::cgroups::{self, CgroupManager, FreezerState};
use crate::sys;

/// Parse a signal name (with or without `SIG`, any case) or number. `0` is the
/// null signal (None): it only checks that the process exists, as with kill(2).
pub fn parse_signal(s: &str) -> Result<Option<Signal>, Cause> {
    let bad = || Cause::Usage(format!("unknown signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        if n == 0 {
            return Ok(None);
        }
        return Signal::try_from(n).map(Some).map_err(|_| bad());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    Signal::from_str(&name).map(Some).map_err(|_| bad())
}

pub fn kill(root: &Path, id: &str, signal: Option<Signal>, all: bool) -> Result<(), ContainerError> {
    let (st, status) = load(root, id, "kill")?;
    let err = |c: Cause| c.into_error(id, "kill");
    if all {
        // With --all a stopped init may still leave processes in the cgroup (no
        // pid namespace): signal whatever is there.
        let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
        let pids = cg.pids().map_err(|e| err(e.into()))?;
        if status == Status::Stopped && pids.is_empty() {
            return Err(err(Cause::NotRunning));
        }
        for pid in pids {
            let _ = send(pid, signal);
        }
        if status == Status::Paused && signal == Some(Signal::SIGKILL) {
            let _ = cg.freeze(FreezerState::Thawed);
        }
        return Ok(());
    }
    // runtime.md "Kill": a container that is neither created nor running (still
    // being created, or stopped) must not be signalled. A pid of 0 would signal
    // our own process group.
    if matches!(status, Status::Stopped | Status::Creating) || st.pid <= 0 {
        return Err(err(Cause::NotRunning));
    }
    send(Pid::from_raw(st.pid), signal).map_err(|e| err(sys::Error::new("kill", e).into()))
}

/// SIGKILL every process in `cg` (thawing it so the kill is delivered), and wait
/// until the cgroup is empty, for at most a few seconds.
pub fn kill_cgroup(cg: &dyn CgroupManager) {
    for _ in 0..500 {
        let pids = match cg.pids() {
            Ok(p) => p,
            Err(_) => return,
        };
        if pids.is_empty() {
            return;
        }
        for pid in &pids {
            let _ = send(*pid, Signal::SIGKILL);
        }
        let _ = cg.freeze(FreezerState::Thawed);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    tracing::warn!("processes still in the cgroup after SIGKILL");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_like_runc() {
        assert_eq!(parse_signal("KILL").unwrap(), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("SIGKILL").unwrap(), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("sigterm").unwrap(), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("9").unwrap(), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("15").unwrap(), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("0").unwrap(), None);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }
}
