//! cgroups: where a container's processes are accounted and limited.
//!
//! `container/` sees cgroups only through [`CgroupManager`]. [`open`] detects the
//! host's layout — v1, unified v2, or hybrid (v1 controllers plus a cgroup2 mount
//! that owns some controllers: this development machine's layout, which crun
//! refuses) — and drives each controller through whichever hierarchy owns it.
//! With `--systemd-cgroup` the container gets a transient systemd scope instead
//! (`systemd`), and the cgroupfs driver writes what systemd has no property for.

mod dbus;
mod devices;
mod dirs;
#[cfg(test)]
pub(crate) mod fake;
mod fs;
mod layout;
mod resources;
mod stats;
mod systemd;
mod v1;
mod v2;

use std::path::PathBuf;

use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;

pub use fs::FsManager;
pub use layout::Layout;
pub use stats::Stats;
pub use systemd::SystemdManager;

/// How the container's cgroup is named and driven; stored in the container's state
/// so later commands (kill --all, delete, pause, ps, events) reopen the same cgroup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CgroupConfig {
    /// `linux.cgroupsPath` as given (empty: `/<id>`, as runc).
    pub path: PathBuf,
    /// `--systemd-cgroup`: `path` is `slice:prefix:name`.
    pub systemd: bool,
    /// The container id (used for default names).
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
    #[error("{field}: write {value:?} to {path:?}")]
    Write {
        field: String,
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} {path:?}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{field}: {reason}")]
    Unsupported { field: String, reason: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("--systemd-cgroup: {what} {unit} (is systemd running and its D-Bus API reachable?)")]
    Systemd {
        what: &'static str,
        unit: String,
        #[source]
        source: dbus::DbusError,
    },
    #[error("freeze {path:?}: did not reach {state} in time")]
    FreezeTimeout { path: PathBuf, state: &'static str },
}

/// One container's cgroup on whatever layout the host has.
pub trait CgroupManager {
    /// Create the cgroup directories (on every hierarchy that is needed).
    fn create(&self) -> Result<(), CgroupError>;
    /// Refuse what this host cannot honour in `resources` (runc's "invalid
    /// configuration"), before anything is created or written.
    fn check(&self, _resources: &LinuxResources) -> Result<(), CgroupError> {
        Ok(())
    }
    /// Write the limits in `resources`; an unsupported field is an error naming it.
    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    /// Move `pid` into the cgroup (every hierarchy on v1/hybrid).
    fn add_task(&self, pid: Pid) -> Result<(), CgroupError>;
    /// The v1 `tasks` files through which a single-threaded process moves itself
    /// by writing "0". A write to cgroup.procs takes the kernel's global
    /// threadgroup lock for writing, which waits for an RCU grace period (10-30
    /// ms on a loaded host, the largest single cost of `create`); a thread
    /// moving itself skips that lock (kernel/cgroup/cgroup.c,
    /// cgroup_procs_write_start). Empty when rootless or on cgroup v2.
    fn self_join_files(&self) -> Vec<PathBuf> {
        Vec::new()
    }
    /// Whether `self_join_files` covers every hierarchy: then
    /// `add_task_except_self_join` has nothing to do, and a process that joins
    /// them itself needs nothing from its parent.
    fn self_join_is_complete(&self) -> bool {
        false
    }
    /// `add_task` on the hierarchies that `self_join_files` does not cover.
    fn add_task_except_self_join(&self, pid: Pid) -> Result<(), CgroupError> {
        self.add_task(pid)
    }
    /// Every pid currently in the cgroup.
    fn pids(&self) -> Result<Vec<Pid>, CgroupError>;
    /// Freeze or thaw every process in the cgroup.
    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError>;
    /// Whether the cgroup is currently frozen.
    fn is_frozen(&self) -> Result<bool, CgroupError>;
    /// Remove the cgroup directories; missing ones are not an error.
    fn destroy(&self) -> Result<(), CgroupError>;
    /// One rmdir per directory, no listing and no retry: true if the cgroup is
    /// gone (it was empty, as a stopped container's usually is), false if a
    /// process or a child cgroup is still there (the caller kills and
    /// [`destroy`](Self::destroy)s). The default removes nothing.
    fn remove_if_empty(&self) -> bool {
        false
    }
    /// The container's cgroup path on each hierarchy, for `ps`, `events` and tests.
    fn paths(&self) -> Vec<PathBuf>;
    /// Usage counters with runc's `events --stats` names.
    fn stats(&self) -> Result<Stats, CgroupError>;
    /// Whether the kernel killed a process of the cgroup for memory since `since`
    /// (the previous count); returns the current count.
    fn oom_kills(&self) -> u64;
}

/// Open the manager for `config` on the host's cgroup layout.
pub fn open(config: &CgroupConfig) -> Result<Box<dyn CgroupManager>, CgroupError> {
    let (layout, own) = host();
    if config.systemd {
        return Ok(Box::new(SystemdManager::new(layout, config)?));
    }
    Ok(Box::new(FsManager::new(layout, own, config)?))
}

/// The host's layout and our own cgroups, read once per command: `exec`, `run`
/// and `delete` open managers more than once (the status check, then the verb),
/// and berth never moves itself between cgroups or remounts the hierarchies.
fn host() -> &'static (Layout, std::collections::BTreeMap<String, PathBuf>) {
    static HOST: std::sync::OnceLock<(Layout, std::collections::BTreeMap<String, PathBuf>)> =
        std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let own = layout::own_cgroups(&crate::sys::procfs::read("/proc/self/cgroup").unwrap_or_default());
        (Layout::detect(), own)
    })
}
