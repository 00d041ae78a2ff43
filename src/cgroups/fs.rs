//! The cgroupfs driver: one directory per hierarchy, written directly. Each
//! controller is driven through the hierarchy that owns it (see `layout`), so the
//! same code serves v1, unified v2 and hybrid hosts.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;

use super::dirs::Dir;
use super::dirs::{Dirs, read, write};
use super::layout::Layout;
use super::stats::{self, Stats};
use super::{CgroupConfig, CgroupError, CgroupManager, FreezerState, resources, v1, v2};

pub struct FsManager {
    pub(super) dirs: Dirs,
    rootless: bool,
}

impl FsManager {
    /// Resolve the container's directories (see [`Dirs::new`]).
    pub fn new(
        layout: &Layout,
        own: &BTreeMap<String, PathBuf>,
        config: &CgroupConfig,
    ) -> Result<FsManager, CgroupError> {
        Ok(FsManager { dirs: Dirs::new(layout, own, config)?, rootless: config.rootless })
    }

    /// The directory (and whether it is cgroup2) that drives `controller`.
    pub(super) fn dir_for(&self, controller: &str) -> Option<&Dir> {
        self.dirs.dir_for(controller)
    }

    /// v1 hierarchies, when not rootless (a rootless process may lack the
    /// permission, and its failures are skipped, not fatal).
    fn self_joins(&self, d: &Dir) -> bool {
        !d.v2 && !self.rootless
    }

