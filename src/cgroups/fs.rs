//! The cgroupfs driver: one directory per hierarchy, written directly. Each
//! controller is driven through the hierarchy that owns it (see `layout`), so the
//! same code serves v1, unified v2 and hybrid hosts.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;

use super::layout::{self, Layout};
use super::stats::{self, Stats};
use super::{CgroupConfig, CgroupError, CgroupManager, FreezerState, resources, v1, v2};

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

pub struct FsManager {
    pub(super) dirs: Vec<Dir>,
    layout: Layout,
    rootless: bool,
}

fn invalid(reason: impl Into<String>) -> CgroupError {
    CgroupError::Invalid { field: "linux.cgroupsPath".into(), reason: reason.into() }
}

impl FsManager {
    /// Resolve the container's directories. An absolute `cgroupsPath` is relative
    /// to each hierarchy's root; a relative one to this process's own cgroup on
    /// it (runc's rule); an empty one is `/<id>`.
    pub fn new(
        layout: &Layout,
        own: &BTreeMap<String, PathBuf>,
        config: &CgroupConfig,
    ) -> Result<FsManager, CgroupError> {
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
        Ok(FsManager { dirs, layout: layout.clone(), rootless: config.rootless })
    }

    /// The directory (and whether it is cgroup2) that drives `controller`.
    pub(super) fn dir_for(&self, controller: &str) -> Option<&Dir> {
        match self.layout.owner(controller)? {
            layout::Owner::V1(mount) => self.dirs.iter().find(|d| !d.v2 && d.root == mount),
            layout::Owner::V2(_) => self.dirs.iter().find(|d| d.v2),
        }
    }

