//! `berthctl info`: docker's `info` layout and field names
//! (`{{.Containers}}`, `{{.Images}}`, `{{.Driver}}`, `{{.CgroupVersion}}`,
//! `{{.DockerRootDir}}`…), with what a daemonless berthctl has in place of a
//! daemon: the store's counts, the OCI runtime it drives, and the host.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::format::{self, units};
use crate::host;

#[derive(Debug, clap::Args)]
pub(crate) struct InfoArgs {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long)]
    format: Option<String>,
}

/// docker's `Runtimes` entries: `{"runc": {"path": "runc"}}`.
#[derive(Debug, Serialize)]
struct RuntimeEntry {
    path: String,
}

/// `info`'s client part: berthctl is client and engine in one program.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ClientInfo {
    debug: bool,
    version: String,
    os: String,
    arch: String,
    plugins: Vec<String>,
    warnings: Option<Vec<String>>,
}

/// docker's `Plugins`: the volume, network and log drivers berthctl has.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Plugins {
    volume: Vec<&'static str>,
    network: Vec<&'static str>,
    authorization: Option<Vec<String>>,
    log: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct IndexInfo {
    mirrors: Vec<String>,
    name: &'static str,
    official: bool,
    secure: bool,
}

/// docker's `RegistryConfig`: docker.io as the default index; loopback
/// registries are spoken to over plain HTTP (`registry/pull.rs`), as
/// dockerd's default `--insecure-registry 127.0.0.0/8`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct RegistryConfig {
    index_configs: BTreeMap<&'static str, IndexInfo>,
    #[serde(rename = "InsecureRegistryCIDRs")]
    insecure_registry_cidrs: Vec<&'static str>,
    mirrors: Vec<String>,
}

/// docker's `Swarm`: berthctl has no swarm mode.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Swarm {
    #[serde(rename = "NodeID")]
    node_id: String,
    node_addr: String,
    local_node_state: &'static str,
    control_available: bool,
    error: String,
    remote_managers: Option<Vec<String>>,
}

/// docker's `ContainerdCommit`/`RuncCommit`/`InitCommit`.
#[derive(Debug, Serialize)]
struct Commit {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Expected", skip_serializing_if = "Option::is_none")]
    expected: Option<String>,
}

/// The fields of docker's `system.Info`, in its order, each filled with
/// what is true for berthctl; plus `RunRootDir` (berthctl's runtime state;
/// docker has none). What needs a daemon is empty: no containerd, no swarm,
/// no event listeners.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Info {
    #[serde(rename = "ID")]
    id: String,
    containers: u64,
    containers_running: u64,
    containers_paused: u64,
    containers_stopped: u64,
    images: u64,
    driver: String,
    driver_status: Vec<[String; 2]>,
    plugins: Plugins,
    memory_limit: bool,
    swap_limit: bool,
    kernel_memory: bool,
    #[serde(rename = "KernelMemoryTCP")]
    kernel_memory_tcp: bool,
    cpu_cfs_period: bool,
    cpu_cfs_quota: bool,
    #[serde(rename = "CPUShares")]
    cpu_shares: bool,
    #[serde(rename = "CPUSet")]
    cpu_set: bool,
    pids_limit: bool,
    #[serde(rename = "IPv4Forwarding")]
    ipv4_forwarding: bool,
    debug: bool,
    #[serde(rename = "NFd")]
    nfd: usize,
    oom_kill_disable: bool,
    /// berthctl's threads (it has no goroutines).
    #[serde(rename = "NGoroutines")]
    ngoroutines: usize,
    system_time: String,
    logging_driver: String,
    cgroup_driver: String,
    cgroup_version: String,
    #[serde(rename = "NEventsListener")]
    nevents_listener: u64,
    kernel_version: String,
    operating_system: String,
    #[serde(rename = "OSVersion")]
    os_version: String,
    #[serde(rename = "OSType")]
    os_type: String,
    architecture: String,
    index_server_address: &'static str,
    registry_config: RegistryConfig,
    #[serde(rename = "NCPU")]
    ncpu: usize,
    mem_total: u64,
    generic_resources: Option<Vec<String>>,
    docker_root_dir: String,
    http_proxy: String,
    https_proxy: String,
    no_proxy: String,
    name: String,
    labels: Vec<String>,
    experimental_build: bool,
    server_version: String,
    runtimes: BTreeMap<String, RuntimeEntry>,
    default_runtime: String,
    swarm: Swarm,
    /// Containers outlive every berthctl command (there is no daemon to
    /// restart), which is what docker's live restore promises.
    live_restore_enabled: bool,
    isolation: String,
    init_binary: String,
    containerd_commit: Commit,
    runc_commit: Commit,
    init_commit: Commit,
    security_options: Vec<String>,
    /// No Container Device Interface specs: berthctl has no CDI support.
    #[serde(rename = "CDISpecDirs")]
    cdi_spec_dirs: Option<Vec<String>>,
    warnings: Option<Vec<String>>,
    /// The default runtime's version (`info`'s "<runtime> version:" line).
    runtime_version: String,
    run_root_dir: String,
    client_info: ClientInfo,
}

