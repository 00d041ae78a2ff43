//! The container's init: runs in the child of `clone`, inside the new namespaces,
//! and becomes the container's process with execve. Every failure before `create`
//! returns is sent back to it over the channel; every failure after, to `start`
//! over the exec fifo; then the process exits. Nothing here may panic.
//!
//! Order (runc's, see libcontainer/standard_init_linux.go, but for seccomp): join
//! namespaces by path, mounts, prestart hooks (parent), createContainer hooks,
//! pivot_root, the cwd made, hostname, sysctl, console, masked/read-only paths, labels,
//! rlimits, user, cwd, capabilities, no_new_privs, then wait on the exec fifo
//! (`run`: go on at once),
//! startContainer hooks, close-on-exec for every fd, and last the seccomp
//! filter, right before execve, so that a profile need allow nothing of ours.

use std::convert::Infallible;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use super::channel::{Channel, Msg};
use super::error::{Cause, error_chain};
use super::setup::{self, Prepared};
use super::state::ContainerLock;
use super::{namespaces, testhook};
use crate::security::seccomp::{Filter, Listener};
use crate::sys::ops::Linux;
use crate::sys::process::{Forked, exit_now};
use crate::{console, hooks, process, rootfs, sys};

/// What init needs from `create`; borrowed from the parent's memory, which the
/// child has a copy of after clone.
pub(super) struct InitConfig<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    /// The exec fifo; None when the caller starts us over the channel (`run`).
    pub fifo: Option<&'a Path>,
    pub console_socket: Option<OwnedFd>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
    pub seccomp: Option<&'a Filter>,
    /// The seccomp agent's socket, connected by `create` (`linux.seccomp.listenerPath`).
    pub seccomp_listener: Option<OwnedFd>,
    pub id: &'a str,
    /// Namespaces already created by clone, or by us before Go (`early`).
    pub clone_flags: CloneFlags,
    /// Namespaces we unshare first thing, while `create` makes the cgroup
    /// (`namespaces::Plan::early`).
    pub early: CloneFlags,
    pub allow_setgroups: bool,
    /// v1 `tasks` files to write "0" to once `create` has made them, joining the
    /// container's cgroup without the kernel's threadgroup lock (see
    /// `CgroupManager::self_join_files`).
    pub cgroup_tasks: Vec<PathBuf>,
    /// Idmapped copies of bind sources, made by the parent (see `userns`).
    pub idmapped: rootfs::IdmappedTrees,
    /// The parent has prestart/createRuntime hooks to run once the mounts are
    /// made: stop for them (`MountsReady`, `HooksDone`). Without any, that round
    /// trip — two wake-ups of one process by the other — is left out.
    pub runtime_hooks: bool,
}

/// Run init; never returns. On failure the error chain goes to the parent: to
/// `create` before `Ready`, to `run` after `Ready`. It is written with
/// write(2), not sent: after the seccomp filter a strict profile allows the
/// program's `write` but not `sendto`.
///
/// `lock` is our copy (through clone) of `create`'s container lock, dropped first
/// thing: the flock belongs to the open file, so if `create` were killed, our copy
/// would keep the container locked (and `delete --force` waiting) for as long as
/// we live. Dropping it closes our fd only; `create` keeps the lock.
pub(super) fn run(ch: &Channel, cfg: &InitConfig<'_>, lock: ContainerLock) -> ! {
    drop(lock);
    let err = match setup(ch, cfg) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = ch.write_msg(&Msg::Error(error_chain(&err)));
    exit_now(1)
}

fn sys_err(call: &'static str) -> impl FnOnce(nix::errno::Errno) -> Cause {
    move |e| Cause::Sys(sys::Error::new(call, e))
}