    fn unified(&self) -> Option<&Dir> {
        self.dirs.iter().find(|d| d.v2)
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

    fn freezer(&self) -> Option<&Dir> {
        self.dirs.iter().find(|d| !d.v2 && d.controllers.iter().any(|c| c == "freezer")).or_else(|| self.unified())
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
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

impl FsManager {
    /// v1 hierarchies, when not rootless (a rootless process may lack the
    /// permission, and its failures are skipped, not fatal).
    fn self_joins(&self, d: &Dir) -> bool {
        !d.v2 && !self.rootless
    }

    fn add_task_where(&self, pid: Pid, wanted: impl Fn(&Dir) -> bool) -> Result<(), CgroupError> {
        for d in self.dirs.iter().filter(|d| wanted(d)) {
            if self.rootless && !d.path.exists() {
                continue;
            }
            if let Err(e) = write(&d.path.join("cgroup.procs"), &pid.to_string(), "cgroup.procs") {
                if self.rootless {
                    tracing::debug!(error = %e, "rootless: cannot join cgroup, skipped");
                    continue;
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

impl CgroupManager for FsManager {
    fn create(&self) -> Result<(), CgroupError> {
        for d in &self.dirs {
            // Levels that do not exist yet, top first: new v1 cpuset levels start
            // with empty cpus/mems and would refuse tasks, so they inherit the parent's.
            let mut missing = Vec::new();
            let mut cur = d.path.clone();
            while !cur.exists() && cur.starts_with(&d.root) && cur != d.root {
                missing.push(cur.clone());
                if !cur.pop() {
                    break;
                }
            }
            for dir in missing.iter().rev() {
                match fs::create_dir(dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(source) if self.rootless => {
                        tracing::debug!(path = ?dir, error = %source, "rootless: cgroup not delegated, skipped");
                        break;
                    }
                    Err(source) => return Err(CgroupError::Io { what: "create cgroup", path: dir.clone(), source }),
                }
                if !d.v2 && d.controllers.iter().any(|c| c == "cpuset") {
                    v1::inherit_cpuset(dir)?;
                }
            }
        }
        if self.layout.is_unified() {
            self.enable_v2(&["cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc"])?;
        }
        Ok(())
    }

    fn set(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        resources::apply(self, r)
    }

    fn add_task(&self, pid: Pid) -> Result<(), CgroupError> {
        self.add_task_where(pid, |_| true)
    }

    fn self_join_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().filter(|d| self.self_joins(d)).map(|d| d.path.join("tasks")).collect()
    }

    fn add_task_except_self_join(&self, pid: Pid) -> Result<(), CgroupError> {
        self.add_task_where(pid, |d| !self.self_joins(d))
    }

    fn pids(&self) -> Result<Vec<Pid>, CgroupError> {
        let mut pids: Vec<Pid> = Vec::new();
        for d in &self.dirs {
            for p in walk(&d.path) {
                for line in read(&p.join("cgroup.procs")).unwrap_or_default().lines() {
                    if let Ok(n) = line.trim().parse::<i32>() {
                        let pid = Pid::from_raw(n);
                        if !pids.contains(&pid) {
                            pids.push(pid);
                        }
                    }
                }
            }
        }
        Ok(pids)
    }

    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError> {
        let Some(d) = self.freezer() else {
            return Err(CgroupError::Unsupported { field: "freezer".into(), reason: "no freezer on this host".into() });
        };
        if d.v2 { v2::freeze(&d.path, state) } else { v1::freeze(&d.path, state) }
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        // The freezer we drive, and on a hybrid host the cgroup2 one as well: a
        // cgroup frozen there stops its processes just the same.
        let v1_frozen = |d: &Dir| matches!(read(&d.path.join("freezer.state")).as_deref(), Some("FROZEN" | "FREEZING"));
        let v2_frozen = |d: &Dir| read(&d.path.join("cgroup.freeze")).as_deref() == Some("1");
        let v1 = self.freezer().filter(|d| !d.v2).is_some_and(v1_frozen);
        Ok(v1 || self.unified().is_some_and(v2_frozen))
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        for d in &self.dirs {
            // Children the container made (with a cgroup namespace it may), deepest first.
            let mut all = walk(&d.path);
            all.reverse();
            for p in all {
                rmdir_retry(&p)?;
            }
        }
        Ok(())
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.path.clone()).collect()
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        Ok(stats::collect(self))
    }

    fn oom_kills(&self) -> u64 {
        let Some(d) = self.dir_for("memory") else { return 0 };
        let file = if d.v2 { "memory.events" } else { "memory.oom_control" };
        stats::keyed(&d.path.join(file)).get("oom_kill").copied().unwrap_or(0)
    }
}

/// `dir` and every directory below it, parents before children.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return out;
    }
    out.push(dir.to_path_buf());
    let mut i = 0;
    while i < out.len() {
        if let Ok(entries) = fs::read_dir(&out[i]) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
        i += 1;
    }
    out
}

/// rmdir a cgroup; EBUSY while the last processes finish exiting is retried.
fn rmdir_retry(p: &Path) -> Result<(), CgroupError> {
    for _ in 0..200 {
        match fs::remove_dir(p) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => std::thread::sleep(Duration::from_millis(5)),
            Err(source) => return Err(CgroupError::Io { what: "remove cgroup", path: p.to_path_buf(), source }),
        }
    }
    Err(CgroupError::Io {
        what: "remove cgroup (still busy)",
        path: p.to_path_buf(),
        source: std::io::Error::from_raw_os_error(libc::EBUSY),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        let mut l = Layout::default();
        l.v1.insert("memory".into(), "/cg/memory".into());
        l.v1.insert("cpu".into(), "/cg/cpu,cpuacct".into());
        l.v1.insert("cpuacct".into(), "/cg/cpu,cpuacct".into());
        l.unified = Some("/cg/unified".into());
        l.unified_controllers = vec!["hugetlb".into()];
        l
    }

    fn config(path: &str) -> CgroupConfig {
        CgroupConfig { path: path.into(), systemd: false, id: "c1".into(), rootless: false }
    }

    #[test]
    fn absolute_path_is_under_each_hierarchy_root() {
        let own = layout::own_cgroups("4:memory:/nested/x\n1:cpu,cpuacct:/\n0::/\n");
        let m = FsManager::new(&layout(), &own, &config("/berth-test/c1")).unwrap();
        let paths = m.paths();
        assert!(paths.contains(&PathBuf::from("/cg/memory/berth-test/c1")));
        assert!(paths.contains(&PathBuf::from("/cg/cpu,cpuacct/berth-test/c1")));
        assert!(paths.contains(&PathBuf::from("/cg/unified/berth-test/c1")));
        assert_eq!(paths.len(), 3, "comounted controllers share one dir");
    }

    #[test]
    fn relative_path_is_under_our_own_cgroup() {
        let own = layout::own_cgroups("4:memory:/nested/x\n1:cpu,cpuacct:/\n0::/u\n");
        let m = FsManager::new(&layout(), &own, &config("sub/c1")).unwrap();
        assert!(m.paths().contains(&PathBuf::from("/cg/memory/nested/x/sub/c1")));
        assert!(m.paths().contains(&PathBuf::from("/cg/unified/u/sub/c1")));
    }

    #[test]
    fn empty_path_defaults_to_the_id() {
        let m = FsManager::new(&layout(), &BTreeMap::new(), &config("")).unwrap();
        assert!(m.paths().contains(&PathBuf::from("/cg/memory/c1")));
    }

    #[test]
    fn dotdot_is_rejected() {
        let e = FsManager::new(&layout(), &BTreeMap::new(), &config("/a/../../b")).err().unwrap();
        assert!(e.to_string().starts_with("linux.cgroupsPath"));
    }

    #[test]
    fn v1_hierarchies_are_joined_through_tasks_and_v2_by_the_parent() {
        let m = FsManager::new(&layout(), &BTreeMap::new(), &config("/x")).unwrap();
        let mut files = m.self_join_files();
        files.sort();
        assert_eq!(files, vec![PathBuf::from("/cg/cpu,cpuacct/x/tasks"), PathBuf::from("/cg/memory/x/tasks")]);
        let rootless = CgroupConfig { rootless: true, ..config("/x") };
        let m = FsManager::new(&layout(), &BTreeMap::new(), &rootless).unwrap();
        assert!(m.self_join_files().is_empty(), "rootless joins through cgroup.procs, skipping failures");
    }

    #[test]
    fn controllers_route_to_their_owner() {
        let m = FsManager::new(&layout(), &BTreeMap::new(), &config("/x")).unwrap();
        assert_eq!(m.dir_for("hugetlb").unwrap().path, PathBuf::from("/cg/unified/x"));
        assert_eq!(m.dir_for("cpuacct").unwrap().path, PathBuf::from("/cg/cpu,cpuacct/x"));
        assert!(m.dir_for("pids").is_none());
    }
}
