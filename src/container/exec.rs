//! `exec`: run a new process in a running container. The process joins every
//! namespace of the container's init (user first), its cgroup, and gets the
//! process settings it asks for. A pid namespace holds only the children of the
//! process that joins it: without a user namespace to join, we join it for the
//! one child we clone, which is born there; with one, the process joins it after
//! the user namespace and forks, with CLONE_PARENT so the process is still our
//! child and we can wait for it.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::channel::{self, Channel, Msg};
use super::error::error_chain;
use super::error::{Cause, ContainerError};
use super::state::Status;
use super::{namespaces, setup};
use crate::sys::process::{Forked, clone_fork, exit_now};
use crate::{cgroups, console, security, sys};

pub struct ExecOptions {
    pub id: String,
    pub process: Process,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: i32,
    pub ignore_paused: bool,
    /// `--cgroup`: a sub-cgroup of the container's to put the process in.
    pub cgroup: Vec<String>,
}

/// The exec'd process, running.
pub struct Execed {
    pub pid: Pid,
}

const NS_ORDER: [(LinuxNamespaceType, &str); 8] = [
    (LinuxNamespaceType::User, "user"),
    (LinuxNamespaceType::Ipc, "ipc"),
    (LinuxNamespaceType::Uts, "uts"),
    (LinuxNamespaceType::Network, "net"),
    (LinuxNamespaceType::Pid, "pid"),
    (LinuxNamespaceType::Cgroup, "cgroup"),
    (LinuxNamespaceType::Time, "time"),
    (LinuxNamespaceType::Mount, "mnt"),
];

/// Start `opts.process` in the container whose state and status the caller
/// loaded (`load_state`, once for both the process and this).
pub fn exec(opts: &ExecOptions, (st, status): (super::State, Status)) -> Result<Execed, ContainerError> {
    let err = |c: Cause| c.into_error(&opts.id, "exec");
    match status {
        Status::Running | Status::Created => {}
        Status::Paused if opts.ignore_paused => {}
        Status::Paused => {
            return Err(err(Cause::ExecPaused));
        }
        Status::Stopped => return Err(err(Cause::ExecStopped)),
        status => return Err(err(Cause::BadStatus { action: "exec in", status })),
    }
    tracing::debug!(id = opts.id, pid = st.pid, args = ?opts.process.args(), "exec");
    exec_in(opts, &st).map_err(err)
}

fn exec_in(opts: &ExecOptions, st: &super::State) -> Result<Execed, Cause> {
    let process = &opts.process;
    check_process(process, opts.console_socket.is_some())?;
    let cgroup_config = sub_cgroup(&st.cgroup, &opts.cgroup)?;
    let linux = st.config.linux().clone().unwrap_or_else(crate::spec::empty_linux);
    let seccomp = match linux.seccomp() {
        Some(profile) => Some(security::seccomp::compile(profile)?),
        None => None,
    };
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    let extras = open_extras(st, &linux, seccomp.as_ref())?;
    let mut ns_fds = open_namespaces(st, &namespaces)?;
    let console_socket = match &opts.console_socket {
        Some(p) => Some(console::connect(p)?),
        None => None,
    };
    let user_ns = namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::User);
    let cg = cgroups::open(&cgroup_config)?;
    // The process joins the v1 hierarchies itself, as init does (create.rs).
    let cgroup_tasks = if user_ns { Vec::new() } else { setup::open_self_join(cg.as_ref())? };
    let self_join = !cgroup_tasks.is_empty();
    // With no user namespace to join, we (root over init's namespaces, as init's
    // creator was) may join its pid namespace for the process we clone: it is
    // born there and needs no fork of its own. Otherwise the process joins the
    // user namespace first and the pid namespace with its privileges, and forks.
    let pid_ns = pid_for_children(&mut ns_fds, user_ns);
    let handoff = Handoff { fork: user_ns, go: !(self_join && cg.self_join_is_complete()) };
    let (parent_ch, child_ch) = channel::pair()?;

    let child = match clone_setup_process(pid_ns.as_ref())? {
        Forked::Child => {
            drop(parent_ch);
            let setup = Setup {
                ns_fds: &ns_fds,
                extras,
                process,
                seccomp: seccomp.as_ref(),
                console_socket,
                preserve_fds: opts.preserve_fds,
                allow_setgroups: !st.rootless || !user_ns,
                cgroup_tasks: &cgroup_tasks,
                handoff,
                oom_score_adj: st.config.process().as_ref().and_then(|p| p.oom_score_adj()),
            };
            let e = match child_setup(&child_ch, setup) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            // write(2): after the seccomp filter a strict profile may deny sendto.
            let _ = child_ch.write_msg(&Msg::Error(error_chain(&e)));
            exit_now(1)
        }
        Forked::Parent(pid) => pid,
    };
    drop(child_ch);
    drop((ns_fds, pid_ns, cgroup_tasks));
    match parent_side(&parent_ch, child, cg.as_ref(), self_join, handoff) {
        Ok(pid) => write_pid_file(opts, pid),
        Err(e) => {
            let _ = kill(child, Signal::SIGKILL);
            let _ = waitpid(child, None);
            Err(e)
        }
    }
}

