//! Writing `linux.resources` into the cgroup files, each field through the
//! hierarchy that owns its controller: v1 file names on a v1 hierarchy, v2 names
//! (with runc's conversions) on cgroup2. A field whose controller the host lacks,
//! or that the owning version cannot express, is an error naming the field.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxMemory, LinuxResources};

use super::dirs::{Dir, Dirs, read, write};
use super::{CgroupError, devices, v2};

fn missing(field: &str, controller: &str) -> CgroupError {
    CgroupError::Unsupported {
        field: field.into(),
        reason: format!("the {controller} controller is not available on this host"),
    }
}

fn owner<'a>(m: &'a Dirs, controller: &str, field: &str) -> Result<&'a Dir, CgroupError> {
    m.dir_for(controller).ok_or_else(|| missing(field, controller))
}

fn only_v1(d: &Dir, field: &str) -> Result<(), CgroupError> {
    if d.v2 {
        return Err(CgroupError::Unsupported { field: field.into(), reason: "not supported on cgroup v2".into() });
    }
    Ok(())
}

/// What must be refused before anything is written: `unified` keys this host
/// cannot honour. runc refuses `unified` on any v1 or hybrid host ("invalid
/// configuration: cannot use unified on cgroup v1"); berth honours on a hybrid
/// host the keys of controllers its cgroup2 mount holds (hugetlb here), and
/// refuses the rest in runc's words.
pub(super) fn check(m: &Dirs, r: &LinuxResources) -> Result<(), CgroupError> {
    let Some(unified) = r.unified() else { return Ok(()) };
    if m.layout.is_unified() {
        return Ok(());
    }
    for k in unified.keys() {
        let controller = k.split('.').next().unwrap_or_default();
        let on_cgroup2 = m.unified().is_some() && m.layout.unified_controllers.iter().any(|c| c == controller);
        if !on_cgroup2 {
            return Err(CgroupError::Invalid {
                field: format!("linux.resources.unified.{k}"),
                reason: "invalid configuration: cannot use unified on cgroup v1".into(),
            });
        }
    }
    Ok(())
}

pub(super) fn apply(m: &Dirs, r: &LinuxResources) -> Result<(), CgroupError> {
    check(m, r)?;
    if let Some(mem) = r.memory() {
        memory(m, mem)?;
    }
    if let Some(cpu) = r.cpu() {
        cpu_limits(m, cpu)?;
    }
    if let Some(p) = r.pids() {
        let d = owner(m, "pids", "linux.resources.pids")?;
        let v = if p.limit() > 0 { p.limit().to_string() } else { "max".to_string() };
        write(&d.path.join("pids.max"), &v, "linux.resources.pids.limit")?;
    }
    if let Some(b) = r.block_io() {
        block_io(m, b)?;
    }
    for (i, h) in r.hugepage_limits().as_deref().unwrap_or_default().iter().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        let d = owner(m, "hugetlb", &field)?;
        if d.v2 {
            m.enable_v2(&["hugetlb"])?;
            write(&d.path.join(format!("hugetlb.{}.max", h.page_size())), &h.limit().to_string(), &field)?;
        } else {
            write(&d.path.join(format!("hugetlb.{}.limit_in_bytes", h.page_size())), &h.limit().to_string(), &field)?;
        }
    }
    if let Some(net) = r.network() {
        if let Some(id) = net.class_id() {
            let d = owner(m, "net_cls", "linux.resources.network.classID")?;
            only_v1(d, "linux.resources.network.classID")?;
            write(&d.path.join("net_cls.classid"), &id.to_string(), "linux.resources.network.classID")?;
        }
        for (i, p) in net.priorities().as_deref().unwrap_or_default().iter().enumerate() {
            let field = format!("linux.resources.network.priorities[{i}]");
            let d = owner(m, "net_prio", &field)?;
            only_v1(d, &field)?;
            write(&d.path.join("net_prio.ifpriomap"), &format!("{} {}", p.name(), p.priority()), &field)?;
        }
    }
    if let Some(rdma) = r.rdma() {
        let d = owner(m, "rdma", "linux.resources.rdma")?;
        for (dev, l) in rdma {
            let mut v = dev.clone();
            if let Some(h) = l.hca_handles() {
                v.push_str(&format!(" hca_handle={h}"));
            }
            if let Some(o) = l.hca_objects() {
                v.push_str(&format!(" hca_object={o}"));
            }
            write(&d.path.join("rdma.max"), &v, &format!("linux.resources.rdma.{dev}"))?;
        }
    }
    if let Some(unified) = r.unified() {
        let Some(d) = m.list.iter().find(|d| d.v2) else {
            return Err(CgroupError::Unsupported {
                field: "linux.resources.unified".into(),
                reason: "needs a cgroup v2 hierarchy".into(),
            });
        };
        for (k, v) in unified {
            let field = format!("linux.resources.unified.{k}");
            if k.contains('/') || k.starts_with('.') {
                return Err(CgroupError::Invalid { field, reason: "not a cgroup file name".into() });
            }
            write(&d.path.join(k), v, &field)?;
        }
    }
    if let Some(devs) = r.devices() {
        devices(m, devs)?;
    }
    Ok(())
}

