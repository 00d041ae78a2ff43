//! `create`: the parent side. Validates the config, makes the state dir and the
//! cgroup, clones init into its namespaces, writes uid/gid maps, runs the hooks
//! that belong to the runtime namespace, and records the state. On any failure it
//! removes everything it made (state dir, cgroup, init process).

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{Linux, LinuxResources, Spec};

use super::channel::{self, Channel, Msg};
use super::error::{Cause, ContainerError};
use super::init::{self, InitConfig};
use super::state::{ContainerLock, FIFO, State, Status, Store};
use super::{ContainerId, namespaces, setup, testhook, userns};
use crate::cgroups::{self, CgroupConfig, CgroupManager};
use crate::sys::process::{Forked, clone_fork};
use crate::{console, hooks, rootfs, security, spec, sys};

/// What `berth create` was asked to do.
pub struct CreateOptions {
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
    pub systemd_cgroup: bool,
    pub rootless: bool,
    /// `run`: the caller starts the container itself with [`start_created`],
    /// over the channel to init, instead of through the exec fifo (`create` +
    /// `start` must go through the fifo: they are two processes).
    pub started_by_caller: bool,
    /// The bundle's config.json, when the caller has read it already (`run`
    /// reads it for `process.terminal`): not read and parsed a second time.
    pub spec: Option<Spec>,
}

/// The created container: its init pid (always a child of this process, even
/// when joining a pid namespace forced an intermediate fork).
pub struct Created {
    pub pid: Pid,
    /// With `started_by_caller`: the channel to init, which waits for `Start`
    /// (taken by [`start_created`]).
    channel: Option<Channel>,
    /// With `started_by_caller`: the state saved, for `delete_run` once the
    /// caller has reaped init.
    pub(super) state: Option<State>,
}

pub fn create(opts: &CreateOptions) -> Result<Created, ContainerError> {
    let id = ContainerId::new(&opts.id).map_err(|c| c.into_error(&opts.id, "create"))?;
    let store = Store::new(&opts.root);
    let dir = store.create_dir(&id).map_err(|c| c.into_error(&opts.id, "create"))?;
    let mut cleanup = Cleanup { dir: Some(dir.clone()), cgroup: None, pid: None, host_mounts: None };
    match create_in(opts, &id, &store, &dir, &mut cleanup) {
        Ok(created) => {
            cleanup.disarm();
            Ok(created)
        }
        Err(cause) => {
            cleanup.run();
            Err(cause.into_error(&opts.id, "create"))
        }
    }
}

/// Everything made so far, undone on failure in reverse order.
struct Cleanup {
    dir: Option<PathBuf>,
    cgroup: Option<Box<dyn CgroupManager>>,
    pid: Option<Pid>,
    /// Without a mount namespace: the rootfs and the mounts that were there before.
    host_mounts: Option<(PathBuf, Vec<u64>)>,
}

impl Cleanup {
    fn disarm(&mut self) {
        self.dir = None;
        self.cgroup = None;
        self.pid = None;
        self.host_mounts = None;
    }

    fn run(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Some((rootfs, before)) = self.host_mounts.take() {
            super::hostmounts::remove_new(&rootfs, &before);
        }
        if let Some(cg) = self.cgroup.take() {
            super::kill::kill_cgroup(cg.as_ref());
            if let Err(e) = cg.destroy() {
                tracing::warn!(error = %e, "cleanup: remove cgroup");
            }
        }
        if let Some(dir) = self.dir.take()
            && let Err(e) = fs::remove_dir_all(&dir)
        {
            tracing::warn!(error = %e, dir = ?dir, "cleanup: remove state dir");
        }
    }
}

/// The config, read and checked before anything exists on the host.
struct Loaded {
    bundle: PathBuf,
    rootfs: PathBuf,
    spec: Spec,
    linux: Linux,
    plan: namespaces::Plan,
}

