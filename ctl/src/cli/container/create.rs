//! `create` (and the options `run` shares): docker's flags turned into a
//! container record, the image's config merged in as docker's daemon does,
//! the record inserted with a unique name, the image held.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::Context;

use crate::config::Config;
use crate::container::health::{self, HealthConfig};
use crate::container::imageconfig::{self, ImageDefaults};
use crate::container::record::{Container, ContainerConfig, HostConfig, LogConfig, ZERO_TIME, swap_in_force};
use crate::container::store::Store;
use crate::container::{Layout, now_rfc3339};
use crate::network;
use crate::supervisor::{logfile, restart};

pub(crate) use super::create_flags::CreateArgs;
use super::values::{
    blkio_weight, check_cpus, check_memory_reservation, check_oom_score_adj, check_swappiness, parse_bytes,
    parse_device, parse_memory_swap, parse_sysctl, parse_ulimit,
};

/// docker's `Healthcheck` of the flags (its client's checks).
fn health_flags(a: &CreateArgs) -> Result<Option<HealthConfig>, health::HealthError> {
    health::from_flags(&health::HealthFlags {
        cmd: a.health_cmd.clone(),
        interval: a.health_interval,
        timeout: a.health_timeout,
        start_period: a.health_start_period,
        retries: a.health_retries,
        none: a.no_healthcheck,
    })
}

/// A new container id: 32 random bytes in hex, as docker's.
fn new_id() -> anyhow::Result<String> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).context("read /dev/urandom")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// docker's env-file format: KEY=VALUE lines, `#` comments, a bare KEY
/// takes the value from our environment (and is dropped when unset).
pub(crate) fn read_env_file(path: &str) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("open env file {path}"))?;
    Ok(text
        .lines()
        .map(|l| l.trim_start())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(expand_env)
        .collect())
}

pub(crate) fn expand_env(e: &str) -> Option<String> {
    if e.contains('=') {
        return Some(e.to_string());
    }
    std::env::var(e).ok().map(|v| format!("{e}={v}"))
}