fn memory(m: &Dirs, mem: &LinuxMemory) -> Result<(), CgroupError> {
    let d = owner(m, "memory", "linux.resources.memory")?;
    if mem.check_before_update().unwrap_or(false)
        && let Some(limit) = mem.limit().filter(|l| *l > 0)
    {
        let usage_file = if d.v2 { "memory.current" } else { "memory.usage_in_bytes" };
        let usage: i64 = read(&d.path.join(usage_file)).and_then(|s| s.parse().ok()).unwrap_or(0);
        if usage > limit {
            return Err(CgroupError::Invalid {
                field: "linux.resources.memory.limit".into(),
                reason: format!("{limit} is below the current usage {usage} (checkBeforeUpdate)"),
            });
        }
    }
    // 0 means "not set" for the limit, reservation and swap, as in runc: docker
    // sends 0 for every one it was not asked to change.
    if d.v2 { memory_v2(&d.path, mem) } else { memory_v1(&d.path, mem) }
}

fn memory_v2(dir: &Path, mem: &LinuxMemory) -> Result<(), CgroupError> {
    let p = |f: &str| dir.join(f);
    let num = |v: i64| if v < 0 { "max".to_string() } else { v.to_string() };
    if let Some(l) = mem.limit().filter(|v| *v != 0) {
        write(&p("memory.max"), &num(l), "linux.resources.memory.limit")?;
    }
    if let Some(r) = mem.reservation().filter(|v| *v != 0) {
        write(&p("memory.low"), &num(r), "linux.resources.memory.reservation")?;
    }
    if let Some(s) = mem.swap().filter(|v| *v != 0) {
        let v = v2::swap_max(s, mem.limit())
            .map_err(|reason| CgroupError::Invalid { field: "linux.resources.memory.swap".into(), reason })?;
        write(&p("memory.swap.max"), &v, "linux.resources.memory.swap")?;
    }
    let unsupported = |field: &str| CgroupError::Unsupported {
        field: format!("linux.resources.memory.{field}"),
        reason: "not supported on cgroup v2".into(),
    };
    if mem.disable_oom_killer().unwrap_or(false) {
        return Err(unsupported("disableOOMKiller"));
    }
    if mem.swappiness().is_some() {
        return Err(unsupported("swappiness"));
    }
    // cgroup v2 accounts socket memory with the rest and has no separate limit.
    if mem.kernel_tcp().is_some_and(|v| v != 0) {
        return Err(unsupported("kernelTCP"));
    }
    Ok(())
}

fn memory_v1(dir: &Path, mem: &LinuxMemory) -> Result<(), CgroupError> {
    let p = |f: &str| dir.join(f);
    memory_limits_v1(dir, mem.limit().filter(|v| *v != 0), mem.swap().filter(|v| *v != 0))?;
    if let Some(r) = mem.reservation().filter(|v| *v != 0) {
        write(&p("memory.soft_limit_in_bytes"), &r.to_string(), "linux.resources.memory.reservation")?;
    }
    if let Some(s) = mem.swappiness() {
        if s > 100 {
            return Err(CgroupError::Invalid {
                field: "linux.resources.memory.swappiness".into(),
                reason: format!("{s} is above 100"),
            });
        }
        write(&p("memory.swappiness"), &s.to_string(), "linux.resources.memory.swappiness")?;
    }
    if mem.disable_oom_killer().unwrap_or(false) {
        write(&p("memory.oom_control"), "1", "linux.resources.memory.disableOOMKiller")?;
    }
    // runc 1.1 ignores it with a warning; the spec's field is v1's TCP buffer
    // limit, which this host's kernel has: applied (0 means "not set").
    if let Some(t) = mem.kernel_tcp().filter(|v| *v != 0) {
        let file = p("memory.kmem.tcp.limit_in_bytes");
        if !file.exists() {
            return Err(CgroupError::Unsupported {
                field: "linux.resources.memory.kernelTCP".into(),
                reason: "this kernel has no memory.kmem.tcp.limit_in_bytes".into(),
            });
        }
        write(&file, &t.to_string(), "linux.resources.memory.kernelTCP")?;
    }
    if let Some(h) = mem.use_hierarchy() {
        let _ = write(&p("memory.use_hierarchy"), if h { "1" } else { "0" }, "linux.resources.memory.useHierarchy");
    }
    Ok(())
}

