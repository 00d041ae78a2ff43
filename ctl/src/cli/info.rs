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

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ClientInfo {
    version: String,
}

/// The fields docker's `system.Info` has and berthctl can fill, in docker's
/// order, plus `RunRootDir` (berthctl's runtime state; docker has none).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Info {
    containers: u64,
    containers_running: u64,
    containers_paused: u64,
    containers_stopped: u64,
    images: u64,
    driver: String,
    driver_status: Vec<[String; 2]>,
    logging_driver: String,
    cgroup_driver: String,
    cgroup_version: String,
    #[serde(rename = "KernelVersion")]
    kernel_version: String,
    operating_system: String,
    #[serde(rename = "OSVersion")]
    os_version: String,
    #[serde(rename = "OSType")]
    os_type: String,
    architecture: String,
    #[serde(rename = "NCPU")]
    ncpu: usize,
    mem_total: u64,
    docker_root_dir: String,
    name: String,
    server_version: String,
    runtimes: BTreeMap<String, RuntimeEntry>,
    default_runtime: String,
    /// The default runtime's `--version` (docker shows runc's commit).
    runtime_version: String,
    run_root_dir: String,
    client_info: ClientInfo,
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
        Some(f) if !f.is_empty() => format::print_object(&mut out, "", f, &serde_json::to_value(&info)?)?,
        _ => out.write_all(render(&info).as_bytes())?,
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
    let (os, os_version) = host::operating_system(Path::new("/etc/os-release"))?;
    let runtime = host::runtime_version(&config.runtime)?;
    let mut runtimes = BTreeMap::new();
    runtimes.insert(config.runtime_name.clone(), RuntimeEntry { path: config.runtime.display().to_string() });
    Ok(Info {
        containers: counts.running + counts.paused + counts.stopped,
        containers_running: counts.running,
        containers_paused: counts.paused,
        containers_stopped: counts.stopped,
        images: counts.images,
        driver: "overlay2".to_string(),
        driver_status: vec![[
            "Backing Filesystem".to_string(),
            host::backing_filesystem(&config.data_root)?.to_string(),
        ]],
        logging_driver: "json-file".to_string(),
        cgroup_driver: "cgroupfs".to_string(),
        cgroup_version: host::cgroup_version(Path::new("/sys/fs/cgroup"))?.to_string(),
        kernel_version: host::kernel_version(proc)?,
        operating_system: os,
        os_version,
        os_type: "linux".to_string(),
        architecture: host::machine().to_string(),
        ncpu: host::cpus()?,
        mem_total: host::memory_total(proc)?,
        docker_root_dir: config.data_root.display().to_string(),
        name: host::hostname(proc)?,
        server_version: env!("CARGO_PKG_VERSION").to_string(),
        runtimes,
        default_runtime: config.runtime_name.clone(),
        runtime_version: runtime.version,
        run_root_dir: config.runroot.display().to_string(),
        client_info: ClientInfo { version: env!("CARGO_PKG_VERSION").to_string() },
    })
}

/// docker's `prettyPrintInfo` layout, for the fields berthctl has.
fn render(i: &Info) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Client:");
    let _ = writeln!(s, " Version:    {}", i.client_info.version);
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
    let names: Vec<&str> = i.runtimes.keys().map(String::as_str).collect();
    let _ = writeln!(s, " Runtimes: {}", names.join(" "));
    let _ = writeln!(s, " Default Runtime: {}", i.default_runtime);
    let _ = writeln!(s, " {} version: {}", i.default_runtime, i.runtime_version);
    let _ = writeln!(s, " Kernel Version: {}", i.kernel_version);
    let _ = writeln!(s, " Operating System: {}", i.operating_system);
    let _ = writeln!(s, " OSType: {}", i.os_type);
    let _ = writeln!(s, " Architecture: {}", i.architecture);
    let _ = writeln!(s, " CPUs: {}", i.ncpu);
    let _ = writeln!(s, " Total Memory: {}", units::bytes_size(i.mem_total));
    let _ = writeln!(s, " Name: {}", i.name);
    let _ = writeln!(s, " Docker Root Dir: {}", i.docker_root_dir);
    let _ = writeln!(s, " Run Root Dir: {}", i.run_root_dir);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Info {
        Info {
            containers: 3,
            containers_running: 1,
            containers_paused: 0,
            containers_stopped: 2,
            images: 5,
            driver: "overlay2".into(),
            driver_status: vec![["Backing Filesystem".into(), "extfs".into()]],
            logging_driver: "json-file".into(),
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: "1".into(),
            kernel_version: "6.1.0".into(),
            operating_system: "Debian GNU/Linux 12 (bookworm)".into(),
            os_version: "12".into(),
            os_type: "linux".into(),
            architecture: "x86_64".into(),
            ncpu: 2,
            mem_total: 25_200_000_000,
            docker_root_dir: "/var/lib/berth".into(),
            name: "host".into(),
            server_version: "0.1.0".into(),
            runtimes: BTreeMap::from([("berth".to_string(), RuntimeEntry { path: "/usr/bin/berth".into() })]),
            default_runtime: "berth".into(),
            runtime_version: "0.1.0".into(),
            run_root_dir: "/run/berthctl".into(),
            client_info: ClientInfo { version: "0.1.0".into() },
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
        assert!(text.starts_with("Client:\n Version:    0.1.0\n\nServer:\n Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 5\n"), "{text}");
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
}
