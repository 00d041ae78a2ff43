//! A container as the store keeps it, in docker's field names so that
//! `inspect` shows docker's JSON shape: Config (what the image and the flags
//! asked for), HostConfig (resources, policies, runtime), State (what happened).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// docker's `Config`: what runs and how it looks from inside.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContainerConfig {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Vec<String>,
    pub cmd: Option<Vec<String>>,
    /// docker's `Healthcheck`: the flags merged over the image's HEALTHCHECK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<super::health::HealthConfig>,
    pub image: String,
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<i64>,
    #[serde(default)]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
}

/// docker's `RestartPolicy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RestartPolicy {
    /// "no" (docker shows ""), "always", "unless-stopped", "on-failure".
    pub name: String,
    pub maximum_retry_count: u32,
}

/// docker's `LogConfig`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LogConfig {
    /// "json-file" or "none".
    #[serde(rename = "Type")]
    pub kind: String,
    pub config: BTreeMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { kind: "json-file".into(), config: BTreeMap::new() }
    }
}

/// One `--ulimit` as docker shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// The memory plus swap limit in force: docker's default, twice the memory,
/// where a memory limit came without a swap limit (0); -1 is unlimited.
pub(crate) fn swap_in_force(memory: i64, memory_swap: i64) -> i64 {
    if memory > 0 && memory_swap == 0 { memory * 2 } else { memory_swap }
}

/// docker's `HostConfig`: resources, security, policies, the runtime.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HostConfig {
    pub runtime: String,
    pub auto_remove: bool,
    pub restart_policy: RestartPolicy,
    pub log_config: LogConfig,
    pub network_mode: String,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub init: Option<bool>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub memory: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub cpuset_cpus: String,
    pub pids_limit: Option<i64>,
    pub ulimits: Vec<Ulimit>,
    pub shm_size: i64,
    pub tmpfs: BTreeMap<String, String>,
    #[serde(default)]
    pub devices: Vec<DeviceMapping>,
    #[serde(default)]
    pub group_add: Vec<String>,
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// "" (private), "host" or "container:<id>".
    #[serde(default)]
    pub pid_mode: String,
    /// "private", "shareable", "none", "host" or "container:<id>".
    #[serde(default)]
    pub ipc_mode: String,
    #[serde(default, rename = "UTSMode")]
    pub uts_mode: String,
    /// "host" or "private"; empty means the default of the host's cgroups.
    #[serde(default)]
    pub cgroupns_mode: String,
    #[serde(default)]
    pub userns_mode: String,
    #[serde(default)]
    pub oom_score_adj: i64,
    #[serde(default)]
    pub oom_kill_disable: Option<bool>,
    #[serde(default)]
    pub memory_reservation: i64,
    #[serde(default)]
    pub memory_swappiness: Option<i64>,
    #[serde(default)]
    pub blkio_weight: u16,
    /// CFS period and quota in microseconds (`--cpu-period`, `--cpu-quota`;
    /// `--cpus` is `NanoCpus` instead, never both).
    #[serde(default)]
    pub cpu_period: i64,
    #[serde(default)]
    pub cpu_quota: i64,
    #[serde(default)]
    pub cpu_realtime_period: i64,
    #[serde(default)]
    pub cpu_realtime_runtime: i64,
    #[serde(default)]
    pub cpuset_mems: String,
    /// Recorded as docker 20.10 records it; never applied (the kernel's
    /// kmem limits are deprecated, and runc ignores them).
    #[serde(default)]
    pub kernel_memory: i64,
    /// The cgroup the container's cgroup is made under (`--cgroup-parent`);
    /// empty means `/berthctl`.
    #[serde(default)]
    pub cgroup_parent: String,
}

/// One `--device`, as docker shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    pub cgroup_permissions: String,
}

/// docker's `State`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct State {
    /// created, running, paused, restarting, removing, exited, dead
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i32,
    pub exit_code: i32,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// The health checks' state as of the last exit (a running container's
    /// is the supervisor's file, `container::health`); docker leaves it out
    /// when no check ever ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<super::health::Health>,
}

/// docker's zero time, shown for StartedAt/FinishedAt never set.
pub(crate) use crate::format::time::ZERO_TIME;

/// The supervisor that owns a running container: its pid and the start time
/// from /proc/<pid>/stat, so a reused pid is never taken for it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ProcessId {
    pub pid: i32,
    pub start_time: u64,
}

/// The whole record, one row of the `containers` table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Container {
    pub id: String,
    /// docker's spelling: with the leading slash in `inspect`, without in `ps`.
    pub name: String,
    pub created: String,
    /// The process as docker shows it: Path and Args.
    pub path: String,
    pub args: Vec<String>,
    /// The image id (sha256:…).
    pub image: String,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub state: State,
    pub restart_count: u32,
    /// Read-only layers of the rootfs, top first (overlay's lowerdir order).
    pub lower_dirs: Vec<PathBuf>,
    /// Set by `stop`/`kill`, so the restart policy leaves the container down
    /// (docker's HasBeenManuallyStopped).
    pub manually_stopped: bool,
    pub supervisor: Option<ProcessId>,
    /// `-v`, `--mount`, `--volumes-from` and the image's volumes, with their
    /// volumes taken (see `volume::attach`); inspect shows them as `Mounts`.
    #[serde(default)]
    pub mount_points: Vec<crate::volume::spec::MountPoint>,
}

impl Container {
    /// The first 12 characters of the id, as `ps` shows it.
    pub(crate) fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    /// docker's event about this container: its labels, `image` (as the
    /// user named it) and `name` as the attributes.
    pub(crate) fn event(&self, action: &str) -> crate::events::Event {
        let mut e = crate::events::Event::new("container", action, &self.id);
        e.attributes = self.config.labels.clone().into_iter().collect();
        e.attributes.insert("image".into(), self.config.image.clone());
        e.attributes.insert("name".into(), self.name.trim_start_matches('/').to_string());
        e
    }
}
