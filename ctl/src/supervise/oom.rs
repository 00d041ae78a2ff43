//! Whether the kernel's OOM killer struck inside the container, for
//! `State.OOMKilled` and the `oom` event: the `oom_kill` counter of the
//! container's memory cgroup — `memory.events` on cgroup v2, the
//! `memory.oom_control` line (Linux ≥ 4.13) on v1 and hybrid hosts.
//!
//! The supervisor finds the directory from `/proc/<pid>/cgroup` while the
//! container's init lives (wherever the runtime — berth, runc, crun — put
//! it), and reads the counter after init exits but before `<runtime>
//! delete` removes the cgroup: the count dies with the cgroup, which is why
//! the `__hook` run after delete cannot read it. The kernel raises the
//! event before it sends SIGKILL (mm/oom_kill.c: "task reaper must see
//! this"), so the count is there once the reaper sees the death.

use std::path::{Path, PathBuf};

/// The memory cgroup of the live process `pid`: the v1 memory controller's
/// directory when there is one, else the unified (v2) one with the memory
/// controller enabled.
pub(crate) fn memory_cgroup(proc_root: &Path, sys_root: &Path, pid: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(proc_root.join(format!("{pid}/cgroup"))).ok()?;
    let mut unified = None;
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else { continue };
        let rel = path.trim_start_matches('/');
        if ctrls.is_empty() {
            // The unified mount is the root itself on a v2 host, else
            // /sys/fs/cgroup/unified (hybrid).
            let root = if sys_root.join("cgroup.controllers").exists() {
                sys_root.to_path_buf()
            } else {
                sys_root.join("unified")
            };
            unified = Some(root.join(rel));
        } else if ctrls.split(',').any(|c| c == "memory") {
            // The v1 mount is named after its joined controllers.
            let dir = sys_root.join(ctrls).join(rel);
            if dir.join("memory.oom_control").is_file() {
                return Some(dir);
            }
        }
    }
    unified.filter(|d| d.join("memory.events").is_file())
}

/// How many processes of the cgroup at `dir` the OOM killer has killed (0
/// when the files are gone or say nothing).
pub(crate) fn kills(dir: &Path) -> u64 {
    ["memory.events", "memory.oom_control"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .find_map(|text| {
            text.lines().find_map(|l| l.strip_prefix("oom_kill ").and_then(|v| v.trim().parse::<u64>().ok()))
        })
        .unwrap_or(0)
}

/// `memory_cgroup` of a container's init on this host.
pub(crate) fn memory_cgroup_of(pid: i32) -> Option<PathBuf> {
    memory_cgroup(Path::new("/proc"), Path::new("/sys/fs/cgroup"), pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(proc_cgroup: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Option<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let proc_root = dir.path().join("proc");
        std::fs::create_dir_all(proc_root.join("7")).unwrap();
        std::fs::write(proc_root.join("7/cgroup"), proc_cgroup).unwrap();
        let sys = dir.path().join("sys");
        for (path, text) in files {
            let p = sys.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let found = memory_cgroup(&proc_root, &sys, 7);
        (dir, found)
    }

    #[test]
    fn hybrid_reads_v1_oom_control() {
        let (_d, found) = fixture(
            "4:memory:/berthctl/abc\n0::/berthctl/abc\n",
            &[
                ("memory/berthctl/abc/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
                ("unified/berthctl/abc/cgroup.procs", ""),
            ],
        );
        let found = found.expect("v1 memory cgroup");
        assert!(found.ends_with("memory/berthctl/abc"), "{found:?}");
        assert_eq!(kills(&found), 2);
    }

    #[test]
    fn v2_reads_memory_events() {
        let (_d, found) = fixture(
            "0::/berthctl/abc\n",
            &[
                ("cgroup.controllers", "memory pids\n"),
                ("berthctl/abc/memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n"),
            ],
        );
        assert_eq!(kills(&found.expect("v2 memory cgroup")), 1);
    }

    #[test]
    fn no_memory_cgroup_means_no_kills() {
        let (_d, found) = fixture("4:memory:/gone\n0::/\n", &[]);
        assert!(found.is_none());
        assert_eq!(kills(Path::new("/nonexistent")), 0);
    }
}