fn create_in(
    opts: &CreateOptions,
    id: &ContainerId,
    store: &Store,
    dir: &Path,
    cleanup: &mut Cleanup,
) -> Result<Created, Cause> {
    let lock = store.lock(id)?;
    tracing::debug!(id = id.as_str(), bundle = ?opts.bundle, "create");
    testhook::pause_at("after-state-dir");
    let loaded = load(opts)?;
    let (seccomp, seccomp_listener) = compile_seccomp(&loaded.linux)?;
    // Saved before anything else exists on the host, and again as each thing is
    // made, so that `delete --force` can undo a create killed at any point.
    let mut state = new_state(opts, id, &loaded);
    cleanup.host_mounts = state.host_mounts_before.clone().map(|b| (loaded.rootfs.clone(), b));
    store.save(&state)?;
    let cgroup = cgroups::open(&state.cgroup)?;
    let resources = loaded.linux.resources().as_ref();
    if let Some(resources) = resources {
        cgroup.check(resources)?;
    }
    // Init joins the v1 hierarchies itself (see `CgroupManager::self_join_files`)
    // once we have made them. Not from a user namespace, whose root may not write
    // the host's cgroupfs.
    let plan = loaded.plan;
    let cgroup_tasks = if plan.new_user || plan.join_user { Vec::new() } else { cgroup.self_join_files() };
    let self_join = !cgroup_tasks.is_empty();
    let fifo = if opts.started_by_caller { None } else { Some(make_fifo(dir)?) };
    let console_socket = opts.console_socket.as_deref().map(console::connect).transpose()?;
    let idmapped = detached_sources(&loaded)?;
    let (parent_ch, child_ch) = channel::pair()?;
    let runtime_hooks = has_runtime_hooks(&loaded.spec) || testhook::pause_requested("after-mounts");
    let init_config = InitConfig {
        spec: &loaded.spec,
        rootfs: &loaded.rootfs,
        bundle: &loaded.bundle,
        fifo: fifo.as_deref(),
        console_socket,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        seccomp: seccomp.as_ref(),
        seccomp_listener,
        id: id.as_str(),
        clone_flags: plan.init_flags(),
        early: plan.early(),
        allow_setgroups: !(plan.new_user && opts.rootless),
        cgroup_tasks,
        idmapped,
        runtime_hooks,
    };
    let child = clone_init(&plan, &loaded.linux, parent_ch, child_ch, &init_config, lock)?;
    drop(init_config);
    let (parent_ch, child) = child;
    cleanup.pid = Some(child);
    record_pid(store, &mut state, child)?;
    testhook::pause_at("after-clone");
    // The cgroup is made while init makes its network namespace (`Plan::early`).
    let cgroup = make_cgroup(cgroup, resources, &mut cleanup.cgroup)?;
    testhook::pause_at("after-cgroup");
    if plan.new_user {
        userns::write_mappings(child, &loaded.linux, opts.rootless)?;
    }
    setup::add_task(cgroup, child, self_join)?;
    set_oom_score_adj(&loaded.spec, child)?;
    parent_ch.send(&Msg::Go)?;
    let pid = handshake(&parent_ch, child, store, &mut state, cleanup, runtime_hooks)?;
    finish(opts, store, state, pid, parent_ch)
}

/// After Ready: the state saved as created, the pid file written.
fn finish(opts: &CreateOptions, store: &Store, mut state: State, pid: Pid, ch: Channel) -> Result<Created, Cause> {
    // `create`: init waits on the exec fifo, so it must be alive. `run`: init went
    // on from Ready and may have exec'd and exited already (a zombie until we
    // reap it); its start time was read when its pid was recorded.
    if !opts.started_by_caller || state.init_start_time == 0 {
        state.init_start_time =
            super::state::start_time(pid.as_raw()).ok_or_else(|| Cause::Init("exited before it was ready".into()))?;
    }
    state.creating = false;
    store.save(&state)?;
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    if opts.started_by_caller {
        return Ok(Created { pid, channel: Some(ch), state: Some(state) });
    }
    Ok(Created { pid, channel: None, state: None })
}

/// The seccomp filter, compiled before clone (errors reach the user directly,
/// and the child inherits the program instead of compiling its own copy), and a
/// seccomp agent's socket, connected while its path is ours to see.
fn compile_seccomp(linux: &Linux) -> Result<(Option<security::seccomp::Filter>, Option<OwnedFd>), Cause> {
    let Some(profile) = linux.seccomp() else { return Ok((None, None)) };
    let filter = security::seccomp::compile(profile)?;
    let listener = security::seccomp::connect_listener(profile, &filter)?;
    Ok((Some(filter), listener))
}

