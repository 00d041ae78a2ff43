//! `run`: create, then start through the supervisor; in the foreground,
//! attach and return the container's exit status (docker's exit codes:
//! 125 for berthctl's own errors, 126/127 when the command cannot run).

use crate::config::Config;
use crate::container::health::HealthError;
use crate::container::store::Store;
use crate::container::{lifecycle, record::Container};
use crate::supervisor::spawn::StartError;

use super::create::{self, CreateArgs};
use super::start::{self, Attach};

#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub(crate) struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[command(flatten)]
    pub create: CreateArgs,
}

pub(crate) fn run(config: &Config, a: &RunArgs) -> anyhow::Result<i32> {
    if a.detach && a.create.rm && a.create.restart != "no" {
        anyhow::bail!("Conflicting options: --restart and --rm");
    }
    if a.detach && !a.create.attach.is_empty() {
        // docker's client refuses this before anything, with status 1.
        eprintln!("conflicting options: cannot specify both --attach and --detach");
        return Ok(1);
    }
    let streams = create::attach_streams(&a.create)?;
    let c = match create::create(config, &a.create) {
        Ok(c) => c,
        Err(e) if matches!(e.downcast_ref::<HealthError>(), Some(HealthError::Daemon(_))) => {
            eprintln!("berthctl: Error response from daemon: {e}.");
            return Ok(125);
        }
        Err(e) => return Err(e),
    };
    let attach = (!a.detach).then_some(Attach { stdin: streams.stdin, stdout: streams.stdout, stderr: streams.stderr });
    match start::start_container(config, &c, attach) {
        Ok(code) => {
            if a.detach {
                println!("{}", c.id);
            }
            Ok(code.unwrap_or(0))
        }
        Err(e) => {
            let code = e.downcast_ref::<StartError>().map_or(125, |s| s.code);
            remove_after_failure(config, &c);
            eprintln!("berthctl: Error response from daemon: {}.", super::message(&e));
            Ok(code)
        }
    }
}

/// A container that never started is removed when `--rm` asked for it.
fn remove_after_failure(config: &Config, c: &Container) {
    if !c.host_config.auto_remove {
        return;
    }
    if let Ok(mut store) = Store::open(&config.data_root)
        && let Err(e) = lifecycle::remove(config, &mut store, &c.id, true, true)
    {
        tracing::debug!(error = %e, id = %c.id, "remove container after failed start (the supervisor may have removed it)");
    }
}
