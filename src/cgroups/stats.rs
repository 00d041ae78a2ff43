//! Usage counters as runc's `events --stats` reports them (runc's
//! types/events.go field names), read from whichever hierarchy owns each
//! controller.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::dirs::{Dir, Dirs, read};

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub cpuset: CpuSet,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
    /// Always empty: berth has no Intel RDT support (runc prints `{}` without it).
    pub intel_rdt: IntelRdt,
    pub network_interfaces: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Default, Serialize)]
pub struct IntelRdt {}

/// runc's `types.CPUSet`: the cpuset controller's files, lists expanded.
#[derive(Debug, Default, Serialize)]
pub struct CpuSet {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    pub cpu_exclusive: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
    pub mem_hardwall: u64,
    pub mem_exclusive: u64,
    pub memory_migrate: u64,
    pub memory_spread_page: u64,
    pub memory_spread_slab: u64,
    pub memory_pressure: u64,
    pub sched_load_balance: u64,
    pub sched_relax_domain_level: i64,
}

#[derive(Debug, Default, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Default, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(rename = "throttledPeriods", skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    #[serde(rename = "throttledTime", skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub raw: HashMap<String, u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Blkio {
    #[serde(rename = "ioServiceBytesRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Serialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// "key value" lines (memory.stat, cpu.stat, memory.events).
