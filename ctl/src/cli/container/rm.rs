//! `rm` (`-f`, `-v`), `container prune`, `rename`.

use crate::cli::prune::{PruneFilter, Pruned};
use crate::config::Config;
use crate::container::lifecycle;
use crate::container::store::Store;

use super::for_each;

#[derive(Debug, clap::Args)]
pub(crate) struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

pub(crate) fn rm(config: &Config, a: &RmArgs) -> anyhow::Result<i32> {
    Ok(for_each(config, &a.containers, true, |store, id| lifecycle::remove(config, store, id, a.force, a.volumes)))
}

/// Remove every stopped container; prints their ids and docker's total line.
pub(crate) fn prune(config: &Config, a: &PruneArgs) -> anyhow::Result<i32> {
    let filter = PruneFilter::parse(&a.filter, &["label", "label!", "until"])?;
    if !a.force && !crate::cli::prune::confirm("WARNING! This will remove all stopped containers.")? {
        return Ok(0);
    }
    let pruned = prune_containers(config, &filter)?;
    print!("{}", pruned.output);
    if !pruned.output.is_empty() {
        println!();
    }
    println!("Total reclaimed space: {}", crate::format::units::human_size4(pruned.reclaimed));
    Ok(0)
}

/// Remove the stopped containers `filter` selects; the bytes freed are
/// those of their writable layers.
pub(crate) fn prune_containers(config: &Config, filter: &PruneFilter) -> anyhow::Result<Pruned> {
    let mut store = Store::open(&config.data_root)?;
    let mut deleted = Vec::new();
    let mut reclaimed = 0;
    for c in store.list()? {
        let c = lifecycle::refresh(config, &mut store, c)?;
        if lifecycle::is_active(&c) || !filter.selects(&c.config.labels, Some(&c.created)) {
            continue;
        }
        let upper = config.data_root.join("containers").join(&c.id).join("upper");
        let size = crate::volume::size::dir_size(&upper).unwrap_or(0);
        lifecycle::remove(config, &mut store, &c.id, false, false)?;
        reclaimed += size;
        deleted.push(c.id);
    }
    Ok(Pruned::list("Deleted Containers:", deleted, reclaimed))
}

pub(crate) fn rename(config: &Config, a: &RenameArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let id = store.resolve(&a.container)?;
    let new = a.new_name.strip_prefix('/').unwrap_or(&a.new_name);
    if store.get(&id)?.name == new {
        anyhow::bail!("Renaming a container with the same name as its current name");
    }
    store.rename(&id, new)?;
    Ok(0)
}
