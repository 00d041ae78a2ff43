//! `berth delete [--force] <id>`.
use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Kill the container first if it is running
    #[arg(short, long)]
    pub force: bool,
    pub id: String,
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    crate::container::delete(&g.root, &args.id, args.force)?;
    Ok(0)
}
