//! `berth run`: create + start + wait, forwarding signals to the container and, for
//! a terminal without `--console-socket`, relaying our stdio to the pty.

use super::Global;
use super::args::{Flag, Kind, Matches, flag};

use super::supervise::{ConsoleListener, Signals, supervise};
use crate::container;

#[derive(Debug)]
pub struct Args {
    pub create: super::create::Args,
    /// Do not wait: return once the container is started
    pub detach: bool,
    /// Do not delete the container after it exits
    pub keep: bool,
    /// Accepted for runc compatibility: berth's `run` is init's parent, so it
    /// reaps it without being a subreaper
    pub no_subreaper: bool,
}

pub(crate) const FLAGS: &[Flag] = &[
    flag(&["bundle", "b"], Kind::Str),
    flag(&["console-socket"], Kind::Str),
    flag(&["detach", "d"], Kind::Bool),
    flag(&["keep"], Kind::Bool),
    flag(&["pid-file"], Kind::Str),
    flag(&["no-subreaper"], Kind::Bool),
    flag(&["no-pivot"], Kind::Bool),
    flag(&["no-new-keyring"], Kind::Bool),
    flag(&["preserve-fds"], Kind::Int),
];

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args {
            create: super::create::Args::parse(m)?,
            detach: m.bool("detach"),
            keep: m.bool("keep"),
            no_subreaper: m.bool("no-subreaper"),
        })
    }
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    super::create::check_preserve_fds(args.create.preserve_fds)?;
    let id = args.create.id.clone();
    let mut opts = args.create.options(g);
    // One process creates and starts: init is started over its channel, not
    // through the exec fifo that `create` + `start` need.
    opts.started_by_caller = true;
    // Read once, for create too; an error is create's to report.
    opts.spec = crate::spec::load(&opts.bundle).ok();
    let spec_terminal =
        opts.spec.as_ref().and_then(|s| s.process().as_ref().and_then(|p| p.terminal())).unwrap_or(false);
    // A terminal without a console socket: we are the console socket's receiver.
    let mut listener = None;
    if spec_terminal && opts.console_socket.is_none() && !args.detach {
        let l = ConsoleListener::bind(&g.root, &id)?;
        opts.console_socket = Some(l.path.clone());
        listener = Some(l);
    }
    Signals::reset_inherited()?;
    // Blocked before init exists (it unblocks them before execve): `run`'s init
    // goes on to execve without waiting to be started, so a signal sent once the
    // container's process runs must find us forwarding, not killed by it (runc
    // sets up its forwarder before it runs the container, too).
    let signals = if args.detach { None } else { Some(Signals::block()?) };
    let created = container::create(&opts);
    let master = match listener {
        Some(l) => l.finish(created.is_ok())?,
        None => None,
    };
    let mut created = created?;
    let Some(signals) = signals else {
        container::start_created(&id, &mut created)?;
        return Ok(0);
    };
    if let Err(e) = container::start_created(&id, &mut created) {
        let _ = container::delete(&g.root, &id, true);
        return Err(e.into());
    }
    let code = supervise(created.pid, &signals, master.as_ref())?;
    if !args.keep {
        container::delete_run(&g.root, &id, &created)?;
    }
    Ok(code)
}