/// Init's steps, in order; each failure goes back to `create` (before `Ready`),
/// to `start` (after, through the exec fifo) or to `run` (after, on the channel).
fn setup(ch: &Channel, cfg: &InitConfig<'_>) -> Result<Infallible, Cause> {
    // While `create` makes the cgroup; a failure is told after Go, as any other.
    let early = namespaces::unshare(&Linux, cfg.early, &oci_spec::runtime::Linux::default());
    expect(ch, Msg::Go, "parent went away before setup")?;
    early?;
    testhook::panic_at("init-after-go");
    // Only after Go: an unprivileged parent writes our uid_map/gid_map before it,
    // which root-owned /proc files would forbid (runc's nsexec does the same), and
    // until Go no namespace has been joined, so nothing from a container sees us.
    setup::hide_from_container()?;
    // Before anything that depends on the cgroup: the initial CPU affinity (a
    // cpuset join resets it), forks, the cgroup namespace.
    setup::join_cgroups(&setup::open_tasks(&cfg.cgroup_tasks)?)?;
    if let Some(p) = cfg.spec.process() {
        process::set_cpu_affinity(p, true)?;
    }
    let linux = cfg.spec.linux().clone().unwrap_or_else(crate::spec::empty_linux);
    enter_namespaces(ch, cfg, &linux)?;
    // The pid the host sees, for a seccomp agent: /proc is still the host's.
    let host_pid = match cfg.seccomp_listener {
        Some(_) => Some(host_pid()?),
        None => None,
    };
    // The exec fifo lives in the host's state dir, out of reach after pivot_root:
    // keep an O_PATH handle and reopen it through /proc/self/fd at the end.
    let fifo = match cfg.fifo {
        Some(path) => Some(
            sys::fd::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| sys::Error::with_path("open exec fifo", path, e))?,
        ),
        None => None,
    };
    let process =
        cfg.spec.process().as_ref().ok_or_else(|| crate::spec::SpecError::invalid("process", "must be set"))?;
    make_rootfs(ch, cfg, process.terminal().unwrap_or(false))?;
    apply_container(cfg, &linux)?;
    let prepared = setup::apply_process(process, cfg.seccomp.is_some(), cfg.allow_setgroups)?;
    let listener = notify_listener(cfg, &linux, host_pid)?;

    match fifo {
        Some(_) => tracing::debug!(id = cfg.id, "init: ready, waiting on the exec fifo"),
        None => tracing::debug!(id = cfg.id, "init: ready, waiting for start on the channel"),
    }
    ch.send(&Msg::Ready)?;
    let Some(fifo) = fifo else {
        // `run`: one process creates and starts, so nothing can come between the
        // two and we go on at once (runc's `run` opens the exec fifo as soon as
        // init is ready; here there is no fifo). The caller holds the channel
        // open until our execve closes it; a failure goes back on it (see `run`).
        return after_start(cfg, &prepared, listener.as_ref(), None);
    };
    // From here on `create` has returned: the channel is closed, and every failure
    // travels to `start` through the exec fifo instead (see `report_to_start`).
    let mut started = wait_for_start(&fifo)?;
    drop(fifo);
    let e = match after_start(cfg, &prepared, listener.as_ref(), Some(&mut started)) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    report_to_start(&mut started, &e);
    // Not on the channel too: nobody reads it, and once signals are reset for
    // execve a write to it would end us with SIGPIPE instead of status 1.
    exit_now(1)
}

/// Wait for `want` from the parent; anything else (or EOF) is `gone`.
fn expect(ch: &Channel, want: Msg, gone: &str) -> Result<(), Cause> {
    match ch.recv()? {
        Some(m) if m == want => Ok(()),
        _ => Err(Cause::Init(gone.into())),
    }
}

/// Join the namespaces given by path, unshare those clone could not make, fork
/// when a pid or time namespace needs it (the parent of that fork reports the
/// child's pid and exits here), become root of a new user namespace, and join a
/// session keyring of our own.
fn enter_namespaces(ch: &Channel, cfg: &InitConfig<'_>, linux: &oci_spec::runtime::Linux) -> Result<(), Cause> {
    let list = linux.namespaces().clone().unwrap_or_default();
    let to_join = namespaces::open_paths(&list)?;
    let mut needs_fork = namespaces::join(&Linux, &to_join)?;
    drop(to_join);
    let unshare = namespaces::to_unshare(&list, cfg.clone_flags);
    needs_fork |= namespaces::unshare(&Linux, unshare, linux)?;
    if needs_fork {
        // CLONE_PARENT: init becomes `create`'s child, not ours, so `run` can wait
        // for it; we only report its pid and leave.
        if let Forked::Parent(child) = sys::process::clone_fork(CloneFlags::CLONE_PARENT)? {
            let _ = ch.send(&Msg::Pid(child.as_raw()));
            exit_now(0);
        }
    }
    if (cfg.clone_flags | unshare).contains(CloneFlags::CLONE_NEWUSER) {
        namespaces::become_root(&Linux, cfg.allow_setgroups)?;
    }
    if !cfg.no_new_keyring {
        sys::process::join_session_keyring(&format!("_ses.{}", cfg.id))?;
    }
    Ok(())
}

