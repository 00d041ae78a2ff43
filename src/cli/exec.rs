//! `berth exec`: run a process in a running container, as runc's flags describe it
//! or from a process.json (`--process`, the form containerd uses). A failure exits
//! 255, as runc's exec does.

use std::path::PathBuf;

use anyhow::Context;
use oci_spec::runtime::{Process, UserBuilder};

use super::Global;
use super::args::{Flag, Kind, Matches, flag};

use super::supervise::{ConsoleListener, Signals, supervise};
use crate::container::{self, ExecOptions, State, Status};

#[derive(Debug)]
pub struct Args {
    /// Unix socket that receives the pty master
    pub console_socket: Option<PathBuf>,
    /// Current working directory in the container
    pub cwd: Option<String>,
    /// Set an environment variable (repeatable)
    pub env: Vec<String>,
    /// Allocate a pseudo-TTY
    pub tty: bool,
    /// UID (format: <uid>[:<gid>])
    pub user: Option<String>,
    /// Additional gids (repeatable)
    pub additional_gids: Vec<u32>,
    /// Path to a process.json
    pub process: Option<PathBuf>,
    /// Detach from the process
    pub detach: bool,
    /// File to write the process pid to
    pub pid_file: Option<PathBuf>,
    /// SELinux label for the process
    pub process_label: Option<String>,
    /// AppArmor profile for the process
    pub apparmor: Option<String>,
    /// Set no_new_privs
    pub no_new_privs: bool,
    /// Add a capability (repeatable)
    pub cap: Vec<String>,
    /// Pass N extra fds (3..3+N-1) to the process
    pub preserve_fds: i32,
    /// Sub-cgroup (of the container's) to put the process in
    pub cgroup: Vec<String>,
    /// Allow exec in a paused container
    pub ignore_paused: bool,
    pub id: String,
    /// The command and its arguments
    pub command: Vec<String>,
}

pub(crate) const FLAGS: &[Flag] = &[
    flag(&["console-socket"], Kind::Str),
    flag(&["cwd"], Kind::Str),
    flag(&["env", "e"], Kind::StrList),
    flag(&["tty", "t"], Kind::Bool),
    flag(&["user", "u"], Kind::Str),
    flag(&["additional-gids", "g"], Kind::IntList),
    flag(&["process", "p"], Kind::Str),
    flag(&["detach", "d"], Kind::Bool),
    flag(&["pid-file"], Kind::Str),
    flag(&["process-label"], Kind::Str),
    flag(&["apparmor"], Kind::Str),
    flag(&["no-new-privs"], Kind::Bool),
    flag(&["cap", "c"], Kind::StrList),
    flag(&["preserve-fds"], Kind::Int),
    flag(&["cgroup"], Kind::StrList),
    flag(&["ignore-paused"], Kind::Bool),
];

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args {
            console_socket: m.path("console-socket"),
            cwd: m.string("cwd")?,
            env: m.strings("env")?,
            tty: m.bool("tty"),
            user: m.string("user")?,
            additional_gids: m.numbers("additional-gids")?,
            process: m.path("process"),
            detach: m.bool("detach"),
            pid_file: m.path("pid-file"),
            process_label: m.string("process-label")?,
            apparmor: m.string("apparmor")?,
            no_new_privs: m.bool("no-new-privs"),
            cap: m.strings("cap")?,
            preserve_fds: super::create::preserve_fds(m)?,
            cgroup: m.strings("cgroup")?,
            ignore_paused: m.bool("ignore-paused"),
            id: m.arg(0)?.unwrap_or_default(),
            command: m.args_from(1)?,
        })
    }
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    super::create::check_preserve_fds(args.preserve_fds)?;
    let (process, loaded) = build_process(g, &args)?;
    let terminal = process.terminal().unwrap_or(false);
    let mut console_socket = args.console_socket.clone();
    let mut listener = None;
    if terminal && console_socket.is_none() && !args.detach {
        let l = ConsoleListener::bind(&g.root, &args.id)?;
        console_socket = Some(l.path.clone());
        listener = Some(l);
    }
    let opts = ExecOptions {
        id: args.id.clone(),
        process,
        console_socket,
        pid_file: args.pid_file.clone(),
        preserve_fds: args.preserve_fds,
        ignore_paused: args.ignore_paused,
        cgroup: args.cgroup.clone(),
    };
    // Before the forwarder blocks it: resetting unblocks it again.
    Signals::reset_child_signal()?;
    let signals = if args.detach { None } else { Some(Signals::block()?) };
    let execed = container::exec(&opts, loaded);
    let master = match listener {
        Some(l) => l.finish(execed.is_ok())?,
        None => None,
    };
    let execed = execed?;
    match signals {
        None => Ok(0),
        Some(s) => supervise(execed.pid, &s, master.as_ref()),
    }
}