/// Bind sources init gets as detached trees made here: idmapped ones (idmapping
/// needs a privilege over the source filesystem that init in a user namespace
/// lacks) and, with a new user namespace, every other (`userns::bind_sources`).
fn detached_sources(loaded: &Loaded) -> Result<rootfs::IdmappedTrees, Cause> {
    let mut trees = userns::idmapped_mounts(&loaded.spec, &loaded.bundle)?;
    if loaded.plan.new_user {
        userns::bind_sources(&loaded.spec, &loaded.bundle, &mut trees);
    }
    Ok(trees)
}

/// Read the bundle: config.json, the rootfs, and runc's checks that need no
/// host change (terminal vs console socket, no intelRdt). A config without a
/// mount namespace shares ours (runtime spec: a type left out is inherited);
/// its mounts are made here, under the rootfs (`hostmounts`).
fn load(opts: &CreateOptions) -> Result<Loaded, Cause> {
    let bundle = fs::canonicalize(&opts.bundle).map_err(|source| Cause::Io {
        what: "bundle",
        path: opts.bundle.clone(),
        source,
    })?;
    let spec = match &opts.spec {
        Some(spec) => spec.clone(),
        None => spec::load(&bundle)?,
    };
    let process = spec.process().as_ref().ok_or_else(|| spec::SpecError::invalid("process", "must be set"))?;
    let rootfs_path = spec::rootfs_path(&spec, &bundle);
    let rootfs = fs::canonicalize(&rootfs_path).map_err(|source| Cause::Io {
        what: "root.path",
        path: rootfs_path.clone(),
        source,
    })?;
    if !rootfs.is_dir() {
        return Err(spec::SpecError::invalid("root.path", format!("{rootfs:?} is not a directory")).into());
    }
    check_terminal(process.terminal().unwrap_or(false), opts.console_socket.is_some())?;
    let linux = spec.linux().clone().unwrap_or_else(crate::spec::empty_linux);
    let list = linux.namespaces().clone().unwrap_or_default();
    if linux.intel_rdt().is_some() {
        // config-linux.md: "If the resctrl pseudo-filesystem is not mounted, the
        // runtime MUST generate an error". berth has no resctrl support at all.
        return Err(spec::SpecError::invalid("linux.intelRdt", "not supported by berth (no resctrl support)").into());
    }
    let plan = namespaces::Plan::new(&list);
    Ok(Loaded { bundle, rootfs, spec, linux, plan })
}

/// runc's rule and words: a terminal needs a console socket, and only a
/// terminal may have one.
pub(super) fn check_terminal(terminal: bool, console_socket: bool) -> Result<(), Cause> {
    if terminal && !console_socket {
        return Err(Cause::Usage("cannot allocate tty if berth will detach without setting console socket".into()));
    }
    if !terminal && console_socket {
        return Err(Cause::Usage("cannot use console socket if berth will not detach or allocate tty".into()));
    }
    Ok(())
}

/// The state as first saved: `creating`, no pid yet.
fn new_state(opts: &CreateOptions, id: &ContainerId, loaded: &Loaded) -> State {
    let cgroup = CgroupConfig {
        path: loaded.linux.cgroups_path().clone().unwrap_or_default(),
        systemd: opts.systemd_cgroup,
        id: id.as_str().to_string(),
        rootless: opts.rootless,
    };
    State {
        id: id.as_str().to_string(),
        pid: 0,
        init_start_time: 0,
        bundle: loaded.bundle.clone(),
        rootfs: loaded.rootfs.clone(),
        created: sys::time::now_rfc3339(),
        cgroup,
        rootless: opts.rootless,
        creating: true,
        config: loaded.spec.clone(),
        host_mounts_before: (!rootfs::has_mount_namespace(&loaded.spec)).then(|| super::hostmounts::at(&loaded.rootfs)),
    }
}

