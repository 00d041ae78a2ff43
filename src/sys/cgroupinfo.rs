//! The host's cgroup hierarchies, from /proc/self/mountinfo, and a process's
//! place in them, from /proc/<pid>/cgroup: one reader of each for the cgroup
//! manager (`cgroups::layout`) and the container's cgroup mount
//! (`rootfs::cgroupfs`), which may not import each other. No syscall but reads,
//! no `unsafe`.

use std::path::PathBuf;
use std::sync::OnceLock;

/// One cgroup hierarchy mounted on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mountpoint: PathBuf,
    /// `cgroup` (v1) or `cgroup2`.
    pub fstype: String,
    /// Super options without rw/ro, comma-separated: the controllers and flags of
    /// a v1 hierarchy (`cpu,cpuacct`, `name=systemd`), "" or cgroup2's flags.
    pub options: String,
}

impl Hierarchy {
    pub fn is_v2(&self) -> bool {
        self.fstype == "cgroup2"
    }
}

/// Each hierarchy of a mountinfo text once, at its first mount (the host's,
/// mounted at boot): other containers' cgroup mounts (a container without a
/// mount namespace, a rootfs on a shared mount) show up in mountinfo too, and
/// may be gone by the time they would be used.
pub fn hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    let mut found: Vec<Hierarchy> = Vec::new();
    for m in super::mountinfo::parse(mountinfo) {
        if m.fstype != "cgroup" && m.fstype != "cgroup2" {
            continue;
        }
        let options =
            m.super_options.iter().filter(|o| *o != "rw" && *o != "ro").cloned().collect::<Vec<_>>().join(",");
        if found.iter().any(|h| h.fstype == m.fstype && h.options == options) {
            continue;
        }
        found.push(Hierarchy { options, mountpoint: m.mountpoint, fstype: m.fstype });
    }
    found
}

/// The host's hierarchies, read from /proc/self/mountinfo once per process:
/// berth never mounts or unmounts a hierarchy of the host. A child of clone
/// inherits what its parent read: `create` reads them before it clones init,
/// whose mount namespace is a copy of ours (with the same hierarchies at the
/// same places), so init's cgroup mount reads no mountinfo of its own.
pub fn host_hierarchies() -> &'static [Hierarchy] {
    static HOST: OnceLock<Vec<Hierarchy>> = OnceLock::new();
    HOST.get_or_init(|| hierarchies(&super::procfs::read("/proc/self/mountinfo").unwrap_or_default()))
}

/// The lines of a /proc/<pid>/cgroup text as (controllers, path): `cpu,cpuacct`
/// or `name=systemd` for a v1 hierarchy, "" for cgroup2; the path as the kernel
/// wrote it (absolute, relative to the hierarchy's root as the reader's cgroup
/// namespace sees it). Malformed lines are skipped.
pub fn memberships(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        Some((controllers, path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hierarchy_once_at_its_first_mount() {
        let text = "\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
33 25 0:29 / /tmp rw - tmpfs tmpfs rw
90 80 0:26 /c1 /tmp/b/rootfs/sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct
91 80 0:27 /c1 /tmp/b/rootfs/sys/fs/cgroup/memory ro,nosuid - cgroup cgroup ro,memory
";
        let got = hierarchies(text);
        let mounts: Vec<String> = got.iter().map(|h| h.mountpoint.display().to_string()).collect();
        assert_eq!(mounts, ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified"]);
        let options: Vec<&str> = got.iter().map(|h| h.options.as_str()).collect();
        assert_eq!(options, ["cpu,cpuacct", "memory", "nsdelegate"]);
        assert!(got[2].is_v2() && !got[0].is_v2());
    }

    #[test]
    fn the_host_hierarchies_are_this_machines_cgroup_mounts() {
        let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert_eq!(host_hierarchies(), hierarchies(&text).as_slice());
    }

    #[test]
    fn memberships_split_at_the_first_two_colons() {
        let text = "12:cpu,cpuacct:/a/b\n0::/with:colon\nbroken\n1:name=systemd:/\n";
        let got: Vec<_> = memberships(text).collect();
        assert_eq!(got, [("cpu,cpuacct", "/a/b"), ("", "/with:colon"), ("name=systemd", "/")]);
    }
}