/// docker's Go field names where they differ from the JSON keys
/// (`types.Info`: `CPUCfsPeriod` is tagged `json:"CpuCfsPeriod"`).
const GO_NAMES: &[(&str, &str)] = &[
    ("CpuCfsPeriod", "CPUCfsPeriod"),
    ("CpuCfsQuota", "CPUCfsQuota"),
    ("HttpProxy", "HTTPProxy"),
    ("HttpsProxy", "HTTPSProxy"),
];

/// What a `--format` template runs over: docker's client runs it over the
/// Go struct, so fields go by their Go names (`{{.CPUCfsPeriod}}`), while
/// `json`/`{{json .}}` prints the JSON keys (`"CpuCfsPeriod"`).
fn template_data(format: &str, info: &Info) -> anyhow::Result<serde_json::Value> {
    let mut data = serde_json::to_value(info)?;
    if matches!(format.trim(), "json" | "{{json .}}") {
        return Ok(data);
    }
    if let serde_json::Value::Object(m) = &mut data {
        *m = std::mem::take(m)
            .into_iter()
            .map(|(k, v)| match GO_NAMES.iter().find(|(json, _)| *json == k) {
                Some((_, go)) => (go.to_string(), v),
                None => (k, v),
            })
            .collect();
    }
    Ok(data)
}

/// What the store holds, counted for `info`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub running: u64,
    pub paused: u64,
    pub stopped: u64,
    pub images: u64,
}

pub(crate) fn run(config: &Config, args: &InfoArgs) -> anyhow::Result<i32> {
    let info = collect(config, count(config)?)?;
    let mut out = std::io::stdout().lock();
    match args.format.as_deref() {
        Some(f) if !f.is_empty() => format::print_object(&mut out, "", f, &template_data(f, &info)?)?,
        _ => {
            out.write_all(render(&info).as_bytes())?;
            // docker's client prints the daemon's warnings on stderr, after.
            for w in info.warnings.iter().flatten() {
                eprintln!("{w}");
            }
        }
    }
    Ok(0)
}