/// The container's cgroup (its `resources` already checked): a frozen one is
/// refused before it is ours to remove, then it is created, handed to
/// `cleanup`, its limits written.
fn make_cgroup<'a>(
    cgroup: Box<dyn CgroupManager>,
    resources: Option<&LinuxResources>,
    slot: &'a mut Option<Box<dyn CgroupManager>>,
) -> Result<&'a dyn CgroupManager, Cause> {
    check_existing_cgroup(cgroup.as_ref())?;
    cgroup.create()?;
    let cgroup: &'a dyn CgroupManager = &**slot.insert(cgroup);
    if let Some(resources) = resources {
        cgroup.set(resources)?;
    }
    Ok(cgroup)
}

/// The exec fifo init blocks on until `start`. Any user the container runs as
/// must be able to open it for writing; mkfifo's mode went through our umask.
fn make_fifo(dir: &Path) -> Result<PathBuf, Cause> {
    let fifo = dir.join(FIFO);
    let mode = Mode::from_bits_truncate(0o622);
    nix::unistd::mkfifo(&fifo, mode).map_err(|e| sys::Error::with_path("mkfifo", &fifo, e))?;
    nix::sys::stat::fchmodat(None, &fifo, mode, nix::sys::stat::FchmodatFlags::FollowSymlink)
        .map_err(|e| sys::Error::with_path("chmod", &fifo, e))?;
    Ok(fifo)
}

/// clone(2) init into the namespaces of `plan` (the child runs `init::run` and
/// never returns here). A new time namespace is made here, not in init: its
/// offsets can only be written before any process is in it, so the namespace
/// must be unshared, written and then entered by a fork; init is usually pid 1
/// of a new pid namespace, which may not fork with CLONE_PARENT. We go back to
/// our own namespace for our later children (the hooks run in the runtime's).
fn clone_init(
    plan: &namespaces::Plan,
    linux: &Linux,
    parent_ch: Channel,
    child_ch: Channel,
    init_config: &InitConfig<'_>,
    lock: ContainerLock,
) -> Result<(Channel, Pid), Cause> {
    let host_time = if plan.new_time { Some(namespaces::new_time_namespace(linux)?) } else { None };
    let child = match clone_fork(plan.at_clone())? {
        Forked::Child => {
            drop(parent_ch);
            init::run(&child_ch, init_config, lock)
        }
        Forked::Parent(pid) => pid,
    };
    if let Some(own) = host_time {
        namespaces::restore_time_namespace(own)?;
    }
    Ok((parent_ch, child))
}

/// Record init's pid (and start time, so a reused pid is never signalled).
fn record_pid(store: &Store, state: &mut State, pid: Pid) -> Result<(), Cause> {
    state.pid = pid.as_raw();
    state.init_start_time = super::state::start_time(pid.as_raw()).unwrap_or(0);
    store.save(state)
}

fn set_oom_score_adj(spec: &Spec, child: Pid) -> Result<(), Cause> {
    let Some(adj) = spec.process().as_ref().and_then(|p| p.oom_score_adj()) else { return Ok(()) };
    let path = format!("/proc/{child}/oom_score_adj");
    fs::write(&path, adj.to_string()).map_err(|source| Cause::Io {
        what: "process.oomScoreAdj",
        path: path.into(),
        source,
    })
}

/// The parent's side of init's setup after Go: a new pid (init forked to enter
/// a pid namespace), the prestart and createRuntime hooks once the mounts are
/// made (`runtime_hooks`: only then does init stop for them), until Ready.
/// Returns init's pid.
fn handshake(
    ch: &Channel,
    child: Pid,
    store: &Store,
    state: &mut State,
    cleanup: &mut Cleanup,
    runtime_hooks: bool,
) -> Result<Pid, Cause> {
    let mut pid = child;
    loop {
        match ch.recv()? {
            Some(Msg::Pid(p)) => {
                // The intermediate process exits once it has forked init (as our
                // child, through CLONE_PARENT).
                let _ = waitpid(child, None);
                pid = Pid::from_raw(p);
                cleanup.pid = Some(pid);
                record_pid(store, state, pid)?;
            }
            Some(Msg::MountsReady) => {
                testhook::pause_at("after-mounts");
                state.pid = pid.as_raw();
                run_runtime_hooks(state)?;
                ch.send(&Msg::HooksDone)?;
            }
            Some(Msg::Ready) => {
                if !runtime_hooks {
                    // Init did not stop after its mounts (no hooks): they are made.
                    testhook::pause_at("after-mounts");
                }
                testhook::pause_at("ready");
                state.pid = pid.as_raw();
                return Ok(pid);
            }
            Some(Msg::Error(e)) => return Err(Cause::Init(e)),
            Some(other) => return Err(Cause::UnexpectedMessage { from: "init", message: format!("{other:?}") }),
            None => return Err(init_gone(pid, &state.config)),
        }
    }
}

