//! Process creation and the last steps before execve: a fork-like clone with
//! namespace flags, close_range, and pidfd-free liveness checks.

use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

use super::{Error, Result};

/// Who we are after [`clone_fork`].
pub enum Forked {
    Parent(Pid),
    Child,
}

/// clone(2) with fork semantics: the child continues from this call on a copy of
/// the caller's stack, in new namespaces for every `CLONE_NEW*` flag in `flags`.
///
/// Policy: the raw `clone` syscall without a new stack (child stack = NULL) behaves
/// like fork, which lets the init run the same Rust code path as the caller instead
/// of a callback on a hand-made stack (as nix's `clone` requires). SIGCHLD is the
/// exit signal so the caller can `waitpid` the child as usual.
pub fn clone_fork(flags: CloneFlags) -> Result<Forked> {
    assert_single_threaded("clone");
    let raw = flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: with a NULL child stack the kernel gives the child a copy-on-write copy
    // of this process's memory, like fork. berth is single-threaded when it calls
    // this (no runtime threads; tracing writes synchronously; the systemd
    // driver's D-Bus client is blocking and thread-free, and used only after init
    // is cloned; checked above in debug and test builds), so no lock held by
    // another thread can be left locked in the child, and the child only runs the
    // init code path which never returns into the parent's state. The pointer
    // arguments are NULL, which clone accepts when CLONE_*SETTID/SETTLS are not set.
    // JUSTIFICATION: nix's `clone` needs a caller-provided stack and a callback, and
    // has no fork-like form.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            raw,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    match ret {
        -1 => Err(Error::new("clone", Errno::last())),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}

/// The precondition of [`clone_fork`], checked where it costs nothing
/// that matters (debug builds, and the test builds `make test` drives): this
/// process has one thread. A thread would leave its locks (the allocator's, stdio's)
/// locked forever in the child. Once a container's mount namespace is joined (exec's
/// second clone), /proc may belong to a pid namespace we are not in, where
/// /proc/self does not resolve: then there is nothing to check against.
fn assert_single_threaded(call: &str) {
    if cfg!(any(debug_assertions, feature = "test-hooks")) {
        let threads = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| threads_in_status(&s));
        assert!(
            threads.is_none_or(|n| n == 1),
            "{call} from a process with {threads:?} threads (must be single-threaded)"
        );
    }
}

/// The `Threads:` count of a /proc/<pid>/status text.
fn threads_in_status(status: &str) -> Option<usize> {
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok())
}

/// Mark every fd >= `first` close-on-exec (CVE-2024-21626: no host fd may reach
/// the container process). The fds stay usable until execve.
pub fn cloexec_from(first: RawFd) -> Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC closes nothing; it only sets the
    // FD_CLOEXEC flag on fds in [first, ~0], so no OwnedFd or File in this process is
    // invalidated.
    // JUSTIFICATION: nix 0.29 has no close_range wrapper.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        )
    };
    if ret == -1 {
        return Err(Error::new("close_range", Errno::last()));
    }
    Ok(())
}

/// Exit the current process immediately, without running atexit handlers or
/// flushing stdio buffers that belong to the parent (used by forked children).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes no pointers and never returns; skipping destructors is
    // the point (the child must not flush or drop the parent's copies of state).
    // JUSTIFICATION: std::process::exit runs atexit handlers and flushes stdout.
    unsafe { libc::_exit(code) }
}

/// setdomainname(2).
pub fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, which stay alive for
    // the call; the kernel copies them and does not need a NUL terminator.
    // JUSTIFICATION: nix 0.29 has sethostname but no setdomainname.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if ret == -1 {
        return Err(Error::new("setdomainname", Errno::last()));
    }
    Ok(())
}

