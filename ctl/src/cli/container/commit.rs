//! `commit` (a container's changes as a new image), `diff` (what they are)
//! and `export` (its whole file system as a tar), as docker's.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config::Config;
use crate::container::record::Container;
use crate::container::store::Store;
use crate::container::{Layout, fsview, lifecycle};
use crate::image::{self, GcLock, HistoryEntry, ImageRecord};
use crate::pack::{self, MOUNT_TARGETS, PackOptions, Times};
use crate::reference::Reference;

#[derive(Debug, clap::Args)]
pub(crate) struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short = 'p', long, default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub pause: bool,
    pub container: String,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    pub container: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    pub container: String,
}

/// docker's words for an error the daemon returns, and its status 1.
pub(crate) fn daemon_error(e: &anyhow::Error) -> i32 {
    eprintln!("Error response from daemon: {}", super::message(e));
    1
}

pub(crate) fn commit(config: &Config, a: &CommitArgs) -> anyhow::Result<i32> {
    // A bad name is the client's error in docker, before anything is done.
    let tag = match a.repository.as_deref().map(Reference::parse).transpose() {
        Ok(t) => t,
        Err(_) => {
            eprintln!("invalid reference format");
            return Ok(1);
        }
    };
    if tag.as_ref().is_some_and(|t| t.digest.is_some()) {
        eprintln!("invalid reference format: a commit cannot be given a digest");
        return Ok(1);
    }
    match commit_container(config, a, tag) {
        Ok(id) => {
            println!("{id}");
            Ok(0)
        }
        Err(e) => Ok(daemon_error(&e)),
    }
}

fn commit_container(config: &Config, a: &CommitArgs, tag: Option<Reference>) -> anyhow::Result<String> {
    let mut containers = Store::open(&config.data_root)?;
    let c = lifecycle::lookup(config, &mut containers, &a.container)?;
    let mut store = image::Store::open(&config.data_root)?;
    let _gc = store.gc_lock(GcLock::Writer)?;
    store.recover()?;
    let parent = image::load(&store, &c.image.parse()?)?;
    // Everything that can be refused is checked before the layer is made.
    let mut section = config_of(&c, &parent)?;
    image::apply_changes(&mut section, &a.change)?;
    let upper = Layout::new(config, &c.id).upper();
    std::fs::create_dir_all(&upper).map_err(|e| anyhow::anyhow!("create {upper:?}: {e}"))?;
    let layer = {
        let _paused = if a.pause { Paused::pause(config, &c)? } else { None };
        image::layer_from_dir(&mut store, &parent.diff_ids(), &upper, &PackOptions::upper_dir(Times::Keep))?
    };
    let created_by = c.config.cmd.as_ref().map(|cmd| cmd.join(" "));
    let id = image::record_image(
        &mut store,
        &ImageRecord {
            parent: Some(&parent),
            layer,
            config: section,
            history: HistoryEntry { created_by, comment: a.message.clone(), author: a.author.clone() },
            created: None,
            author: a.author.clone(),
            container: Some((c.id.clone(), container_config(&c)?)),
            tag,
        },
    )?;
    Ok(id.to_string())
}

/// The new image's `config`: the container's (docker's commit merges the
/// container's Config into the changes), the image's volumes kept.
fn config_of(c: &Container, parent: &image::Image) -> anyhow::Result<Map<String, Value>> {
    let mut m = match serde_json::to_value(&c.config)? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let empty_ports = |k: &str, v: &Value| k == "ExposedPorts" && v.as_object().is_some_and(Map::is_empty);
    m.retain(|k, v| !(v.is_null() || empty_ports(k, v)));
    let base = image::config_section(Some(parent))?;
    for k in ["Volumes", "OnBuild"] {
        if let Some(v) = base.get(k).filter(|v| !v.is_null()) {
            m.insert(k.into(), v.clone());
        }
    }
    Ok(m)
}

/// docker's `container_config`: the container's Config as it ran (docker's
/// field set; `ExposedPorts` only when it has some).
fn container_config(c: &Container) -> anyhow::Result<Map<String, Value>> {
    let mut m = match serde_json::to_value(&c.config)? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.retain(|k, v| !(k == "ExposedPorts" && v.as_object().is_some_and(Map::is_empty)));
    Ok(m)
}

/// A running container frozen while its upper dir is read; thawed on drop.
struct Paused {
    rt: crate::container::runtime::Runtime,
    id: String,
}

impl Paused {
    fn pause(config: &Config, c: &Container) -> anyhow::Result<Option<Paused>> {
        if !c.state.running || c.state.paused {
            return Ok(None);
        }
        let rt = lifecycle::runtime_for(config, c)?;
        rt.pause(&c.id)?;
        Ok(Some(Paused { rt, id: c.id.clone() }))
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        if let Err(e) = self.rt.resume(&self.id) {
            tracing::warn!(container = %self.id, error = %e, "resume after commit");
        }
    }
}

pub(crate) fn diff(config: &Config, a: &DiffArgs) -> anyhow::Result<i32> {
    let changes = (|| {
        let mut containers = Store::open(&config.data_root)?;
        let c = lifecycle::lookup(config, &mut containers, &a.container)?;
        let upper = Layout::new(config, &c.id).upper();
        if !upper.is_dir() {
            return Ok(Vec::new());
        }
        let exclude: Vec<PathBuf> = MOUNT_TARGETS.iter().map(PathBuf::from).collect();
        Ok::<_, anyhow::Error>(pack::changes(&upper, &c.lower_dirs, &exclude)?)
    })();
    match changes {
        Ok(list) => {
            let mut out = std::io::stdout().lock();
            for ch in list {
                writeln!(out, "{ch}")?;
            }
            Ok(0)
        }
        Err(e) => Ok(daemon_error(&e)),
    }
}

pub(crate) fn export(config: &Config, a: &ExportArgs) -> anyhow::Result<i32> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        eprintln!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        return Ok(1);
    }
    let mut containers = Store::open(&config.data_root)?;
    let c = match lifecycle::lookup(config, &mut containers, &a.container) {
        Ok(c) => c,
        Err(e) => return Ok(daemon_error(&e)),
    };
    match export_to(config, a, &c) {
        Err(e) if super::cp::is_broken_pipe(&e) => Ok(0),
        r => r.map(|()| 0),
    }
}

fn export_to(config: &Config, a: &ExportArgs, c: &Container) -> anyhow::Result<()> {
    let opts = PackOptions { one_file_system: true, ..Default::default() };
    match &a.output {
        None => {
            fsview::with_rootfs(config, c, |root| {
                let out = std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
                pack::pack_dir(root, out, &opts)
            })??;
        }
        Some(path) => write_atomically(path, |file| {
            let out = std::io::BufWriter::with_capacity(256 * 1024, file);
            fsview::with_rootfs(config, c, |root| pack::pack_dir(root, out, &opts))??;
            Ok(())
        })?,
    }
    Ok(())
}

/// Write `path` through a temp file beside it, renamed over it only when
/// `f` succeeded: a failed export leaves no partial tar.
pub(crate) fn write_atomically(
    path: &Path,
    f: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.berthctl-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp).map_err(|e| anyhow::anyhow!("failed to create {path:?}: {e}"))?;
    let result = f(&mut file).and_then(|()| Ok(file.sync_all()?)).and_then(|()| Ok(std::fs::rename(&tmp, path)?));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
