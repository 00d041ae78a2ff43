//! Process setup shared by init (`init.rs`) and exec (`exec.rs`): the steps
//! that make the setup process invisible to the container, join the container's
//! cgroup, apply `process` (labels, rlimits, scheduling, user, cwd, capabilities,
//! no_new_privs) and, last, close fds, load the seccomp filter and execve. Both
//! run them in this order; neither reaches into the other.

use std::convert::Infallible;
use std::ffi::CString;
use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;

use nix::unistd::Pid;

use super::error::Cause;
use super::testhook;
use crate::cgroups::{self, CgroupManager};
use crate::process;
use crate::security::{self, seccomp::Filter};
use crate::sys;

/// First thing after clone in every setup process. CVE-2019-5736: nothing in
/// the container may open /proc/<pid>/exe (the host binary) while we run; a
/// non-dumpable process's /proc files are root-owned. The comm marks the process
/// as ours until execve (see `execwatch`).
pub(super) fn hide_from_container() -> Result<(), Cause> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| sys::Error::new("prctl PR_SET_DUMPABLE", e))?;
    super::execwatch::mark_setup_process()
}

/// Open the `tasks` files through which the container's first process joins its
/// v1 cgroups itself, each with its path for error messages.
pub(super) fn open_self_join(cg: &dyn CgroupManager) -> Result<Vec<(PathBuf, File)>, Cause> {
    open_tasks(&cg.self_join_files())
}

/// Open `tasks` files for [`join_cgroups`].
pub(super) fn open_tasks(paths: &[PathBuf]) -> Result<Vec<(PathBuf, File)>, Cause> {
    paths
        .iter()
        .map(|path| match fs::OpenOptions::new().write(true).open(path) {
            Ok(f) => Ok((path.clone(), f)),
            Err(source) => Err(Cause::Io { what: "open cgroup tasks", path: path.clone(), source }),
        })
        .collect()
}

/// The parent's part of moving `pid` into the cgroup: every hierarchy, or, when
/// the process joins the v1 ones itself (`open_self_join`), only the others.
pub(super) fn add_task(cg: &dyn CgroupManager, pid: Pid, self_join: bool) -> Result<(), cgroups::CgroupError> {
    if self_join { cg.add_task_except_self_join(pid) } else { cg.add_task(pid) }
}

/// Move this (single-threaded) process into the cgroups behind `tasks` files.
pub(super) fn join_cgroups(tasks: &[(PathBuf, File)]) -> Result<(), Cause> {
    for (path, f) in tasks {
        let mut f: &File = f;
        f.write_all(b"0").map_err(|source| Cause::Io { what: "join cgroup", path: path.clone(), source })?;
    }
    Ok(())
}

/// The program to exec, resolved while we could still see it, with its argv/envp.
pub(super) struct Prepared {
    program: CString,
    args: Vec<CString>,
    env: Vec<CString>,
    /// Capabilities to set once the seccomp filter is loaded (see `caps::apply`).
    deferred_caps: Option<security::caps::Deferred>,
}

/// The process settings shared by init and exec, in runc's order: labels, rlimits,
/// bounding set, user, cwd, capabilities, no_new_privs. The seccomp filter is not
/// loaded here but by [`exec`], as the very last step: any call made after it
/// would need the profile's permission, and profiles generated for one program
/// (or older docker profiles) lack calls such as close_range or getcwd.
/// `seccomp`: a filter will be loaded.
pub(super) fn apply_process(
    process: &oci_spec::runtime::Process,
    seccomp: bool,
    allow_setgroups: bool,
) -> Result<Prepared, Cause> {
    if let Some(profile) = process.apparmor_profile().as_deref().filter(|p| !p.is_empty()) {
        security::apparmor::apply_on_exec(profile)?;
    }
    if let Some(label) = process.selinux_label().as_deref().filter(|l| !l.is_empty()) {
        security::selinux::set_exec_label(label)?;
    }
    process::set_rlimits(process)?;
    // Before the capability drop: a real-time policy or class needs CAP_SYS_NICE.
    process::set_scheduler(process)?;
    process::set_io_priority(process)?;
    process::set_cpu_affinity(process, false)?;
    let args = process::args(process)?;
    let env = process::env(process)?;
    let argv0 = process.args().as_deref().and_then(|a| a.first()).cloned().unwrap_or_default();

    let nnp = process.no_new_privileges().unwrap_or(false);
    let entered = process::enter_cwd_as_root(process)?;
    let caps = process.capabilities().as_ref();
    security::caps::drop_bounding(caps)?;
    security::caps::set_keep_caps(true)?;
    process::switch_user(process, allow_setgroups)?;
    security::caps::set_keep_caps(false)?;
    process::enter_cwd(process, entered)?;
    // Resolve the program with the container's PATH, as the user it runs as.
    let program = process::find_executable(&argv0, &env)?;
    let program = process::path_cstring(&program)?;
    // Without no_new_privs, loading the filter needs CAP_SYS_ADMIN: keep it until
    // then (runc loads the filter before its capability drop instead, so that
    // every later call must be allowed by the profile).
    let deferred_caps = security::caps::apply(caps, seccomp && !nnp)?;
    if nnp {
        security::caps::set_no_new_privs()?;
    }
    Ok(Prepared { program, args, env, deferred_caps })
}

/// The last steps, shared by init and exec: unblock signals and undo ignored
/// ones (the mask and SIG_IGN survive execve, and `run`/`exec` may have blocked
/// some to forward them), mark every
/// fd close-on-exec, tell `start` we are going on (`started`, init only), load
/// the seccomp filter, set the deferred capabilities, execve. After the filter
/// nothing but that capset (when no_new_privs is off and the process may not keep
/// CAP_SYS_ADMIN) and execve runs.
pub(super) fn exec(
    p: &Prepared,
    seccomp: Option<&Filter>,
    listener: Option<&security::seccomp::Listener>,
    preserve_fds: i32,
    started: Option<&mut File>,
) -> Result<Infallible, Cause> {
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
    // An ignored disposition survives execve too: Rust's runtime ignores SIGPIPE,
    // and a caller may have ignored SIGINT or SIGHUP (nohup, `&` in a shell). runc's
    // processes start with none ignored.
    sys::process::reset_ignored_signals(&sys::process::CATCHABLE_SIGNALS)?;
    // CVE-2024-21626: every fd but stdio and the preserved ones is closed on exec.
    sys::process::cloexec_from(3 + preserve_fds.max(0))?;
    testhook::fail_at("start-before-seccomp")?;
    if let Some(w) = started {
        w.write_all(b"0").map_err(|source| Cause::Io { what: "write exec fifo", path: "".into(), source })?;
    }
    if let Some(f) = seccomp {
        security::seccomp::load(f, listener)?;
    }
    testhook::fail_at("start-after-seccomp")?;
    if let Some(d) = &p.deferred_caps {
        security::caps::finish(d)?;
    }
    let e = nix::unistd::execve(&p.program, &p.args, &p.env).unwrap_err();
    Err(Cause::Sys(sys::Error::with_path("execve", p.program.to_string_lossy().into_owned(), e)))
}
