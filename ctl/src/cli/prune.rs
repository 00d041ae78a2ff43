//! `berthctl image prune [-a] [-f] [--filter …]`: remove dangling images (or,
//! with `-a`, every image nothing holds), then sweep the snapshots and blobs
//! they leave unreferenced, as docker does, and say what was reclaimed.

use std::io::{BufRead, Write};

use crate::config::Config;
use crate::format::units;
use crate::image::{self, GcLock, Removal, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long)]
    pub filter: Vec<String>,
}

const WARNING_DANGLING: &str = "WARNING! This will remove all dangling images.";
const WARNING_ALL: &str = "WARNING! This will remove all images without at least one container associated to them.";

pub(crate) fn run(config: &Config, args: &PruneArgs) -> anyhow::Result<i32> {
    if let Some(f) = args.filter.iter().find(|f| !f.starts_with("label=")) {
        anyhow::bail!("invalid filter {f:?}: image prune takes label=");
    }
    if !args.force && !confirm(if args.all { WARNING_ALL } else { WARNING_DANGLING })? {
        return Ok(0);
    }
    let mut store = Store::open(&config.data_root)?;
    let _sweep = store.gc_lock(GcLock::Sweep)?;
    let labels: Vec<(String, Option<String>)> = args
        .filter
        .iter()
        .filter_map(|f| f.strip_prefix("label="))
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (l.to_string(), None),
        })
        .collect();
    let mut lines = Vec::new();
    for i in image::list(&store.db)? {
        let dangling = i.tags.is_empty();
        if i.holders > 0 || (!args.all && !dangling) || !has_labels(&store, &i.id, &labels) {
            continue;
        }
        lines.extend(image::prune_one(&mut store, &i.id)?);
    }
    store.recover()?;
    let freed = image::collect(&mut store)?;
    if !lines.is_empty() {
        println!("Deleted Images:");
        for l in &lines {
            match l {
                Removal::Untagged(n) => println!("untagged: {n}"),
                Removal::Deleted(id) => println!("deleted: {id}"),
            }
        }
        println!();
    }
    println!("Total reclaimed space: {}", units::human_size(freed.bytes));
    Ok(0)
}

fn has_labels(store: &Store, id: &crate::reference::Digest, want: &[(String, Option<String>)]) -> bool {
    if want.is_empty() {
        return true;
    }
    let Ok(img) = image::load(store, id) else { return false };
    let labels = img.config.config().as_ref().and_then(|c| c.labels().clone()).unwrap_or_default();
    want.iter().all(|(k, v)| match v {
        Some(v) => labels.get(k) == Some(v),
        None => labels.contains_key(k),
    })
}

/// docker's prompt: "Are you sure you want to continue? [y/N] ".
fn confirm(warning: &str) -> anyhow::Result<bool> {
    println!("{warning}");
    print!("Are you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}
