//! `berthctl network …`: create, ls, inspect, rm, prune, connect and
//! disconnect, with docker's flags, output and messages
//! (docker/cli cli/command/network).

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};

use super::prune::{PruneFilter, Pruned};
use crate::config::Config;
use crate::db::Db;
use crate::format;
use crate::format::rows::networks::{self as rows, NetworkSummary};
use crate::network::{self, CreateOptions, NetworkError, store};

#[derive(Debug, clap::Args)]
pub(crate) struct NetworkArgs {
    #[command(subcommand)]
    pub command: NetworkCommand,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// Driver to manage the Network (bridge, macvlan)
    #[arg(short = 'd', long, default_value = "bridge")]
    driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    subnet: Vec<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long)]
    gateway: Vec<String>,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range")]
    ip_range: Vec<String>,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Set metadata on a network
    #[arg(long)]
    label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt")]
    opt: Vec<String>,
    /// Enable IPv6 networking
    #[arg(long)]
    ipv6: bool,
    /// Enable manual container attachment (accepted; every network is)
    #[arg(long)]
    attachable: bool,
    name: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LsArgs {
    /// Only display network IDs
    #[arg(short, long)]
    quiet: bool,
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short, long)]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    /// Verbose output for diagnostics (accepted)
    #[arg(short, long)]
    verbose: bool,
    #[arg(required = true)]
    networks: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    networks: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    filter: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ConnectArgs {
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    ip: Option<String>,
    /// Add network-scoped alias for the container
    #[arg(long)]
    alias: Vec<String>,
    network: String,
    container: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    force: bool,
    network: String,
    container: String,
}

pub(crate) fn run(config: &Config, args: NetworkArgs) -> anyhow::Result<i32> {
    let mut db = open_db(config)?;
    match args.command {
        NetworkCommand::Create(a) => create(&mut db, a),
        NetworkCommand::Ls(a) => ls(&mut db, &a),
        NetworkCommand::Inspect(a) => inspect(&mut db, &a),
        NetworkCommand::Rm(a) => rm(config, &mut db, &a),
        NetworkCommand::Prune(a) => prune(config, &mut db, &a),
        NetworkCommand::Connect(a) => connect(config, &mut db, &a),
        NetworkCommand::Disconnect(a) => disconnect(config, &mut db, &a),
    }
}

pub(crate) fn open_db(config: &Config) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&config.data_root).with_context(|| format!("create {:?}", config.data_root))?;
    Ok(Db::open(&config.data_root.join("berth.db"))?)
}

/// `key=value` pairs of `--label` and `-o` (a bare key has an empty value).
fn key_values(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|kv| kv.split_once('=').map_or((kv.clone(), String::new()), |(k, v)| (k.into(), v.into())))
        .collect()
}

fn one(flag: &str, list: &[&String]) -> anyhow::Result<Option<String>> {
    if list.len() > 1 {
        bail!("only one IPv4 and one IPv6 {flag} per network is supported");
    }
    Ok(list.first().map(|s| s.to_string()))
}

/// `--subnet`/`--gateway` values split into the IPv4 one and the IPv6 one.
fn by_family<'a>(flag: &str, list: &'a [String]) -> anyhow::Result<(Option<String>, Option<String>)> {
    let (six, four): (Vec<&'a String>, Vec<&'a String>) = list.iter().partition(|s| s.contains(':'));
    Ok((one(flag, &four)?, one(flag, &six)?))
}

fn create(db: &mut Db, a: CreateArgs) -> anyhow::Result<i32> {
    let _ = a.attachable;
    let (subnet, subnet6) = by_family("--subnet", &a.subnet)?;
    let (gateway, gateway6) = by_family("--gateway", &a.gateway)?;
    let opts = CreateOptions {
        name: a.name.clone(),
        driver: a.driver.clone(),
        subnet,
        gateway,
        ip_range: one("--ip-range", &a.ip_range.iter().collect::<Vec<_>>())?,
        ipv6: a.ipv6,
        subnet6,
        gateway6,
        internal: a.internal,
        labels: key_values(&a.label),
        options: key_values(&a.opt),
    };
    let n = db.write(|tx| network::create(tx, &opts).map_err(anyhow::Error::from))?;
    println!("{}", n.id);
    log(db, "create", &n, None);
    Ok(0)
}