/// The store's counts, read from its database. A data root where nothing
/// was ever stored has no `berth.db`: it holds nothing, and `info` does not
/// create one. Containers are counted from their records (docker's `State`,
/// as the container commands last wrote it) the way docker's daemon counts
/// them: paused, else running (restarting included), else stopped.
fn count(config: &Config) -> anyhow::Result<Counts> {
    let path = config.data_root.join("berth.db");
    if !path.exists() {
        return Ok(Counts::default());
    }
    let db = crate::db::Db::open(&path)?;
    let mut counts = Counts { images: crate::image::count(&db)?, ..Counts::default() };
    if !db.has_table("containers")? {
        return Ok(counts);
    }
    let mut st = db.conn().prepare("SELECT id, record FROM containers").map_err(|e| db.err(e))?;
    let records: Vec<(String, String)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).and_then(Iterator::collect).map_err(|e| db.err(e))?;
    for (id, text) in records {
        let record: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("container {id}: record: {e}"))?;
        let state = |k: &str| record["State"][k].as_bool().unwrap_or(false);
        match (state("Paused"), state("Running")) {
            (true, _) => counts.paused += 1,
            (false, true) => counts.running += 1,
            (false, false) => counts.stopped += 1,
        }
    }
    Ok(counts)
}

fn collect(config: &Config, counts: Counts) -> anyhow::Result<Info> {
    let proc = Path::new("/proc");
    let cgroup_root = Path::new("/sys/fs/cgroup");
    let (os, os_version) = host::operating_system(Path::new("/etc/os-release"))?;
    let runtime = host::runtime_version(&config.runtime)?;
    let commit =
        runtime.details.iter().find(|(k, _)| k == "commit").map_or(runtime.version.clone(), |(_, v)| v.clone());
    let cgroup_version = host::cgroup_version(cgroup_root)?;
    let features = host::cgroup_features(cgroup_root, cgroup_version);
    let mut warnings = features.warnings(cgroup_version);
    let ipv4_forwarding = host::ipv4_forwarding(proc);
    if !ipv4_forwarding {
        warnings.push("WARNING: IPv4 forwarding is disabled".to_string());
    }
    let init = crate::container::bundle::find_init();
    let mut security_options = vec!["name=seccomp,profile=default".to_string()];
    if cgroup_version == 2 {
        security_options.push("name=cgroupns".to_string());
    }
    let env = |k: &str| std::env::var(k).or_else(|_| std::env::var(k.to_lowercase())).unwrap_or_default();
    let version = env!("CARGO_PKG_VERSION").to_string();
    Ok(Info {
        id: host::engine_id(Path::new("/etc/machine-id"), proc, &config.data_root),
        containers: counts.running + counts.paused + counts.stopped,
        containers_running: counts.running,
        containers_paused: counts.paused,
        containers_stopped: counts.stopped,
        images: counts.images,
        driver: "overlay2".to_string(),
        driver_status: driver_status(&config.data_root)?,
        plugins: Plugins {
            volume: vec![crate::volume::LOCAL_DRIVER],
            network: vec!["bridge", "host", "macvlan", "null"],
            authorization: None,
            log: vec!["json-file"],
        },
        memory_limit: features.memory_limit,
        swap_limit: features.swap_limit,
        kernel_memory: features.kernel_memory,
        kernel_memory_tcp: features.kernel_memory_tcp,
        cpu_cfs_period: features.cpu_cfs_period,
        cpu_cfs_quota: features.cpu_cfs_quota,
        cpu_shares: features.cpu_shares,
        cpu_set: features.cpuset,
        pids_limit: features.pids_limit,
        ipv4_forwarding,
        debug: false,
        nfd: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
        oom_kill_disable: features.oom_kill_disable,
        ngoroutines: std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count()),
        system_time: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        logging_driver: "json-file".to_string(),
        cgroup_driver: "cgroupfs".to_string(),
        cgroup_version: cgroup_version.to_string(),
        nevents_listener: 0,
        kernel_version: host::kernel_version(proc)?,
        operating_system: os,
        os_version,
        os_type: "linux".to_string(),
        architecture: host::machine().to_string(),
        index_server_address: "https://index.docker.io/v1/",
        registry_config: registry_config(),
        ncpu: host::cpus()?,
        mem_total: host::memory_total(proc)?,
        generic_resources: None,
        docker_root_dir: config.data_root.display().to_string(),
        http_proxy: env("HTTP_PROXY"),
        https_proxy: env("HTTPS_PROXY"),
        no_proxy: env("NO_PROXY"),
        name: host::hostname(proc)?,
        labels: Vec::new(),
        experimental_build: false,
        server_version: version.clone(),
        runtimes: runtimes(config),
        default_runtime: config.runtime_name.clone(),
        swarm: Swarm {
            node_id: String::new(),
            node_addr: String::new(),
            local_node_state: "inactive",
            control_available: false,
            error: String::new(),
            remote_managers: None,
        },
        live_restore_enabled: true,
        isolation: String::new(),
        init_binary: init.as_ref().map_or_else(String::new, |p| p.display().to_string()),
        containerd_commit: Commit { id: String::new(), expected: Some(String::new()) },
        runc_commit: Commit { id: commit.clone(), expected: Some(commit) },
        init_commit: Commit { id: init.as_deref().map(init_version).unwrap_or_default(), expected: None },
        security_options,
        cdi_spec_dirs: None,
        warnings: (!warnings.is_empty()).then_some(warnings),
        runtime_version: runtime.version,
        run_root_dir: config.runroot.display().to_string(),
        client_info: ClientInfo {
            debug: false,
            version,
            os: "linux".to_string(),
            arch: crate::platform_arch().to_string(),
            plugins: Vec::new(),
            warnings: None,
        },
    })
}

