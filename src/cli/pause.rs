//! `berth pause` and `berth resume`.
use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn pause(g: &Global, args: Args) -> anyhow::Result<i32> {
    crate::container::pause(&g.root, &args.id)?;
    Ok(0)
}

pub fn resume(g: &Global, args: Args) -> anyhow::Result<i32> {
    crate::container::resume(&g.root, &args.id)?;
    Ok(0)
}
