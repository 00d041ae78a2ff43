//! `rm` (`-f`, `-v`), `container prune`, `rename`.

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
    if !a.force && nix::unistd::isatty(0).unwrap_or(false) {
        eprint!("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    let mut store = Store::open(&config.data_root)?;
    let mut deleted = Vec::new();
    for c in store.list()? {
        let c = lifecycle::refresh(config, &mut store, c)?;
        if lifecycle::is_active(&c) {
            continue;
        }
        lifecycle::remove(config, &mut store, &c.id, false, false)?;
        deleted.push(c.id);
    }
    if !deleted.is_empty() {
        println!("Deleted Containers:");
        for id in &deleted {
            println!("{id}");
        }
        println!();
    }
    println!("Total reclaimed space: 0B");
    Ok(0)
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
