//! A child that dies with its parent (PR_SET_PDEATHSIG): the supervisor's
//! health probes (`<runtime> exec`), so a `kill -9` of the supervisor
//! leaves no runtime process behind waiting on a probe.

use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::Signal;

/// Make `cmd`'s child get SIGKILL when the thread that spawned it exits (the
/// supervisor is single-threaded: when the supervisor does). A parent gone
/// before the child set this makes the spawn fail, so none slips through.
pub(crate) fn kill_with_parent(cmd: &mut Command) -> &mut Command {
    let parent = nix::unistd::getpid();
    // JUSTIFICATION: std offers no parent-death signal, and it must be set in
    // the child between fork and exec: only `pre_exec` runs there.
    // SAFETY: the closure runs in the forked child before exec. It makes two
    // async-signal-safe system calls (prctl, getppid), allocates nothing on
    // success and takes no lock, so a lock held by another thread of the
    // parent at fork time cannot deadlock it; `parent` is a plain copied pid.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Some(Signal::SIGKILL)).map_err(std::io::Error::from)?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::other("parent exited before the child started"));
            }
            Ok(())
        })
    }
}
