//! `ps`: docker's columns, `-a -q -n -l -s --no-trunc --filter --format`.
//! The state shown is checked against the runtime when a container's
//! supervisor is gone, so a killed supervisor never leaves a lie behind.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::container::record::{Container, ZERO_TIME};
use crate::container::store::Store;
use crate::container::{Layout, health, lifecycle};
use std::collections::HashMap;

use crate::format::rows::containers::{self as rows, ContainerSummary, MountSummary, PortSummary};
use crate::format::time::{StateFacts, container_state_word, container_status};

#[derive(Debug, clap::Args)]
pub(crate) struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", allow_hyphen_values = true)]
    pub last: Option<i64>,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if s.is_empty() || s == ZERO_TIME {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// docker's state facts of a record (Running stays true while restarting, as docker's).
pub(crate) fn facts(c: &Container) -> StateFacts<'static> {
    StateFacts {
        running: c.state.running || c.state.paused || c.state.restarting,
        paused: c.state.paused,
        restarting: c.state.restarting,
        removing: false,
        dead: c.state.dead,
        exit_code: i64::from(c.state.exit_code),
        started_at: parse_time(&c.state.started_at),
        finished_at: parse_time(&c.state.finished_at),
        health: None,
    }
}

/// Bytes in a directory tree (the container's upper layer for `-s`).
pub(crate) fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// What `ps` shows of the containers' networks, read once for all rows:
/// network names by container (endpoints joined with networks) and
/// published ports by container.
#[derive(Default)]
struct NetworkView {
    names: HashMap<String, Vec<String>>,
    ports: HashMap<String, Vec<PortSummary>>,
}

impl NetworkView {
    fn read(db: &crate::db::Db) -> rusqlite::Result<NetworkView> {
        let mut view = NetworkView::default();
        let conn = db.conn();
        if !db.has_table("endpoints").unwrap_or(false) {
            return Ok(view);
        }
        let mut stmt = conn.prepare(
            "SELECT e.container_id, n.name FROM endpoints e JOIN networks n ON n.id = e.network_id ORDER BY e.rowid",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (id, name) = row?;
            view.names.entry(id).or_default().push(name);
        }
        for p in crate::network::store::ports(conn, None)? {
            view.ports.entry(p.container_id.clone()).or_default().push(PortSummary {
                ip: Some(std::net::IpAddr::V4(p.host_ip)),
                private_port: p.container_port,
                public_port: p.host_port,
                proto: p.protocol.clone(),
            });
        }
        Ok(view)
    }

    /// docker's Networks of a container: the networks it is on, else its mode.
    fn networks(&self, c: &Container) -> Vec<String> {
        match self.names.get(&c.id) {
            Some(n) => n.clone(),
            None if c.host_config.network_mode.starts_with("container:") => Vec::new(),
            None if c.host_config.network_mode.is_empty() => Vec::new(),
            None => vec![c.host_config.network_mode.clone()],
        }
    }

    /// Published ports, then exposed ports that are not published.
    fn ports(&self, c: &Container) -> Vec<PortSummary> {
        let mut out = self.ports.get(&c.id).cloned().unwrap_or_default();
        for key in c.config.exposed_ports.keys() {
            let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
            let Ok(port) = port.parse::<u16>() else { continue };
            if !out.iter().any(|p| p.private_port == port && p.proto == proto) {
                out.push(PortSummary { ip: None, private_port: port, public_port: 0, proto: proto.to_string() });
            }
        }
        out
    }
}

