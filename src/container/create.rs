//! `create`: the parent side. Validates the config, makes the state dir and the
//! cgroup, clones init into its namespaces, writes uid/gid maps, runs the hooks
//! that belong to the runtime namespace, and records the state. On any failure it
//! removes everything it made (state dir, cgroup, init process).

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;

use super::channel::{self, Msg};
use super::error::{Cause, ContainerError};
use super::init::{self, InitConfig};
use super::state::{FIFO, State, Status, Store};
use super::{ContainerId, testhook, userns};
use crate::cgroups::{self, CgroupConfig, CgroupManager};
use crate::sys::process::{Forked, clone_fork};
use crate::{console, hooks, security, spec, sys};

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
}

/// The created container: its init pid (always a child of this process, even
/// when joining a pid namespace forced an intermediate fork) and its state.
pub struct Created {
    pub pid: Pid,
    pub state: State,
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

fn create_in(
    opts: &CreateOptions,
    id: &ContainerId,
    store: &Store,
    dir: &Path,
    cleanup: &mut Cleanup,
) -> Result<Created, Cause> {
    let lock = store.lock(id)?;
    testhook::pause_at("after-state-dir");
    let bundle = fs::canonicalize(&opts.bundle).map_err(|source| Cause::Io {
        what: "bundle",
        path: opts.bundle.clone(),
        source,
    })?;
    let spec = spec::load(&bundle)?;
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
    let terminal = process.terminal().unwrap_or(false);
    if terminal && opts.console_socket.is_none() {
        return Err(Cause::Usage("cannot allocate tty if berth will detach without setting console socket".into()));
    }
    if !terminal && opts.console_socket.is_some() {
        return Err(Cause::Usage("cannot use console socket if berth will not detach or allocate tty".into()));
    }
    let linux = spec.linux().clone().unwrap_or_default();
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    // No mount namespace listed: the container shares ours (runtime spec: a
    // missing type is inherited), and its mounts are made here (`hostmounts`).
    let shares_mounts = !namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::Mount);

    // Compile seccomp before clone: errors reach the user directly, and the child
    // inherits the program instead of compiling its own copy.
    let seccomp = match linux.seccomp() {
        Some(profile) => Some(security::seccomp::compile(profile)?),
        None => None,
    };
    // A seccomp agent's socket, connected while its path is ours to see.
    let seccomp_listener = match (linux.seccomp(), &seccomp) {
        (Some(profile), Some(filter)) => security::seccomp::connect_listener(profile, filter)?,
        _ => None,
    };

    if linux.intel_rdt().is_some() {
        // config-linux.md: "If the resctrl pseudo-filesystem is not mounted, the
        // runtime MUST generate an error". berth has no resctrl support at all.
        return Err(spec::SpecError::invalid("linux.intelRdt", "not supported by berth (no resctrl support)").into());
    }

