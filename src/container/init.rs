//! The container's init: runs in the child of `clone`, inside the new namespaces,
//! and becomes the container's process with execve. Every failure before `create`
//! returns is sent back to it over the channel; every failure after, to `start`
//! over the exec fifo; then the process exits. Nothing here may panic.
//!
//! Order (runc's, see libcontainer/standard_init_linux.go, but for seccomp): join
//! namespaces by path, mounts, prestart hooks (parent), createContainer hooks,
//! pivot_root, hostname, sysctl, console, masked/read-only paths, labels,
//! rlimits, user, cwd, capabilities, no_new_privs, then wait on the exec fifo,
//! startContainer hooks, close-on-exec for every fd, and last the seccomp
//! filter, right before execve, so that a profile need allow nothing of ours.

use std::convert::Infallible;
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

use super::state::ContainerLock;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use super::channel::{Channel, Msg};
use super::error::Cause;
use super::testhook;
use crate::process::{self, ProcessError};
use crate::security::{self, seccomp::Filter, seccomp::Listener};
use crate::sys::process::{Forked, exit_now};
use crate::{console, hooks, rootfs, sys};

/// What init needs from `create`; borrowed from the parent's memory, which the
/// child has a copy of after clone.
pub struct InitConfig<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub fifo: &'a Path,
    pub console_socket: Option<OwnedFd>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
    pub seccomp: Option<&'a Filter>,
    /// The seccomp agent's socket, connected by `create` (`linux.seccomp.listenerPath`).
    pub seccomp_listener: Option<OwnedFd>,
    pub id: &'a str,
    /// Namespaces already created by clone.
    pub clone_flags: CloneFlags,
    pub allow_setgroups: bool,
    /// v1 `tasks` files to write "0" to, joining the container's cgroup without
    /// the kernel's threadgroup lock (see `CgroupManager::self_join_files`).
    pub cgroup_tasks: Vec<(std::path::PathBuf, File)>,
    /// Idmapped copies of bind sources, made by the parent (see `userns`).
    pub idmapped: rootfs::IdmappedTrees,
}

/// Run init; never returns. On failure the error chain goes to the parent.
///
/// `lock` is our copy (through clone) of `create`'s container lock, dropped first
/// thing: the flock belongs to the open file, so if `create` were killed, our copy
/// would keep the container locked (and `delete --force` waiting) for as long as
/// we live. Dropping it closes our fd only; `create` keeps the lock.
pub fn run(ch: &Channel, cfg: &InitConfig<'_>, lock: ContainerLock) -> ! {
    drop(lock);
    let err = match setup(ch, cfg) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = ch.send(&Msg::Error(error_chain(&err)));
    exit_now(1)
}