/// The networks with their defaults added (a write, done once per store).
pub(super) fn all_networks(db: &mut Db) -> anyhow::Result<Vec<store::Network>> {
    db.write(|tx| {
        network::ensure_defaults(tx)?;
        Ok::<_, anyhow::Error>(store::networks(tx).map_err(NetworkError::from)?)
    })
}

fn matches_filter(db: &Db, n: &store::Network, filters: &[(String, String)]) -> anyhow::Result<bool> {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    for (key, values) in by_key {
        let ok = match key {
            "driver" => values.iter().any(|v| *v == n.driver),
            "id" => values.iter().any(|v| n.id.starts_with(v)),
            "name" => values.iter().any(|v| n.name.contains(v)),
            "scope" => values.contains(&"local"),
            "type" => values.iter().any(|v| (*v == "builtin") == network::is_predefined(n)),
            "label" => values.iter().all(|v| match v.split_once('=') {
                Some((k, val)) => n.labels.get(k).is_some_and(|x| x == val),
                None => n.labels.contains_key(*v),
            }),
            "dangling" => {
                let unused = store::network_endpoints(db.conn(), &n.id).map_err(NetworkError::from)?.is_empty();
                values.iter().any(|v| (matches!(*v, "true" | "1")) == (unused && !network::is_predefined(n)))
            }
            other => bail!("invalid filter '{other}'"),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn parse_filters(list: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    list.iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("bad format of filter (expected name=value): {f}"))
        })
        .collect()
}

fn ls(db: &mut Db, a: &LsArgs) -> anyhow::Result<i32> {
    let filters = parse_filters(&a.filter)?;
    let mut summaries = Vec::new();
    for n in all_networks(db)? {
        if !matches_filter(db, &n, &filters)? {
            continue;
        }
        summaries.push(NetworkSummary {
            id: n.id.clone(),
            name: n.name.clone(),
            driver: n.driver.clone(),
            scope: "local".into(),
            ipv4: n.subnet.is_some(),
            ipv6: n.subnet6.is_some(),
            internal: n.internal,
            labels: n.labels.clone(),
            created: DateTime::parse_from_rfc3339(&n.created).map_or_else(|_| Utc::now(), |t| t.with_timezone(&Utc)),
        });
    }
    let rows: Vec<_> = summaries.iter().map(|s| rows::row(s, !a.no_trunc)).collect();
    let fmt = if a.quiet { Some("{{.ID}}") } else { a.format.as_deref() };
    let mut out = std::io::stdout().lock();
    format::print_list(&mut out, fmt, rows::DEFAULT_TABLE, rows::HEADERS, &rows)?;
    out.flush().context("write stdout")?;
    Ok(0)
}

fn inspect(db: &mut Db, a: &InspectArgs) -> anyhow::Result<i32> {
    let _ = a.verbose;
    all_networks(db)?;
    let conn = db.conn();
    let mut out = std::io::stdout().lock();
    let result = format::inspect(&mut out, a.format.as_deref(), &a.networks, |key| inspect_json(conn, key));
    match result {
        Ok(()) => Ok(0),
        Err(e @ format::FormatError::Inspect(_)) => {
            let code = e.exit_code();
            eprintln!("Error: {e}");
            Ok(code)
        }
        // A template error, printed bare by main with its cause and status
        // (64 when it does not parse), as docker prints it.
        Err(e) => Err(e.into()),
    }
}