/// runc's checks of the process, with its words (libcontainer/container_linux.go,
/// utils_linux.go).
fn check_process(process: &Process, console_socket: bool) -> Result<(), Cause> {
    let args = process.args().as_deref().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        return Err(Cause::Usage("process.args: must contain at least one element".into()));
    }
    if process.terminal().unwrap_or(false) && !console_socket {
        return Err(Cause::Usage("cannot allocate tty if berth will detach without setting console socket".into()));
    }
    if !process.cwd().is_absolute() {
        return Err(Cause::Usage("Cwd must be an absolute path".into()));
    }
    if let Some(bad) = process.env().as_deref().unwrap_or_default().iter().find(|e| !e.contains('=')) {
        return Err(Cause::Usage(format!("invalid environment variable: {bad:?}")));
    }
    Ok(())
}

/// One of init's namespaces: its fd, its type, its path (for errors).
type NsFd = (OwnedFd, CloneFlags, String);

/// What the parent and the setup process exchange once it is cloned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Handoff {
    /// The setup process forks once more after joining the namespaces (a pid
    /// namespace joined after a user namespace holds only its children) and
    /// sends that child's pid; the child, made with CLONE_PARENT, is ours.
    fork: bool,
    /// The parent moves the process into (some of) its cgroups first: the
    /// process waits for `Go`. Not when it joins every hierarchy itself.
    go: bool,
}

/// With no user namespace to join: init's pid namespace, out of the list the
/// setup process joins, for the parent to join for its children around the
/// clone (`clone_setup_process`). With one, none: the list is left whole.
fn pid_for_children(ns_fds: &mut Vec<NsFd>, user_ns: bool) -> Option<NsFd> {
    if user_ns {
        return None;
    }
    let i = ns_fds.iter().position(|(_, flag, _)| *flag == CloneFlags::CLONE_NEWPID)?;
    Some(ns_fds.remove(i))
}

/// Clone the setup process, non-dumpable from its first instruction: in init's
/// pid namespace (`pid_ns`) it is visible to the container before it has joined
/// the mount namespace, and nothing in there may open its /proc/<pid>/exe (the
/// host binary, CVE-2019-5736). We are made non-dumpable for the clone and
/// dumpable again after it, as we were.
fn clone_setup_process(pid_ns: Option<&NsFd>) -> Result<Forked, Cause> {
    use nix::sys::prctl::{get_dumpable, set_dumpable};
    let dumpable = get_dumpable().map_err(|e| sys::Error::new("prctl PR_GET_DUMPABLE", e))?;
    set_dumpable(false).map_err(|e| sys::Error::new("prctl PR_SET_DUMPABLE", e))?;
    let forked = match pid_ns {
        Some((fd, _, path)) => namespaces::clone_in_pid_namespace(fd, path),
        None => clone_fork(CloneFlags::empty()).map_err(Cause::from),
    };
    if dumpable && !matches!(forked, Ok(Forked::Child)) {
        // Only our own core dumps and /proc ownership depend on it.
        let _ = set_dumpable(true);
    }
    forked
}