/// Join a new session keyring named `name` (keyctl JOIN_SESSION_KEYRING), so the
/// container does not share the caller's keys. ENOSYS (no keyring support) is not
/// an error, as in runc.
pub fn join_session_keyring(name: &str) -> Result<()> {
    let cname = std::ffi::CString::new(name).map_err(|_| Error::new("keyctl", Errno::EINVAL))?;
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING reads one NUL-terminated string through the
    // second argument, which `cname` keeps alive for the call.
    // JUSTIFICATION: nix has no keyctl wrapper.
    let ret = unsafe { libc::syscall(libc::SYS_keyctl, libc::KEYCTL_JOIN_SESSION_KEYRING, cname.as_ptr()) };
    if ret == -1 {
        let errno = Errno::last();
        if errno == Errno::ENOSYS {
            return Ok(());
        }
        return Err(Error::new("keyctl JOIN_SESSION_KEYRING", errno));
    }
    Ok(())
}

/// kill(2) with a raw signal number, real-time signals (32–64) included, which
/// nix's `Signal` cannot name. 0 is the null signal (an existence check).
pub fn send_signal(pid: Pid, sig: i32) -> Result<()> {
    // SAFETY: kill takes two integers and touches no memory of ours.
    // JUSTIFICATION: nix::sys::signal::kill only takes its `Signal` enum, which
    // has no real-time signals.
    if unsafe { libc::kill(pid.as_raw(), sig) } == -1 {
        return Err(Error::new("kill", Errno::last()));
    }
    Ok(())
}

/// Every signal a process may catch or ignore: 1-64 but SIGKILL and SIGSTOP
/// (glibc's own 32 and 33 included: a caller may leave them ignored too).
pub const CATCHABLE_SIGNALS: [i32; 62] = {
    let mut out = [0; 62];
    let (mut sig, mut i) = (1, 0);
    while sig <= 64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            out[i] = sig;
            i += 1;
        }
        sig += 1;
    }
    out
};

/// Undo what our caller left on `signals`: a `SIG_IGN` disposition becomes
/// `SIG_DFL` (an ignored signal would be dropped, and init would inherit the
/// ignoring through execve), and each is unblocked (init inherits the mask too).
/// Handlers that we installed are left alone: berth installs none.
pub fn reset_ignored_signals(signals: &[i32]) -> Result<()> {
    for &sig in signals {
        // The kernel's struct sigaction: handler first, then flags, (restorer,)
        // mask; four zeroed words hold it on every architecture, and all-zero is
        // SIG_DFL with no flags and an empty mask.
        let mut old = [0u64; 4];
        // SAFETY: rt_sigaction with a NULL new action only writes the current one
        // into `old` (at most 4 words with an 8-byte sigset); `old` is live and
        // writable for the call.
        // JUSTIFICATION: glibc's sigaction refuses signals 32 and 33, and nix's
        // always installs a new action.
        let ret = unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, std::ptr::null::<u64>(), old.as_mut_ptr(), 8) };
        Errno::result(ret).map_err(|e| Error::new("rt_sigaction", e))?;
        if old[0] == libc::SIG_IGN as u64 {
            let dfl = [0u64; 4];
            // SAFETY: the kernel reads the all-zero action (SIG_DFL) from `dfl`, a
            // live array; no handler of ours is installed, so no code runs in
            // signal context.
            let ret =
                unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, dfl.as_ptr(), std::ptr::null_mut::<u64>(), 8) };
            Errno::result(ret).map_err(|e| Error::new("rt_sigaction", e))?;
        }
    }
    let named: Vec<i32> = signals.iter().copied().filter(|s| *s != 32 && *s != 33).collect();
    nix::sys::signal::sigprocmask(nix::sys::signal::SigmaskHow::SIG_UNBLOCK, Some(&signal_set(&named)?), None)
        .map_err(|e| Error::new("sigprocmask", e))?;
    Ok(())
}