pub(super) fn keyed(path: &Path) -> HashMap<String, u64> {
    read(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

fn num(path: &Path) -> u64 {
    // "max" (no limit) reads as u64::MAX, as runc reports it.
    match read(path).as_deref() {
        Some("max") => u64::MAX,
        Some(s) => s.parse().unwrap_or(0),
        None => 0,
    }
}

pub(super) fn collect(m: &Dirs) -> Stats {
    let mut s = Stats::default();
    if let Some(d) = m.dir_for("cpuacct").filter(|d| !d.v2) {
        cpuacct_v1(&mut s.cpu, &d.path);
    }
    if let Some(d) = m.dir_for("cpu") {
        cpu(&mut s.cpu, d);
    }
    if let Some(d) = m.dir_for("cpuset") {
        s.cpuset = cpuset(d);
    }
    if let Some(d) = m.dir_for("memory") {
        s.memory = memory(d);
    }
    if let Some(d) = m.dir_for("pids") {
        s.pids.current = num(&d.path.join("pids.current"));
        let limit = num(&d.path.join("pids.max"));
        s.pids.limit = if limit == u64::MAX { 0 } else { limit };
    }
    if let Some(d) = m.dir_for("blkio").or_else(|| m.dir_for("io")) {
        s.blkio = if d.v2 {
            io_v2(&d.path.join("io.stat"))
        } else {
            Blkio {
                io_service_bytes_recursive: blkio_v1(&d.path.join("blkio.throttle.io_service_bytes_recursive")),
                io_serviced_recursive: blkio_v1(&d.path.join("blkio.throttle.io_serviced_recursive")),
            }
        };
    }
    if let Some(d) = m.dir_for("hugetlb") {
        s.hugetlb = hugetlb(d);
    }
    s
}

/// v1's cpuacct: total and per-CPU usage in ns, user/system in USER_HZ ticks.
fn cpuacct_v1(cpu: &mut Cpu, dir: &Path) {
    cpu.usage.total = num(&dir.join("cpuacct.usage"));
    cpu.usage.percpu = read(&dir.join("cpuacct.usage_percpu"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // cpuacct.usage_all: "cpu user system" per CPU, in ns.
    for line in read(&dir.join("cpuacct.usage_all")).unwrap_or_default().lines().skip(1) {
        let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if let [_, user, system] = v[..] {
            cpu.usage.percpu_user.push(user);
            cpu.usage.percpu_kernel.push(system);
        }
    }
    // cpuacct.stat is in USER_HZ ticks (100 per second).
    let st = keyed(&dir.join("cpuacct.stat"));
    cpu.usage.user = st.get("user").copied().unwrap_or(0) * 10_000_000;
    cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * 10_000_000;
}

/// cpu.stat: usage on v2 (usec → nsec), throttling on both.
fn cpu(cpu: &mut Cpu, d: &Dir) {
    let st = keyed(&d.path.join("cpu.stat"));
    let get = |k: &str| st.get(k).copied().unwrap_or(0);
    if d.v2 {
        cpu.usage.total = get("usage_usec") * 1000;
        cpu.usage.user = get("user_usec") * 1000;
        cpu.usage.kernel = get("system_usec") * 1000;
        cpu.throttling.throttled_time = get("throttled_usec") * 1000;
    } else {
        cpu.throttling.throttled_time = get("throttled_time");
    }
    cpu.throttling.periods = get("nr_periods");
    cpu.throttling.throttled_periods = get("nr_throttled");
}

fn memory(d: &Dir) -> Memory {
    let p = |f: &str| d.path.join(f);
    let raw = keyed(&p("memory.stat"));
    let (usage, swap, cache) = if d.v2 {
        let usage = MemoryEntry {
            limit: num(&p("memory.max")),
            usage: num(&p("memory.current")),
            max: num(&p("memory.peak")),
            failcnt: keyed(&p("memory.events")).get("max").copied().unwrap_or(0),
        };
        let swap = MemoryEntry {
            limit: num(&p("memory.swap.max")),
            usage: num(&p("memory.swap.current")),
            max: 0,
            failcnt: 0,
        };
        (usage, swap, raw.get("file"))
    } else {
        let usage = MemoryEntry {
            limit: num(&p("memory.limit_in_bytes")),
            usage: num(&p("memory.usage_in_bytes")),
            max: num(&p("memory.max_usage_in_bytes")),
            failcnt: num(&p("memory.failcnt")),
        };
        let swap = MemoryEntry {
            limit: num(&p("memory.memsw.limit_in_bytes")),
            usage: num(&p("memory.memsw.usage_in_bytes")),
            max: num(&p("memory.memsw.max_usage_in_bytes")),
            failcnt: num(&p("memory.memsw.failcnt")),
        };
        (usage, swap, raw.get("cache"))
    };
    // Kernel and TCP buffer memory are v1 counters (v2 has no such files).
    let entry = |prefix: &str| MemoryEntry {
        limit: num(&p(&format!("{prefix}.limit_in_bytes"))),
        usage: num(&p(&format!("{prefix}.usage_in_bytes"))),
        max: num(&p(&format!("{prefix}.max_usage_in_bytes"))),
        failcnt: num(&p(&format!("{prefix}.failcnt"))),
    };
    let (kernel, kernel_tcp) = if d.v2 { Default::default() } else { (entry("memory.kmem"), entry("memory.kmem.tcp")) };
    Memory { cache: cache.copied().unwrap_or(0), usage, swap, kernel, kernel_tcp, raw }
}

/// The cpuset controller's settings (v2: only the effective lists, as runc).
fn cpuset(d: &Dir) -> CpuSet {
    let p = |f: &str| d.path.join(f);
    let list = |f: &str| parse_list(&read(&p(f)).unwrap_or_default());
    if d.v2 {
        return CpuSet {
            cpus: list("cpuset.cpus.effective"),
            mems: list("cpuset.mems.effective"),
            ..Default::default()
        };
    }
    CpuSet {
        cpus: list("cpuset.cpus"),
        cpu_exclusive: num(&p("cpuset.cpu_exclusive")),
        mems: list("cpuset.mems"),
        mem_hardwall: num(&p("cpuset.mem_hardwall")),
        mem_exclusive: num(&p("cpuset.mem_exclusive")),
        memory_migrate: num(&p("cpuset.memory_migrate")),
        memory_spread_page: num(&p("cpuset.memory_spread_page")),
        memory_spread_slab: num(&p("cpuset.memory_spread_slab")),
        memory_pressure: num(&p("cpuset.memory_pressure")),
        sched_load_balance: num(&p("cpuset.sched_load_balance")),
        sched_relax_domain_level: read(&p("cpuset.sched_relax_domain_level"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
    }
}

/// A kernel list such as `0-3,5` expanded.
fn parse_list(s: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
            out.extend(a..=b);
        }
    }
    out
}

/// v2's io.stat: `MAJ:MIN rbytes=… wbytes=… rios=… wios=…` per device.
fn io_v2(path: &Path) -> Blkio {
    let mut b = Blkio::default();
    for line in read(path).unwrap_or_default().lines() {
        let mut it = line.split_whitespace();
        let Some((maj, min)) = it.next().and_then(|dev| dev.split_once(':')) else { continue };
        let (major, minor) = (maj.parse().unwrap_or(0), min.parse().unwrap_or(0));
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut b.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut b.io_service_bytes_recursive, "Write"),
                "rios" => (&mut b.io_serviced_recursive, "Read"),
                "wios" => (&mut b.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry { major, minor, op: op.into(), value: v.parse().unwrap_or(0) });
        }
    }
    b
}

/// Per page size: usage, and on v1 max usage and failcnt; on v2 the `max` events.
/// Keyed by page size only ("2MB"), as runc's HugePageSizes: the reservation
/// counters (`hugetlb.2MB.rsvd.*`) are not page sizes.
fn hugetlb(d: &Dir) -> BTreeMap<String, Hugetlb> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(&d.path) else { return out };
    let suffix = if d.v2 { ".current" } else { ".usage_in_bytes" };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(size) = name.strip_prefix("hugetlb.").and_then(|r| r.strip_suffix(suffix)) else { continue };
        if size.contains('.') {
            continue;
        }
        let h = if d.v2 {
            Hugetlb {
                usage: num(&e.path()),
                max: 0,
                failcnt: keyed(&d.path.join(format!("hugetlb.{size}.events"))).get("max").copied().unwrap_or(0),
            }
        } else {
            Hugetlb {
                usage: num(&e.path()),
                max: num(&d.path.join(format!("hugetlb.{size}.max_usage_in_bytes"))),
                failcnt: num(&d.path.join(format!("hugetlb.{size}.failcnt"))),
            }
        };
        out.insert(size.to_string(), h);
    }
    out
}