/// "a: b: c" from an error and its sources.
/// Empty messages (markers such as an exit code) and a cause whose text the
/// message already ends with are skipped.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = String::new();
    let mut cur = Some(e);
    while let Some(c) = cur {
        let text = c.to_string();
        if !text.is_empty() && !s.ends_with(&text) {
            if !s.is_empty() {
                s.push_str(": ");
            }
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}

fn sys_err(call: &'static str) -> impl FnOnce(nix::errno::Errno) -> Cause {
    move |e| Cause::Sys(sys::Error::new(call, e))
}

fn proc_err(e: ProcessError) -> Cause {
    Cause::Process(e)
}

fn rootfs_err(e: rootfs::RootfsError) -> Cause {
    Cause::Rootfs(e)
}

fn setup(ch: &Channel, cfg: &InitConfig<'_>) -> Result<Infallible, Cause> {
    match ch.recv()? {
        Some(Msg::Go) => {}
        _ => return Err(Cause::Init("parent went away before setup".into())),
    }
    // CVE-2019-5736: nothing in the container may open /proc/<init>/exe (the host
    // binary) while we run; a non-dumpable process's /proc files are root-owned.
    // Only after Go: an unprivileged parent writes our uid_map/gid_map before it,
    // which root-owned /proc files would forbid (runc's nsexec does the same), and
    // until Go no namespace has been joined, so nothing from a container sees us.
    nix::sys::prctl::set_dumpable(false).map_err(sys_err("prctl PR_SET_DUMPABLE"))?;
    super::execwatch::mark_setup_process()?;
    // Before anything that depends on the cgroup: the initial CPU affinity (a
    // cpuset join resets it), forks, the cgroup namespace.
    join_cgroups(&cfg.cgroup_tasks)?;
    if let Some(p) = cfg.spec.process() {
        process::set_cpu_affinity(p, true).map_err(proc_err)?;
    }
    let spec = cfg.spec;
    let linux = spec.linux().clone().unwrap_or_default();
    let namespaces = linux.namespaces().clone().unwrap_or_default();

    // Open every namespace file first: after joining a mount namespace the paths
    // would resolve elsewhere. User namespace first, so the others are joined with
    // its privileges.
    let mut to_join: Vec<(OwnedFd, CloneFlags, &Path)> = Vec::new();
    for ns in &namespaces {
        if let Some(p) = ns.path() {
            let fd = sys::fd::open(p.as_path(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| sys::Error::with_path("open namespace", p, e))?;
            to_join.push((fd, CloneFlags::from_bits_retain(ns.typ() as i32), p.as_path()));
        }
    }
    to_join.sort_by_key(|(_, f, _)| *f != CloneFlags::CLONE_NEWUSER);
    let mut needs_fork = false;
    for (fd, flag, path) in &to_join {
        nix::sched::setns(fd, *flag).map_err(|e| sys::Error::with_path("setns", *path, e))?;
        if *flag == CloneFlags::CLONE_NEWPID {
            needs_fork = true;
        }
    }
    drop(to_join);
    let mut unshare = CloneFlags::empty();
    for ns in namespaces.iter().filter(|n| n.path().is_none()) {
        let flag = CloneFlags::from_bits_retain(ns.typ() as i32);
        if !cfg.clone_flags.contains(flag) {
            unshare |= flag;
        }
    }
    if !unshare.is_empty() {
        nix::sched::unshare(unshare).map_err(sys_err("unshare"))?;
        // A new pid or time namespace holds only the children of the caller.
        if unshare.intersects(CloneFlags::CLONE_NEWPID | CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)) {
            needs_fork = true;
        }
    }
    if unshare.contains(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)) {
        write_time_offsets(&linux)?;
    }
    if needs_fork {
        // CLONE_PARENT: init becomes `create`'s child, not ours, so `run` can wait
        // for it; we only report its pid and leave.
        match sys::process::clone_fork(CloneFlags::CLONE_PARENT)? {
            Forked::Parent(child) => {
                let _ = ch.send(&Msg::Pid(child.as_raw()));
                exit_now(0);
            }
            Forked::Child => {}
        }
    }
    // The pid the host sees, for a seccomp agent: /proc is still the host's.
    let host_pid = match cfg.seccomp_listener {
        Some(_) => Some(host_pid()?),
        None => None,
    };
    // In a new user namespace we are still the host's root, which it does not
    // map: become its root (the mapped uid/gid 0) so files we create, mounts we
    // make and the process we exec carry ids that exist in there.
    if cfg.clone_flags.contains(CloneFlags::CLONE_NEWUSER) || unshare.contains(CloneFlags::CLONE_NEWUSER) {
        let root_gid = nix::unistd::Gid::from_raw(0);
        let root_uid = nix::unistd::Uid::from_raw(0);
        if cfg.allow_setgroups {
            nix::unistd::setgroups(&[]).map_err(sys_err("setgroups"))?;
        }
        nix::unistd::setresgid(root_gid, root_gid, root_gid).map_err(sys_err("setresgid 0 in user namespace"))?;
        nix::unistd::setresuid(root_uid, root_uid, root_uid).map_err(sys_err("setresuid 0 in user namespace"))?;
    }
    if !cfg.no_new_keyring {
        sys::process::join_session_keyring(&format!("_ses.{}", cfg.id))?;
    }

    // The exec fifo lives in the host's state dir, out of reach after pivot_root:
    // keep an O_PATH handle and reopen it through /proc/self/fd at the end.
    let fifo = sys::fd::open(cfg.fifo, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| sys::Error::with_path("open exec fifo", cfg.fifo, e))?;

    let process = spec.process().as_ref().ok_or_else(|| crate::spec::SpecError::invalid("process", "must be set"))?;
    let terminal = process.terminal().unwrap_or(false);
    // Relative bind-mount sources are relative to the bundle, as in runc.
    nix::unistd::chdir(cfg.bundle).map_err(|e| sys::Error::with_path("chdir", cfg.bundle, e))?;
    rootfs::prepare(spec, cfg.rootfs, terminal, &cfg.idmapped).map_err(rootfs_err)?;
    ch.send(&Msg::MountsReady)?;
    match ch.recv()? {
        Some(Msg::HooksDone) => {}
        _ => return Err(Cause::Init("parent went away during hooks".into())),
    }
    let hooks = spec.hooks().clone().unwrap_or_default();
    if hooks.create_container().as_ref().is_some_and(|h| !h.is_empty()) {
        let state = hook_state(cfg, "created", std::process::id() as i32);
        hooks::run_all("createContainer", hooks.create_container().as_ref(), &state)?;
    }
    rootfs::pivot(spec, cfg.rootfs, cfg.no_pivot).map_err(rootfs_err)?;

    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(sys_err("sethostname"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        sys::process::set_domainname(d)?;
    }
    rootfs::set_sysctls(spec).map_err(rootfs_err)?;
    if let Some(sock) = cfg.console_socket.as_ref() {
        let sock =
            sock.try_clone().map_err(|source| Cause::Io { what: "dup console socket", path: "".into(), source })?;
        console::setup(sock)?;
    }
    rootfs::finalize(spec).map_err(rootfs_err)?;
    process::set_personality(&linux).map_err(proc_err)?;

    let prepared = apply_process(process, cfg.seccomp.is_some(), cfg.allow_setgroups)?;
    let listener = match (&cfg.seccomp_listener, host_pid, linux.seccomp()) {
        (Some(sock), Some(pid), Some(profile)) => {
            let sock = sock.try_clone().map_err(|source| Cause::Io {
                what: "dup seccomp listener socket",
                path: "".into(),
                source,
            })?;
            let state = serde_json::from_slice(&hook_state(cfg, "created", pid)).unwrap_or_default();
            Some(Listener::new(sock, profile, state, pid))
        }
        _ => None,
    };

    ch.send(&Msg::Ready)?;
    // From here on `create` has returned: the channel is closed, and every failure
    // travels to `start` through the exec fifo instead (see `report_to_start`).
    let mut started = wait_for_start(&fifo)?;
    drop(fifo);
    let e = match after_start(cfg, &hooks, &prepared, listener.as_ref(), &mut started) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    report_to_start(&mut started, &e);
    Err(e)
}

/// The steps between `start` and execve: startContainer hooks, then the last
/// steps of [`exec`] (the seccomp filter, execve).
fn after_start(
    cfg: &InitConfig<'_>,
    hooks: &oci_spec::runtime::Hooks,
    prepared: &Prepared,
    listener: Option<&Listener>,
    started: &mut File,
) -> Result<Infallible, Cause> {
    testhook::fail_at("start-after-fifo")?;
    if hooks.start_container().as_ref().is_some_and(|h| !h.is_empty()) {
        // runtime.md lifecycle step 7: a failed startContainer hook is an error
        // of `start`, and the container stops (this process exits).
        let state = hook_state(cfg, "running", std::process::id() as i32);
        hooks::run_all("startContainer", hooks.start_container().as_ref(), &state)?;
    }
    exec(prepared, cfg.seccomp, listener, cfg.preserve_fds, Some(started))
}

/// Tell `start` why init stops: `1` and the error chain on the exec fifo. Init
/// may already have written `0` (it was on its way to execve); `start` reads
/// everything up to EOF. Best effort: after the seccomp filter the profile may
/// deny the write, and `start` then learns of the death from /proc (see
/// `execwatch`).
fn report_to_start(started: &mut File, e: &Cause) {
    let _ = started.write_all(format!("1{}", error_chain(e)).as_bytes());
}

/// Move this (single-threaded) process into the cgroups behind `tasks` files.
pub(super) fn join_cgroups(tasks: &[(std::path::PathBuf, File)]) -> Result<(), Cause> {
    for (path, f) in tasks {
        let mut f: &File = f;
        f.write_all(b"0").map_err(|source| Cause::Io { what: "join cgroup", path: path.clone(), source })?;
    }
    Ok(())
}

/// Block until `start` opens the fifo for reading. Returns the write end: the
/// caller writes `0` when it goes on to execve (or `1<error>` when it cannot) and
/// keeps it open until execve closes it.
fn wait_for_start(fifo: &OwnedFd) -> Result<File, Cause> {
    let path = format!("/proc/self/fd/{}", fifo.as_raw_fd());
    let fd = sys::fd::open(path.as_str(), OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| sys::Error::with_path("open exec fifo", &path, e))?;
    Ok(File::from(fd))
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
    process::set_rlimits(process).map_err(proc_err)?;
    // Before the capability drop: a real-time policy or class needs CAP_SYS_NICE.
    process::set_scheduler(process).map_err(proc_err)?;
    process::set_io_priority(process).map_err(proc_err)?;
    process::set_cpu_affinity(process, false).map_err(proc_err)?;
    let args = process::args(process).map_err(proc_err)?;
    let env = process::env(process).map_err(proc_err)?;
    let argv0 = process.args().as_deref().and_then(|a| a.first()).cloned().unwrap_or_default();

    let nnp = process.no_new_privileges().unwrap_or(false);
    process::create_cwd(process).map_err(proc_err)?;
    let entered = process::enter_cwd_as_root(process).map_err(proc_err)?;
    let caps = process.capabilities().as_ref();
    security::caps::drop_bounding(caps)?;
    security::caps::set_keep_caps(true)?;
    process::switch_user(process, allow_setgroups).map_err(proc_err)?;
    security::caps::set_keep_caps(false)?;
    process::enter_cwd(process, entered).map_err(proc_err)?;
    // Resolve the program with the container's PATH, as the user it runs as.
    let program = process::find_executable(&argv0, &env).map_err(proc_err)?;
    let program = process::path_cstring(&program).map_err(proc_err)?;
    // Without no_new_privs, loading the filter needs CAP_SYS_ADMIN: keep it until
    // then (runc loads the filter before its capability drop instead, so that
    // every later call must be allowed by the profile).
    let deferred_caps = security::caps::apply(caps, seccomp && !nnp)?;
    if nnp {
        security::caps::set_no_new_privs()?;
    }
    Ok(Prepared { program, args, env, deferred_caps })
}

/// The last steps, shared by init and exec: unblock signals (the mask survives
/// execve, and `run`/`exec` may have blocked some to forward them), mark every
/// fd close-on-exec, tell `start` we are going on (`started`, init only), load
/// the seccomp filter, set the deferred capabilities, execve. After the filter
/// nothing but that capset (when no_new_privs is off and the process may not keep
/// CAP_SYS_ADMIN) and execve runs.
pub(super) fn exec(
    p: &Prepared,
    seccomp: Option<&Filter>,
    listener: Option<&Listener>,
    preserve_fds: i32,
    started: Option<&mut File>,
) -> Result<Infallible, Cause> {
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
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

/// This process's pid in the pid namespace of /proc (the host's, before pivot_root).
pub(super) fn host_pid() -> Result<i32, Cause> {
    let link = std::fs::read_link("/proc/self").map_err(|source| Cause::Io {
        what: "read",
        path: "/proc/self".into(),
        source,
    })?;
    link.to_string_lossy().parse().map_err(|_| Cause::Init(format!("/proc/self reads {link:?}")))
}

fn hook_state(cfg: &InitConfig<'_>, status: &str, pid: i32) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "ociVersion": cfg.spec.version(),
        "id": cfg.id,
        "pid": pid,
        "status": status,
        "bundle": cfg.bundle,
        "annotations": cfg.spec.annotations().clone().unwrap_or_default(),
    }))
    .unwrap_or_default()
}

