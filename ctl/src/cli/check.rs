//! `berthctl system check [--repair [--force]] [--quick]`: verify the store
//! (and with `--repair` fix it), as `podman system check`. Each store module
//! reports its own findings; the image store's are blobs, snapshots,
//! leftovers of killed pulls and the database's integrity; the network's
//! are setups of containers that no longer run, leases and ports of removed
//! containers, and netns files no container uses.

use crate::config::Config;
use crate::image::{self, CheckOptions, Store};

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

/// One line per finding: `repaired` when fixed, `reclaimable` for garbage
/// left in place. The store is consistent when no damage remains (garbage
/// is never used, and the next pull or sweep removes it); exit 1 otherwise.
pub(crate) fn run(config: &Config, args: &CheckArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let opts = CheckOptions { repair: args.repair, force: args.force, quick: args.quick };
    let findings = image::check(&mut store, opts)?;
    let containers = crate::container::store::Store::open(&config.data_root)?;
    let record = |id: &str| containers.get(id).ok();
    let exists = |id: &str| record(id).is_some();
    let running = |id: &str| record(id).and_then(|c| c.supervisor).is_some_and(|s| crate::container::is_alive(&s));
    let network = crate::network::check(config, &exists, &running, args.repair)?;
    for (what, repaired) in &network {
        println!("{what}{}", if *repaired { ": repaired" } else { "" });
    }
    let network_damage = network.iter().filter(|(_, repaired)| !repaired).count();
    for f in &findings {
        let note = match (f.repaired, f.garbage) {
            (true, _) => ": repaired",
            (false, true) => ": reclaimable (--repair removes it)",
            (false, false) => "",
        };
        println!("{}{note}", f.what);
    }
    let damage = findings.iter().filter(|f| !f.repaired && !f.garbage).count() + network_damage;
    if damage == 0 {
        println!("store is consistent");
        Ok(0)
    } else {
        println!("{damage} problem{} found", if damage == 1 { "" } else { "s" });
        Ok(1)
    }
}