fn blkio_v1(path: &Path) -> Vec<BlkioEntry> {
    read(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (maj, min) = it.next()?.split_once(':')?;
            Some(BlkioEntry {
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                op: it.next()?.to_string(),
                value: it.next()?.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_expand_like_runc() {
        assert_eq!(parse_list("0-3,5\n"), vec![0, 1, 2, 3, 5]);
        assert_eq!(parse_list("0"), vec![0]);
        assert!(parse_list("").is_empty());
    }

    #[test]
    fn hugetlb_stats_are_keyed_by_page_size_without_the_reservations() {
        let dir = tempfile::tempdir().unwrap();
        for (file, value) in [
            ("hugetlb.2MB.current", "4194304"),
            ("hugetlb.2MB.events", "max 3\n"),
            ("hugetlb.2MB.rsvd.current", "8388608"),
            ("hugetlb.1GB.current", "0"),
            ("hugetlb.1GB.rsvd.current", "0"),
        ] {
            std::fs::write(dir.path().join(file), value).unwrap();
        }
        let d = Dir { controllers: Vec::new(), path: dir.path().into(), v2: true, root: dir.path().into() };
        let h = hugetlb(&d);
        assert_eq!(h.keys().collect::<Vec<_>>(), ["1GB", "2MB"]);
        assert_eq!((h["2MB"].usage, h["2MB"].failcnt), (4194304, 3));
    }

    #[test]
    fn stats_carry_runc_keys() {
        let v = serde_json::to_value(Stats::default()).unwrap();
        for key in ["cpuset", "intel_rdt", "hugetlb", "blkio", "network_interfaces"] {
            assert!(v.get(key).is_some(), "{key} missing: {v}");
        }
        assert!(v["memory"].get("kernel").is_some() && v["memory"].get("kernelTCP").is_some(), "{v}");
    }
}
