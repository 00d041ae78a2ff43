//! `exec`: run a new process in a running container. The process joins every
//! namespace of the container's init (user first), its cgroup, and gets the
//! process settings it asks for; a new member of a pid namespace needs a fork,
//! done with CLONE_PARENT so the process is our child and we can wait for it.

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
        status => return Err(err(Cause::BadStatus { action: "exec in", status })),
    }
    tracing::debug!(id = opts.id, pid = st.pid, args = ?opts.process.args(), "exec");
    exec_in(opts, &st).map_err(err)
}

fn exec_in(opts: &ExecOptions, st: &super::State) -> Result<Execed, Cause> {
    let process = &opts.process;
    let args = process.args().as_deref().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        return Err(Cause::Usage("process.args: must contain at least one element".into()));
    }
    let terminal = process.terminal().unwrap_or(false);
    if terminal && opts.console_socket.is_none() {
        return Err(Cause::Usage("cannot allocate tty if berth will detach without setting console socket".into()));
    }
    // runc's checks and words (libcontainer/container_linux.go, utils_linux.go).
    if !process.cwd().is_absolute() {
        return Err(Cause::Usage("Cwd must be an absolute path".into()));
    }
    if let Some(bad) = process.env().as_deref().unwrap_or_default().iter().find(|e| !e.contains('=')) {
        return Err(Cause::Usage(format!("invalid environment variable: {bad:?}")));
    }
    let cgroup_config = sub_cgroup(&st.cgroup, &opts.cgroup)?;
    let linux = st.config.linux().clone().unwrap_or_default();
    let seccomp = match linux.seccomp() {
        Some(profile) => Some(security::seccomp::compile(profile)?),
        None => None,
    };
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    let extras = open_extras(st, &linux, seccomp.as_ref())?;
    let ns_fds = open_namespaces(st, &namespaces)?;
    let console_socket = match &opts.console_socket {
        Some(p) => Some(console::connect(p)?),
        None => None,
    };
    let user_ns = namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::User);
    let cg = cgroups::open(&cgroup_config)?;
    // The process joins the v1 hierarchies itself, as init does (create.rs).
    let cgroup_tasks = if user_ns { Vec::new() } else { setup::open_self_join(cg.as_ref())? };
    let self_join = !cgroup_tasks.is_empty();
    let (parent_ch, child_ch) = channel::pair()?;

    let child = match clone_fork(CloneFlags::empty())? {
        Forked::Child => {
            drop(parent_ch);
            let e = match child_setup(
                &child_ch,
                &ns_fds,
                extras,
                process,
                seccomp.as_ref(),
                console_socket,
                opts.preserve_fds,
                !st.rootless || !user_ns,
                &cgroup_tasks,
            ) {
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
    drop(ns_fds);
    drop(cgroup_tasks);
    match parent_side(&parent_ch, child, cg.as_ref(), self_join) {
        Ok(pid) => write_pid_file(opts, pid),
        Err(e) => {
            let _ = kill(child, Signal::SIGKILL);
            let _ = waitpid(child, None);
            Err(e)
        }
    }
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
fn open_namespaces(
    st: &super::State,
    namespaces: &[oci_spec::runtime::LinuxNamespace],
) -> Result<Vec<(OwnedFd, CloneFlags, String)>, Cause> {
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

/// Receive the process's pid, put it in the cgroup, let it go, and wait until it
/// has exec'd (the channel is CLOEXEC: EOF means execve succeeded).
fn parent_side(ch: &Channel, child: Pid, cg: &dyn cgroups::CgroupManager, self_join: bool) -> Result<Pid, Cause> {
    let pid = match ch.recv()? {
        Some(Msg::Pid(p)) => Pid::from_raw(p),
        Some(Msg::Error(e)) => return Err(Cause::Init(e)),
        _ => return Err(Cause::Init("exec setup exited early".into())),
    };
    // The intermediate process exits right after the fork.
    let _ = waitpid(child, None);
    let fail = |e: Cause| {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        e
    };
    setup::add_task(cg, pid, self_join).map_err(|e| fail(e.into()))?;
    ch.send(&Msg::Go).map_err(|e| fail(e.into()))?;
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

// Everything it needs must be in hand before the fork; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
fn child_setup(
    ch: &Channel,
    ns_fds: &[(OwnedFd, CloneFlags, String)],
    extras: Extras,
    process: &Process,
    seccomp: Option<&security::seccomp::Filter>,
    console_socket: Option<OwnedFd>,
    preserve_fds: i32,
    allow_setgroups: bool,
    cgroup_tasks: &[(std::path::PathBuf, fs::File)],
) -> Result<std::convert::Infallible, Cause> {
    setup::hide_from_container()?;
    // The host's /proc, to learn our pid as the host sees it once forked below
    // (a seccomp agent's message carries it); closed before execve.
    let host_proc = match extras.listener {
        Some(_) => Some(
            sys::fd::open("/proc", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| sys::Error::with_path("open", "/proc", e))?,
        ),
        None => None,
    };
    namespaces::join(&sys::ops::Linux, ns_fds)?;
    if let Some(root) = &extras.root {
        nix::unistd::fchdir(root.as_raw_fd()).map_err(|e| sys::Error::with_path("fchdir", "container root", e))?;
        nix::unistd::chroot(".").map_err(|e| sys::Error::with_path("chroot", "container root", e))?;
        nix::unistd::chdir("/").map_err(|e| sys::Error::with_path("chdir", "/", e))?;
    }
    // Joining the pid namespace takes effect for children only.
    match clone_fork(CloneFlags::CLONE_PARENT)? {
        Forked::Parent(pid) => {
            let _ = ch.send(&Msg::Pid(pid.as_raw()));
            exit_now(0)
        }
        Forked::Child => {}
    }
    match ch.recv()? {
        Some(Msg::Go) => {}
        _ => return Err(Cause::Init("parent went away".into())),
    }
    setup::join_cgroups(cgroup_tasks)?;
    if let Some(sock) = console_socket {
        console::setup_exec(sock, process.console_size())?;
    }
    let prepared = setup::apply_process(process, seccomp.is_some(), allow_setgroups)?;
    let listener = match (extras.listener, host_proc) {
        (Some((sock, profile, state)), Some(proc)) => {
            let link = nix::fcntl::readlinkat(Some(proc.as_raw_fd()), "self")
                .map_err(|e| sys::Error::with_path("readlink", "/proc/self", e))?;
            let pid = link.to_string_lossy().parse().unwrap_or(0);
            Some(security::seccomp::Listener::new(sock, &profile, state, pid))
        }
        _ => None,
    };
    setup::exec(&prepared, seccomp, listener.as_ref(), preserve_fds, None)
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
    serde_json::from_str(&text).map_err(|e| perr(&text, e))
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

    #[test]
    fn exec_joins_inits_namespaces_user_first_and_mount_last() {
        use LinuxNamespaceType::*;
        let me = std::process::id() as i32;
        let st = crate::container::State {
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
        };
        let list: Vec<_> = [Mount, Network, Pid, Uts, Ipc, User, Cgroup]
            .into_iter()
            .map(|t| oci_spec::runtime::LinuxNamespaceBuilder::default().typ(t).build().unwrap())
            .collect();
        let fds = open_namespaces(&st, &list).unwrap();
        let rec = crate::sys::ops::fake::Recorder::default();
        namespaces::join(&rec, &fds).unwrap();
        let order: Vec<_> = rec
            .calls()
            .into_iter()
            .map(|c| match c {
                crate::sys::ops::fake::Call::Setns { nstype, .. } => nstype,
                other => panic!("{other:?}"),
            })
            .collect();
        use CloneFlags as F;
        assert_eq!(
            order,
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