/// What the process needs besides init's namespaces: init's root, when there is
/// no mount namespace to join (init chrooted into the rootfs), and a seccomp
/// agent's socket with the container's state for its message.
struct Extras {
    root: Option<OwnedFd>,
    listener: Option<(OwnedFd, oci_spec::runtime::LinuxSeccomp, serde_json::Value)>,
}

fn open_extras(
    st: &super::State,
    linux: &oci_spec::runtime::Linux,
    seccomp: Option<&security::seccomp::Filter>,
) -> Result<Extras, Cause> {
    let shares_mounts =
        !linux.namespaces().as_deref().unwrap_or_default().iter().any(|n| n.typ() == LinuxNamespaceType::Mount);
    let root = match shares_mounts {
        false => None,
        true => {
            let path = format!("/proc/{}/root", st.pid);
            let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            Some(
                sys::fd::open(path.as_str(), flags, Mode::empty())
                    .map_err(|e| sys::Error::with_path("open", &path, e))?,
            )
        }
    };
    let listener = match (linux.seccomp(), seccomp) {
        (Some(profile), Some(filter)) => security::seccomp::connect_listener(profile, filter)?.map(|sock| {
            let state = serde_json::to_value(st.to_oci(Status::Running)).unwrap_or_default();
            (sock, profile.clone(), state)
        }),
        _ => None,
    };
    Ok(Extras { root, listener })
}

/// The init's namespaces, in joining order, opened while the container is known
/// to be alive (checked again after the opens: a reused pid is never joined).
fn open_namespaces(st: &super::State, namespaces: &[oci_spec::runtime::LinuxNamespace]) -> Result<Vec<NsFd>, Cause> {
    let mut ns_fds = Vec::new();
    for (typ, name) in NS_ORDER {
        if !namespaces.iter().any(|n| n.typ() == typ) {
            continue;
        }
        let path = format!("/proc/{}/ns/{name}", st.pid);
        let fd = sys::fd::open(path.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| sys::Error::with_path("open namespace", &path, e))?;
        ns_fds.push((fd, CloneFlags::from_bits_retain(typ as i32), path));
    }
    if !super::state::is_alive(st.pid, st.init_start_time) {
        return Err(Cause::NotRunning);
    }
    Ok(ns_fds)
}

/// `--pid-file` for a started process; if it cannot be written, the process goes.
fn write_pid_file(opts: &ExecOptions, pid: Pid) -> Result<Execed, Cause> {
    if let Some(f) = &opts.pid_file
        && let Err(e) = super::write_pid_file(f, pid)
    {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        return Err(e);
    }
    Ok(Execed { pid })
}

/// The cgroup the process joins: the container's, or with `--cgroup SUB` that
/// sub-cgroup of it on every hierarchy (it must exist, as in runc). A path that
/// leaves the container's cgroup is refused with runc's message: `..` would put
/// the process outside every limit. An absolute one is refused too (runc takes
/// it as relative), and so are runc's per-controller form `ctrl:path`, more than
/// one path, and the systemd driver, which berth does not support here.
fn sub_cgroup(own: &cgroups::CgroupConfig, given: &[String]) -> Result<cgroups::CgroupConfig, Cause> {
    for g in given {
        let path = g.split_once(':').map_or(g.as_str(), |(_, p)| p);
        let p = Path::new(path);
        let mut depth = 0i32;
        for c in p.components() {
            match c {
                std::path::Component::Normal(_) => depth += 1,
                std::path::Component::ParentDir => depth -= 1,
                _ => {}
            }
            if depth < 0 {
                break;
            }
        }
        if depth < 0 || p.is_absolute() || path.is_empty() {
            return Err(Cause::Usage(format!("{path} is not a sub cgroup path")));
        }
    }
    let Some(sub) = given.first() else { return Ok(own.clone()) };
    if given.len() > 1 || sub.contains(':') || own.systemd {
        return Err(Cause::Usage(format!(
            "--cgroup {sub:?}: only one sub-cgroup path for every controller, with the cgroupfs driver, is supported"
        )));
    }
    let base = if own.path.as_os_str().is_empty() { Path::new("/").join(&own.id) } else { own.path.clone() };
    Ok(cgroups::CgroupConfig { path: base.join(sub), ..own.clone() })
}

