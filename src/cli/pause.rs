//! `berth pause` and `berth resume`.
use super::Global;
use super::args::Matches;

#[derive(Debug)]
pub struct Args {
    pub id: String,
}

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args { id: m.arg(0)?.unwrap_or_default() })
    }
}

pub fn pause(g: &Global, args: Args) -> anyhow::Result<i32> {
    crate::container::pause(&g.root, &args.id)?;
    Ok(0)
}

pub fn resume(g: &Global, args: Args) -> anyhow::Result<i32> {
    crate::container::resume(&g.root, &args.id)?;
    Ok(0)
}
