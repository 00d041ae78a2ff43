//! `info`'s data: docker's `system.Info` fields in docker's order, and
//! what a `--format` template sees (docker's Go field names).

use std::collections::BTreeMap;

use serde::Serialize;

/// docker's `Runtimes` entries: `{"runc": {"path": "runc"}}`.
#[derive(Debug, Serialize)]
pub(crate) struct RuntimeEntry {
    pub(crate) path: String,
}

/// `info`'s client part: berthctl is client and engine in one program.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ClientInfo {
    pub(crate) debug: bool,
    pub(crate) version: String,
    pub(crate) os: String,
    pub(crate) arch: String,
    pub(crate) plugins: Vec<String>,
    pub(crate) warnings: Option<Vec<String>>,
}

/// docker's `Plugins`: the volume, network and log drivers berthctl has.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Plugins {
    pub(crate) volume: Vec<&'static str>,
    pub(crate) network: Vec<&'static str>,
    pub(crate) authorization: Option<Vec<String>>,
    pub(crate) log: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct IndexInfo {
    pub(crate) mirrors: Vec<String>,
    pub(crate) name: &'static str,
    pub(crate) official: bool,
    pub(crate) secure: bool,
}

/// docker's `RegistryConfig`: docker.io as the default index; loopback
/// registries are spoken to over plain HTTP (`registry/pull.rs`), as
/// dockerd's default `--insecure-registry 127.0.0.0/8`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RegistryConfig {
    pub(crate) index_configs: BTreeMap<&'static str, IndexInfo>,
    #[serde(rename = "InsecureRegistryCIDRs")]
    pub(crate) insecure_registry_cidrs: Vec<&'static str>,
    pub(crate) mirrors: Vec<String>,
}

/// docker's `Swarm`: berthctl has no swarm mode.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Swarm {
    #[serde(rename = "NodeID")]
    pub(crate) node_id: String,
    pub(crate) node_addr: String,
    pub(crate) local_node_state: &'static str,
    pub(crate) control_available: bool,
    pub(crate) error: String,
    pub(crate) remote_managers: Option<Vec<String>>,
}

/// docker's `ContainerdCommit`/`RuncCommit`/`InitCommit`.
#[derive(Debug, Serialize)]
pub(crate) struct Commit {
    #[serde(rename = "ID")]
    pub(crate) id: String,
    #[serde(rename = "Expected", skip_serializing_if = "Option::is_none")]
    pub(crate) expected: Option<String>,
}