    let cgroup_config = CgroupConfig {
        path: linux.cgroups_path().clone().unwrap_or_default(),
        systemd: opts.systemd_cgroup,
        id: id.as_str().to_string(),
        rootless: opts.rootless,
    };
    // Saved before anything else exists on the host, and again as each thing is
    // made, so that `delete --force` can undo a create killed at any point.
    let mut state = State {
        id: id.as_str().to_string(),
        pid: 0,
        init_start_time: 0,
        bundle: bundle.clone(),
        rootfs: rootfs.clone(),
        created: sys::time::now_rfc3339(),
        cgroup: cgroup_config,
        rootless: opts.rootless,
        creating: true,
        config: spec.clone(),
        host_mounts_before: shares_mounts.then(|| super::hostmounts::at(&rootfs)),
    };
    cleanup.host_mounts = state.host_mounts_before.clone().map(|b| (rootfs.clone(), b));
    store.save(&state)?;
    let cgroup = cgroups::open(&state.cgroup)?;
    if let Some(resources) = linux.resources() {
        cgroup.check(resources)?;
    }
    check_existing_cgroup(cgroup.as_ref())?;
    cgroup.create()?;
    let cgroup = cleanup.cgroup.insert(cgroup);
    if let Some(resources) = linux.resources() {
        cgroup.set(resources)?;
    }
    let new_user = namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    let join_user = namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_some());
    // Init joins the v1 hierarchies itself (see `CgroupManager::self_join_files`),
    // through files opened here where the host's paths resolve. Not from a user
    // namespace, whose root may not write the host's cgroupfs.
    let cgroup_tasks = if new_user || join_user { Vec::new() } else { open_self_join(cgroup.as_ref())? };
    let self_join = !cgroup_tasks.is_empty();
    testhook::pause_at("after-cgroup");

    let fifo = dir.join(FIFO);
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o622))
        .map_err(|e| sys::Error::with_path("mkfifo", &fifo, e))?;
    // Any user the container runs as must be able to open it for writing; mkfifo's
    // mode went through our umask.
    nix::sys::stat::fchmodat(
        None,
        &fifo,
        Mode::from_bits_truncate(0o622),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .map_err(|e| sys::Error::with_path("chmod", &fifo, e))?;

    let console_socket: Option<OwnedFd> = match &opts.console_socket {
        Some(p) => Some(console::connect(p)?),
        None => None,
    };

    // Namespaces created at clone time, so that they are owned by a new user
    // namespace created in the same call. When joining an existing user namespace,
    // init unshares them after setns instead. The cgroup namespace is always
    // unshared by init once it is in the container's cgroup, so that cgroup becomes
    // the namespace's root; time namespaces cannot be created by clone(2).
    let mut clone_flags = CloneFlags::empty();
    if !join_user {
        let late = [LinuxNamespaceType::Time, LinuxNamespaceType::Cgroup];
        for ns in namespaces.iter().filter(|n| n.path().is_none() && !late.contains(&n.typ())) {
            clone_flags |= CloneFlags::from_bits_retain(ns.typ() as i32);
        }
    }

    // Idmapped mounts need a privilege over the source filesystem that init in a
    // user namespace lacks: detach and idmap them here, init only attaches them.
    let mut idmapped = userns::idmapped_mounts(&spec, &bundle)?;
    if new_user {
        userns::bind_sources(&spec, &bundle, &mut idmapped);
    }
    // A new time namespace: made here, not in init. Its offsets can only be written
    // before any process is in it, so the namespace must be unshared, written and
    // then entered by a fork; init is usually pid 1 of a new pid namespace, which
    // may not fork with CLONE_PARENT. We restore our own namespace for children
    // (the hooks run in the runtime's) once init is cloned.
    let new_time = !join_user && namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::Time && n.path().is_none());
    let host_time = if new_time { Some(init::new_time_namespace(&linux)?) } else { None };
    let init_flags =
        if new_time { clone_flags | CloneFlags::from_bits_retain(libc::CLONE_NEWTIME) } else { clone_flags };

    let (parent_ch, child_ch) = channel::pair()?;
    let init_config = InitConfig {
        spec: &spec,
        rootfs: &rootfs,
        bundle: &bundle,
        fifo: &fifo,
        console_socket,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        seccomp: seccomp.as_ref(),
        seccomp_listener,
        id: id.as_str(),
        clone_flags: init_flags,
        allow_setgroups: !(new_user && opts.rootless),
        cgroup_tasks,
        idmapped,
    };

    let child = match clone_fork(clone_flags)? {
        Forked::Child => {
            drop(parent_ch);
            init::run(&child_ch, &init_config, lock)
        }
        Forked::Parent(pid) => pid,
    };
    if let Some(fd) = host_time {
        nix::sched::setns(fd, CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
            .map_err(|e| sys::Error::with_path("setns", "/proc/self/ns/time", e))?;
    }
    drop(child_ch);
    drop(init_config);
    cleanup.pid = Some(child);
    let mut pid = child;

    if new_user {
        userns::write_mappings(child, &linux, opts.rootless)?;
    }
    add_task(cgroup.as_ref(), child, self_join)?;
    state.pid = child.as_raw();
    state.init_start_time = super::state::start_time(child.as_raw()).unwrap_or(0);
    store.save(&state)?;
    testhook::pause_at("after-clone");
    if let Some(adj) = process.oom_score_adj() {
        let path = format!("/proc/{child}/oom_score_adj");
        fs::write(&path, adj.to_string()).map_err(|source| Cause::Io {
            what: "process.oomScoreAdj",
            path: path.into(),
            source,
        })?;
    }
    parent_ch.send(&Msg::Go)?;

    let hooks = spec.hooks().clone().unwrap_or_default();
    loop {
        match parent_ch.recv()? {
            Some(Msg::Pid(p)) => {
                // The intermediate process exits once it has forked init (as our
                // child, through CLONE_PARENT).
                let _ = waitpid(child, None);
                pid = Pid::from_raw(p);
                cleanup.pid = Some(pid);
                state.pid = p;
                state.init_start_time = super::state::start_time(p).unwrap_or(0);
                store.save(&state)?;
            }
            Some(Msg::MountsReady) => {
                testhook::pause_at("after-mounts");
                state.pid = pid.as_raw();
                // runtime.md: hooks get the state; by now the container is made (crun
                // passes `created` too; runc 1.1 `creating`).
                let oci = serde_json::to_vec(&state.to_oci(Status::Created)).map_err(Cause::Json)?;
                #[allow(deprecated)]
                hooks::run_all("prestart", hooks.prestart().as_ref(), &oci)?;
                hooks::run_all("createRuntime", hooks.create_runtime().as_ref(), &oci)?;
                parent_ch.send(&Msg::HooksDone)?;
            }
            Some(Msg::Ready) => {
                testhook::pause_at("ready");
                break;
            }
            Some(Msg::Error(e)) => return Err(Cause::Init(e)),
            Some(other) => return Err(Cause::UnexpectedMessage { from: "init", message: format!("{other:?}") }),
            None => return Err(Cause::Init("init exited before it was ready".into())),
        }
    }
    state.pid = pid.as_raw();
    state.init_start_time =
        super::state::start_time(pid.as_raw()).ok_or_else(|| Cause::Init("init exited before it was ready".into()))?;
    state.creating = false;
    store.save(&state)?;
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    Ok(Created { pid, state })
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

/// Open the `tasks` files through which the container's first process joins its
/// v1 cgroups itself, each with its path for error messages.
pub(super) fn open_self_join(cg: &dyn CgroupManager) -> Result<Vec<(PathBuf, fs::File)>, Cause> {
    cg.self_join_files()
        .into_iter()
        .map(|path| match fs::OpenOptions::new().write(true).open(&path) {
            Ok(f) => Ok((path, f)),
            Err(source) => Err(Cause::Io { what: "open cgroup tasks", path, source }),
        })
        .collect()
}

/// The parent's part of moving `pid` into the cgroup: every hierarchy, or, when
/// the process joins the v1 ones itself (`open_self_join`), only the others.
pub(super) fn add_task(cg: &dyn CgroupManager, pid: Pid, self_join: bool) -> Result<(), cgroups::CgroupError> {
    if self_join { cg.add_task_except_self_join(pid) } else { cg.add_task(pid) }
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