    /// `d`'s directory and the levels above it that do not exist yet, top first.
    /// v1 cpuset levels with empty cpus/mems (new ones, or a parent made without
    /// them) would refuse tasks, so `create` has each inherit its parent's.
    fn make_dir(&self, d: &Dir) -> Result<(), CgroupError> {
        // The leaf first: its parent usually exists, and one mkdir does it
        // (instead of a stat of each level).
        match fs::create_dir(&d.path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
            Err(_) => {}
        }
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
        }
        Ok(())
    }

    fn add_task_where(&self, pid: Pid, wanted: impl Fn(&Dir) -> bool) -> Result<(), CgroupError> {
        for d in self.dirs.list.iter().filter(|d| wanted(d)) {
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
        for d in &self.dirs.list {
            self.make_dir(d)?;
            if !d.v2 && d.controllers.iter().any(|c| c == "cpuset") && d.path.exists() {
                v1::inherit_cpuset_path(&d.root, &d.path)?;
            }
        }
        if self.dirs.layout.is_unified() {
            self.dirs.enable_v2(&["cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc"])?;
        }
        Ok(())
    }

    fn check(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        resources::check(&self.dirs, r)
    }

    fn set(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        resources::apply(&self.dirs, r)
    }

    fn add_task(&self, pid: Pid) -> Result<(), CgroupError> {
        self.add_task_where(pid, |_| true)
    }

    fn self_join_files(&self) -> Vec<PathBuf> {
        self.dirs.list.iter().filter(|d| self.self_joins(d)).map(|d| d.path.join("tasks")).collect()
    }

    fn self_join_is_complete(&self) -> bool {
        self.dirs.list.iter().all(|d| self.self_joins(d))
    }

    fn add_task_except_self_join(&self, pid: Pid) -> Result<(), CgroupError> {
        self.add_task_where(pid, |d| !self.self_joins(d))
    }

    fn pids(&self) -> Result<Vec<Pid>, CgroupError> {
        let mut pids: Vec<Pid> = Vec::new();
        for d in &self.dirs.list {
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
        let Some(d) = self.dirs.freezer() else {
            return Err(CgroupError::Unsupported { field: "freezer".into(), reason: "no freezer on this host".into() });
        };
        if d.v2 { v2::freeze(&d.path, state) } else { v1::freeze(&d.path, state) }
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        // The freezer we drive, and on a hybrid host the cgroup2 one as well: a
        // cgroup frozen there stops its processes just the same.
        let v1_frozen = |d: &Dir| matches!(read(&d.path.join("freezer.state")).as_deref(), Some("FROZEN" | "FREEZING"));
        let v2_frozen = |d: &Dir| read(&d.path.join("cgroup.freeze")).as_deref() == Some("1");
        let v1 = self.dirs.freezer().filter(|d| !d.v2).is_some_and(v1_frozen);
        Ok(v1 || self.dirs.unified().is_some_and(v2_frozen))
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        for d in &self.dirs.list {
            // Usually empty and without children: one rmdir.
            match fs::remove_dir(&d.path) {
                Ok(()) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(_) => {}
            }
            // Children the container made (with a cgroup namespace it may), deepest first.
            let mut all = walk(&d.path);
            all.reverse();
            for p in all {
                rmdir_retry(&p)?;
            }
        }
        Ok(())
    }

    fn remove_if_empty(&self) -> bool {
        // rmdir of a cgroup with a process or a child in it fails (EBUSY): an
        // rmdir that succeeds has removed an empty one.
        self.dirs.list.iter().all(|d| match fs::remove_dir(&d.path) {
            Ok(()) => true,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        })
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.dirs.list.iter().map(|d| d.path.clone()).collect()
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        Ok(stats::collect(&self.dirs))
    }

    fn oom_kills(&self) -> u64 {
        let Some(d) = self.dir_for("memory") else { return 0 };
        let file = if d.v2 { "memory.events" } else { "memory.oom_control" };
        stats::keyed(&d.path.join(file)).get("oom_kill").copied().unwrap_or(0)
    }
}

/// `dir` and every directory below it, parents before children.
fn walk(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let Ok(meta) = fs::metadata(dir) else { return out };
    if !meta.is_dir() {
        return out;
    }
    out.push(dir.to_path_buf());
    // A directory's link count is 2 plus its subdirectories on cgroupfs (kernfs),
    // as on most filesystems: 2 means there is nothing below to list.
    if meta.nlink() == 2 {
        return out;
    }
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
        let own = crate::cgroups::layout::own_cgroups("4:memory:/nested/x\n1:cpu,cpuacct:/\n0::/\n");
        let m = FsManager::new(&layout(), &own, &config("/berth-test/c1")).unwrap();
        let paths = m.paths();
        assert!(paths.contains(&PathBuf::from("/cg/memory/berth-test/c1")));
        assert!(paths.contains(&PathBuf::from("/cg/cpu,cpuacct/berth-test/c1")));
        assert!(paths.contains(&PathBuf::from("/cg/unified/berth-test/c1")));
        assert_eq!(paths.len(), 3, "comounted controllers share one dir");
    }

    #[test]
    fn relative_path_is_under_our_own_cgroup() {
        let own = crate::cgroups::layout::own_cgroups("4:memory:/nested/x\n1:cpu,cpuacct:/\n0::/u\n");
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

    /// Every file under `dir` with what was written to it, as `path=value`.
    fn written(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    todo.push(p);
                } else {
                    let v = std::fs::read_to_string(&p).unwrap();
                    out.push(format!("{}={v}", p.strip_prefix(dir).unwrap().display()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_resources_block_writes_these_files_and_no_others() {
        let tmp = tempfile::tempdir().unwrap();
        let mut l = Layout::default();
        for (c, dir) in [("memory", "memory"), ("cpu", "cpu,cpuacct"), ("cpuacct", "cpu,cpuacct"), ("pids", "pids")] {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
            l.v1.insert(c.into(), tmp.path().join(dir));
        }
        let m = FsManager::new(&l, &BTreeMap::new(), &config("/pod/c1")).unwrap();
        m.create().unwrap();
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory": {"limit": 268435456, "reservation": 134217728},
                "cpu": {"shares": 512, "quota": 50000, "period": 100000},
                "pids": {"limit": 64}}"#,
        )
        .unwrap();
        m.set(&r).unwrap();
        assert_eq!(
            written(tmp.path()),
            [
                "cpu,cpuacct/pod/c1/cpu.cfs_period_us=100000",
                "cpu,cpuacct/pod/c1/cpu.cfs_quota_us=50000",
                "cpu,cpuacct/pod/c1/cpu.shares=512",
                "memory/pod/c1/memory.limit_in_bytes=268435456",
                "memory/pod/c1/memory.soft_limit_in_bytes=134217728",
                "pids/pod/c1/pids.max=64",
            ]
        );
    }
}
