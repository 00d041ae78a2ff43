//! Resource usage of a running container from its cgroup files, for
//! `stats`: v1 (cpuacct, memory, blkio, pids), v2 (cpu.stat, memory.current,
//! io.stat, pids.current) and the hybrid layout (v1 controllers beside a
//! cgroup2 mount). Which cgroups a container has is read from
//! /proc/<pid>/cgroup, so whatever path the runtime chose is found.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One sample of a container's usage.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sample {
    /// Total CPU time used, nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use without the inactive page cache (docker's rule).
    pub mem_usage: u64,
    /// The limit, or the host's memory when unlimited.
    pub mem_limit: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub pids: u64,
}

/// The cgroup directories of `pid`, by controller (`""` for the v2 one).
pub(crate) fn cgroup_dirs(proc_root: &Path, sys_root: &Path, pid: i32) -> HashMap<String, PathBuf> {
    let text = std::fs::read_to_string(proc_root.join(format!("{pid}/cgroup"))).unwrap_or_default();
    let mut out = HashMap::new();
    let unified =
        if sys_root.join("cgroup.controllers").exists() { sys_root.to_path_buf() } else { sys_root.join("unified") };
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else { continue };
        let rel = path.trim_start_matches('/');
        if ctrls.is_empty() {
            out.insert(String::new(), unified.join(rel));
            continue;
        }
        for c in ctrls.split(',') {
            // The mount is named after the joined controllers (cpu,cpuacct).
            out.insert(c.to_string(), sys_root.join(ctrls).join(rel));
        }
    }
    out
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn keyed(p: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(p).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

/// Host memory (MemTotal), the limit docker shows for an unlimited container.
fn host_memory(proc_root: &Path) -> u64 {
    let text = std::fs::read_to_string(proc_root.join("meminfo")).unwrap_or_default();
    let kb = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok());
    kb.map_or(0, |kb| kb * 1024)
}

/// Read one sample for the container whose init is `pid`.
pub(crate) fn sample(proc_root: &Path, sys_root: &Path, pid: i32) -> Sample {
    let dirs = cgroup_dirs(proc_root, sys_root, pid);
    let v1 = |c: &str| dirs.get(c).filter(|d| d.exists());
    let v2 = dirs.get("").filter(|d| d.join("cgroup.controllers").exists());
    let mut s = Sample::default();
    let host_mem = host_memory(proc_root);
    if let Some(d) = v1("cpuacct") {
        s.cpu_ns = read_u64(&d.join("cpuacct.usage")).unwrap_or(0);
    } else if let Some(d) = v2 {
        s.cpu_ns = keyed(&d.join("cpu.stat"), "usage_usec").unwrap_or(0) * 1000;
    }
    if let Some(d) = v1("memory") {
        let usage = read_u64(&d.join("memory.usage_in_bytes")).unwrap_or(0);
        let inactive = keyed(&d.join("memory.stat"), "total_inactive_file").unwrap_or(0);
        s.mem_usage = usage.saturating_sub(inactive);
        s.mem_limit = read_u64(&d.join("memory.limit_in_bytes")).unwrap_or(u64::MAX);
    } else if let Some(d) = v2 {
        let usage = read_u64(&d.join("memory.current")).unwrap_or(0);
        let inactive = keyed(&d.join("memory.stat"), "inactive_file").unwrap_or(0);
        s.mem_usage = usage.saturating_sub(inactive);
        s.mem_limit = read_u64(&d.join("memory.max")).unwrap_or(u64::MAX);
    }
    if s.mem_limit == 0 || s.mem_limit >= host_mem {
        s.mem_limit = host_mem;
    }
    if let Some(d) = v1("blkio") {
        (s.block_read, s.block_write) = blkio_v1(&d.join("blkio.throttle.io_service_bytes"));
    } else if let Some(d) = v2 {
        (s.block_read, s.block_write) = io_stat_v2(&d.join("io.stat"));
    }
    if let Some(d) = v1("pids").or(v2) {
        s.pids = read_u64(&d.join("pids.current")).unwrap_or(0);
    }
    (s.net_rx, s.net_tx) = net_dev(&proc_root.join(format!("{pid}/net/dev")));
    s
}

fn blkio_v1(p: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let [_, op, v] = f.as_slice() {
            let v: u64 = v.parse().unwrap_or(0);
            match *op {
                "Read" => r += v,
                "Write" => w += v,
                _ => {}
            }
        }
    }
    (r, w)
}

fn io_stat_v2(p: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let (mut r, mut w) = (0, 0);
    for word in text.split_whitespace() {
        if let Some(v) = word.strip_prefix("rbytes=") {
            r += v.parse().unwrap_or(0);
        } else if let Some(v) = word.strip_prefix("wbytes=") {
            w += v.parse().unwrap_or(0);
        }
    }
    (r, w)
}