/// A signal set of any signal numbers, real-time ones included (nix's `SigSet`
/// takes only the named signals, and musl's `sigaddset` refuses 32-34, which it
/// keeps for itself but which a container may still be sent).
pub fn signal_set(signals: &[i32]) -> Result<nix::sys::signal::SigSet> {
    let mut mask = 0u64;
    for &sig in signals {
        if !(1..=64).contains(&sig) {
            return Err(Error::new("sigaddset", Errno::EINVAL));
        }
        mask |= 1 << (sig - 1);
    }
    const { assert!(std::mem::size_of::<libc::sigset_t>() >= std::mem::size_of::<u64>()) };
    // SAFETY: glibc and musl both define sigset_t as an array of unsigned longs
    // holding the kernel's mask, so all-zero is the empty set and signal n is
    // bit n-1 of its first 64 bits; the u64 written lies within the sigset_t
    // (asserted above), and write_unaligned asks nothing of its alignment.
    // JUSTIFICATION: nix's SigSet::add takes a `Signal`, which has no real-time
    // signals, and musl's sigaddset refuses 32-34.
    let raw = unsafe {
        let mut raw: libc::sigset_t = std::mem::zeroed();
        std::ptr::write_unaligned((&raw mut raw).cast::<u64>(), mask);
        raw
    };
    // SAFETY: `raw` is a fully initialised sigset_t.
    Ok(unsafe { nix::sys::signal::SigSet::from_sigset_t_unchecked(raw) })
}

/// End this process as `abort(3)` would, by the ids the kernel gives it now.
/// musl's `abort` sends SIGABRT to the thread id it cached at start-up, which a
/// child made by [`clone_fork`] (not by musl's `fork`) still holds: the
/// signal would go to the parent, or to nobody in a new pid namespace. A pid 1
/// ignores a signal it has no handler for, so this exits with 134 (128 +
/// SIGABRT) when the signal does not end it.
pub fn abort_self() -> ! {
    let dfl = [0u64; 4];
    let abrt = 1u64 << (libc::SIGABRT - 1);
    // SAFETY: raw syscalls on this process only: SIGABRT's action set to the
    // all-zero SIG_DFL (the kernel's sigaction layout, as in
    // `reset_ignored_signals`), SIGABRT unblocked, then sent to this thread;
    // the pointers are to live arrays for the duration of each call.
    // JUSTIFICATION: libc's abort and raise use musl's cached thread id.
    unsafe {
        libc::syscall(libc::SYS_rt_sigaction, libc::SIGABRT, dfl.as_ptr(), std::ptr::null_mut::<u64>(), 8);
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_UNBLOCK, &raw const abrt, std::ptr::null_mut::<u64>(), 8);
        let pid = libc::syscall(libc::SYS_getpid);
        let tid = libc::syscall(libc::SYS_gettid);
        libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGABRT);
    }
    exit_now(128 + libc::SIGABRT)
}

/// Start `cmd`'s child with no signal blocked. `run` blocks the signals it
/// forwards before the container exists, and a child inherits the mask: a hook
/// killing itself with SIGSYS would otherwise live on and exit 0.
pub fn unblock_signals_in_child(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: it builds an empty set on its stack
    // (sigemptyset) and calls pthread_sigmask, both async-signal-safe; it
    // allocates nothing and touches no lock.
    unsafe {
        cmd.pre_exec(|| {
            let empty = nix::sys::signal::SigSet::empty();
            nix::sys::signal::pthread_sigmask(nix::sys::signal::SigmaskHow::SIG_SETMASK, Some(&empty), None)
                .map_err(std::io::Error::from)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_read_from_proc_status() {
        let status = "Name:\tberth\nTgid:\t7\nThreads:\t3\nSigQ:\t0/1\n";
        assert_eq!(threads_in_status(status), Some(3));
        assert_eq!(threads_in_status("Name:\tberth\n"), None);
    }

    #[test]
    #[cfg(any(debug_assertions, feature = "test-hooks"))]
    fn a_threaded_process_may_not_clone() {
        // The test harness runs this on a thread of its own, so the process has at
        // least two: the check must refuse before any clone is made.
        let own = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| threads_in_status(&s));
        assert!(own.is_some_and(|n| n > 1));
        let result = std::panic::catch_unwind(|| clone_fork(CloneFlags::empty()).map(|_| ()));
        assert!(result.is_err(), "clone_fork went ahead in a multi-threaded process");
    }
}