fn labels(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| l.split_once('=').map_or((l.clone(), String::new()), |(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// The streams a foreground container is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// `-a STREAM`…: only those; without, stdout and stderr (and stdin with -i).
pub(crate) fn attach_streams(a: &CreateArgs) -> anyhow::Result<Streams> {
    if a.attach.is_empty() {
        return Ok(Streams { stdin: a.interactive, stdout: true, stderr: true });
    }
    let mut s = Streams { stdin: false, stdout: false, stderr: false };
    for name in &a.attach {
        match name.to_ascii_lowercase().as_str() {
            "stdin" => s.stdin = true,
            "stdout" => s.stdout = true,
            "stderr" => s.stderr = true,
            _ => anyhow::bail!(
                "invalid argument {name:?} for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
            ),
        }
    }
    Ok(s)
}

/// `--pid`, `--ipc`, `--uts`, `--cgroupns`, `--userns`, checked as docker does.
struct NamespaceModes {
    pid: String,
    ipc: String,
    uts: String,
    cgroupns: String,
    userns: String,
}

fn namespace_modes(a: &CreateArgs) -> anyhow::Result<NamespaceModes> {
    let joinable = |m: &str| m.strip_prefix("container:").is_some_and(|c| !c.is_empty());
    let pid = a.pid.clone().unwrap_or_default();
    if !(pid.is_empty() || pid == "host" || joinable(&pid)) {
        anyhow::bail!("--pid: invalid PID mode");
    }
    let ipc = a.ipc.clone().unwrap_or_else(|| "private".into());
    if !(["", "private", "shareable", "none", "host"].contains(&ipc.as_str()) || joinable(&ipc)) {
        anyhow::bail!("--ipc: invalid IPC mode");
    }
    let uts = a.uts.clone().unwrap_or_default();
    if !(uts.is_empty() || uts == "host") {
        anyhow::bail!("--uts: invalid UTS mode");
    }
    if uts == "host" && a.hostname.is_some() {
        anyhow::bail!("Conflicting options: hostname and the UTS mode");
    }
    let default_cgroupns = if crate::container::is_cgroup_v2() { "private" } else { "host" };
    let cgroupns = a.cgroupns.clone().unwrap_or_else(|| default_cgroupns.into());
    if !(cgroupns == "host" || cgroupns == "private") {
        anyhow::bail!("--cgroupns: invalid CGROUP mode");
    }
    let userns = a.userns.clone().unwrap_or_default();
    if !(userns.is_empty() || userns == "host") {
        anyhow::bail!("--userns: invalid USER mode");
    }
    Ok(NamespaceModes { pid, ipc, uts, cgroupns, userns })
}

fn memory_reservation(a: &CreateArgs, memory: i64) -> anyhow::Result<i64> {
    let Some(r) = a.memory_reservation.as_deref() else { return Ok(0) };
    let r = parse_bytes("--memory-reservation", r)?;
    check_memory_reservation(r, memory)?;
    Ok(r)
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
    check_cpus(a.cpus)?;
    if a.network == "host" && (!a.publish.is_empty() || a.publish_all) {
        eprintln!("WARNING: Published ports are discarded when using host network mode");
    }
    if let Some(sig) = a.stop_signal.as_deref() {
        crate::build::step::check_signal(sig).map_err(|_| anyhow::anyhow!("Invalid signal: {sig}"))?;
    }
    if let Some(k) = a.kernel_memory.as_deref() {
        parse_bytes("--kernel-memory", k)?;
        eprintln!("WARNING: Specifying a kernel memory limit is deprecated and will be removed in a future release.");
    }
    if a.oom_kill_disable && memory == 0 {
        eprintln!(
            "WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources."
        );
    }
    // docker's daemon: swap defaults to twice the memory, and records so.
    let memory_swap = swap_in_force(memory, parse_memory_swap(a.memory_swap.as_deref())?);
    let tmpfs = a
        .tmpfs
        .iter()
        .map(|t| t.split_once(':').map_or((t.clone(), String::new()), |(d, o)| (d.to_string(), o.to_string())))
        .collect();
    let ns = namespace_modes(a)?;
    Ok(HostConfig {
        devices: a.device.iter().map(|d| parse_device(d)).collect::<Result<_, _>>()?,
        group_add: a.group_add.clone(),
        sysctls: a.sysctl.iter().map(|s| parse_sysctl(s)).collect::<Result<_, _>>()?,
        pid_mode: ns.pid,
        ipc_mode: ns.ipc,
        uts_mode: ns.uts,
        cgroupns_mode: ns.cgroupns,
        userns_mode: ns.userns,
        oom_score_adj: check_oom_score_adj(a.oom_score_adj)?,
        oom_kill_disable: Some(a.oom_kill_disable),
        memory_reservation: memory_reservation(a, memory)?,
        memory_swappiness: check_swappiness(a.memory_swappiness)?,
        blkio_weight: blkio_weight(a.blkio_weight)?,
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
        cgroup_parent: a.cgroup_parent.clone().unwrap_or_default(),
        ..Default::default()
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
        domainname: a.domainname.clone().unwrap_or_default(),
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
    // docker's client checks the health flags before it asks for the image.
    let user_health = health_flags(a)?;
    let image = super::image::ensure(config, &a.image, &a.pull)?;
    let id = new_id()?;
    let mut cfg = user_config(a)?;
    imageconfig::merge_image(&mut cfg, &image_defaults(&image.config), a.entrypoint.is_some());
    cfg.healthcheck = health::merge(user_health, health::of_image(&image.config_raw));
    if let Some(h) = &cfg.healthcheck {
        health::check(h)?;
    }
    let streams = attach_streams(a)?;
    (cfg.attach_stdin, cfg.attach_stdout, cfg.attach_stderr) = (streams.stdin, streams.stdout, streams.stderr);
    // docker: the host's name with the host's network; with only `--uts
    // host` the name recorded (and HOSTNAME) is still the short id.
    cfg.hostname = match (&a.hostname, a.network == "host") {
        (Some(h), _) => h.clone(),
        (None, true) => {
            std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
        }
        (None, false) => id[..12].to_string(),
    };
    let (path, args) = imageconfig::entrypoint_and_args(&cfg)?;
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
    let c = match create(config, a) {
        Ok(c) => c,
        // docker's `create` exits 1 for what its daemon refuses (`run` 125).
        Err(e) if matches!(e.downcast_ref::<health::HealthError>(), Some(health::HealthError::Daemon(_))) => {
            eprintln!("Error response from daemon: {e}");
            return Ok(1);
        }
        Err(e) => return Err(e),
    };
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

    #[derive(clap::Parser)]
    #[command(disable_help_flag = true)]
    struct T {
        #[command(flatten)]
        a: CreateArgs,
    }

    fn args(list: &[&str]) -> CreateArgs {
        use clap::Parser;
        T::try_parse_from(std::iter::once("t").chain(list.iter().copied()).chain(["busybox"])).unwrap().a
    }

    #[test]
    fn namespace_modes_are_checked_as_docker_does() {
        let m = namespace_modes(&args(&[])).unwrap();
        assert_eq!((m.pid.as_str(), m.ipc.as_str(), m.uts.as_str()), ("", "private", ""));
        let m = namespace_modes(&args(&["--pid", "container:web", "--ipc", "host", "--cgroupns", "private"])).unwrap();
        assert_eq!((m.pid.as_str(), m.ipc.as_str(), m.cgroupns.as_str()), ("container:web", "host", "private"));
        for (flags, want) in [
            (&["--pid", "bogus"][..], "--pid: invalid PID mode"),
            (&["--pid", "container:"][..], "--pid: invalid PID mode"),
            (&["--ipc", "bogus"][..], "--ipc: invalid IPC mode"),
            (&["--uts", "bogus"][..], "--uts: invalid UTS mode"),
            (&["--uts", "host", "-h", "x"][..], "Conflicting options: hostname and the UTS mode"),
            (&["--cgroupns", "bogus"][..], "--cgroupns: invalid CGROUP mode"),
            (&["--userns", "bogus"][..], "--userns: invalid USER mode"),
        ] {
            assert_eq!(namespace_modes(&args(flags)).err().map(|e| e.to_string()).as_deref(), Some(want), "{flags:?}");
        }
    }

    #[test]
    fn reservation_and_kernel_memory_are_checked_as_docker_does() {
        assert!(memory_reservation(&args(&["--memory-reservation", "1m"]), 0).is_err());
        assert!(memory_reservation(&args(&["--memory-reservation", "20m"]), 10 << 20).is_err());
        assert_eq!(memory_reservation(&args(&["--memory-reservation", "10m"]), 0).unwrap(), 10 << 20);
        let e = host_config(&args(&["--kernel-memory", "lots"]), "berth").unwrap_err().to_string();
        assert_eq!(e, "invalid argument \"lots\" for \"--kernel-memory\" flag: invalid size");
    }

    #[test]
    fn attach_streams_follow_a_flags() {
        let s = attach_streams(&args(&["-i"])).unwrap();
        assert_eq!((s.stdin, s.stdout, s.stderr), (true, true, true));
        let s = attach_streams(&args(&["-a", "STDERR"])).unwrap();
        assert_eq!((s.stdin, s.stdout, s.stderr), (false, false, true));
        assert!(attach_streams(&args(&["-a", "foo"])).unwrap_err().to_string().contains("valid streams are"));
    }
}