/// Bytes received and sent on the container's interfaces but loopback.
fn net_dev(p: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let (mut rx, mut tx) = (0, 0);
    for l in text.lines().skip(2) {
        let Some((name, rest)) = l.split_once(':') else { continue };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        if f.len() >= 9 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}

/// Total CPU time of the host (all of /proc/stat's `cpu` line), nanoseconds.
pub(crate) fn system_cpu_ns(proc_root: &Path) -> u64 {
    let text = std::fs::read_to_string(proc_root.join("stat")).unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else { return 0 };
    // /proc/stat counts in USER_HZ, which is 100 on Linux.
    line.split_whitespace().skip(1).filter_map(|v| v.parse::<u64>().ok()).sum::<u64>() * 10_000_000
}

/// docker's CPU %: container CPU delta over host CPU delta, times online CPUs.
pub(crate) fn cpu_percent(before: (u64, u64), after: (u64, u64), cpus: u64) -> f64 {
    let cpu = after.0.saturating_sub(before.0) as f64;
    let sys = after.1.saturating_sub(before.1) as f64;
    if sys > 0.0 && cpu > 0.0 { cpu / sys * cpus as f64 * 100.0 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn hybrid_layout_reads_v1_controllers() {
        let t = tempfile::tempdir().unwrap();
        let (proc_root, sys) = (t.path().join("proc"), t.path().join("sys"));
        write(
            &proc_root.join("7/cgroup"),
            "12:memory:/berthctl/x\n4:cpu,cpuacct:/berthctl/x\n3:pids:/berthctl/x\n2:blkio:/berthctl/x\n0::/berthctl/x\n",
        );
        write(&proc_root.join("meminfo"), "MemTotal:       1000 kB\n");
        write(
            &proc_root.join("7/net/dev"),
            "h1\nh2\n    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: 10 1 0 0 0 0 0 0 20 1 0 0 0 0 0 0\n",
        );
        write(&sys.join("memory/berthctl/x/memory.usage_in_bytes"), "600000\n");
        write(&sys.join("memory/berthctl/x/memory.stat"), "cache 1\ntotal_inactive_file 100000\n");
        write(&sys.join("memory/berthctl/x/memory.limit_in_bytes"), "9223372036854771712\n");
        write(&sys.join("cpu,cpuacct/berthctl/x/cpuacct.usage"), "5000\n");
        write(&sys.join("pids/berthctl/x/pids.current"), "3\n");
        write(
            &sys.join("blkio/berthctl/x/blkio.throttle.io_service_bytes"),
            "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n",
        );
        write(&sys.join("unified/berthctl/x/cgroup.procs"), "7\n");
        let s = sample(&proc_root, &sys, 7);
        assert_eq!(
            s,
            Sample {
                cpu_ns: 5000,
                mem_usage: 500000,
                mem_limit: 1024000,
                block_read: 10,
                block_write: 20,
                net_rx: 10,
                net_tx: 20,
                pids: 3
            }
        );
    }

    #[test]
    fn v2_layout() {
        let t = tempfile::tempdir().unwrap();
        let (proc_root, sys) = (t.path().join("proc"), t.path().join("sys"));
        write(&proc_root.join("7/cgroup"), "0::/berthctl/x\n");
        write(&proc_root.join("meminfo"), "MemTotal:       1000 kB\n");
        write(&sys.join("cgroup.controllers"), "cpu memory io pids\n");
        let d = sys.join("berthctl/x");
        write(&d.join("cgroup.controllers"), "cpu memory io pids\n");
        write(&d.join("cpu.stat"), "usage_usec 7\nuser_usec 5\n");
        write(&d.join("memory.current"), "5000\n");
        write(&d.join("memory.stat"), "anon 1\ninactive_file 1000\n");
        write(&d.join("memory.max"), "8192\n");
        write(&d.join("io.stat"), "8:0 rbytes=1 wbytes=2 rios=0\n8:16 rbytes=3 wbytes=4\n");
        write(&d.join("pids.current"), "2\n");
        let s = sample(&proc_root, &sys, 7);
        assert_eq!(
            (s.cpu_ns, s.mem_usage, s.mem_limit, s.block_read, s.block_write, s.pids),
            (7000, 4000, 8192, 4, 6, 2)
        );
    }

    #[test]
    fn cpu_percent_as_docker() {
        assert_eq!(cpu_percent((0, 0), (50, 200), 2), 50.0);
        assert_eq!(cpu_percent((0, 0), (0, 0), 2), 0.0);
    }
}
