//! cgroups: where a container's processes are accounted and limited.
//!
//! `container/` sees cgroups only through [`CgroupManager`]. [`open`] detects the
//! host's layout (v1, unified v2, or hybrid: v1 controllers plus a cgroup2 mount
//! that owns some controllers) and returns the matching implementation.

use std::path::PathBuf;

use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;

/// How the container's cgroup is named and driven; stored in the container's state
/// so later commands (kill --all, delete, pause, ps, events) reopen the same cgroup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CgroupConfig {
    /// `linux.cgroupsPath` as given, or the default chosen at create time.
    pub path: PathBuf,
    /// `--systemd-cgroup`: `path` is `slice:prefix:name`.
    pub systemd: bool,
    /// The container id (used for default names and systemd units).
    pub id: String,
    /// Rootless: cgroups are used only where delegated; failures are skipped.
    pub rootless: bool,
}

/// Frozen or thawed, for pause/resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    Frozen,
    Thawed,
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup: {0}")]
    Other(String),
}

/// One container's cgroup on whatever layout the host has.
pub trait CgroupManager {
    /// Create the cgroup directories (on every hierarchy that is needed).
    fn create(&self) -> Result<(), CgroupError>;
    /// Write the limits in `resources`; an unsupported field is an error naming it.
    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    /// Move `pid` into the cgroup (every hierarchy on v1/hybrid).
    fn add_task(&self, pid: Pid) -> Result<(), CgroupError>;
    /// Every pid currently in the cgroup.
    fn pids(&self) -> Result<Vec<Pid>, CgroupError>;
    /// Freeze or thaw every process in the cgroup.
    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError>;
    /// Whether the cgroup is currently frozen.
    fn is_frozen(&self) -> Result<bool, CgroupError>;
    /// Remove the cgroup directories; missing ones are not an error.
    fn destroy(&self) -> Result<(), CgroupError>;
    /// The container's cgroup path on each hierarchy, for `ps`, `events` and tests.
    fn paths(&self) -> Vec<PathBuf>;
}

/// Open the manager for `config` on the host's cgroup layout under `root`
/// (normally `/sys/fs/cgroup`; tests pass a fixture).
pub fn open(config: &CgroupConfig) -> Result<Box<dyn CgroupManager>, CgroupError> {
    let _ = config;
    Err(CgroupError::Other("not implemented yet".into()))
}
