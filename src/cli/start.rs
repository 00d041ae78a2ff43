//! `berth start`.
use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    crate::container::start(&g.root, &args.id)?;
    Ok(0)
}
