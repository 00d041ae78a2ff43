//! `start` (`-a`, `-i`) and the path `run` shares: attach before the
//! container starts when asked (so no output is missed), spawn the
//! supervisor, which starts it, and with attach wait for its exit status.

use crate::config::Config;
use crate::container::lifecycle;
use crate::container::record::Container;
use crate::container::store::Store;
use crate::supervisor::client::{self, AttachEnd, AttachOpts};
use crate::supervisor::spawn::{self, StartError};

#[derive(Debug, clap::Args)]
pub(crate) struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// What to attach while starting.
pub(crate) struct Attach {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// Start `c` through a new supervisor; with `attach`, stream its stdio and
/// return its exit status (None when detached or not attached).
pub(crate) fn start_container(config: &Config, c: &Container, attach: Option<Attach>) -> anyhow::Result<Option<i32>> {
    let rt = lifecycle::runtime_for(config, c)?;
    if attach.is_some() {
        // docker's order: attach, then start.
        crate::events::emit(&config.data_root, c.event("attach"));
    }
    let opts = attach.map(|a| AttachOpts {
        stdin: a.stdin && c.config.open_stdin,
        stdout: a.stdout,
        stderr: a.stderr,
        tty: c.config.tty,
        proxy: Some((rt.clone(), c.id.clone())),
        exit_hook: Some(exit_hook(config, &c.id)),
    });
    let sock = spawn::spawn(config, &rt, c, opts.as_ref())?;
    let (Some(opts), Some(sock)) = (opts, sock) else { return Ok(None) };
    match client::pump(sock, &opts).map_err(|e| anyhow::anyhow!("attach to {}: {e}", c.id))? {
        AttachEnd::Exited(code) => Ok(Some(code)),
        AttachEnd::Detached => Ok(None),
        AttachEnd::Lost => {
            let mut store = Store::open(&config.data_root)?;
            let c = lifecycle::reload(config, &mut store, &c.id)?;
            Ok(Some(c.state.exit_code))
        }
    }
}

/// The attached command records the exit itself (as the supervisor's
/// `berthctl __hook exited` would): one berthctl process fewer on the path
/// of a foreground `run --rm`.
fn exit_hook(config: &Config, id: &str) -> client::ExitHook {
    let (config, id) = (config.clone(), id.to_string());
    Box::new(move |code, oom_killed| {
        crate::testhook::fault("run:exit");
        let recorded = Store::open(&config.data_root)
            .map_err(anyhow::Error::from)
            .and_then(|mut store| crate::supervisor::exited(&config, &mut store, &id, code, oom_killed));
        match recorded {
            Ok(restart) => Some(restart),
            Err(e) => {
                tracing::debug!(error = %e, id, "record the exit (the supervisor's hook will)");
                None
            }
        }
    })
}

pub(crate) fn run(config: &Config, a: &StartArgs) -> anyhow::Result<i32> {
    if (a.attach || a.interactive) && a.containers.len() > 1 {
        anyhow::bail!("you cannot start and attach multiple containers at once");
    }
    let mut failed = false;
    for name in &a.containers {
        match start_one(config, name, a) {
            Ok(Some(code)) => return Ok(code),
            Ok(None) => {
                if !a.attach && !a.interactive {
                    println!("{name}");
                }
            }
            Err(e) => {
                if a.attach || a.interactive {
                    return Err(e);
                }
                eprintln!("Error response from daemon: {}", super::message(&e));
                failed = true;
            }
        }
    }
    if failed {
        eprintln!("Error: failed to start containers: {}", a.containers.join(", "));
        return Ok(1);
    }
    Ok(0)
}

fn start_one(config: &Config, name: &str, a: &StartArgs) -> anyhow::Result<Option<i32>> {
    let mut store = Store::open(&config.data_root)?;
    let c = store.lookup(name)?;
    let c = lifecycle::refresh(config, &mut store, c)?;
    if lifecycle::is_active(&c) {
        // docker: starting a running container is a no-op.
        return Ok(None);
    }
    lifecycle::wait_supervisor_gone(&store, &c.id);
    let c = store.update(&c.id, |r| r.manually_stopped = false)?;
    drop(store);
    let attach = (a.attach || a.interactive).then_some(Attach { stdin: a.interactive, stdout: true, stderr: true });
    start_container(config, &c, attach).map_err(|e| match e.downcast::<StartError>() {
        Ok(s) => anyhow::Error::new(s),
        Err(e) => e,
    })
}