/// v1's limit and memory+swap limit. memory+swap must never be below memory, so
/// the two writes are ordered by whether the limit grows past the current one.
fn memory_limits_v1(dir: &Path, limit: Option<i64>, swap: Option<i64>) -> Result<(), CgroupError> {
    let memsw = dir.join("memory.memsw.limit_in_bytes");
    let write_limit = || -> Result<(), CgroupError> {
        if let Some(l) = limit {
            write(&dir.join("memory.limit_in_bytes"), &l.to_string(), "linux.resources.memory.limit")?;
        }
        Ok(())
    };
    let write_swap = || -> Result<(), CgroupError> {
        if let Some(s) = swap {
            if !memsw.exists() {
                return Err(CgroupError::Unsupported {
                    field: "linux.resources.memory.swap".into(),
                    reason: "swap accounting is disabled on this host".into(),
                });
            }
            write(&memsw, &s.to_string(), "linux.resources.memory.swap")?;
        }
        Ok(())
    };
    let current_memsw: i64 = read(&memsw).and_then(|s| s.parse().ok()).unwrap_or(i64::MAX);
    if swap.is_some() && limit.is_some_and(|l| l == -1 || l > current_memsw) {
        write_swap()?;
        write_limit()
    } else {
        write_limit()?;
        write_swap()
    }
}

/// The kernel clamps cpu.shares to 2..262144 without an error: read back, a
/// value it changed is refused in runc's words.
fn v1_shares_taken(asked: u64, read_back: Option<&str>) -> Result<(), CgroupError> {
    let Some(got) = read_back.and_then(|t| t.trim().parse::<u64>().ok()) else {
        return Ok(());
    };
    let bound = match asked.cmp(&got) {
        std::cmp::Ordering::Greater => "maximum",
        std::cmp::Ordering::Less => "minimum",
        std::cmp::Ordering::Equal => return Ok(()),
    };
    Err(CgroupError::Invalid {
        field: "linux.resources.cpu.shares".into(),
        reason: format!("the {bound} allowed cpu-shares is {got}"),
    })
}

fn cpu_limits(m: &Dirs, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    let has_cpu = cpu.shares().is_some()
        || cpu.quota().is_some()
        || cpu.period().is_some()
        || cpu.burst().is_some()
        || cpu.realtime_runtime().is_some()
        || cpu.realtime_period().is_some()
        || cpu.idle().is_some();
    if has_cpu {
        let d = owner(m, "cpu", "linux.resources.cpu")?;
        let p = |f: &str| d.path.join(f);
        if d.v2 {
            if let Some(s) = cpu.shares().filter(|s| *s > 0) {
                write(&p("cpu.weight"), &v2::shares_to_weight(s).to_string(), "linux.resources.cpu.shares")?;
            }
            if cpu.quota().is_some() || cpu.period().is_some() {
                let v = v2::cpu_max(cpu.quota(), cpu.period(), read(&p("cpu.max")).as_deref());
                write(&p("cpu.max"), &v, "linux.resources.cpu.quota")?;
            }
            if let Some(b) = cpu.burst() {
                write(&p("cpu.max.burst"), &b.to_string(), "linux.resources.cpu.burst")?;
            }
            if cpu.realtime_runtime().is_some() || cpu.realtime_period().is_some() {
                return Err(CgroupError::Unsupported {
                    field: "linux.resources.cpu.realtimeRuntime".into(),
                    reason: "not supported on cgroup v2".into(),
                });
            }
        } else {
            if let Some(s) = cpu.shares().filter(|s| *s > 0) {
                write(&p("cpu.shares"), &s.to_string(), "linux.resources.cpu.shares")?;
                v1_shares_taken(s, read(&p("cpu.shares")).as_deref())?;
            }
            if let Some(per) = cpu.period().filter(|v| *v > 0) {
                write(&p("cpu.cfs_period_us"), &per.to_string(), "linux.resources.cpu.period")?;
            }
            if let Some(q) = cpu.quota().filter(|v| *v != 0) {
                write(&p("cpu.cfs_quota_us"), &q.to_string(), "linux.resources.cpu.quota")?;
            }
            if let Some(b) = cpu.burst() {
                write(&p("cpu.cfs_burst_us"), &b.to_string(), "linux.resources.cpu.burst")?;
            }
            if let Some(rp) = cpu.realtime_period().filter(|v| *v > 0) {
                write(&p("cpu.rt_period_us"), &rp.to_string(), "linux.resources.cpu.realtimePeriod")?;
            }
            if let Some(rr) = cpu.realtime_runtime().filter(|v| *v != 0) {
                write(&p("cpu.rt_runtime_us"), &rr.to_string(), "linux.resources.cpu.realtimeRuntime")?;
            }
        }
        if let Some(idle) = cpu.idle() {
            write(&p("cpu.idle"), &idle.to_string(), "linux.resources.cpu.idle")?;
        }
    }
    if cpu.cpus().as_deref().is_some_and(|s| !s.is_empty()) || cpu.mems().as_deref().is_some_and(|s| !s.is_empty()) {
        let d = owner(m, "cpuset", "linux.resources.cpu.cpus")?;
        if let Some(c) = cpu.cpus().as_deref().filter(|s| !s.is_empty()) {
            write(&d.path.join("cpuset.cpus"), c, "linux.resources.cpu.cpus")?;
        }
        if let Some(c) = cpu.mems().as_deref().filter(|s| !s.is_empty()) {
            write(&d.path.join("cpuset.mems"), c, "linux.resources.cpu.mems")?;
        }
    }
    Ok(())
}

