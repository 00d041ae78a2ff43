//! `berth kill <id> [SIGNAL]`.
use super::Global;
use crate::container;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Send the signal to every process in the container's cgroup
    #[arg(short, long)]
    pub all: bool,
    pub id: String,
    /// Signal name (KILL, SIGKILL) or number; default SIGTERM
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    // runc looks the container up before it parses the signal: a missing
    // container is reported as such whatever the signal.
    container::load_state(&g.root, &args.id, "kill")?;
    let sig = container::parse_signal(&args.signal).map_err(|c| c.into_error(&args.id, "kill"))?;
    container::kill(&g.root, &args.id, sig, args.all)?;
    Ok(0)
}
