//! Which cgroup hierarchies the host has (`sys::cgroupinfo`, from mountinfo): cgroup v1
//! controllers (each on its own mount, or comounted), a cgroup2 mount, or both
//! (hybrid: v1 controllers plus a cgroup2 mount that owns some controllers). Paths
//! are parameters so unit tests run on fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::sys::cgroupinfo::Hierarchy;

/// The host's cgroup hierarchies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// v1 controller (or `name=systemd`) → mount point.
    pub v1: BTreeMap<String, PathBuf>,
    /// The cgroup2 mount, if any.
    pub unified: Option<PathBuf>,
    /// Controllers the cgroup2 mount owns (its root's cgroup.controllers).
    pub unified_controllers: Vec<String>,
}

impl Layout {
    /// Only cgroup2: every controller lives there.
    pub fn is_unified(&self) -> bool {
        self.v1.is_empty() && self.unified.is_some()
    }

    #[cfg(test)]
    pub fn is_hybrid(&self) -> bool {
        !self.v1.is_empty() && self.unified.is_some()
    }

    /// Parse `mountinfo`; `unified_controllers` is read from the cgroup2 mount.
    #[cfg(test)]
    pub fn parse(mountinfo: &str) -> Layout {
        Layout::from_hierarchies(&crate::sys::cgroupinfo::hierarchies(mountinfo))
    }

    /// Each v1 controller (or `name=`) at its hierarchy's mount, and the cgroup2
    /// mount; `unified_controllers` is left to the caller.
    fn from_hierarchies(hierarchies: &[Hierarchy]) -> Layout {
        let mut layout = Layout::default();
        for h in hierarchies {
            if h.is_v2() {
                layout.unified.get_or_insert_with(|| h.mountpoint.clone());
                continue;
            }
            for opt in h.options.split(',') {
                if opt.is_empty() || opt.starts_with("release_agent") || opt == "clone_children" {
                    continue;
                }
                layout.v1.entry(opt.to_string()).or_insert_with(|| h.mountpoint.clone());
            }
        }
        layout
    }

    /// The host's layout.
    pub fn detect() -> Layout {
        let mut l = Layout::from_hierarchies(crate::sys::cgroupinfo::host_hierarchies());
        if let Some(u) = &l.unified {
            l.unified_controllers = read_controllers(&u.join("cgroup.controllers"));
        }
        l
    }

    /// Where `controller` lives: a v1 mount, or the cgroup2 mount.
    pub fn owner(&self, controller: &str) -> Option<Owner> {
        if let Some(p) = self.v1.get(controller) {
            return Some(Owner::V1(p.clone()));
        }
        let u = self.unified.as_ref()?;
        (self.is_unified() || self.unified_controllers.iter().any(|c| c == controller)).then(|| Owner::V2(u.clone()))
    }
}

/// The hierarchy that owns a controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    V1(PathBuf),
    V2(PathBuf),
}

pub fn read_controllers(path: &Path) -> Vec<String> {
    crate::sys::procfs::read(path).unwrap_or_default().split_whitespace().map(str::to_string).collect()
}

/// This process's cgroup per hierarchy, from /proc/self/cgroup: v1 controller →
/// path, and "" → the cgroup2 path.
pub fn own_cgroups(text: &str) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for (controllers, path) in crate::sys::cgroupinfo::memberships(text) {
        if controllers.is_empty() {
            out.insert(String::new(), PathBuf::from(path));
        }
        for c in controllers.split(',').filter(|c| !c.is_empty()) {
            out.insert(c.to_string(), PathBuf::from(path));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This development machine's mountinfo (hybrid: v1 controllers plus a
    /// cgroup2 mount at /sys/fs/cgroup/unified holding hugetlb).
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const UNIFIED: &str = "\
25 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    const V1_COMOUNTED: &str = "\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw shared:12 - cgroup cgroup rw,net_cls,net_prio
";

    #[test]
    fn hybrid_layout_from_this_machine() {
        let mut l = Layout::parse(HYBRID);
        l.unified_controllers = vec!["hugetlb".into()];
        assert!(l.is_hybrid());
        assert_eq!(l.owner("memory"), Some(Owner::V1("/sys/fs/cgroup/memory".into())));
        assert_eq!(l.owner("hugetlb"), Some(Owner::V2("/sys/fs/cgroup/unified".into())));
        assert_eq!(l.owner("name=systemd"), Some(Owner::V1("/sys/fs/cgroup/systemd".into())));
        assert_eq!(l.owner("rdma"), None);
    }

    #[test]
    fn unified_layout_owns_everything() {
        let l = Layout::parse(UNIFIED);
        assert!(l.is_unified());
        assert_eq!(l.owner("memory"), Some(Owner::V2("/sys/fs/cgroup".into())));
    }

    #[test]
    fn comounted_v1_controllers_share_a_mount() {
        let l = Layout::parse(V1_COMOUNTED);
        assert!(!l.is_hybrid() && !l.is_unified());
        assert_eq!(l.owner("cpu"), l.owner("cpuacct"));
        assert_eq!(l.owner("net_prio"), Some(Owner::V1("/sys/fs/cgroup/net_cls,net_prio".into())));
    }

    #[test]
    fn own_cgroups_reads_nested_memory_cgroup() {
        let own = own_cgroups("4:memory:/process_api/abc\n3:cpu,cpuacct:/\n0::/x\n");
        assert_eq!(own["memory"], PathBuf::from("/process_api/abc"));
        assert_eq!(own["cpuacct"], PathBuf::from("/"));
        assert_eq!(own[""], PathBuf::from("/x"));
    }
}