/// One network's inspect JSON (`network inspect`, and `inspect` of any
/// object).
pub(super) fn inspect_json(conn: &rusqlite::Connection, key: &str) -> Result<serde_json::Value, NetworkError> {
    let names = |id: &str| container_name(conn, id);
    let n = store::find_network(conn, key)?.ok_or_else(|| NetworkError::NotFound(key.to_string()))?;
    network::inspect::network(conn, &n, &names)
}

/// A container's name for `network inspect` (its id if the record is gone).
fn container_name(conn: &rusqlite::Connection, id: &str) -> String {
    conn.query_row("SELECT name FROM containers WHERE id = ?1", [id], |r| r.get(0)).unwrap_or_else(|_| id.to_string())
}

/// docker's network event: the network's id, its `name` and `type` (the
/// driver), and the container for connect and disconnect.
fn log(db: &Db, action: &str, n: &store::Network, container: Option<&str>) {
    let mut e = crate::events::Event::new("network", action, &n.id).attr("name", &n.name).attr("type", &n.driver);
    if let Some(c) = container {
        e = e.attr("container", c);
    }
    crate::events::emit_on(db, &e);
}

/// `log` for a network named by what the user typed.
fn log_named(db: &Db, action: &str, key: &str, container: &str) {
    if let Ok(Some(n)) = store::find_network(db.conn(), key) {
        log(db, action, &n, Some(container));
    }
}

fn rm(config: &Config, db: &mut Db, a: &RmArgs) -> anyhow::Result<i32> {
    let driver = network::driver(&config.runroot)?;
    let mut status = 0;
    for key in &a.networks {
        match db.write(|tx| network::remove(tx, &*driver, key)) {
            Ok(n) => {
                println!("{key}");
                log(db, "destroy", &n, None);
            }
            Err(NetworkError::NotFound(_)) if a.force => {}
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                status = 1;
            }
        }
    }
    Ok(status)
}

fn prune(config: &Config, db: &mut Db, a: &PruneArgs) -> anyhow::Result<i32> {
    let filter = PruneFilter::parse(&a.filter, &["label", "label!", "until"])?;
    if !a.force
        && !super::prune::confirm("WARNING! This will remove all custom networks not used by at least one container.")?
    {
        return Ok(0);
    }
    let pruned = prune_networks(config, db, &filter)?;
    if !pruned.output.is_empty() {
        println!("{}", pruned.output);
    }
    Ok(0)
}

/// Remove the user networks no container is on that `filter` selects.
pub(super) fn prune_networks(config: &Config, db: &mut Db, filter: &PruneFilter) -> anyhow::Result<Pruned> {
    let driver = network::driver(&config.runroot)?;
    let removed = db.write(|tx| network::prune(tx, &*driver, |n| !filter.selects(&n.labels, Some(&n.created))))?;
    Ok(Pruned::list("Deleted Networks:", removed, 0))
}

fn connect(config: &Config, db: &mut Db, a: &ConnectArgs) -> anyhow::Result<i32> {
    let c = crate::container::store::Store::open(&config.data_root)?.lookup(&a.container)?;
    let ip = a.ip.as_deref().map(network::ipam::parse_ip).transpose()?;
    let who = network::container::Identity { id: &c.id, name: &c.name, hostname: &c.config.hostname };
    let driver = network::driver(&config.runroot)?;
    db.write(|tx| network::container::connect(tx, &*driver, &config.runroot, who, &a.network, ip, &a.alias))?;
    log_named(db, "connect", &a.network, &c.id);
    Ok(0)
}

fn disconnect(config: &Config, db: &mut Db, a: &DisconnectArgs) -> anyhow::Result<i32> {
    let _ = a.force;
    let c = crate::container::store::Store::open(&config.data_root)?.lookup(&a.container)?;
    let driver = network::driver(&config.runroot)?;
    let n = store::find_network(db.conn(), &a.network).ok().flatten();
    db.write(|tx| network::container::disconnect(tx, &*driver, &config.runroot, &c.id, &a.network))?;
    if let Some(n) = n {
        log(db, "disconnect", &n, Some(&c.id));
    }
    Ok(0)
}
