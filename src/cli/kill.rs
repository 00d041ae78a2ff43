//! `berth kill <id> [SIGNAL]`.
use super::Global;
use super::args::{Flag, Kind, Matches, flag};

use crate::container;

#[derive(Debug)]
pub struct Args {
    /// Send the signal to every process in the container's cgroup
    pub all: bool,
    pub id: String,
    /// Signal name (KILL, SIGKILL) or number; default SIGTERM
    pub signal: String,
}

pub(crate) const FLAGS: &[Flag] = &[flag(&["all", "a"], Kind::Bool)];

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args {
            all: m.bool("all"),
            id: m.arg(0)?.unwrap_or_default(),
            signal: m.arg(1)?.unwrap_or_else(|| "SIGTERM".into()),
        })
    }
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    // runc looks the container up before it parses the signal: a missing
    // container is reported as such whatever the signal.
    container::load_state(&g.root, &args.id, "kill")?;
    let sig = container::parse_signal(&args.signal).map_err(|c| c.into_error(&args.id, "kill"))?;
    container::kill(&g.root, &args.id, sig, args.all)?;
    Ok(0)
}
