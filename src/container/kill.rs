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

/// glibc's SIGRTMIN (the kernel's 32 and 33 are its own) and SIGRTMAX.
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;

/// Parse a signal name (with or without `SIG`, any case), `RTMIN+n`/`RTMAX-n`
/// (systemd stops with `SIGRTMIN+3`), or a number up to 64 (containerd passes
/// numbers). `0` is the null signal: it only checks that the process exists, as
/// with kill(2).
pub fn parse_signal(s: &str) -> Result<i32, Cause> {
    let bad = || Cause::Usage(format!("unknown signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return if (0..=RTMAX).contains(&n) { Ok(n) } else { Err(bad()) };
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    let rt = |rest: &str, base: i32, sign: i32| -> Result<i32, Cause> {
        let n = if rest.is_empty() { 0 } else { rest.parse::<i32>().map_err(|_| bad())? };
        Some(base + sign * n).filter(|v| (RTMIN..=RTMAX).contains(v)).ok_or_else(bad)
    };
    if let Some(rest) = name.strip_prefix("SIGRTMIN") {
        return rt(rest.strip_prefix('+').unwrap_or(rest), RTMIN, 1);
    }
    if let Some(rest) = name.strip_prefix("SIGRTMAX") {
        return rt(rest.strip_prefix('-').unwrap_or(rest), RTMAX, -1);
    }
    Signal::from_str(&name).map(|s| s as i32).map_err(|_| bad())
}

pub fn kill(root: &Path, id: &str, signal: i32, all: bool) -> Result<(), ContainerError> {
    let (st, status) = load(root, id, "kill")?;
    let err = |c: Cause| c.into_error(id, "kill");
    // A frozen process cannot act on SIGKILL: thaw the cgroup after it so the
    // container dies (runc does the same, with or without --all).
    let thaw = || {
        if status == Status::Paused
            && signal == Signal::SIGKILL as i32
            && let Ok(cg) = cgroups::open(&st.cgroup)
        {
            let _ = cg.freeze(FreezerState::Thawed);
        }
    };
    if all {
        // With --all a stopped init may still leave processes in the cgroup (no
        // pid namespace): signal whatever is there.
        // runc signals whatever is in the cgroup, and a stopped container with
        // nothing left in it is not an error (`kill --all ID 0` exits 0).
        let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
        let pids = cg.pids().map_err(|e| err(e.into()))?;
        tracing::debug!(id, signal, pids = pids.len(), "kill --all");
        for pid in pids {
            let _ = sys::process::send_signal(pid, signal);
        }
        thaw();
        return Ok(());
    }
    // runtime.md "Kill": a container that is neither created nor running (still
    // being created, or stopped) must not be signalled. A pid of 0 would signal
    // our own process group.
    if matches!(status, Status::Stopped | Status::Creating) || st.pid <= 0 {
        return Err(err(Cause::NotRunning));
    }
    tracing::debug!(id, signal, pid = st.pid, "kill");
    sys::process::send_signal(Pid::from_raw(st.pid), signal).map_err(|e| err(e.into()))?;
    thaw();
    Ok(())
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
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("SIGKILL").unwrap(), 9);
        assert_eq!(parse_signal("sigterm").unwrap(), 15);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("0").unwrap(), 0);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }

    #[test]
    fn real_time_signals_by_number_and_name() {
        assert_eq!(parse_signal("37").unwrap(), 37);
        assert_eq!(parse_signal("64").unwrap(), 64);
        assert_eq!(parse_signal("RTMIN+3").unwrap(), 37);
        assert_eq!(parse_signal("SIGRTMIN+3").unwrap(), 37);
        assert_eq!(parse_signal("SIGRTMIN").unwrap(), 34);
        assert_eq!(parse_signal("RTMAX-2").unwrap(), 62);
        assert!(parse_signal("RTMIN+31").is_err());
        assert!(parse_signal("RTMIN+x").is_err());
    }
}
