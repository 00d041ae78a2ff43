//! The state store: `<root>/<id>/state.json`, written atomically (temp file +
//! rename) under an flock on `<root>/<id>/lock`, and the live status derived from
//! the init process and the exec fifo.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ContainerId;
use super::error::Cause;
use crate::cgroups::CgroupConfig;
use crate::spec::Spec;

/// An exclusive flock on `<root>/<id>/lock`. Dropping it only closes the file: the
/// lock belongs to the open file description and goes when its last fd is closed.
/// So a process cloned while the lock is held (init) drops its copy to close its
/// fd, leaving the lock with `create`, where an explicit unlock (as nix's `Flock`
/// does on drop) would release it for both.
#[derive(Debug)]
pub struct ContainerLock(#[allow(dead_code, reason = "held for its fd")] File);

/// The OCI status of a container, as `state` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What is saved for a container: the OCI state plus what later commands need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    pub pid: i32,
    /// Start time of `pid` (field 22 of /proc/<pid>/stat), so a recycled pid is
    /// never mistaken for the container's init.
    pub init_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds, UTC, as runc writes it.
    pub created: String,
    pub cgroup: CgroupConfig,
    pub rootless: bool,
    /// Set while `create` runs: the state is saved early (before the cgroup and
    /// the init process exist) so that `delete --force` can undo a create that
    /// was killed half-way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub creating: bool,
    /// The config the container was created from (hooks for delete, process
    /// defaults and namespaces for exec).
    pub config: Spec,
    /// Without a mount namespace of its own, the container's mounts are made in
    /// ours, on top of the rootfs: the ids of the mounts that were at the rootfs
    /// before, so that `delete` removes exactly the ones made since (`hostmounts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_mounts_before: Option<Vec<u64>>,
}

/// The JSON `berth state` prints: exactly runc's keys.
#[derive(Debug, Serialize, Deserialize)]
pub struct OciState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "HashMap::is_empty", default)]
    pub annotations: HashMap<String, String>,
}

impl State {
    /// The OCI view of this state with a live status. Its `ociVersion` is the
    /// version of the runtime spec the state document complies with (runtime.md):
    /// berth's, as runc reports its own, not the bundle's.
    pub fn to_oci(&self, status: Status) -> OciState {
        OciState {
            oci_version: crate::spec::OCI_VERSION.to_string(),
            id: self.id.clone(),
            pid: if status == Status::Stopped { 0 } else { self.pid },
            status,
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            owner: String::new(),
            annotations: self.config.annotations().clone().unwrap_or_default(),
        }
    }
}

/// Where container state lives (`--root`).
pub struct Store {
    root: PathBuf,
}

pub const FIFO: &str = "exec.fifo";

impl Store {
    pub fn new(root: &Path) -> Self {
        Store { root: root.to_path_buf() }
    }

    pub fn dir(&self, id: &ContainerId) -> PathBuf {
        self.root.join(id.as_str())
    }

    /// Create the state dir; fails with `AlreadyExists` if the id is taken.
    pub fn create_dir(&self, id: &ContainerId) -> Result<PathBuf, Cause> {
        fs::DirBuilder::new().recursive(true).mode(0o711).create(&self.root).map_err(|source| Cause::Io {
            what: "create state root",
            path: self.root.clone(),
            source,
        })?;
        let dir = self.dir(id);
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Cause::AlreadyExists),
            Err(source) => Err(Cause::Io { what: "create state dir", path: dir, source }),
        }
    }

    /// Take the container's lock; held until the returned guard is dropped.
    pub fn lock(&self, id: &ContainerId) -> Result<ContainerLock, Cause> {
        let path = self.dir(id).join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .mode(0o600)
            .open(&path)
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => Cause::NotExist,
                _ => Cause::Io { what: "open lock", path: path.clone(), source },
            })?;
        file.lock().map_err(|source| Cause::Io { what: "flock", path: path.clone(), source })?;
        Ok(ContainerLock(file))
    }

    pub fn save(&self, state: &State) -> Result<(), Cause> {
        let dir = self.root.join(&state.id);
        let tmp = dir.join(".state.json.tmp");
        let path = dir.join("state.json");
        let data = serde_json::to_vec(state).map_err(Cause::Json)?;
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(|source| Cause::Io { what: "write state", path: tmp.clone(), source })?;
        f.write_all(&data).map_err(|source| Cause::Io { what: "write state", path: tmp.clone(), source })?;
        fs::rename(&tmp, &path).map_err(|source| Cause::Io { what: "rename state", path, source })
    }

    pub fn load(&self, id: &ContainerId) -> Result<State, Cause> {
        let path = self.dir(id).join("state.json");
        // As text, as config.json is read: one instance of the spec's parser (a
        // file that is not UTF-8 is an InvalidData error naming it).
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Cause::NotExist),
            Err(source) => return Err(Cause::Io { what: "read state", path, source }),
        };
        serde_json::from_str(&text).map_err(Cause::Json)
    }

    /// Every container id with a state dir, sorted.
    pub fn ids(&self) -> Result<Vec<String>, Cause> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Cause::Io { what: "list state root", path: self.root.clone(), source }),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("state.json").exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    pub fn remove(&self, id: &ContainerId) -> Result<(), Cause> {
        let dir = self.dir(id);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Cause::Io { what: "remove state dir", path: dir, source }),
        }
    }

    /// The live status: stopped unless init is alive (same pid, same start time, not
    /// a zombie); creating until `create` has finished (a create that died half-way
    /// reads as stopped); created while the exec fifo exists; paused when frozen.
    pub fn status(&self, state: &State) -> Status {
        if !is_alive(state.pid, state.init_start_time) {
            return Status::Stopped;
        }
        if state.creating {
            return Status::Creating;
        }
        if self.dir_of(&state.id).join(FIFO).exists() {
            return Status::Created;
        }
        let frozen = crate::cgroups::open(&state.cgroup).and_then(|m| m.is_frozen()).unwrap_or(false);
        if frozen { Status::Paused } else { Status::Running }
    }

    fn dir_of(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }
}

/// Start time (clock ticks since boot) of `pid`, or None if it is gone or a zombie.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = crate::sys::procfs::read(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: split after
    // the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

pub fn is_alive(pid: i32, expected_start: u64) -> bool {
    pid > 0 && start_time(pid) == Some(expected_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_readable_and_stable() {
        let pid = std::process::id() as i32;
        let t = start_time(pid).expect("own stat");
        assert_eq!(start_time(pid), Some(t));
        assert!(is_alive(pid, t));
        assert!(!is_alive(pid, t + 1));
    }

    #[test]
    fn status_serializes_lowercase() {
        assert_eq!(serde_json::to_string(&Status::Paused).unwrap(), "\"paused\"");
    }
}
