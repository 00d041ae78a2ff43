//! `berthctl info`: docker's `info` layout and field names
//! (`{{.Containers}}`, `{{.Images}}`, `{{.Driver}}`, `{{.CgroupVersion}}`,
//! `{{.DockerRootDir}}`…), with what a daemonless berthctl has in place of a
//! daemon: the store's counts, the OCI runtime it drives, and the host.

mod data;
mod render;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use data::{ClientInfo, Commit, Info, Plugins, RuntimeEntry, Swarm, registry_config, template_data};
use render::render;

use crate::config::Config;
use crate::format;
use crate::host;

#[derive(Debug, clap::Args)]
pub(crate) struct InfoArgs {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long)]
    format: Option<String>,
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
        plugins: Plugins::berthctl(),
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
        swarm: Swarm::inactive(),
        live_restore_enabled: true,
        isolation: String::new(),
        init_binary: init.as_ref().map_or_else(String::new, |p| p.display().to_string()),
        containerd_commit: Commit { id: String::new(), expected: Some(String::new()) },
        runc_commit: Commit { id: commit.clone(), expected: Some(commit) },
        init_commit: Commit { id: init.as_deref().map(init_version).unwrap_or_default(), expected: None },
        security_options: security_options(cgroup_version),
        cdi_spec_dirs: None,
        warnings: (!warnings.is_empty()).then_some(warnings),
        runtime_version: runtime.version,
        run_root_dir: config.runroot.display().to_string(),
        client_info: ClientInfo::berthctl(version),
    })
}

/// docker's default seccomp profile is berthctl's (`container/security.rs`);
/// the cgroup namespace is private on v2, as docker's.
fn security_options(cgroup_version: u32) -> Vec<String> {
    let mut options = vec!["name=seccomp,profile=default".to_string()];
    if cgroup_version == 2 {
        options.push("name=cgroupns".to_string());
    }
    options
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
