//! `volume create|ls|inspect|rm|prune`, as docker's (docker/cli
//! `cli/command/volume/`): the same flags, output and messages.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::ExitStatus;
use crate::config::Config;
use crate::format::{self, rows::volumes};
use crate::volume::{CreateRequest, Store, Volume};

#[derive(Debug, Args)]
pub(crate) struct VolumeArgs {
    #[command(subcommand)]
    pub command: VolumeCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Volume name
    pub name_arg: Option<String>,
    /// Specify volume name
    #[arg(long = "name")]
    pub name: Option<String>,
    /// Specify volume driver name
    #[arg(short = 'd', long = "driver", default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt")]
    pub opts: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Only display volume names
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long = "filter")]
    pub filters: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter")]
    pub filters: Vec<String>,
}

pub(crate) fn run(config: &Config, args: &VolumeArgs) -> anyhow::Result<i32> {
    match &args.command {
        VolumeCommand::Create(a) => create(config, a),
        VolumeCommand::Ls(a) => ls(config, a),
        VolumeCommand::Inspect(a) => inspect(config, a),
        VolumeCommand::Rm(a) => rm(config, a),
        VolumeCommand::Prune(a) => prune(config, a),
    }
}

/// `k=v` pairs (`--label a=b`, `-o type=tmpfs`); a bare `k` is `k=""`.
fn key_values(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (v.clone(), String::new()),
        })
        .collect()
}

fn create(config: &Config, a: &CreateArgs) -> anyhow::Result<i32> {
    let name = match (&a.name, &a.name_arg) {
        (Some(_), Some(_)) => {
            anyhow::bail!("conflicting options: either specify --name or provide positional arg, not both")
        }
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    };
    let req = CreateRequest {
        name: name.clone(),
        driver: a.driver.clone(),
        labels: Some(key_values(&a.labels)),
        options: Some(key_values(&a.opts)),
    };
    // Without a name docker makes a random one and labels the volume
    // anonymous (so `volume prune` takes it); Store::create does the same.
    let v = Store::open(&config.data_root)?.create(&req)?;
    println!("{}", v.name);
    Ok(0)
}

/// `volume ls --filter`: docker's keys for volumes.
#[derive(Debug, Default)]
struct Filters {
    dangling: Option<bool>,
    names: Vec<String>,
    labels: Vec<(String, Option<String>)>,
    drivers: Vec<String>,
}

impl Filters {
    fn parse(values: &[String]) -> anyhow::Result<Filters> {
        let mut f = Filters::default();
        for raw in values {
            let (k, v) =
                raw.split_once('=').with_context(|| format!("bad format of filter (expected name=value): {raw}"))?;
            match k {
                "dangling" => {
                    f.dangling = Some(match v.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => anyhow::bail!("invalid filter 'dangling={v}'"),
                    })
                }
                "name" => f.names.push(v.to_string()),
                "driver" => f.drivers.push(v.to_string()),
                "label" => f.labels.push(match v.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (v.to_string(), None),
                }),
                _ => anyhow::bail!("invalid filter '{k}'"),
            }
        }
        Ok(f)
    }

    fn matches(&self, v: &Volume, users: &[String]) -> bool {
        let labels = v.label_map();
        self.dangling.is_none_or(|d| d == users.is_empty())
            && (self.names.is_empty() || self.names.iter().any(|n| v.name.contains(n.as_str())))
            && (self.drivers.is_empty() || self.drivers.contains(&v.driver))
            && self.labels.iter().all(|(k, want)| match (labels.get(k), want) {
                (Some(have), Some(want)) => have == want,
                (Some(_), None) => true,
                (None, _) => false,
            })
    }
}

fn ls(config: &Config, a: &LsArgs) -> anyhow::Result<i32> {
    let filters = Filters::parse(&a.filters)?;
    let store = Store::open(&config.data_root)?;
    let rows: Vec<serde_json::Value> = store
        .list()?
        .into_iter()
        .filter(|(v, users)| filters.matches(v, users))
        .map(|(v, _)| volumes::row(&summary(&store, &v, None)))
        .collect();
    let fmt = if a.quiet { Some(volumes::QUIET) } else { a.format.as_deref() };
    format::print_list(&mut std::io::stdout().lock(), fmt, volumes::DEFAULT_TABLE, volumes::HEADERS, &rows)?;
    Ok(0)
}

/// The row data of one volume; `usage` is (containers, bytes) when measured.
pub(crate) fn summary(store: &Store, v: &Volume, usage: Option<(u64, u64)>) -> volumes::VolumeSummary {
    volumes::VolumeSummary {
        name: v.name.clone(),
        driver: v.driver.clone(),
        scope: "local".into(),
        mountpoint: store.layout.data(&v.name).to_string_lossy().into_owned(),
        labels: v.label_map(),
        usage,
    }
}

fn inspect(config: &Config, a: &InspectArgs) -> anyhow::Result<i32> {
    let store = Store::open(&config.data_root)?;
    let lookup = |name: &String| match store.get(name) {
        Ok(v) => Ok(v.inspect(&store.layout)),
        Err(e) => Err(format!("Error: {}", super::error_chain(&e.into()))),
    };
    format::inspect(&mut std::io::stdout().lock(), a.format.as_deref(), &a.names, lookup)?;
    Ok(0)
}

fn rm(config: &Config, a: &RmArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let mut failed = false;
    for name in &a.names {
        match store.remove(name, a.force) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                failed = true;
                eprintln!("Error response from daemon: {}", super::error_chain(&anyhow::Error::new(e)));
            }
        }
    }
    if failed { Err(ExitStatus(1).into()) } else { Ok(0) }
}

/// Remove unused anonymous volumes (every unused one with `all`) that
/// `select` takes.
pub(super) fn prune_volumes(
    config: &Config,
    all: bool,
    select: &dyn Fn(&crate::volume::Volume) -> bool,
) -> anyhow::Result<super::prune::Pruned> {
    let mut store = Store::open(&config.data_root)?;
    let removed = store.prune(all, select)?;
    let total = removed.iter().map(|(_, s)| s).sum();
    Ok(super::prune::Pruned::list("Deleted Volumes:", removed.into_iter().map(|(name, _)| name), total))
}

fn prune(config: &Config, a: &PruneArgs) -> anyhow::Result<i32> {
    let filters = Filters::parse(&a.filters)?;
    if filters.dangling.is_some() || !filters.names.is_empty() {
        anyhow::bail!("invalid filter: prune takes only label and driver filters");
    }
    if !a.force {
        let what = if a.all { "all local volumes" } else { "anonymous local volumes" };
        print!(
            "WARNING! This will remove {what} not used by at least one container.\nAre you sure you want to continue? [y/N] "
        );
        std::io::stdout().flush().context("write the prompt")?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).context("read the answer")?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(0);
        }
    }
    let pruned = prune_volumes(config, a.all, &|v| filters.matches(v, &[]))?;
    print!("{}", pruned.output);
    if !pruned.output.is_empty() {
        println!();
    }
    println!("Total reclaimed space: {}", format::units::human_size4(pruned.reclaimed));
    Ok(0)
}
