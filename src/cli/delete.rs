//! `berth delete [--force] <id>`.
use super::Global;
use super::args::{Flag, Kind, Matches, flag};

#[derive(Debug)]
pub struct Args {
    /// Kill the container first if it is running
    pub force: bool,
    pub id: String,
}

pub(crate) const FLAGS: &[Flag] = &[flag(&["force", "f"], Kind::Bool)];

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args { force: m.bool("force"), id: m.arg(0)?.unwrap_or_default() })
    }
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    crate::container::delete(&g.root, &args.id, args.force)?;
    Ok(0)
}