/// Learn the process's pid (ours from the clone, or sent when it forked), put it
/// in the cgroup and let it go when it waits for that, and wait until it has
/// exec'd (the channel is CLOEXEC: EOF means execve succeeded).
fn parent_side(
    ch: &Channel,
    child: Pid,
    cg: &dyn cgroups::CgroupManager,
    self_join: bool,
    handoff: Handoff,
) -> Result<Pid, Cause> {
    let pid = if handoff.fork { forked_pid(ch, child)? } else { child };
    if handoff.go {
        if let Err(e) = setup::add_task(cg, pid, self_join) {
            return Err(abort(ch, pid, e.into()));
        }
        if let Err(e) = ch.send(&Msg::Go) {
            return Err(abort(ch, pid, e.into()));
        }
    }
    let fail = |e: Cause| {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        e
    };
    match ch.recv().map_err(|e| fail(e.into()))? {
        // EOF: execve closed the channel, or the process died before it (after
        // the seccomp filter, which may deny it the send of its error).
        None => match super::execwatch::reached_execve(pid.as_raw(), None) {
            Ok(()) => Ok(pid),
            Err(why) => {
                let _ = waitpid(pid, None);
                Err(Cause::Init(format!("exec setup {why}")))
            }
        },
        Some(Msg::Error(e)) => {
            let _ = waitpid(pid, None);
            Err(Cause::Init(e))
        }
        Some(other) => Err(fail(Cause::UnexpectedMessage { from: "exec", message: format!("{other:?}") })),
    }
}

/// The pid of the process the setup process forked; the setup process exits
/// right after the fork and is reaped here.
fn forked_pid(ch: &Channel, child: Pid) -> Result<Pid, Cause> {
    let pid = match ch.recv()? {
        Some(Msg::Pid(p)) => Pid::from_raw(p),
        Some(Msg::Error(e)) => return Err(Cause::Init(e)),
        _ => return Err(Cause::Init("exec setup exited early".into())),
    };
    let _ = waitpid(child, None);
    Ok(pid)
}

/// Our step of the hand-off failed (`ours`): the process is killed and reaped.
/// If it had failed first, its error is still queued on the channel and is the
/// one reported (e.g. it could not join a namespace while we wrote its pid).
fn abort(ch: &Channel, pid: Pid, ours: Cause) -> Cause {
    let _ = kill(pid, Signal::SIGKILL);
    // Killed, it closes its end: recv returns what it sent, or EOF.
    let why = match ch.recv() {
        Ok(Some(Msg::Error(e))) => Cause::Init(e),
        _ => ours,
    };
    let _ = waitpid(pid, None);
    why
}

/// Everything the setup process needs, in hand before the clone.
struct Setup<'a> {
    /// Init's namespaces it joins, in order (without the pid namespace when we
    /// joined that for it).
    ns_fds: &'a [NsFd],
    extras: Extras,
    process: &'a Process,
    seccomp: Option<&'a security::seccomp::Filter>,
    console_socket: Option<OwnedFd>,
    preserve_fds: i32,
    allow_setgroups: bool,
    cgroup_tasks: &'a [(std::path::PathBuf, fs::File)],
    handoff: Handoff,
    /// The container's `process.oomScoreAdj`: runc gives it to every exec'd
    /// process too (nsexec), whatever an `exec --process` file says.
    oom_score_adj: Option<i32>,
}

