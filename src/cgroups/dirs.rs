//! The container's directory on each cgroup hierarchy, which hierarchy drives
//! which controller, and plain reads and writes of cgroup files. Shared by the
//! cgroupfs driver (`fs`), the resource writers (`resources`), the usage readers
//! (`stats`) and the v1/v2 specifics, none of which import each other through it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use super::layout::{self, Layout};
use super::{CgroupConfig, CgroupError};

/// The container's directory on one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dir {
    /// v1 controllers of this hierarchy (empty for cgroup2).
    pub controllers: Vec<String>,
    pub path: PathBuf,
    pub v2: bool,
    /// The hierarchy's mount point.
    pub root: PathBuf,
}

/// The container's directories, one per hierarchy, and the host's layout.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub(super) list: Vec<Dir>,
    pub(super) layout: Layout,
}

fn invalid(reason: impl Into<String>) -> CgroupError {
    CgroupError::Invalid { field: "linux.cgroupsPath".into(), reason: reason.into() }
}

impl Dirs {
    /// Resolve the container's directories. An absolute `cgroupsPath` is relative
    /// to each hierarchy's root; a relative one to this process's own cgroup on
    /// it (runc's rule); an empty one is `/<id>`.
    pub fn new(layout: &Layout, own: &BTreeMap<String, PathBuf>, config: &CgroupConfig) -> Result<Dirs, CgroupError> {
        let given =
            if config.path.as_os_str().is_empty() { PathBuf::from("/").join(&config.id) } else { config.path.clone() };
        if given.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(invalid(format!("{given:?} must not contain \"..\"")));
        }
        let absolute = given.is_absolute();
        let rel: PathBuf = given.components().filter(|c| matches!(c, Component::Normal(_))).collect();
        if rel.as_os_str().is_empty() {
            return Err(invalid(format!("{given:?} names the root cgroup")));
        }
        let under = |mount: &Path, own_path: Option<&PathBuf>| -> PathBuf {
            let base = if absolute { PathBuf::new() } else { strip_root(own_path.cloned().unwrap_or_default()) };
            mount.join(base).join(&rel)
        };
        let mut by_mount: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
        for (c, m) in &layout.v1 {
            by_mount.entry(m.clone()).or_default().push(c.clone());
        }
        let mut dirs = Vec::new();
        for (mount, controllers) in by_mount {
            let path = under(&mount, own.get(&controllers[0]));
            dirs.push(Dir { controllers, path, v2: false, root: mount });
        }
        if let Some(u) = &layout.unified {
            dirs.push(Dir { controllers: Vec::new(), path: under(u, own.get("")), v2: true, root: u.clone() });
        }
        Ok(Dirs { list: dirs, layout: layout.clone() })
    }

    /// The directory (and whether it is cgroup2) that drives `controller`.
    pub(super) fn dir_for(&self, controller: &str) -> Option<&Dir> {
        match self.layout.owner(controller)? {
            layout::Owner::V1(mount) => self.list.iter().find(|d| !d.v2 && d.root == mount),
            layout::Owner::V2(_) => self.list.iter().find(|d| d.v2),
        }
    }

    pub(super) fn unified(&self) -> Option<&Dir> {
        self.list.iter().find(|d| d.v2)
    }

    /// Enable `controllers` in cgroup.subtree_control from the hierarchy root
    /// down to the container's parent, so the container's cgroup gets them.
    pub(super) fn enable_v2(&self, controllers: &[&str]) -> Result<(), CgroupError> {
        let Some(d) = self.unified() else { return Ok(()) };
        let Ok(rel) = d.path.strip_prefix(&d.root) else { return Ok(()) };
        let mut cur = d.root.clone();
        let comps: Vec<_> = rel.components().collect();
        for comp in &comps[..comps.len().saturating_sub(1)] {
            enable_in(&cur, controllers)?;
            cur.push(comp);
        }
        enable_in(&cur, controllers)
    }

    pub(super) fn freezer(&self) -> Option<&Dir> {
        self.list.iter().find(|d| !d.v2 && d.controllers.iter().any(|c| c == "freezer")).or_else(|| self.unified())
    }
}

fn enable_in(dir: &Path, want: &[&str]) -> Result<(), CgroupError> {
    let have = layout::read_controllers(&dir.join("cgroup.controllers"));
    let on = layout::read_controllers(&dir.join("cgroup.subtree_control"));
    let add: Vec<String> = want
        .iter()
        .filter(|c| have.iter().any(|h| h == *c) && !on.iter().any(|o| o == *c))
        .map(|c| format!("+{c}"))
        .collect();
    if add.is_empty() {
        return Ok(());
    }
    write(&dir.join("cgroup.subtree_control"), &add.join(" "), "cgroup.subtree_control")
}

fn strip_root(p: PathBuf) -> PathBuf {
    p.components().filter(|c| matches!(c, Component::Normal(_))).collect()
}

/// Write `value` to `path`; the error names the OCI field it came from.
pub(super) fn write(path: &Path, value: &str, field: &str) -> Result<(), CgroupError> {
    fs::write(path, value).map_err(|source| CgroupError::Write {
        field: field.to_string(),
        path: path.to_path_buf(),
        value: value.to_string(),
        source,
    })
}

pub(super) fn read(path: &Path) -> Option<String> {
    crate::sys::procfs::read(path).ok().map(|s| s.trim().to_string())
}
