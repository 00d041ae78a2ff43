//! Usage counters as runc's `events --stats` reports them (runc's
//! types/events.go field names), read from whichever hierarchy owns each
//! controller.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::fs::{FsManager, read};

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
    pub network_interfaces: Option<Vec<serde_json::Value>>,
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

pub(super) fn collect(m: &FsManager) -> Stats {
    let mut s = Stats::default();
    // CPU: cpuacct on v1, cpu.stat on v2 (usec → nsec).
    if let Some(d) = m.dir_for("cpuacct").filter(|d| !d.v2) {
        s.cpu.usage.total = num(&d.path.join("cpuacct.usage"));
        s.cpu.usage.percpu = read(&d.path.join("cpuacct.usage_percpu"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        // cpuacct.stat is in USER_HZ ticks (100 per second).
        let st = keyed(&d.path.join("cpuacct.stat"));
        s.cpu.usage.user = st.get("user").copied().unwrap_or(0) * 10_000_000;
        s.cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * 10_000_000;
    }
    if let Some(d) = m.dir_for("cpu") {
        let st = keyed(&d.path.join("cpu.stat"));
        if d.v2 {
            s.cpu.usage.total = st.get("usage_usec").copied().unwrap_or(0) * 1000;
            s.cpu.usage.user = st.get("user_usec").copied().unwrap_or(0) * 1000;
            s.cpu.usage.kernel = st.get("system_usec").copied().unwrap_or(0) * 1000;
            s.cpu.throttling.throttled_time = st.get("throttled_usec").copied().unwrap_or(0) * 1000;
        } else {
            s.cpu.throttling.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
        }
        s.cpu.throttling.periods = st.get("nr_periods").copied().unwrap_or(0);
        s.cpu.throttling.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
    }
    if let Some(d) = m.dir_for("memory") {
        let p = |f: &str| d.path.join(f);
        s.memory.raw = keyed(&p("memory.stat"));
        if d.v2 {
            s.memory.usage = MemoryEntry {
                limit: num(&p("memory.max")),
                usage: num(&p("memory.current")),
                max: num(&p("memory.peak")),
                failcnt: keyed(&p("memory.events")).get("max").copied().unwrap_or(0),
            };
            s.memory.swap = MemoryEntry {
                limit: num(&p("memory.swap.max")),
                usage: num(&p("memory.swap.current")),
                max: 0,
                failcnt: 0,
            };
            s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
        } else {
            s.memory.usage = MemoryEntry {
                limit: num(&p("memory.limit_in_bytes")),
                usage: num(&p("memory.usage_in_bytes")),
                max: num(&p("memory.max_usage_in_bytes")),
                failcnt: num(&p("memory.failcnt")),
            };
            s.memory.swap = MemoryEntry {
                limit: num(&p("memory.memsw.limit_in_bytes")),
                usage: num(&p("memory.memsw.usage_in_bytes")),
                max: num(&p("memory.memsw.max_usage_in_bytes")),
                failcnt: num(&p("memory.memsw.failcnt")),
            };
            s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
        }
    }
    if let Some(d) = m.dir_for("pids") {
        s.pids.current = num(&d.path.join("pids.current"));
        let limit = num(&d.path.join("pids.max"));
        s.pids.limit = if limit == u64::MAX { 0 } else { limit };
    }
    if let Some(d) = m.dir_for("blkio").or_else(|| m.dir_for("io")) {
        if d.v2 {
            for line in read(&d.path.join("io.stat")).unwrap_or_default().lines() {
                let mut it = line.split_whitespace();
                let Some((maj, min)) = it.next().and_then(|dev| dev.split_once(':')) else { continue };
                let (major, minor) = (maj.parse().unwrap_or(0), min.parse().unwrap_or(0));
                for kv in it {
                    let Some((k, v)) = kv.split_once('=') else { continue };
                    let value = v.parse().unwrap_or(0);
                    match k {
                        "rbytes" => s.blkio.io_service_bytes_recursive.push(BlkioEntry {
                            major,
                            minor,
                            op: "Read".into(),
                            value,
                        }),
                        "wbytes" => s.blkio.io_service_bytes_recursive.push(BlkioEntry {
                            major,
                            minor,
                            op: "Write".into(),
                            value,
                        }),
                        "rios" => {
                            s.blkio.io_serviced_recursive.push(BlkioEntry { major, minor, op: "Read".into(), value })
                        }
                        "wios" => {
                            s.blkio.io_serviced_recursive.push(BlkioEntry { major, minor, op: "Write".into(), value })
                        }
                        _ => {}
                    }
                }
            }
        } else {
            s.blkio.io_service_bytes_recursive = blkio_v1(&d.path.join("blkio.throttle.io_service_bytes_recursive"));
            s.blkio.io_serviced_recursive = blkio_v1(&d.path.join("blkio.throttle.io_serviced_recursive"));
        }
    }
    if let Some(d) = m.dir_for("hugetlb")
        && let Ok(entries) = std::fs::read_dir(&d.path)
    {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let size = if d.v2 {
                name.strip_prefix("hugetlb.").and_then(|r| r.strip_suffix(".current"))
            } else {
                name.strip_prefix("hugetlb.").and_then(|r| r.strip_suffix(".usage_in_bytes"))
            };
            let Some(size) = size else { continue };
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
            s.hugetlb.insert(size.to_string(), h);
        }
    }
    s
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