fn child_setup(ch: &Channel, s: Setup<'_>) -> Result<std::convert::Infallible, Cause> {
    if let Some(adj) = s.oom_score_adj {
        let path = "/proc/self/oom_score_adj";
        fs::write(path, adj.to_string()).map_err(|source| Cause::Io {
            what: "process.oomScoreAdj",
            path: path.into(),
            source,
        })?;
    }
    setup::hide_from_container()?;
    // The host's /proc, to learn our pid as the host sees it (a seccomp agent's
    // message carries it) once in the container's mount namespace; closed
    // before execve.
    let host_proc = match s.extras.listener {
        Some(_) => Some(
            sys::fd::open("/proc", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| sys::Error::with_path("open", "/proc", e))?,
        ),
        None => None,
    };
    namespaces::join(&sys::ops::Linux, s.ns_fds)?;
    if let Some(root) = &s.extras.root {
        nix::unistd::fchdir(root.as_raw_fd()).map_err(|e| sys::Error::with_path("fchdir", "container root", e))?;
        nix::unistd::chroot(".").map_err(|e| sys::Error::with_path("chroot", "container root", e))?;
        nix::unistd::chdir("/").map_err(|e| sys::Error::with_path("chdir", "/", e))?;
    }
    if s.handoff.fork {
        // A pid namespace joined here takes effect for children only.
        match clone_fork(CloneFlags::CLONE_PARENT)? {
            Forked::Parent(pid) => {
                let _ = ch.send(&Msg::Pid(pid.as_raw()));
                exit_now(0)
            }
            Forked::Child => {}
        }
    }
    if s.handoff.go {
        match ch.recv()? {
            Some(Msg::Go) => {}
            _ => return Err(Cause::Init("parent went away".into())),
        }
    }
    setup::join_cgroups(s.cgroup_tasks)?;
    if let Some(sock) = s.console_socket {
        console::setup_exec(sock, s.process.console_size())?;
    }
    let prepared = setup::apply_process(s.process, s.seccomp.is_some(), s.allow_setgroups)?;
    let listener = match (s.extras.listener, host_proc) {
        (Some((sock, profile, state)), Some(proc)) => {
            let link = nix::fcntl::readlinkat(Some(proc.as_raw_fd()), "self")
                .map_err(|e| sys::Error::with_path("readlink", "/proc/self", e))?;
            let pid = link.to_string_lossy().parse().unwrap_or(0);
            Some(security::seccomp::Listener::new(sock, &profile, state, pid))
        }
        _ => None,
    };
    setup::exec(&prepared, s.seccomp, listener.as_ref(), s.preserve_fds, None)
}

/// Read a process.json (`exec --process`).
pub fn load_process(path: &Path) -> Result<Process, Cause> {
    let text = crate::spec::read_document(path).map_err(|source| Cause::Io {
        what: "read process",
        path: path.to_path_buf(),
        source,
    })?;
    let perr = |text: &str, e: serde_json::Error| {
        let field = crate::spec::jsonpath::field_of(text, &e);
        Cause::ProcessFile { path: path.to_path_buf(), field, source: e }
    };
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| perr(&text, e))?;
    // runc's process.json `user` is optional: without it the process runs as 0:0.
    // Added to the text, not to the parsed value, so that a later error still
    // has a position in a text to name its field by.
    let text = match doc.as_object() {
        Some(obj) if !obj.contains_key("user") => with_root_user(&text),
        _ => text,
    };
    serde_json::from_str(&text).or_else(|e| {
        let unknown_cap = crate::spec::jsonpath::field_of(&text, &e).starts_with("capabilities.");
        unknown_cap
            .then(|| crate::spec::without_unknown_capabilities(&text, &["capabilities"]))
            .flatten()
            .ok_or_else(|| perr(&text, e))
    })
}

