//! Did a setup process (init, or the one `exec` forks) reach execve?
//!
//! Both hold a close-on-exec fd (the exec fifo, the exec channel) whose EOF tells
//! the waiting side that the process is gone from our code: execve closed it, or
//! the process died. Every failure we can see is written on that fd first, but
//! after the seccomp filter is loaded the profile may deny the write, or kill the
//! process outright (`SCMP_ACT_KILL` on execve). So the setup process carries a
//! name of its own (`comm`, as runc's `runc:[2:INIT]`): execve replaces it with
//! the program's name before the new program runs, so a process that died with
//! our name never reached execve.

use super::error::Cause;
use crate::sys;
use crate::sys::proc_events::{ProcEvent, ProcEvents};

/// The `comm` of a setup process until its execve (15 bytes at most).
const SETUP_COMM: &str = "berth:[INIT]";

/// PF_EXITING in /proc/<pid>/stat's flags: do_exit has begun.
const PF_EXITING: u64 = 0x4;

/// Name the calling process [`SETUP_COMM`]; first thing in init and exec setup.
pub(super) fn mark_setup_process() -> Result<(), Cause> {
    nix::sys::prctl::set_name(c"berth:[INIT]").map_err(|e| sys::Error::new("prctl PR_SET_NAME", e).into())
}

/// What /proc/<pid>/stat says about a process.
struct Stat {
    comm: String,
    state: char,
    flags: u64,
    start_time: u64,
    /// The wait status of a zombie (field 52).
    exit_code: i32,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = crate::sys::procfs::read(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let fields: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    Some(Stat {
        comm: text.get(open + 1..close)?.to_string(),
        state: fields.first()?.chars().next()?,
        flags: fields.get(6)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
        exit_code: fields.get(49).and_then(|f| f.parse().ok()).unwrap_or(0),
    })
}

/// Like [`reached_execve`], with the kernel's process events heard since before
/// the setup process was released (`start`): they still tell an execve from a
/// death once a subreaper has reaped the process and /proc has nothing left.
/// Without them (not the initial namespaces, or events lost) /proc decides.
pub(super) fn reached_execve_heard(
    events: Option<&ProcEvents>,
    pid: i32,
    start_time: Option<u64>,
) -> Result<(), String> {
    if let Some(events) = events {
        // EOF on the fifo comes first, then the exec event (sent once the new
        // program is loaded) or the exit event: one of them follows at once.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        match events.watch(pid, deadline) {
            Ok(seen) if seen.iter().any(|e| matches!(e, ProcEvent::Exec { .. })) => return Ok(()),
            Ok(seen) => {
                if let Some(ProcEvent::Exit { status, .. }) = seen.last() {
                    return Err(describe(*status));
                }
                tracing::debug!(pid, "no exec or exit event heard; reading /proc");
            }
            Err(e) => tracing::debug!(pid, error = %e, "process events lost; reading /proc"),
        }
    }
    reached_execve(pid, start_time)
}

/// Called once the setup process `pid` closed its close-on-exec fd without a
/// word: `Err(why)` if it died before execve. `start_time` guards against a
/// reused pid. A process already reaped (by a subreaper, when `create` is gone)
/// cannot be told apart from one that ran and exited: that reads as success
/// (see [`reached_execve_heard`], which can).
pub(super) fn reached_execve(pid: i32, start_time: Option<u64>) -> Result<(), String> {
    // EOF comes before execve renames the process (the fds are closed first) and
    // before an exiting process is a zombie: wait for either, a few ms at most.
    for _ in 0..2000 {
        let Some(st) = stat(pid) else { return Ok(()) };
        if start_time.is_some_and(|t| t != st.start_time) || st.comm != SETUP_COMM {
            return Ok(());
        }
        if matches!(st.state, 'Z' | 'X') {
            return Err(describe(st.exit_code));
        }
        let pause = if st.flags & PF_EXITING != 0 { 1 } else { 200 };
        std::thread::sleep(std::time::Duration::from_micros(pause));
    }
    Ok(())
}

/// A wait status as words.
fn describe(status: i32) -> String {
    let sig = status & 0x7f;
    if sig == 0 {
        return format!("exited with status {} before execve", (status >> 8) & 0xff);
    }
    let name = nix::sys::signal::Signal::try_from(sig).map(|s| s.as_str()).unwrap_or("unknown");
    let hint = if name == "SIGSYS" { " (the seccomp profile kills a call made at execve)" } else { "" };
    format!("was killed by signal {sig} ({name}) before execve{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_read_as_words() {
        assert_eq!(describe(1 << 8), "exited with status 1 before execve");
        assert_eq!(
            describe(31),
            "was killed by signal 31 (SIGSYS) before execve (the seccomp profile kills a call made at execve)"
        );
        assert_eq!(describe(9 | 0x80), "was killed by signal 9 (SIGKILL) before execve");
    }

    #[test]
    fn own_stat_parses() {
        let st = stat(std::process::id() as i32).unwrap();
        assert!(matches!(st.state, 'R' | 'S'));
        assert!(st.start_time > 0);
        assert_ne!(st.comm, SETUP_COMM);
    }

    #[test]
    fn a_process_that_is_not_ours_reached_execve() {
        assert_eq!(reached_execve(std::process::id() as i32, None), Ok(()));
    }
}