/// The fields of docker's `system.Info`, in its order, each filled with
/// what is true for berthctl; plus `RunRootDir` (berthctl's runtime state;
/// docker has none). What needs a daemon is empty: no containerd, no swarm,
/// no event listeners.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Info {
    #[serde(rename = "ID")]
    pub(crate) id: String,
    pub(crate) containers: u64,
    pub(crate) containers_running: u64,
    pub(crate) containers_paused: u64,
    pub(crate) containers_stopped: u64,
    pub(crate) images: u64,
    pub(crate) driver: String,
    pub(crate) driver_status: Vec<[String; 2]>,
    pub(crate) plugins: Plugins,
    pub(crate) memory_limit: bool,
    pub(crate) swap_limit: bool,
    pub(crate) kernel_memory: bool,
    #[serde(rename = "KernelMemoryTCP")]
    pub(crate) kernel_memory_tcp: bool,
    pub(crate) cpu_cfs_period: bool,
    pub(crate) cpu_cfs_quota: bool,
    #[serde(rename = "CPUShares")]
    pub(crate) cpu_shares: bool,
    #[serde(rename = "CPUSet")]
    pub(crate) cpu_set: bool,
    pub(crate) pids_limit: bool,
    #[serde(rename = "IPv4Forwarding")]
    pub(crate) ipv4_forwarding: bool,
    pub(crate) debug: bool,
    #[serde(rename = "NFd")]
    pub(crate) nfd: usize,
    pub(crate) oom_kill_disable: bool,
    /// berthctl's threads (it has no goroutines).
    #[serde(rename = "NGoroutines")]
    pub(crate) ngoroutines: usize,
    pub(crate) system_time: String,
    pub(crate) logging_driver: String,
    pub(crate) cgroup_driver: String,
    pub(crate) cgroup_version: String,
    #[serde(rename = "NEventsListener")]
    pub(crate) nevents_listener: u64,
    pub(crate) kernel_version: String,
    pub(crate) operating_system: String,
    #[serde(rename = "OSVersion")]
    pub(crate) os_version: String,
    #[serde(rename = "OSType")]
    pub(crate) os_type: String,
    pub(crate) architecture: String,
    pub(crate) index_server_address: &'static str,
    pub(crate) registry_config: RegistryConfig,
    #[serde(rename = "NCPU")]
    pub(crate) ncpu: usize,
    pub(crate) mem_total: u64,
    pub(crate) generic_resources: Option<Vec<String>>,
    pub(crate) docker_root_dir: String,
    pub(crate) http_proxy: String,
    pub(crate) https_proxy: String,
    pub(crate) no_proxy: String,
    pub(crate) name: String,
    pub(crate) labels: Vec<String>,
    pub(crate) experimental_build: bool,
    pub(crate) server_version: String,
    pub(crate) runtimes: BTreeMap<String, RuntimeEntry>,
    pub(crate) default_runtime: String,
    pub(crate) swarm: Swarm,
    /// Containers outlive every berthctl command (there is no daemon to
    /// restart), which is what docker's live restore promises.
    pub(crate) live_restore_enabled: bool,
    pub(crate) isolation: String,
    pub(crate) init_binary: String,
    pub(crate) containerd_commit: Commit,
    pub(crate) runc_commit: Commit,
    pub(crate) init_commit: Commit,
    pub(crate) security_options: Vec<String>,
    /// No Container Device Interface specs: berthctl has no CDI support.
    #[serde(rename = "CDISpecDirs")]
    pub(crate) cdi_spec_dirs: Option<Vec<String>>,
    pub(crate) warnings: Option<Vec<String>>,
    /// The default runtime's version (`info`'s "<runtime> version:" line).
    pub(crate) runtime_version: String,
    pub(crate) run_root_dir: String,
    pub(crate) client_info: ClientInfo,
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
pub(crate) fn template_data(format: &str, info: &Info) -> anyhow::Result<serde_json::Value> {
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

impl ClientInfo {
    pub(crate) fn berthctl(version: String) -> ClientInfo {
        let (os, arch) = ("linux".to_string(), crate::platform_arch().to_string());
        ClientInfo { debug: false, version, os, arch, plugins: Vec::new(), warnings: None }
    }
}

impl Plugins {
    /// The volume, network (docker's `null` is `none`) and log drivers.
    pub(crate) fn berthctl() -> Plugins {
        Plugins {
            volume: vec![crate::volume::LOCAL_DRIVER],
            network: vec!["bridge", "host", "macvlan", "null"],
            authorization: None,
            log: vec!["json-file"],
        }
    }
}

impl Swarm {
    pub(crate) fn inactive() -> Swarm {
        Swarm {
            node_id: String::new(),
            node_addr: String::new(),
            local_node_state: "inactive",
            control_available: false,
            error: String::new(),
            remote_managers: None,
        }
    }
}

pub(crate) fn registry_config() -> RegistryConfig {
    let docker_io = IndexInfo { mirrors: Vec::new(), name: "docker.io", official: true, secure: true };
    RegistryConfig {
        index_configs: BTreeMap::from([("docker.io", docker_io)]),
        insecure_registry_cidrs: vec!["127.0.0.0/8"],
        mirrors: Vec::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Info {
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
            plugins: Plugins::berthctl(),
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
            swarm: Swarm::inactive(),
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
            client_info: ClientInfo::berthctl("0.1.0".into()),
        }
    }

    #[test]
    fn template_fields_have_dockers_names() {
        let mut out = Vec::new();
        let data = serde_json::to_value(sample()).unwrap();
        let tpl = "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.Driver}} {{.NCPU}} {{.OSType}} {{.DockerRootDir}} {{.CgroupVersion}} {{(index .Runtimes \"berth\").path}}";
        crate::format::print_object(&mut out, "", tpl, &data).unwrap();
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