/// Why init went away before Ready, as far as its exit status tells (read with
/// WNOWAIT: `Cleanup` still reaps it). Killed by SIGKILL with a memory limit set,
/// the likely cause is that limit: init is charged to the cgroup from its join on.
fn init_gone(pid: Pid, spec: &Spec) -> Cause {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    let limit = spec.linux().as_ref().and_then(|l| l.resources().as_ref()).and_then(|r| r.memory().as_ref());
    let limit = limit.and_then(|m| m.limit()).filter(|l| *l > 0);
    let why = match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
        Ok(WaitStatus::Signaled(_, sig, _)) => match (sig, limit) {
            (nix::sys::signal::Signal::SIGKILL, Some(l)) => {
                format!("killed by SIGKILL before it was ready (linux.resources.memory.limit is {l} bytes: too low?)")
            }
            _ => format!("killed by {sig} before it was ready"),
        },
        Ok(WaitStatus::Exited(_, code)) => format!("exited with status {code} before it was ready"),
        _ => "exited before it was ready".into(),
    };
    Cause::Init(why)
}

/// Does the config have prestart or createRuntime hooks (run by us, between
/// init's mounts and its pivot_root)?
fn has_runtime_hooks(spec: &Spec) -> bool {
    let Some(hooks) = spec.hooks() else { return false };
    #[allow(deprecated)]
    let prestart = hooks.prestart();
    [prestart, hooks.create_runtime()].iter().any(|h| h.as_ref().is_some_and(|h| !h.is_empty()))
}

/// prestart and createRuntime, in the runtime's namespaces. runtime.md: hooks
/// get the state; by now the container is made (crun passes `created` too; runc
/// 1.1 `creating`).
fn run_runtime_hooks(state: &State) -> Result<(), Cause> {
    let hooks = state.config.hooks().clone().unwrap_or_default();
    let oci = serde_json::to_vec(&state.to_oci(Status::Created)).map_err(Cause::Json)?;
    #[allow(deprecated)]
    hooks::run_all("prestart", hooks.prestart().as_ref(), &oci)?;
    hooks::run_all("createRuntime", hooks.create_runtime().as_ref(), &oci)?;
    Ok(())
}

/// `start` for a container made with `started_by_caller` (`run`): init went on
/// from Ready without waiting (nothing can come between create and start in one
/// process), so wait until it has exec'd (EOF: execve closed the channel) or
/// failed (its error, written even after the seccomp filter when the profile
/// allows `write`), then run the poststart hooks, as `start` does. Init is our
/// child, reaped by nobody but us, so /proc tells a silent death from an execve.
pub fn start_created(id: &str, created: &mut Created) -> Result<(), ContainerError> {
    let err = |c: Cause| c.into_error(id, "start");
    let (Some(ch), Some(state)) = (created.channel.take(), created.state.as_ref()) else {
        return Err(err(Cause::AlreadyStarted));
    };
    let outcome = match ch.recv().map_err(|e| err(e.into()))? {
        None => super::execwatch::reached_execve(state.pid, Some(state.init_start_time))
            .map_err(|why| Cause::Init(format!("container init {why}"))),
        Some(Msg::Error(e)) => Err(Cause::Init(e)),
        Some(other) => Err(Cause::UnexpectedMessage { from: "init", message: format!("{other:?}") }),
    };
    if let Err(e) = outcome {
        // Init exits after its error: wait until it is gone, so that the
        // container reads `stopped` once start has failed (as `start`).
        super::start::wait_gone(state);
        return Err(err(e));
    }
    tracing::debug!(id, "start: init went on to execve");
    super::start::poststart(id, state);
    Ok(())
}