/// The mounts and /dev (relative bind sources are relative to the bundle, as in
/// runc), the parent's prestart/createRuntime hooks, our createContainer hooks,
/// pivot_root, then the process's cwd (while the root is still writable).
fn make_rootfs(ch: &Channel, cfg: &InitConfig<'_>, terminal: bool) -> Result<(), Cause> {
    nix::unistd::chdir(cfg.bundle).map_err(|e| sys::Error::with_path("chdir", cfg.bundle, e))?;
    rootfs::prepare(&Linux, cfg.spec, cfg.rootfs, terminal, &cfg.idmapped)?;
    if cfg.runtime_hooks {
        ch.send(&Msg::MountsReady)?;
        expect(ch, Msg::HooksDone, "parent went away during hooks")?;
    }
    let hooks = cfg.spec.hooks().clone().unwrap_or_default();
    if hooks.create_container().as_ref().is_some_and(|h| !h.is_empty()) {
        let state = hook_state(cfg, "created");
        hooks::run_all("createContainer", hooks.create_container().as_ref(), &state)?;
    }
    rootfs::pivot(cfg.spec, cfg.rootfs, cfg.no_pivot)?;
    if let Some(p) = cfg.spec.process() {
        process::create_cwd(p)?;
    }
    Ok(())
}

/// What the container gets after pivot_root and before the process settings:
/// hostname, domainname, sysctls, the console, masked and read-only paths, the
/// personality.
fn apply_container(cfg: &InitConfig<'_>, linux: &oci_spec::runtime::Linux) -> Result<(), Cause> {
    let spec = cfg.spec;
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(sys_err("sethostname"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        sys::process::set_domainname(d)?;
    }
    rootfs::set_sysctls(spec)?;
    if let Some(sock) = cfg.console_socket.as_ref() {
        let sock =
            sock.try_clone().map_err(|source| Cause::Io { what: "dup console socket", path: "".into(), source })?;
        console::setup(sock, spec.process().as_ref().and_then(|p| p.console_size()))?;
    }
    rootfs::finalize(&Linux, spec, Path::new("/"))?;
    process::set_personality(linux)?;
    Ok(())
}

/// The steps between `start` and execve: startContainer hooks, then the last
/// steps of [`exec`] (the seccomp filter, execve).
fn after_start(
    cfg: &InitConfig<'_>,
    prepared: &Prepared,
    listener: Option<&Listener>,
    started: Option<&mut File>,
) -> Result<Infallible, Cause> {
    testhook::fail_at("start-after-fifo")?;
    let hooks = cfg.spec.hooks().clone().unwrap_or_default();
    if hooks.start_container().as_ref().is_some_and(|h| !h.is_empty()) {
        // runtime.md lifecycle step 7: a failed startContainer hook is an error
        // of `start`, and the container stops (this process exits).
        let state = hook_state(cfg, "running");
        hooks::run_all("startContainer", hooks.start_container().as_ref(), &state)?;
    }
    setup::exec(prepared, cfg.seccomp, listener, cfg.preserve_fds, started)
}

/// Tell `start` why init stops: `1` and the error chain on the exec fifo. Init
/// may already have written `0` (it was on its way to execve); `start` reads
/// everything up to EOF. Best effort: after the seccomp filter the profile may
/// deny the write, and `start` then learns of the death from /proc (see
/// `execwatch`).
fn report_to_start(started: &mut File, e: &Cause) {
    let _ = started.write_all(format!("1{}", error_chain(e)).as_bytes());
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

/// The seccomp agent's end, with the message its notify fd goes with (the
/// container's state, `created`: the filter is loaded on the way to execve).
fn notify_listener(
    cfg: &InitConfig<'_>,
    linux: &oci_spec::runtime::Linux,
    host_pid: Option<i32>,
) -> Result<Option<Listener>, Cause> {
    let (Some(sock), Some(pid), Some(profile)) = (&cfg.seccomp_listener, host_pid, linux.seccomp()) else {
        return Ok(None);
    };
    let sock = sock.try_clone().map_err(|source| Cause::Io {
        what: "dup seccomp listener socket",
        path: "".into(),
        source,
    })?;
    let state = serde_json::from_slice(&hook_state_of(cfg, "created", pid)).unwrap_or_default();
    Ok(Some(Listener::new(sock, profile, state, pid)))
}

/// This process's pid in the pid namespace of /proc (the host's, before pivot_root).
fn host_pid() -> Result<i32, Cause> {
    let link = std::fs::read_link("/proc/self").map_err(|source| Cause::Io {
        what: "read",
        path: "/proc/self".into(),
        source,
    })?;
    link.to_string_lossy().parse().map_err(|_| Cause::Init(format!("/proc/self reads {link:?}")))
}

fn hook_state(cfg: &InitConfig<'_>, status: &str) -> Vec<u8> {
    hook_state_of(cfg, status, std::process::id() as i32)
}

fn hook_state_of(cfg: &InitConfig<'_>, status: &str, pid: i32) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "ociVersion": crate::spec::OCI_VERSION,
        "id": cfg.id,
        "pid": pid,
        "status": status,
        "bundle": cfg.bundle,
        "annotations": cfg.spec.annotations().clone().unwrap_or_default(),
    }))
    .unwrap_or_default()
}
