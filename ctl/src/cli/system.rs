//! `system df [-v] [--format]`, as docker's (docker/cli
//! `cli/command/system/df.go` and `formatter/disk_usage.go`): one summary
//! row per kind (Images, Containers, Local Volumes, Build Cache) with
//! total, active, size and reclaimable; `-v` lists each kind's items.
//! Sizes are measured: images from their snapshots (each layer counted
//! once), volumes by walking their data without following links.

use std::collections::HashMap;

use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::config::Config;
use crate::format::rows::disk_usage::{self, DiskUsage, Usage};
use crate::format::{self, rows};
use crate::image;
use crate::volume::{self, size::Usage as VolumeUsage};

#[derive(Debug, Args)]
pub(crate) struct SystemArgs {
    #[command(subcommand)]
    pub command: SystemCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SystemCommand {
    /// Show docker disk usage
    Df(DfArgs),
    /// Check the store for inconsistencies, and repair them with --repair
    Check(super::check::CheckArgs),
    /// Remove unused data
    Prune(super::system_prune::SystemPruneArgs),
    /// Get real time events from the server
    Events(super::events::EventsArgs),
    /// Start the containers whose restart policy asks for it (run at boot)
    Restore(super::restore::RestoreArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DfArgs {
    /// Show detailed information on space usage
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
}

pub(crate) fn run(config: &Config, args: &SystemArgs) -> anyhow::Result<i32> {
    match &args.command {
        SystemCommand::Df(a) => df(config, a),
        SystemCommand::Check(a) => super::check::run(config, a),
        SystemCommand::Prune(a) => super::system_prune::run(config, a),
        SystemCommand::Events(a) => super::events::run(config, a),
        SystemCommand::Restore(a) => super::restore::run(config, a),
    }
}

/// One image with what `df` needs: its summary and its layers' snapshots.
struct ImageUsage {
    summary: image::Summary,
    /// (snapshot id, bytes) of each layer.
    layers: Vec<(i64, u64)>,
}

fn images(config: &Config) -> anyhow::Result<Vec<ImageUsage>> {
    let store = image::Store::open(&config.data_root)?;
    let mut out = Vec::new();
    for summary in image::list(&store.db)? {
        let img = image::load(&store, &summary.id)?;
        let layers = img.layers.iter().map(|l| (l.snapshot, l.size)).collect();
        out.push(ImageUsage { summary, layers });
    }
    Ok(out)
}

/// docker's figures for images: (size of all layers, each once; per image
/// the bytes it shares with another image).
fn layer_sharing(images: &[ImageUsage]) -> (u64, Vec<u64>) {
    let mut users: HashMap<i64, (u64, usize)> = HashMap::new();
    for img in images {
        for (snap, size) in &img.layers {
            users.entry(*snap).or_insert((*size, 0)).1 += 1;
        }
    }
    let total = users.values().map(|(size, _)| size).sum();
    let shared = images
        .iter()
        .map(|img| img.layers.iter().filter(|(s, _)| users.get(s).is_some_and(|(_, n)| *n > 1)).map(|(_, b)| b).sum())
        .collect();
    (total, shared)
}

/// The containers' part: counts, bytes in their upper layers, and one
/// `ps`-style summary each for `-v`.
#[derive(Default)]
struct Containers {
    total: usize,
    active: usize,
    size: u64,
    /// Bytes of containers that are not running.
    reclaimable: u64,
    items: Vec<rows::containers::ContainerSummary>,
}

/// Read the containers table (docker's inspect fields as JSON); a store
/// without one has no containers.
fn containers(config: &Config, vol_store: &volume::Store) -> anyhow::Result<Containers> {
    let db = crate::db::Db::open(&config.data_root.join("berth.db"))?;
    let mut out = Containers::default();
    if !db.has_table("containers")? {
        return Ok(out);
    }
    let mut st = db.conn().prepare("SELECT id, record FROM containers").map_err(|e| db.err(e))?;
    let records: Vec<(String, String)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).and_then(Iterator::collect).map_err(|e| db.err(e))?;
    for (id, text) in records {
        let record: Value = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("container {id}: record: {e}"))?;
        let upper = config.data_root.join("containers").join(&id).join("upper");
        let size = volume::size::dir_size(&upper).map_err(|e| anyhow::anyhow!("measure {upper:?}: {e}"))?;
        let running = record["State"]["Running"].as_bool().unwrap_or(false);
        out.total += 1;
        out.size += size;
        if running {
            out.active += 1;
        } else {
            out.reclaimable += size;
        }
        out.items.push(container_summary(&id, &record, size, vol_store)?);
    }
    out.items.sort_by_key(|c| std::cmp::Reverse(c.created));
    Ok(out)
}

fn container_summary(
    id: &str,
    r: &Value,
    size: u64,
    vol_store: &volume::Store,
) -> anyhow::Result<rows::containers::ContainerSummary> {
    let time = |v: &Value| {
        v.as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| t.timestamp() > 0)
    };
    let state = &r["State"];
    let facts = format::time::StateFacts {
        running: state["Running"].as_bool().unwrap_or(false),
        paused: state["Paused"].as_bool().unwrap_or(false),
        restarting: state["Restarting"].as_bool().unwrap_or(false),
        removing: false,
        dead: state["Dead"].as_bool().unwrap_or(false),
        exit_code: state["ExitCode"].as_i64().unwrap_or(0),
        started_at: time(&state["StartedAt"]),
        finished_at: time(&state["FinishedAt"]),
        health: None,
    };
    let mut command = vec![r["Path"].as_str().unwrap_or("").to_string()];
    command.extend(r["Args"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string));
    let mounts = vol_store
        .volumes_of(id)?
        .into_iter()
        .map(|name| rows::containers::MountSummary { name, source: String::new(), driver: "local".into() })
        .collect();
    Ok(rows::containers::ContainerSummary {
        id: id.to_string(),
        names: vec![r["Name"].as_str().unwrap_or("").trim_start_matches('/').to_string()],
        image: r["Config"]["Image"].as_str().unwrap_or("").to_string(),
        image_id: r["Image"].as_str().unwrap_or("").to_string(),
        command: command.join(" "),
        created: time(&r["Created"]).unwrap_or_default(),
        state: format::time::container_state_word(&facts).to_string(),
        status: format::time::container_status(&facts, Utc::now()),
        size_rw: Some(size),
        mounts,
        ..Default::default()
    })
}