/// runc's checks on a cgroup that exists before `create` (libcontainer's
/// factory): a frozen one would stop init for good (`run` would never return),
/// so it is refused, before it is in our cleanup's hands; one with processes in
/// it gets runc's warning.
fn check_existing_cgroup(cg: &dyn CgroupManager) -> Result<(), Cause> {
    if cg.is_frozen()? {
        return Err(Cause::UnexpectedlyFrozen);
    }
    let pids = cg.pids()?;
    if !pids.is_empty() {
        tracing::warn!("container's cgroup is not empty: {} process(es) found", pids.len());
    }
    Ok(())
}

/// Write the pid atomically (temp file + rename), as containerd reads it at once.
pub fn write_pid_file(path: &Path, pid: Pid) -> Result<(), Cause> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    fs::write(&tmp, pid.to_string()).map_err(|source| Cause::Io {
        what: "write pid file",
        path: tmp.clone(),
        source,
    })?;
    fs::rename(&tmp, path).map_err(|source| Cause::Io { what: "write pid file", path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::fake::{CgCall, FakeManager};

    fn resources() -> LinuxResources {
        serde_json::from_str(r#"{"memory": {"limit": 268435456}, "pids": {"limit": 64}}"#).unwrap()
    }

    #[test]
    fn the_cgroup_is_checked_then_created_then_limited_and_owned_by_cleanup() {
        let fake = FakeManager::default();
        let mut slot = None;
        make_cgroup(Box::new(fake.clone()), Some(&resources()), &mut slot).unwrap();
        assert_eq!(
            *fake.calls.borrow(),
            [CgCall::IsFrozen, CgCall::Pids, CgCall::Create, CgCall::Set { memory: Some(268435456), pids: Some(64) }]
        );
        assert!(slot.is_some(), "a failure after this removes the cgroup");
    }

    #[test]
    fn a_frozen_cgroup_is_refused_and_left_alone() {
        let fake = FakeManager { frozen: true, ..Default::default() };
        let mut slot = None;
        let err = make_cgroup(Box::new(fake.clone()), Some(&resources()), &mut slot).err().unwrap();
        assert!(matches!(err, Cause::UnexpectedlyFrozen), "{err}");
        assert_eq!(*fake.calls.borrow(), [CgCall::IsFrozen]);
        assert!(slot.is_none(), "not ours: cleanup must not remove it");
    }

    #[test]
    fn cleanup_empties_and_removes_the_cgroup_then_the_state_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c1");
        fs::create_dir(&dir).unwrap();
        let fake = FakeManager::default();
        let mut cleanup =
            Cleanup { dir: Some(dir.clone()), cgroup: Some(Box::new(fake.clone())), pid: None, host_mounts: None };
        cleanup.run();
        assert_eq!(*fake.calls.borrow(), [CgCall::Pids, CgCall::Destroy]);
        assert!(!dir.exists());
    }

    #[test]
    fn a_disarmed_cleanup_leaves_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let fake = FakeManager::default();
        let mut cleanup = Cleanup {
            dir: Some(tmp.path().to_path_buf()),
            cgroup: Some(Box::new(fake.clone())),
            pid: None,
            host_mounts: None,
        };
        cleanup.disarm();
        cleanup.run();
        assert!(fake.calls.borrow().is_empty());
        assert!(tmp.path().exists());
    }

    #[test]
    fn a_process_that_joins_v1_itself_is_added_by_the_parent_elsewhere_only() {
        let fake = FakeManager::default();
        setup::add_task(&fake, Pid::from_raw(42), true).unwrap();
        setup::add_task(&fake, Pid::from_raw(43), false).unwrap();
        assert_eq!(*fake.calls.borrow(), [CgCall::AddTaskExceptSelfJoin(42), CgCall::AddTask(43)]);
    }

    #[test]
    fn a_terminal_needs_a_console_socket_and_only_a_terminal_may_have_one() {
        assert!(check_terminal(true, true).is_ok() && check_terminal(false, false).is_ok());
        let e = check_terminal(true, false).unwrap_err().to_string();
        assert_eq!(e, "cannot allocate tty if berth will detach without setting console socket");
        let e = check_terminal(false, true).unwrap_err().to_string();
        assert_eq!(e, "cannot use console socket if berth will not detach or allocate tty");
    }
}