fn summary(config: &Config, c: &Container, size: bool, net: &NetworkView) -> ContainerSummary {
    let mut f = facts(c);
    f.health = match health_word(config, c) {
        "none" => None,
        word => Some(word),
    };
    let now = Utc::now();
    // docker's daemon (daemon/list.go) single-quotes arguments with a space.
    let mut command = vec![c.path.clone()];
    command.extend(c.args.iter().map(|a| if a.contains(' ') { format!("'{a}'") } else { a.clone() }));
    let upper = size.then(|| dir_size(&Layout::new(config, &c.id).upper()));
    ContainerSummary {
        id: c.id.clone(),
        names: vec![c.name.clone()],
        image: c.config.image.clone(),
        image_id: c.image.clone(),
        command: command.join(" "),
        created: parse_time(&c.created).unwrap_or(now),
        state: container_state_word(&f).to_string(),
        status: container_status(&f, now),
        size_rw: upper,
        size_root_fs: upper,
        labels: c.config.labels.clone(),
        mounts: c
            .mount_points
            .iter()
            .filter(|m| m.kind != crate::volume::spec::Kind::Tmpfs)
            .map(|m| MountSummary { name: m.name.clone(), source: m.source.clone(), driver: m.driver.clone() })
            .collect(),
        networks: net.networks(c),
        ports: net.ports(c),
        ..Default::default()
    }
}

/// The container's health for `ps` (none, starting, healthy, unhealthy).
fn health_word(config: &Config, c: &Container) -> &'static str {
    health::status_word(health::current(&Layout::new(config, &c.id).run, c).as_ref())
}

/// docker's `ps --filter` keys this berthctl knows.
fn matches(config: &Config, c: &Container, state: &str, filters: &[(String, String)]) -> anyhow::Result<bool> {
    let mut by_key: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    // Values of one key are alternatives; different keys must all match.
    for (k, vals) in by_key {
        let ok = vals.iter().any(|v| match k {
            "status" => state == *v,
            "name" => c.name.contains(v),
            "id" => c.id.starts_with(v),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => c.config.labels.get(lk).is_some_and(|x| x == lv),
                None => c.config.labels.contains_key(*v),
            },
            "ancestor" => c.config.image == *v || c.image == *v || c.image.trim_start_matches("sha256:").starts_with(v),
            "exited" => state == "exited" && v.parse::<i32>().is_ok_and(|n| n == c.state.exit_code),
            "health" => health_word(config, c) == *v,
            _ => false,
        });
        if !["status", "name", "id", "label", "ancestor", "exited", "health"].contains(&k) {
            anyhow::bail!("invalid filter '{k}'");
        }
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(crate) fn run(config: &Config, a: &PsArgs) -> anyhow::Result<i32> {
    let filters: Vec<(String, String)> = a
        .filter
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value)"))
        })
        .collect::<Result<_, _>>()?;
    // docker's daemon checks the health values before it lists anything.
    if let Some((_, v)) = filters
        .iter()
        .find(|(k, v)| k == "health" && !["starting", "healthy", "unhealthy", "none"].contains(&v.as_str()))
    {
        eprintln!("Error response from daemon: Unrecognised filter value for health: {v}");
        return Ok(1);
    }
    let mut store = Store::open(&config.data_root)?;
    let mut list = Vec::new();
    for c in store.list()? {
        list.push(lifecycle::refresh(config, &mut store, c)?);
    }
    list.reverse(); // newest first, as docker
    let net = NetworkView::read(store.db()).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "read networks for ps");
        NetworkView::default()
    });
    let last = if a.latest { Some(1) } else { a.last.filter(|n| *n >= 0) };
    let all = a.all || last.is_some() || filters.iter().any(|(k, _)| k == "status" || k == "exited");
    let mut rows_out = Vec::new();
    for c in &list {
        let state = container_state_word(&facts(c));
        if !all && state != "running" && state != "paused" && state != "restarting" {
            continue;
        }
        if !matches(config, c, state, &filters)? {
            continue;
        }
        rows_out.push(rows::row(&summary(config, c, a.size, &net), !a.no_trunc, Utc::now()));
    }
    if let Some(n) = last {
        rows_out.truncate(n as usize);
    }
    let format = rows::resolve_format(a.format.as_deref(), a.quiet, a.size);
    let mut out = std::io::stdout().lock();
    crate::format::print_list(&mut out, Some(&format), rows::DEFAULT_TABLE, rows::HEADERS, &rows_out)?;
    Ok(0)
}