fn block_io(m: &Dirs, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let d = owner(m, if m.dir_for("blkio").is_some() { "blkio" } else { "io" }, "linux.resources.blockIO")?;
    let p = |f: &str| d.path.join(f);
    // A weight of 0 means "not set", as in runc: docker sends `"weight": 0`
    // for every container, and the kernel rejects 0 (ERANGE).
    if d.v2 {
        if let Some(w) = b.weight().filter(|w| *w != 0) {
            // runc prefers BFQ's file, which takes blkio's own 10..1000 scale.
            if p("io.bfq.weight").exists() {
                write(&p("io.bfq.weight"), &w.to_string(), "linux.resources.blockIO.weight")?;
            } else {
                write(&p("io.weight"), &v2::blkio_weight_to_io(w).to_string(), "linux.resources.blockIO.weight")?;
            }
        }
        for (i, wd) in b.weight_device().as_deref().unwrap_or_default().iter().enumerate() {
            if let Some(w) = wd.weight().filter(|w| *w != 0) {
                let v = format!("{}:{} {}", wd.major(), wd.minor(), v2::blkio_weight_to_io(w));
                write(&p("io.weight"), &v, &format!("linux.resources.blockIO.weightDevice[{i}]"))?;
            }
        }
        for (key, list, name) in [
            ("rbps", b.throttle_read_bps_device(), "throttleReadBpsDevice"),
            ("wbps", b.throttle_write_bps_device(), "throttleWriteBpsDevice"),
            ("riops", b.throttle_read_iops_device(), "throttleReadIOPSDevice"),
            ("wiops", b.throttle_write_iops_device(), "throttleWriteIOPSDevice"),
        ] {
            for (i, t) in list.as_deref().unwrap_or_default().iter().enumerate() {
                let v = format!("{}:{} {key}={}", t.major(), t.minor(), t.rate());
                write(&p("io.max"), &v, &format!("linux.resources.blockIO.{name}[{i}]"))?;
            }
        }
        return Ok(());
    }
    // v1: with the BFQ scheduler the weight files are blkio.bfq.*.
    let weight_file = if p("blkio.weight").exists() { "blkio.weight" } else { "blkio.bfq.weight" };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        write(&p(weight_file), &w.to_string(), "linux.resources.blockIO.weight")?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        write(&p("blkio.leaf_weight"), &w.to_string(), "linux.resources.blockIO.leafWeight")?;
    }
    for (i, wd) in b.weight_device().as_deref().unwrap_or_default().iter().enumerate() {
        let field = format!("linux.resources.blockIO.weightDevice[{i}]");
        if let Some(w) = wd.weight().filter(|w| *w != 0) {
            write(&p(&format!("{weight_file}_device")), &format!("{}:{} {w}", wd.major(), wd.minor()), &field)?;
        }
        if let Some(w) = wd.leaf_weight().filter(|w| *w != 0) {
            write(&p("blkio.leaf_weight_device"), &format!("{}:{} {w}", wd.major(), wd.minor()), &field)?;
        }
    }
    for (file, list, name) in [
        ("blkio.throttle.read_bps_device", b.throttle_read_bps_device(), "throttleReadBpsDevice"),
        ("blkio.throttle.write_bps_device", b.throttle_write_bps_device(), "throttleWriteBpsDevice"),
        ("blkio.throttle.read_iops_device", b.throttle_read_iops_device(), "throttleReadIOPSDevice"),
        ("blkio.throttle.write_iops_device", b.throttle_write_iops_device(), "throttleWriteIOPSDevice"),
    ] {
        for (i, t) in list.as_deref().unwrap_or_default().iter().enumerate() {
            write(
                &p(file),
                &format!("{}:{} {}", t.major(), t.minor(), t.rate()),
                &format!("linux.resources.blockIO.{name}[{i}]"),
            )?;
        }
    }
    Ok(())
}

