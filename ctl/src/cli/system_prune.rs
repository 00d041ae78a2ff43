//! `berthctl system prune [-a] [--volumes] [-f] [--filter …]`, as docker's
//! (docker/cli `cli/command/system/prune.go`): one prompt listing what goes,
//! then each pruner in docker's order — stopped containers, unused networks,
//! anonymous volumes (with `--volumes`), dangling images (every unused one
//! with `-a`), the build cache — each printing its "Deleted …:" block, and
//! one "Total reclaimed space:" line for all of them.

use super::prune::{PruneFilter, Pruned};
use crate::config::Config;
use crate::format::units;

#[derive(Debug, clap::Args)]
pub(crate) struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long)]
    pub filter: Vec<String>,
}

pub(crate) fn run(config: &Config, a: &SystemPruneArgs) -> anyhow::Result<i32> {
    let filter = PruneFilter::parse(&a.filter, &["label", "label!", "until"])?;
    if a.volumes && filter.has_until() {
        anyhow::bail!("ERROR: The \"until\" filter is not supported with \"--volumes\"");
    }
    if !a.force && !super::prune::confirm(&warning(a, &filter))? {
        return Ok(0);
    }
    let mut pruned: Vec<Pruned> = vec![
        super::container::rm::prune_containers(config, &filter)?,
        super::network::prune_networks(config, &mut super::network::open_db(config)?, &filter)?,
    ];
    if a.volumes {
        let select = |v: &crate::volume::Volume| filter.selects(&v.label_map(), None);
        pruned.push(super::volume::prune_volumes(config, false, &select)?);
    }
    pruned.push(super::prune::images(config, a.all, &filter)?);
    pruned.push(build_cache(config, a.all, &filter)?);
    let mut total = 0;
    for p in &pruned {
        if !p.output.is_empty() {
            println!("{}", p.output);
        }
        total += p.reclaimed;
    }
    println!("Total reclaimed space: {}", units::human_size4(total));
    Ok(0)
}

/// The build cache's pruner, `builder prune`'s (docker/cli
/// `builder.CachePrune`): every cache entry and the untagged step images only
/// it kept, the layers they leave unused collected. Entries carry no labels,
/// so a `label=` filter keeps them all; `until` keeps those used since.
/// berthctl's cache has no dangling/shared split, so `-a` prunes the same.
fn build_cache(config: &Config, _all: bool, filter: &PruneFilter) -> anyhow::Result<Pruned> {
    if filter.needs_labels() {
        return Ok(Pruned::default());
    }
    let mut store = crate::image::Store::open(&config.data_root)?;
    let pruned = crate::build::cache::prune(&mut store, filter.until_secs())?;
    let ids = pruned.images.iter().map(|d| d.hex().to_string());
    Ok(Pruned::list("Deleted build cache objects:", ids, pruned.reclaimed))
}

/// docker's confirmation text (without the "Are you sure…" line).
fn warning(a: &SystemPruneArgs, filter: &PruneFilter) -> String {
    let mut text = String::from("WARNING! This will remove:\n  - all stopped containers\n");
    text.push_str("  - all networks not used by at least one container\n");
    if a.volumes {
        text.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    if a.all {
        text.push_str("  - all images without at least one container associated to them\n");
        text.push_str("  - all build cache\n");
    } else {
        text.push_str("  - all dangling images\n");
        text.push_str("  - unused build cache\n");
    }
    if !filter.shown.is_empty() {
        text.push_str("\n  Items to be pruned will be filtered with:\n");
        let mut shown = filter.shown.clone();
        shown.sort();
        for f in shown {
            text.push_str(&format!("  - {f}\n"));
        }
    }
    text
}
