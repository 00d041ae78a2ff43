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
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter")]
    pub filter: Vec<String>,
}

/// docker's container prune filters: `until=` (created before), `label=`
/// and `label!=` (docker's MatchKVList: every one given must match).
#[derive(Debug, Default)]
struct PruneFilter {
    until: Option<chrono::DateTime<chrono::Utc>>,
    labels: Vec<String>,
    not_labels: Vec<String>,
}

impl PruneFilter {
    fn parse(args: &[String]) -> anyhow::Result<PruneFilter> {
        let mut f = PruneFilter::default();
        for a in args {
            let (k, v) =
                a.split_once('=').ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value)"))?;
            match k {
                "until" => f.until = Some(crate::format::time::parse_timestamp(v, chrono::Utc::now())?),
                "label" => f.labels.push(v.to_string()),
                "label!" => f.not_labels.push(v.to_string()),
                other => anyhow::bail!("invalid filter '{other}'"),
            }
        }
        Ok(f)
    }

    fn all_match(wanted: &[String], labels: &std::collections::BTreeMap<String, String>) -> bool {
        wanted.iter().all(|w| match w.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
            None => labels.contains_key(w.as_str()),
        })
    }

    fn keeps(&self, c: &crate::container::record::Container) -> bool {
        let created = super::ps::parse_time(&c.created);
        let too_new = matches!((self.until, created), (Some(u), Some(t)) if t > u);
        too_new
            || !PruneFilter::all_match(&self.labels, &c.config.labels)
            || (!self.not_labels.is_empty() && PruneFilter::all_match(&self.not_labels, &c.config.labels))
    }
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
    let filter = PruneFilter::parse(&a.filter)?;
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
    let mut reclaimed = 0;
    for c in store.list()? {
        let c = lifecycle::refresh(config, &mut store, c)?;
        if lifecycle::is_active(&c) || filter.keeps(&c) {
            continue;
        }
        // docker counts each container's writable layer.
        let size = super::ps::dir_size(&crate::container::Layout::new(config, &c.id).upper());
        lifecycle::remove(config, &mut store, &c.id, false, false)?;
        reclaimed += size;
        deleted.push(c.id);
    }
    if !deleted.is_empty() {
        println!("Deleted Containers:");
        for id in &deleted {
            println!("{id}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", crate::format::units::human_size4(reclaimed));
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