fn devices(m: &Dirs, devs: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let rules = devices::effective_rules(devs);
    // cgroup v2 has no devices files: an eBPF program attached to the container's
    // directory decides every access. That is also the way on a hybrid host
    // whose v1 hierarchies lack the devices controller.
    let d = match m.dir_for("devices") {
        Some(d) if !d.v2 => d,
        Some(d) => return devices::attach(&d.path, &rules),
        None => match m.list.iter().find(|d| d.v2) {
            Some(u) => return devices::attach(&u.path, &rules),
            None => return Err(missing("linux.resources.devices", "devices")),
        },
    };
    // The rules start from "deny everything", as runc's do. Each file is opened
    // once: every write(2) to it is one rule.
    let (allow_path, deny_path) = (d.path.join("devices.allow"), d.path.join("devices.deny"));
    let mut files: [Option<std::fs::File>; 2] = [None, None];
    let mut put = |allow: bool, value: &str, field: &str| {
        let path = if allow { &allow_path } else { &deny_path };
        let failed = |source| CgroupError::Write {
            field: field.to_string(),
            path: path.clone(),
            value: value.to_string(),
            source,
        };
        let slot = &mut files[usize::from(allow)];
        if slot.is_none() {
            *slot =
                Some(std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path).map_err(failed)?);
        }
        let f = slot.as_mut().expect("opened above");
        std::io::Write::write_all(f, value.as_bytes()).map_err(failed)
    };
    put(false, "a", "linux.resources.devices")?;
    for (i, rule) in rules.iter().enumerate() {
        let field =
            if i < devs.len() { format!("linux.resources.devices[{i}]") } else { "linux.resources.devices".into() };
        put(rule.allow, &rule.to_v1(), &field)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cpu.shares the kernel clamped is refused in runc's words.
    #[test]
    fn clamped_cpu_shares_are_refused_as_runc_does() {
        assert!(v1_shares_taken(1024, Some("1024\n")).is_ok());
        assert!(v1_shares_taken(1024, None).is_ok());
        let low = v1_shares_taken(1, Some("2\n")).unwrap_err().to_string();
        assert_eq!(low, "linux.resources.cpu.shares: the minimum allowed cpu-shares is 2");
        let high = v1_shares_taken(1 << 20, Some("262144")).unwrap_err().to_string();
        assert_eq!(high, "linux.resources.cpu.shares: the maximum allowed cpu-shares is 262144");
    }

    /// docker sends `blockIO: {"weight": 0}` for every container; runc reads 0 as
    /// "not set", and writing it fails with ERANGE.
    #[test]
    fn blkio_weight_zero_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let mount = tmp.path().join("blkio");
        let layout = super::super::layout::Layout {
            v1: [("blkio".to_string(), mount.clone())].into_iter().collect(),
            ..Default::default()
        };
        let config =
            super::super::CgroupConfig { path: "/c1".into(), systemd: false, id: "c1".into(), rootless: false };
        let m = Dirs::new(&layout, &Default::default(), &config).unwrap();
        std::fs::create_dir_all(mount.join("c1")).unwrap();
        let b: LinuxBlockIo = serde_json::from_value(serde_json::json!({"weight": 0, "leafWeight": 0})).unwrap();
        block_io(&m, &b).unwrap();
        assert_eq!(std::fs::read_dir(mount.join("c1")).unwrap().count(), 0);
        let b: LinuxBlockIo = serde_json::from_value(serde_json::json!({"weight": 500})).unwrap();
        block_io(&m, &b).unwrap();
        assert_eq!(std::fs::read_to_string(mount.join("c1/blkio.bfq.weight")).unwrap(), "500");
    }
}