/// The process to start, and the container's state and status, read once here
/// for both (`container::exec` checks the status): a bad `--process` file or a
/// missing command is reported before the container is looked up, as before.
fn build_process(g: &Global, args: &Args) -> anyhow::Result<(Process, (State, Status))> {
    let from_file = match &args.process {
        Some(p) => Some(container::load_process(p).map_err(|c| c.into_error(&args.id, "exec"))?),
        None if args.command.is_empty() => {
            anyhow::bail!("exec: container {}: no command given (use --process or give args)", args.id)
        }
        None => None,
    };
    let loaded = container::load_state(&g.root, &args.id, "exec")?;
    let process = match from_file {
        Some(p) => p,
        None => from_args(&loaded.0, args)?,
    };
    Ok((process, loaded))
}

/// The container's `process` with what runc's flags change in it.
fn from_args(st: &State, args: &Args) -> anyhow::Result<Process> {
    let mut p = st.config.process().clone().unwrap_or_default();
    p.set_args(Some(args.command.clone()));
    p.set_terminal(Some(args.tty));
    if let Some(cwd) = &args.cwd {
        p.set_cwd(cwd.into());
    }
    if !args.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(args.env.iter().cloned());
        p.set_env(Some(env));
    }
    if let Some(u) = &args.user {
        // runc takes numbers only (no name lookup in the container's /etc/passwd).
        let id = |v: &str, what: &str| {
            v.parse::<u32>().with_context(|| format!("--user {u:?}: the {what} must be a number, not {v:?}"))
        };
        let (uid, gid) = match u.split_once(':') {
            Some((uv, gv)) => (id(uv, "uid")?, id(gv, "gid")?),
            None => (id(u, "uid")?, p.user().gid()),
        };
        let user = UserBuilder::default()
            .uid(uid)
            .gid(gid)
            .additional_gids(args.additional_gids.clone())
            .build()
            .context("--user")?;
        p.set_user(user);
    } else if !args.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(args.additional_gids.clone()));
        p.set_user(user);
    }
    if args.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(a) = &args.apparmor {
        p.set_apparmor_profile(Some(a.clone()));
    }
    if let Some(l) = &args.process_label {
        p.set_selinux_label(Some(l.clone()));
    }
    if !args.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        // runc warns about the capabilities it does not know and goes on without them.
        let mut unknown = Vec::new();
        for c in &args.cap {
            let name = if c.starts_with("CAP_") { c.clone() } else { format!("CAP_{c}") };
            let Some(cap) = crate::spec::capability(&name) else {
                unknown.push(c.as_str());
                continue;
            };
            let add = |set: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = set.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            let (b, e, pm, a) =
                (add(caps.bounding()), add(caps.effective()), add(caps.permitted()), add(caps.ambient()));
            caps.set_bounding(b).set_effective(e).set_permitted(pm).set_ambient(a);
        }
        crate::spec::warn_unknown_capabilities(&unknown);
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}
