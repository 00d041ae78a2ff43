//! `berth start`.
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

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    crate::container::start(&g.root, &args.id)?;
    Ok(0)
}