/// `text`, a JSON object, with `"user": {"uid": 0, "gid": 0}` as its first
/// member (inserted after the opening brace, so that later lines keep their
/// numbers).
fn with_root_user(text: &str) -> String {
    let Some(brace) = text.find('{') else { return text.to_string() };
    let rest = &text[brace + 1..];
    let sep = if rest.trim_start().starts_with('}') { "" } else { "," };
    format!("{}{{\"user\": {{\"uid\": 0, \"gid\": 0}}{sep}{rest}", &text[..brace])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> cgroups::CgroupConfig {
        cgroups::CgroupConfig { path: "/pod/c1".into(), systemd: false, id: "c1".into(), rootless: false }
    }

    #[test]
    fn cgroup_paths_that_leave_the_container_are_refused_as_runc() {
        for bad in ["..", "a/../..", "/abs", "memory:..", "../c2"] {
            let e = sub_cgroup(&own(), &[bad.to_string()]).unwrap_err().to_string();
            assert!(e.ends_with("is not a sub cgroup path"), "{bad}: {e}");
        }
    }

    fn state_of_this_process() -> crate::container::State {
        let me = std::process::id() as i32;
        crate::container::State {
            id: "c1".into(),
            pid: me,
            init_start_time: crate::container::state::start_time(me).unwrap(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: String::new(),
            cgroup: own(),
            rootless: false,
            creating: false,
            config: Default::default(),
            host_mounts_before: None,
        }
    }

    /// The setns calls the setup process makes for `types`, and the namespace
    /// the parent joins for it (with no user namespace: the pid namespace).
    fn joins(types: &[LinuxNamespaceType]) -> (Option<CloneFlags>, Vec<CloneFlags>) {
        let list: Vec<_> = types
            .iter()
            .map(|t| oci_spec::runtime::LinuxNamespaceBuilder::default().typ(*t).build().unwrap())
            .collect();
        let mut fds = open_namespaces(&state_of_this_process(), &list).unwrap();
        let parent = pid_for_children(&mut fds, types.contains(&LinuxNamespaceType::User)).map(|(_, f, _)| f);
        let rec = crate::sys::ops::fake::Recorder::default();
        namespaces::join(&rec, &fds).unwrap();
        let child = rec
            .calls()
            .into_iter()
            .map(|c| match c {
                crate::sys::ops::fake::Call::Setns { nstype, .. } => nstype,
                other => panic!("{other:?}"),
            })
            .collect();
        (parent, child)
    }

    #[test]
    fn exec_joins_inits_namespaces_user_first_and_mount_last() {
        use CloneFlags as F;
        use LinuxNamespaceType::*;
        // With a user namespace the process joins every one, the pid namespace
        // with the user namespace's privileges (and forks for it).
        let (parent, child) = joins(&[Mount, Network, Pid, Uts, Ipc, User, Cgroup]);
        assert_eq!(parent, None);
        assert_eq!(
            child,
            [
                F::CLONE_NEWUSER,
                F::CLONE_NEWIPC,
                F::CLONE_NEWUTS,
                F::CLONE_NEWNET,
                F::CLONE_NEWPID,
                F::CLONE_NEWCGROUP,
                F::CLONE_NEWNS
            ]
        );
        // Without one, the parent joins the pid namespace for the process it
        // clones (born in it: no fork), which joins the rest, mount last.
        let (parent, child) = joins(&[Mount, Network, Pid, Uts, Ipc, Cgroup]);
        assert_eq!(parent, Some(F::CLONE_NEWPID));
        assert_eq!(child, [F::CLONE_NEWIPC, F::CLONE_NEWUTS, F::CLONE_NEWNET, F::CLONE_NEWCGROUP, F::CLONE_NEWNS]);
        // No pid namespace: nothing for the parent to join.
        let (parent, child) = joins(&[Mount, Network]);
        assert_eq!(parent, None);
        assert_eq!(child, [F::CLONE_NEWNET, F::CLONE_NEWNS]);
    }

    #[test]
    fn a_dead_init_is_never_joined() {
        let st = crate::container::State {
            id: "c1".into(),
            pid: std::process::id() as i32,
            init_start_time: 1,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: String::new(),
            cgroup: own(),
            rootless: false,
            creating: false,
            config: Default::default(),
            host_mounts_before: None,
        };
        assert!(matches!(open_namespaces(&st, &[]), Err(Cause::NotRunning)));
    }

    #[test]
    fn a_sub_cgroup_is_under_the_containers() {
        assert_eq!(sub_cgroup(&own(), &["a/b".into()]).unwrap().path, Path::new("/pod/c1/a/b"));
        assert_eq!(sub_cgroup(&own(), &[]).unwrap(), own());
        assert!(sub_cgroup(&own(), &["cpu:a".into()]).is_err());
    }
}