/// In `create`, before clone: unshare a time namespace for our children and write
/// its offsets. Returns our own (the runtime's) time namespace, to go back to.
pub(super) fn new_time_namespace(linux: &oci_spec::runtime::Linux) -> Result<OwnedFd, Cause> {
    let own = sys::fd::open("/proc/self/ns/time", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| sys::Error::with_path("open namespace", "/proc/self/ns/time", e))?;
    nix::sched::unshare(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)).map_err(sys_err("unshare CLONE_NEWTIME"))?;
    write_time_offsets(linux)?;
    Ok(own)
}

fn write_time_offsets(linux: &oci_spec::runtime::Linux) -> Result<(), Cause> {
    let Some(offsets) = linux.time_offsets() else { return Ok(()) };
    let mut text = String::new();
    for (clock, o) in offsets {
        let name = match clock.as_str() {
            "monotonic" | "boottime" => clock.as_str(),
            other => {
                return Err(
                    crate::spec::SpecError::invalid(format!("linux.timeOffsets.{other}"), "unknown clock").into()
                );
            }
        };
        text.push_str(&format!("{name} {} {}\n", o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0)));
    }
    std::fs::write("/proc/self/timens_offsets", text).map_err(|source| Cause::Io {
        what: "linux.timeOffsets",
        path: "/proc/self/timens_offsets".into(),
        source,
    })
}