fn df(config: &Config, a: &DfArgs) -> anyhow::Result<i32> {
    let images = images(config)?;
    let (layers_size, shared) = layer_sharing(&images);
    let vol_store = volume::Store::open(&config.data_root)?;
    let volumes = volume::size::usage(&vol_store)?;
    let active_images: Vec<usize> = (0..images.len()).filter(|&i| images[i].summary.holders > 0).collect();
    let used: u64 = active_images.iter().map(|&i| images[i].summary.size.saturating_sub(shared[i])).sum();
    let (v_total, v_active, v_size, v_reclaim) = volume::size::summary(&volumes);
    let containers = containers(config, &vol_store)?;
    let usage = DiskUsage {
        images: Usage {
            total: images.len() as u64,
            active: active_images.len() as u64,
            size: layers_size,
            reclaimable: layers_size.saturating_sub(used),
        },
        containers: Usage {
            total: containers.total as u64,
            active: containers.active as u64,
            size: containers.size,
            reclaimable: containers.reclaimable,
        },
        volumes: Usage { total: v_total as u64, active: v_active as u64, size: v_size, reclaimable: v_reclaim },
        // berthctl builds no images, so it keeps no build cache.
        build_cache: Usage::default(),
    };
    let mut out = std::io::stdout().lock();
    if !a.verbose {
        let rows = disk_usage::summary_rows(&usage);
        format::print_list(&mut out, a.format.as_deref(), disk_usage::DEFAULT_TABLE, disk_usage::HEADERS, &rows)?;
        return Ok(0);
    }
    verbose(&mut out, &images, &shared, &containers, &vol_store, &volumes)?;
    Ok(0)
}

fn verbose(
    out: &mut dyn std::io::Write,
    images: &[ImageUsage],
    shared: &[u64],
    containers: &Containers,
    vol_store: &volume::Store,
    volumes: &[VolumeUsage],
) -> anyhow::Result<()> {
    let now = Utc::now();
    let summaries: Vec<rows::images::ImageSummary> = images
        .iter()
        .zip(shared)
        .map(|(img, shared)| {
            let s = &img.summary;
            rows::images::ImageSummary {
                id: s.id.to_string(),
                repo_tags: s.tags.iter().map(|(r, t)| format!("{r}:{t}")).collect(),
                repo_digests: s.digests.iter().map(|(r, d)| format!("{r}@{d}")).collect(),
                created: s
                    .created
                    .as_deref()
                    .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                    .map(|t| t.with_timezone(&Utc)),
                size: s.size,
                containers: Some(s.holders),
                shared_size: Some(*shared),
            }
        })
        .collect();
    let volume_summaries: Vec<rows::volumes::VolumeSummary> =
        volumes.iter().map(|u| super::volume::summary(vol_store, &u.volume, Some((u.links, u.size)))).collect();
    disk_usage::print_verbose(out, &summaries, &containers.items, &volume_summaries, 0, now)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_layers_count_once() {
        let mk = |layers: Vec<(i64, u64)>| ImageUsage {
            summary: image::Summary {
                id: "sha256:0000000000000000000000000000000000000000000000000000000000000000".parse().unwrap(),
                tags: vec![],
                digests: vec![],
                created: None,
                size: layers.iter().map(|(_, s)| s).sum(),
                holders: 0,
            },
            layers,
        };
        let imgs = [mk(vec![(1, 100), (2, 10)]), mk(vec![(1, 100), (3, 5)])];
        let (total, shared) = layer_sharing(&imgs);
        assert_eq!(total, 115);
        assert_eq!(shared, [100, 100]);
    }
}
