//! `create` (and the options `run` shares): docker's flags turned into a
//! container record, the image's config merged in as docker's daemon does,
//! the record inserted with a unique name, the image held.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::Context;

use crate::config::Config;
use crate::container::bundle::{self, ImageDefaults};
use crate::container::record::{Container, ContainerConfig, HostConfig, LogConfig, Ulimit, ZERO_TIME};
use crate::container::store::Store;
use crate::container::{Layout, now_rfc3339};
use crate::network;
use crate::supervisor::{logfile, restart};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CreateArgs {
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Security Options
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Memory limit
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<f64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Ulimit options
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Size of /dev/shm
    #[arg(long = "shm-size")]
    pub shm_size: Option<String>,
    /// Mount a tmpfs directory
    #[arg(long)]
    pub tmpfs: Vec<String>,
    #[command(flatten)]
    pub mounts: crate::volume::attach::MountArgs,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Signal to stop the container
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout")]
    pub stop_timeout: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// Connect a container to a network (bridge, host, none, container:NAME|ID, or a network's name)
    #[arg(long = "network", alias = "net", env = "BERTH_NETWORK", default_value = "bridge")]
    pub network: String,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long)]
    pub expose: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long)]
    pub ip: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent")]
    pub cgroup_parent: Option<String>,
    /// Logging driver for the container (json-file or none)
    #[arg(long = "log-driver", default_value = "json-file")]
    pub log_driver: String,
    /// Log driver options
    #[arg(long = "log-opt")]
    pub log_opt: Vec<String>,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The image to run
    pub image: String,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// A new container id: 32 random bytes in hex, as docker's.
fn new_id() -> anyhow::Result<String> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).context("read /dev/urandom")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// docker's env-file format: KEY=VALUE lines, `#` comments, a bare KEY
/// takes the value from our environment (and is dropped when unset).
fn read_env_file(path: &str) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("open env file {path}"))?;
    Ok(text
        .lines()
        .map(|l| l.trim_start())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(expand_env)
        .collect())
}

fn expand_env(e: &str) -> Option<String> {
    if e.contains('=') {
        return Some(e.to_string());
    }
    std::env::var(e).ok().map(|v| format!("{e}={v}"))
}

fn parse_ulimit(s: &str) -> anyhow::Result<Ulimit> {
    let bad = || anyhow::anyhow!("invalid argument {s:?} for \"--ulimit\" flag: expected name=soft[:hard]");
    let (name, vals) = s.split_once('=').ok_or_else(bad)?;
    let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
    Ok(Ulimit {
        name: name.to_string(),
        soft: soft.parse().map_err(|_| bad())?,
        hard: hard.parse().map_err(|_| bad())?,
    })
}

fn parse_bytes(flag: &str, s: &str) -> anyhow::Result<i64> {
    logfile::parse_size(s)
        .map(|n| n as i64)
        .ok_or_else(|| anyhow::anyhow!("invalid argument {s:?} for \"{flag}\" flag: invalid size"))
}