/// docker's overlay2 `DriverStatus`: berthctl's snapshots are overlay
/// lower dirs with a per-container upper dir, diffed by walking the upper
/// dir (what docker calls the native diff), as root (no userxattr).
fn driver_status(data_root: &Path) -> anyhow::Result<Vec<[String; 2]>> {
    Ok(vec![
        ["Backing Filesystem".to_string(), host::backing_filesystem(data_root)?.to_string()],
        ["Supports d_type".to_string(), host::supports_d_type(data_root).to_string()],
        ["Native Overlay Diff".to_string(), "true".to_string()],
        ["userxattr".to_string(), "false".to_string()],
    ])
}

fn registry_config() -> RegistryConfig {
    let docker_io = IndexInfo { mirrors: Vec::new(), name: "docker.io", official: true, secure: true };
    RegistryConfig {
        index_configs: BTreeMap::from([("docker.io", docker_io)]),
        insecure_registry_cidrs: vec!["127.0.0.0/8"],
        mirrors: Vec::new(),
    }
}

/// The runtime berthctl drives by default, and the well-known ones found
/// where `--runtime NAME` would find them.
fn runtimes(config: &Config) -> BTreeMap<String, RuntimeEntry> {
    let mut out = BTreeMap::new();
    out.insert(config.runtime_name.clone(), RuntimeEntry { path: config.runtime.display().to_string() });
    for name in ["berth", "crun", "runc", "youki"] {
        if let Ok(path) = crate::config::resolve_runtime(name) {
            out.entry(name.to_string()).or_insert(RuntimeEntry { path: path.display().to_string() });
        }
    }
    out
}

/// `<init> --version`'s version ("tini version 0.19.0" → "0.19.0").
fn init_version(path: &Path) -> String {
    std::process::Command::new(path)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().last().map(str::to_string))
        .unwrap_or_default()
}

