//! `berthctl system …`: `check` verifies the store (and with `--repair`
//! fixes it), as `podman system check`. Each store module reports its own
//! findings; the image store's are blobs, snapshots, leftovers of killed
//! pulls and the database's integrity.

use clap::Subcommand;

use crate::config::Config;
use crate::image::{self, CheckOptions, Store};

#[derive(Debug, Subcommand)]
pub(crate) enum SystemCommand {
    /// Check the store for inconsistencies, and repair them with --repair
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Remove leftovers of killed writers, corrupt blobs and unreferenced content
    #[arg(short = 'r', long)]
    pub repair: bool,
    /// With --repair, also remove images that lost a blob or snapshot
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not re-hash blobs
    #[arg(short = 'q', long)]
    pub quick: bool,
}

pub(crate) fn run(config: &Config, cmd: SystemCommand) -> anyhow::Result<i32> {
    match cmd {
        SystemCommand::Check(args) => check(config, &args),
    }
}

/// One line per finding: `repaired` when fixed, `reclaimable` for garbage
/// left in place. The store is consistent when no damage remains (garbage
/// is never used, and the next pull or sweep removes it); exit 1 otherwise.
fn check(config: &Config, args: &CheckArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let opts = CheckOptions { repair: args.repair, force: args.force, quick: args.quick };
    let findings = image::check(&mut store, opts)?;
    for f in &findings {
        let note = match (f.repaired, f.garbage) {
            (true, _) => ": repaired",
            (false, true) => ": reclaimable (--repair removes it)",
            (false, false) => "",
        };
        println!("{}{note}", f.what);
    }
    let damage = findings.iter().filter(|f| !f.repaired && !f.garbage).count();
    if damage == 0 {
        println!("store is consistent");
        Ok(0)
    } else {
        println!("{damage} problem{} found", if damage == 1 { "" } else { "s" });
        Ok(1)
    }
}