fn labels(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| l.split_once('=').map_or((l.clone(), String::new()), |(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// docker's HostConfig from the flags.
fn host_config(a: &CreateArgs, runtime: &str) -> anyhow::Result<HostConfig> {
    if a.rm && a.restart != "no" {
        anyhow::bail!("Conflicting options: --restart and --rm");
    }
    let mut log_config = LogConfig { kind: a.log_driver.clone(), config: BTreeMap::new() };
    if a.log_driver != "json-file" && a.log_driver != "none" {
        anyhow::bail!("--log-driver {:?}: supported drivers are json-file and none", a.log_driver);
    }
    for o in &a.log_opt {
        let (k, v) = o.split_once('=').ok_or_else(|| anyhow::anyhow!("--log-opt {o:?}: expected key=value"))?;
        log_config.config.insert(k.to_string(), v.to_string());
    }
    logfile::Rotation::from_opts(&log_config.config)?;
    let memory = a.memory.as_deref().map(|m| parse_bytes("--memory", m)).transpose()?.unwrap_or(0);
    let memory_swap = match a.memory_swap.as_deref() {
        Some("-1") => -1,
        Some(s) => parse_bytes("--memory-swap", s)?,
        None => 0,
    };
    let tmpfs = a
        .tmpfs
        .iter()
        .map(|t| t.split_once(':').map_or((t.clone(), String::new()), |(d, o)| (d.to_string(), o.to_string())))
        .collect();
    Ok(HostConfig {
        runtime: runtime.to_string(),
        auto_remove: a.rm,
        restart_policy: restart::parse(&a.restart)?,
        log_config,
        network_mode: a.network.clone(),
        privileged: a.privileged,
        readonly_rootfs: a.read_only,
        init: a.init.then_some(true),
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        security_opt: a.security_opt.clone(),
        memory,
        memory_swap,
        nano_cpus: a.cpus.map_or(0, |c| (c * 1e9) as i64),
        cpu_shares: a.cpu_shares.unwrap_or(0),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        pids_limit: a.pids_limit,
        ulimits: a.ulimit.iter().map(|u| parse_ulimit(u)).collect::<Result<_, _>>()?,
        shm_size: a.shm_size.as_deref().map(|s| parse_bytes("--shm-size", s)).transpose()?.unwrap_or(64 << 20),
        tmpfs,
        devices: Vec::new(),
        cgroup_parent: a.cgroup_parent.clone().unwrap_or_default(),
    })
}

/// docker's Config from the flags, before the image's is merged in.
fn user_config(a: &CreateArgs) -> anyhow::Result<ContainerConfig> {
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(read_env_file(f)?);
    }
    env.extend(a.env.iter().filter_map(|e| expand_env(e)));
    Ok(ContainerConfig {
        user: a.user.clone().unwrap_or_default(),
        attach_stdin: a.interactive,
        tty: a.tty,
        open_stdin: a.interactive,
        stdin_once: a.interactive,
        env,
        cmd: (!a.command.is_empty()).then(|| a.command.clone()),
        image: a.image.clone(),
        working_dir: a.workdir.clone().unwrap_or_default(),
        entrypoint: a.entrypoint.as_ref().map(|e| vec![e.clone()]),
        labels: labels(&a.label),
        stop_signal: a.stop_signal.clone(),
        stop_timeout: a.stop_timeout,
        ..Default::default()
    })
}

/// The image's defaults in the bundle's terms.
pub(crate) fn image_defaults(cfg: &oci_spec::image::ImageConfiguration) -> ImageDefaults {
    let Some(c) = cfg.config() else { return ImageDefaults::default() };
    ImageDefaults {
        entrypoint: c.entrypoint().clone(),
        cmd: c.cmd().clone(),
        env: c.env().clone().unwrap_or_default(),
        working_dir: c.working_dir().clone().unwrap_or_default(),
        user: c.user().clone().unwrap_or_default(),
        labels: c.labels().clone().map(|l| l.into_iter().collect()).unwrap_or_default(),
        stop_signal: c.stop_signal().clone(),
        exposed_ports: c.exposed_ports().clone().unwrap_or_default(),
    }
}

/// Build and store a new container from the flags; returns its record.
pub(crate) fn create(config: &Config, a: &CreateArgs) -> anyhow::Result<Container> {
    let image = super::image::ensure(config, &a.image, &a.pull)?;
    let id = new_id()?;
    let mut cfg = user_config(a)?;
    bundle::merge_image(&mut cfg, &image_defaults(&image.config), a.entrypoint.is_some());
    cfg.attach_stdout = true;
    cfg.attach_stderr = true;
    cfg.hostname = match (&a.hostname, a.network.as_str()) {
        (Some(h), _) => h.clone(),
        (None, "host") => {
            std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
        }
        (None, _) => id[..12].to_string(),
    };
    let (path, args) = bundle::entrypoint_and_args(&cfg)?;
    let mut c = Container {
        id: id.clone(),
        name: String::new(),
        created: now_rfc3339(),
        path,
        args,
        image: image.id.to_string(),
        config: cfg,
        host_config: host_config(a, &config.runtime_name)?,
        lower_dirs: image.lower_dirs.clone(),
        ..Default::default()
    };
    c.state.status = "created".into();
    c.state.started_at = ZERO_TIME.into();
    c.state.finished_at = ZERO_TIME.into();
    c.mount_points = mount_points(config, &id, a, &image.config)?;
    let layout = Layout::new(config, &id);
    for port in &a.expose {
        let key = if port.contains('/') { port.clone() } else { format!("{port}/tcp") };
        c.config.exposed_ports.insert(key, serde_json::json!({}));
    }
    let made = std::fs::create_dir_all(&layout.dir).with_context(|| format!("create {:?}", layout.dir));
    if let Err(e) = made.and_then(|()| insert_named(config, &mut c, a)) {
        let _ = std::fs::remove_dir_all(&layout.dir);
        if let Err(v) = crate::volume::attach::release(&config.data_root, &id, true) {
            tracing::warn!(error = %v, "release volumes of a container that was not created");
        }
        return Err(e);
    }
    Ok(c)
}

/// The container's mounts with its volumes taken: `-v`, `--mount`,
/// `--volumes-from` (that container's mount points) and the image's
/// `Volumes` not covered by those or by `--tmpfs`.
fn mount_points(
    config: &Config,
    id: &str,
    a: &CreateArgs,
    image: &oci_spec::image::ImageConfiguration,
) -> anyhow::Result<Vec<crate::volume::spec::MountPoint>> {
    let image_volumes: Vec<String> = image.config().as_ref().and_then(|c| c.volumes().clone()).unwrap_or_default();
    let store = Store::open(&config.data_root)?;
    let mut from = |name: &str| store.lookup(name).map(|c| c.mount_points).map_err(|e| e.to_string());
    Ok(crate::volume::attach::prepare(&config.data_root, id, &a.mounts, &image_volumes, &a.tmpfs, &mut from)?)
}

/// The network request of the flags; `container:NAME` resolved to the id.
fn network_request(store: &Store, a: &CreateArgs) -> anyhow::Result<network::container::Request> {
    let mode = match a.network.strip_prefix("container:") {
        Some(other) => format!("container:{}", store.resolve(other)?),
        None => a.network.clone(),
    };
    let ip = a.ip.as_deref().map(network::ipam::parse_ip).transpose()?;
    let mac = match a.mac_address.as_deref() {
        Some(m) => Some(network::ipam::parse_mac(m).ok_or_else(|| anyhow::anyhow!("{m} is not a valid mac address"))?),
        None => None,
    };
    Ok(network::container::Request {
        mode,
        ip,
        aliases: a.network_alias.clone(),
        publish: a.publish.clone(),
        publish_all: a.publish_all,
        dns: a.dns.clone(),
        dns_search: a.dns_search.clone(),
        dns_options: a.dns_option.clone(),
        extra_hosts: a.add_host.clone(),
        mac,
    })
}

/// Insert with the given name, or a random free `adjective_surname`; the
/// network's leases and ports are taken in the same transaction.
fn insert_named(config: &Config, c: &mut Container, a: &CreateArgs) -> anyhow::Result<()> {
    let name = a.name.as_deref();
    let mut store = Store::open(&config.data_root)?;
    let req = network_request(&store, a)?;
    let exposed: Vec<String> = c.config.exposed_ports.keys().cloned().collect();
    let insert = |store: &mut Store, c: &Container| {
        let who = network::container::Identity { id: &c.id, name: &c.name, hostname: &c.config.hostname };
        store.insert_with(c, &|tx| Ok(network::container::allocate(tx, who, &req, &exposed)?))
    };
    if let Some(n) = name {
        let n = n.strip_prefix('/').unwrap_or(n);
        if !is_valid_name(n) {
            anyhow::bail!("Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }
        c.name = n.to_string();
        return Ok(insert(&mut store, c)?);
    }
    // docker's candidates: random names, then the short id; the store's
    // unique name column decides, so parallel runs never share one.
    let mut candidates =
        crate::names::candidates(&c.id).context("pick a random container name")?.into_iter().peekable();
    while let Some(name) = candidates.next() {
        c.name = name;
        match insert(&mut store, c) {
            Err(crate::container::store::StoreError::NameInUse { .. }) if candidates.peek().is_some() => continue,
            other => return Ok(other?),
        }
    }
    anyhow::bail!("no free container name")
}

/// docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn is_valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && n.len() >= 2
}

/// `berthctl create`: print the new container's id.
pub(crate) fn run(config: &Config, a: &CreateArgs) -> anyhow::Result<i32> {
    let c = create(config, a)?;
    println!("{}", c.id);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker_rule() {
        assert!(is_valid_name("web-1.a_b"));
        assert!(!is_valid_name("-web"));
        assert!(!is_valid_name("a"));
        assert!(!is_valid_name("we b"));
    }

    #[test]
    fn ulimit_forms() {
        assert_eq!(parse_ulimit("nofile=1024:2048").unwrap(), Ulimit { name: "nofile".into(), soft: 1024, hard: 2048 });
        assert_eq!(parse_ulimit("nproc=10").unwrap().hard, 10);
        assert!(parse_ulimit("nofile").is_err());
    }
}
