//! `start`: open the exec fifo for reading, which releases init into execve, then
//! run the poststart hooks.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::stat::Mode;

use super::error::{Cause, ContainerError};
use super::state::{self, FIFO, Status, Store};
use super::{ContainerId, load_state as load, testhook};
use crate::sys::proc_events::ProcEvents;
use crate::{hooks, sys};

pub fn start(root: &Path, id: &str) -> Result<(), ContainerError> {
    let (st, status) = load(root, id, "start")?;
    let err = |c: Cause| c.into_error(id, "start");
    match status {
        Status::Created => {}
        Status::Stopped => return Err(err(Cause::StartStopped)),
        _ => return Err(err(Cause::AlreadyStarted)),
    }
    let store = Store::new(root);
    let cid = ContainerId::new(id).map_err(err)?;
    let fifo = store.dir(&cid).join(FIFO);
    // Heard from before init is released, so that its execve (or its death) is
    // known even if a subreaper reaps it before we look at /proc.
    let events = match ProcEvents::subscribe(std::time::Duration::from_millis(200)) {
        Ok(ev) => Some(ev),
        Err(e) => {
            tracing::debug!(error = %e, "no process events; init's fate is read from /proc");
            None
        }
    };
    let fd = sys::fd::open(&fifo, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| err(sys::Error::with_path("open exec fifo", &fifo, e).into()))?;
    tracing::debug!(id, pid = st.pid, "start: exec fifo opened, init released");
    let mut f = File::from(fd);
    // Init writes one byte, then holds the write end open (close-on-exec) until its
    // execve: the byte says it is going on, EOF says the user process runs (or init
    // died). Waiting for EOF orders poststart hooks after the exec, as the spec asks.
    let mut got = Vec::new();
    loop {
        let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) => {
                if !state::is_alive(st.pid, st.init_start_time) {
                    break;
                }
                continue;
            }
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(err(sys::Error::with_path("poll exec fifo", &fifo, e).into())),
        }
        let mut buf = [0u8; 16];
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => return Err(err(Cause::Io { what: "read exec fifo", path: fifo.clone(), source })),
        }
    }
    let _ = std::fs::remove_file(&fifo);
    testhook::wait_reaped_at("start-after-eof", st.pid);
    if let Err(e) = outcome(&got, events.as_ref(), st.pid, st.init_start_time) {
        // Init closes the fifo as it exits: wait until it is gone, so that the
        // container reads `stopped` once `start` has failed.
        wait_gone(&st);
        return Err(err(Cause::Init(e)));
    }
    tracing::debug!(id, "start: init went on to execve");
    poststart(id, &st);
    Ok(())
}

/// Wait (a second at most) until init, which is exiting, is gone.
pub(super) fn wait_gone(st: &super::State) {
    for _ in 0..1000 {
        if !state::is_alive(st.pid, st.init_start_time) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Poststart failures are logged, not fatal, and the remaining hooks still run
/// (runtime spec "Lifecycle" step 9).
pub(super) fn poststart(id: &str, st: &super::State) {
    if let Some(h) = st.config.hooks().as_ref().and_then(|h| h.poststart().as_ref()) {
        let oci = serde_json::to_vec(&st.to_oci(Status::Running)).unwrap_or_default();
        hooks::run_all_warn(id, "poststart", h, &oci);
    }
}

/// What init wrote on the exec fifo before EOF: `0` when it went on to its last
/// steps (the seccomp filter, execve), `1` and the error that stopped it (after
/// the `0` when a last step failed), nothing if it died before. A bare `0` is
/// checked against /proc: init may have died after it without being able to say.
fn outcome(got: &[u8], events: Option<&ProcEvents>, pid: i32, start_time: u64) -> Result<(), String> {
    let (went_on, rest) = match got.split_first() {
        Some((b'0', rest)) => (true, rest),
        _ => (false, got),
    };
    if let Some((b'1', msg)) = rest.split_first() {
        return Err(String::from_utf8_lossy(msg).into_owned());
    }
    match super::execwatch::reached_execve_heard(events, pid, Some(start_time)) {
        Err(why) => Err(format!("container init {why}")),
        Ok(()) if went_on => Ok(()),
        Ok(()) => Err("container init exited before start".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::outcome;

    #[test]
    fn fifo_messages_read_as_runc_and_init_wrote_them() {
        let me = std::process::id() as i32;
        // Our own pid stands for a process that has exec'd (its name is not init's).
        assert_eq!(outcome(b"0", None, me, 0), Ok(()));
        assert_eq!(outcome(b"1hook failed", None, me, 0), Err("hook failed".into()));
        assert_eq!(outcome(b"01seccomp: load", None, me, 0), Err("seccomp: load".into()));
        assert_eq!(outcome(b"", None, me, 0), Err("container init exited before start".into()));
    }
}