/// docker's `prettyPrintInfo` layout (docker/cli `cli/command/system/info.go`).
fn render(i: &Info) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Client:");
    let _ = writeln!(s, " Version:    {}", i.client_info.version);
    let _ = writeln!(s, " Debug Mode: {}", i.client_info.debug);
    let _ = writeln!(s);
    let _ = writeln!(s, "Server:");
    let _ = writeln!(s, " Containers: {}", i.containers);
    let _ = writeln!(s, "  Running: {}", i.containers_running);
    let _ = writeln!(s, "  Paused: {}", i.containers_paused);
    let _ = writeln!(s, "  Stopped: {}", i.containers_stopped);
    let _ = writeln!(s, " Images: {}", i.images);
    let _ = writeln!(s, " Server Version: {}", i.server_version);
    let _ = writeln!(s, " Storage Driver: {}", i.driver);
    for [k, v] in &i.driver_status {
        let _ = writeln!(s, "  {k}: {v}");
    }
    let _ = writeln!(s, " Logging Driver: {}", i.logging_driver);
    let _ = writeln!(s, " Cgroup Driver: {}", i.cgroup_driver);
    let _ = writeln!(s, " Cgroup Version: {}", i.cgroup_version);
    let _ = writeln!(s, " Plugins:");
    let _ = writeln!(s, "  Volume: {}", i.plugins.volume.join(" "));
    let _ = writeln!(s, "  Network: {}", i.plugins.network.join(" "));
    let _ = writeln!(s, "  Log: {}", i.plugins.log.join(" "));
    let _ = writeln!(s, " Swarm: {}", i.swarm.local_node_state);
    let names: Vec<&str> = i.runtimes.keys().map(String::as_str).collect();
    let _ = writeln!(s, " Runtimes: {}", names.join(" "));
    let _ = writeln!(s, " Default Runtime: {}", i.default_runtime);
    let _ = writeln!(s, " Init Binary: {}", i.init_binary);
    let _ = writeln!(s, " {} version: {}", i.default_runtime, i.runtime_version);
    let _ = writeln!(s, " init version: {}", i.init_commit.id);
    let _ = writeln!(s, " Security Options:");
    for o in &i.security_options {
        // "name=seccomp,profile=default" → "seccomp" and "  Profile: default".
        let mut parts = o.split(',').filter_map(|kv| kv.split_once('='));
        if let Some((_, name)) = parts.next() {
            let _ = writeln!(s, "  {name}");
        }
        for (k, v) in parts {
            let _ = writeln!(s, "   {}: {v}", capitalize(k));
        }
    }
    let _ = writeln!(s, " Kernel Version: {}", i.kernel_version);
    let _ = writeln!(s, " Operating System: {}", i.operating_system);
    let _ = writeln!(s, " OSType: {}", i.os_type);
    let _ = writeln!(s, " Architecture: {}", i.architecture);
    let _ = writeln!(s, " CPUs: {}", i.ncpu);
    let _ = writeln!(s, " Total Memory: {}", units::bytes_size(i.mem_total));
    let _ = writeln!(s, " Name: {}", i.name);
    let _ = writeln!(s, " ID: {}", i.id);
    let _ = writeln!(s, " Docker Root Dir: {}", i.docker_root_dir);
    let _ = writeln!(s, " Run Root Dir: {}", i.run_root_dir);
    let _ = writeln!(s, " Debug Mode: {}", i.debug);
    for (label, value) in [("HTTP Proxy", &i.http_proxy), ("HTTPS Proxy", &i.https_proxy), ("No Proxy", &i.no_proxy)] {
        if !value.is_empty() {
            let _ = writeln!(s, " {label}: {value}");
        }
    }
    let _ = writeln!(s, " Experimental: {}", i.experimental_build);
    let _ = writeln!(s, " Insecure Registries:");
    for c in &i.registry_config.insecure_registry_cidrs {
        let _ = writeln!(s, "  {c}");
    }
    let _ = writeln!(s, " Live Restore Enabled: {}", i.live_restore_enabled);
    s
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Info {
        Info {
            id: "0c4fb1f1-5d3e-2a7c-91aa-1b2c3d4e5f60".into(),
            containers: 3,
            containers_running: 1,
            containers_paused: 0,
            containers_stopped: 2,
            images: 5,
            driver: "overlay2".into(),
            driver_status: vec![
                ["Backing Filesystem".into(), "extfs".into()],
                ["Supports d_type".into(), "true".into()],
            ],
            plugins: Plugins {
                volume: vec!["local"],
                network: vec!["bridge", "host", "macvlan", "null"],
                authorization: None,
                log: vec!["json-file"],
            },
            memory_limit: true,
            swap_limit: true,
            kernel_memory: true,
            kernel_memory_tcp: true,
            cpu_cfs_period: true,
            cpu_cfs_quota: true,
            cpu_shares: true,
            cpu_set: true,
            pids_limit: true,
            ipv4_forwarding: true,
            debug: false,
            nfd: 5,
            oom_kill_disable: true,
            ngoroutines: 1,
            system_time: "2026-12-03T05:40:37.495179337Z".into(),
            logging_driver: "json-file".into(),
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: "1".into(),
            nevents_listener: 0,
            kernel_version: "6.1.0".into(),
            operating_system: "Debian GNU/Linux 12 (bookworm)".into(),
            os_version: "12".into(),
            os_type: "linux".into(),
            architecture: "x86_64".into(),
            index_server_address: "https://index.docker.io/v1/",
            registry_config: registry_config(),
            ncpu: 2,
            mem_total: 25_200_000_000,
            generic_resources: None,
            docker_root_dir: "/var/lib/berth".into(),
            http_proxy: String::new(),
            https_proxy: String::new(),
            no_proxy: String::new(),
            name: "host".into(),
            labels: Vec::new(),
            experimental_build: false,
            server_version: "0.1.0".into(),
            runtimes: BTreeMap::from([("berth".to_string(), RuntimeEntry { path: "/usr/bin/berth".into() })]),
            default_runtime: "berth".into(),
            swarm: Swarm {
                node_id: String::new(),
                node_addr: String::new(),
                local_node_state: "inactive",
                control_available: false,
                error: String::new(),
                remote_managers: None,
            },
            live_restore_enabled: true,
            isolation: String::new(),
            init_binary: "/usr/bin/tini-static".into(),
            containerd_commit: Commit { id: String::new(), expected: Some(String::new()) },
            runc_commit: Commit { id: "0.1.0".into(), expected: Some("0.1.0".into()) },
            init_commit: Commit { id: "0.19.0".into(), expected: None },
            security_options: vec!["name=seccomp,profile=default".into()],
            cdi_spec_dirs: None,
            warnings: None,
            runtime_version: "0.1.0".into(),
            run_root_dir: "/run/berthctl".into(),
            client_info: ClientInfo {
                debug: false,
                version: "0.1.0".into(),
                os: "linux".into(),
                arch: "amd64".into(),
                plugins: Vec::new(),
                warnings: None,
            },
        }
    }

    #[test]
    fn containers_are_counted_by_their_recorded_state() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::new(dir.path(), &dir.path().join("run"), "/bin/sh").unwrap();
        assert_eq!(count(&config).unwrap(), Counts::default());
        assert!(!dir.path().join("berth.db").exists(), "counting created the database");
        let db = crate::db::Db::open(&dir.path().join("berth.db")).unwrap();
        // The containers' table as the container commands create it.
        db.conn()
            .execute_batch("CREATE TABLE IF NOT EXISTS containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, record TEXT NOT NULL)")
            .unwrap();
        for (id, running, paused) in [("a", true, false), ("b", true, true), ("c", false, false), ("d", false, false)] {
            let record = serde_json::json!({"Id": id, "State": {"Running": running, "Paused": paused}});
            db.conn()
                .execute("INSERT INTO containers (id, name, record) VALUES (?1, ?1, ?2)", [id, &record.to_string()])
                .unwrap();
        }
        assert_eq!(count(&config).unwrap(), Counts { running: 1, paused: 1, stopped: 2, images: 0 });
    }

    #[test]
    fn text_layout_follows_docker() {
        let text = render(&sample());
        assert!(text.starts_with("Client:\n Version:    0.1.0\n Debug Mode: false\n\nServer:\n Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 5\n"), "{text}");
        assert!(
            text.contains(
                " Plugins:\n  Volume: local\n  Network: bridge host macvlan null\n  Log: json-file\n Swarm: inactive\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(" Security Options:\n  seccomp\n   Profile: default\n Kernel Version: 6.1.0\n"),
            "{text}"
        );
        assert!(text.contains(" Insecure Registries:\n  127.0.0.0/8\n Live Restore Enabled: true\n"), "{text}");
        assert!(text.contains(" Storage Driver: overlay2\n  Backing Filesystem: extfs\n"), "{text}");
        assert!(text.contains(" Total Memory: 23.47GiB\n"), "{text}");
        assert!(text.contains(" Cgroup Version: 1\n"), "{text}");
    }

    #[test]
    fn template_fields_have_dockers_names() {
        let mut out = Vec::new();
        let data = serde_json::to_value(sample()).unwrap();
        let tpl = "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.Driver}} {{.NCPU}} {{.OSType}} {{.DockerRootDir}} {{.CgroupVersion}} {{(index .Runtimes \"berth\").path}}";
        format::print_object(&mut out, "", tpl, &data).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "3 1 5 overlay2 2 linux /var/lib/berth 1 /usr/bin/berth\n");
    }

    #[test]
    fn templates_see_go_names_and_json_sees_json_keys() {
        let data = template_data("{{.CPUCfsPeriod}}", &sample()).unwrap();
        assert_eq!((data.get("CPUCfsPeriod"), data.get("CpuCfsPeriod")), (Some(&serde_json::json!(true)), None));
        assert!(data.get("HTTPSProxy").is_some());
        let data = template_data("{{json .}}", &sample()).unwrap();
        assert!(data.get("CpuCfsQuota").is_some() && data.get("CPUCfsQuota").is_none());
    }

    #[test]
    fn json_keys_follow_dockers_order() {
        let v = serde_json::to_value(sample()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        // docker 20.10's `info --format '{{json .}}'`, in its order.
        let docker = [
            "ID",
            "Containers",
            "ContainersRunning",
            "ContainersPaused",
            "ContainersStopped",
            "Images",
            "Driver",
            "DriverStatus",
            "Plugins",
            "MemoryLimit",
            "SwapLimit",
            "KernelMemory",
            "KernelMemoryTCP",
            "CpuCfsPeriod",
            "CpuCfsQuota",
            "CPUShares",
            "CPUSet",
            "PidsLimit",
            "IPv4Forwarding",
            "Debug",
            "NFd",
            "OomKillDisable",
            "NGoroutines",
            "SystemTime",
            "LoggingDriver",
            "CgroupDriver",
            "CgroupVersion",
            "NEventsListener",
            "KernelVersion",
            "OperatingSystem",
            "OSVersion",
            "OSType",
            "Architecture",
            "IndexServerAddress",
            "RegistryConfig",
            "NCPU",
            "MemTotal",
            "GenericResources",
            "DockerRootDir",
            "HttpProxy",
            "HttpsProxy",
            "NoProxy",
            "Name",
            "Labels",
            "ExperimentalBuild",
            "ServerVersion",
            "Runtimes",
            "DefaultRuntime",
            "Swarm",
            "LiveRestoreEnabled",
            "Isolation",
            "InitBinary",
            "ContainerdCommit",
            "RuncCommit",
            "InitCommit",
            "SecurityOptions",
            "CDISpecDirs",
            "Warnings",
        ];
        assert_eq!(&keys[..docker.len()], docker);
        assert_eq!(&keys[docker.len()..], ["RuntimeVersion", "RunRootDir", "ClientInfo"]);
        assert_eq!(v["RegistryConfig"]["InsecureRegistryCIDRs"][0], "127.0.0.0/8");
        assert_eq!(v["Swarm"]["LocalNodeState"], "inactive");
        assert_eq!(v["RuncCommit"]["ID"], "0.1.0");
    }
}
