//! docker's value parsers and range checks for the resource flags of
//! `run`/`create` and `update`: sizes, ulimits, devices, sysctls, Go durations,
//! and the limits its client and daemon refuse, in their words.

use crate::container::record::{DeviceMapping, Ulimit};
use crate::supervisor::logfile;

/// A `--health-*` duration as Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn go_duration_ns(s: &str) -> Result<i64, String> {
    crate::format::time::parse_go_duration(s)
        .and_then(|d| d.num_nanoseconds())
        .ok_or_else(|| format!("time: invalid duration {s:?}"))
}

/// `--health-retries` as Go's `strconv.ParseInt`.
pub(crate) fn go_int(s: &str) -> Result<i64, String> {
    s.parse().map_err(|_| format!("strconv.ParseInt: parsing {s:?}: invalid syntax"))
}

pub(crate) fn parse_ulimit(s: &str) -> anyhow::Result<Ulimit> {
    let bad = || anyhow::anyhow!("invalid argument {s:?} for \"--ulimit\" flag: expected name=soft[:hard]");
    let (name, vals) = s.split_once('=').ok_or_else(bad)?;
    let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
    Ok(Ulimit {
        name: name.to_string(),
        soft: soft.parse().map_err(|_| bad())?,
        hard: hard.parse().map_err(|_| bad())?,
    })
}

/// `--memory-swap`: a size, or -1 for unlimited; 0 when not given.
pub(crate) fn parse_memory_swap(v: Option<&str>) -> anyhow::Result<i64> {
    match v {
        Some("-1") => Ok(-1),
        Some(s) => parse_bytes("--memory-swap", s),
        None => Ok(0),
    }
}

pub(crate) fn parse_bytes(flag: &str, s: &str) -> anyhow::Result<i64> {
    logfile::parse_size(s)
        .map(|n| n as i64)
        .ok_or_else(|| anyhow::anyhow!("invalid argument {s:?} for \"{flag}\" flag: invalid size"))
}

/// `--device PATH_ON_HOST[:PATH_IN_CONTAINER][:PERMISSIONS]` (docker's
/// client-side parse; the host path is looked at when the container starts).
pub(crate) fn parse_device(s: &str) -> anyhow::Result<DeviceMapping> {
    let parts: Vec<&str> = s.split(':').collect();
    let valid_mode = |m: &str| !m.is_empty() && m.chars().all(|c| "rwm".contains(c));
    let (host, inner, perms) = match parts[..] {
        [h] => (h, h, "rwm"),
        [h, m] if valid_mode(m) => (h, h, m),
        [h, c] => (h, c, "rwm"),
        [h, c, m] => {
            if !valid_mode(m) {
                anyhow::bail!("invalid argument {s:?} for \"--device\" flag: invalid device mode: {m}");
            }
            (h, c, m)
        }
        _ => anyhow::bail!("invalid argument {s:?} for \"--device\" flag: invalid device specification: {s}"),
    };
    if !inner.starts_with('/') {
        anyhow::bail!("invalid argument {s:?} for \"--device\" flag: bad format for path: {inner}");
    }
    Ok(DeviceMapping {
        path_on_host: host.to_string(),
        path_in_container: inner.to_string(),
        cgroup_permissions: perms.to_string(),
    })
}

/// `--sysctl KEY=VALUE`, only the namespaced ones docker's client allows.
pub(crate) fn parse_sysctl(s: &str) -> anyhow::Result<(String, String)> {
    let (k, v) = s.split_once('=').ok_or_else(|| {
        anyhow::anyhow!("invalid argument {s:?} for \"--sysctl\" flag: sysctl '{s}' is not whitelisted")
    })?;
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if !(IPC.contains(&k) || k.starts_with("fs.mqueue.") || k.starts_with("net.")) {
        anyhow::bail!("invalid argument {s:?} for \"--sysctl\" flag: sysctl '{s}' is not whitelisted");
    }
    Ok((k.to_string(), v.to_string()))
}

pub(crate) fn check_oom_score_adj(v: Option<i64>) -> anyhow::Result<i64> {
    let v = v.unwrap_or(0);
    if !(-1000..=1000).contains(&v) {
        anyhow::bail!("Invalid value {v}, range for oom score adj is [-1000, 1000]");
    }
    Ok(v)
}

pub(crate) fn check_swappiness(v: Option<i64>) -> anyhow::Result<Option<i64>> {
    match v {
        Some(s) if s != -1 && !(0..=100).contains(&s) => {
            anyhow::bail!("Invalid value: {s}, valid memory swappiness range is 0-100")
        }
        Some(-1) | None => Ok(None),
        some => Ok(some),
    }
}

/// docker's smallest memory limit or reservation (moby's linuxMinMemory).
pub(crate) const MIN_MEMORY: i64 = 6 << 20;

/// docker's check of a reservation, and of the limit asked with it.
pub(crate) fn check_memory_reservation(r: i64, memory: i64) -> anyhow::Result<()> {
    if r > 0 && r < MIN_MEMORY {
        anyhow::bail!("Minimum memory reservation allowed is 6MB");
    }
    if memory > 0 && r > memory {
        anyhow::bail!("Minimum memory limit can not be less than memory reservation limit, see usage");
    }
    Ok(())
}

/// docker's text for a weight it discards.
pub(crate) const BLKIO_WEIGHT_DISCARDED: &str =
    "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.";

/// docker takes a weight only where the kernel has CFQ's blkio.weight (v1)
/// or io.bfq.weight (v2), and otherwise discards it (0, and true: warn).
pub(crate) fn check_blkio_weight(w: u16) -> anyhow::Result<(u16, bool)> {
    let supported = ["/sys/fs/cgroup/blkio/blkio.weight", "/sys/fs/cgroup/io.bfq.weight"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    // moby's order: discarded first, then the range checked.
    if w != 0 && !supported {
        return Ok((0, true));
    }
    if w != 0 && !(10..=1000).contains(&w) {
        anyhow::bail!("Range of blkio weight is from 10 to 1000");
    }
    Ok((w, false))
}

/// `--blkio-weight` for a new container: discarded with docker's warning
/// where the kernel has no weight.
pub(crate) fn blkio_weight(w: Option<u16>) -> anyhow::Result<u16> {
    let (w, discarded) = check_blkio_weight(w.unwrap_or(0))?;
    if discarded {
        eprintln!("WARNING: {BLKIO_WEIGHT_DISCARDED}");
    }
    Ok(w)
}

/// `--cpus` between 0.01 and the number of CPUs we may run on.
pub(crate) fn check_cpus(cpus: Option<f64>) -> anyhow::Result<()> {
    let Some(c) = cpus else { return Ok(()) };
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    if c != 0.0 && (c < 0.01 || c > n as f64) {
        anyhow::bail!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_forms_as_dockers_client() {
        let d = parse_device("/dev/null").unwrap();
        assert_eq!((d.path_in_container.as_str(), d.cgroup_permissions.as_str()), ("/dev/null", "rwm"));
        let d = parse_device("/dev/null:r").unwrap();
        assert_eq!((d.path_in_container.as_str(), d.cgroup_permissions.as_str()), ("/dev/null", "r"));
        let d = parse_device("/dev/null:/dev/n:rw").unwrap();
        assert_eq!((d.path_in_container.as_str(), d.cgroup_permissions.as_str()), ("/dev/n", "rw"));
        assert!(parse_device("/dev/null:/dev/n:q").unwrap_err().to_string().ends_with("invalid device mode: q"));
        assert!(parse_device("/dev/null:rel").unwrap_err().to_string().ends_with("bad format for path: rel"));
    }

    #[test]
    fn only_namespaced_sysctls_pass() {
        assert_eq!(parse_sysctl("net.ipv4.ip_forward=1").unwrap(), ("net.ipv4.ip_forward".into(), "1".into()));
        assert!(parse_sysctl("kernel.shmmax=1").is_ok() && parse_sysctl("fs.mqueue.msg_max=5").is_ok());
        assert!(parse_sysctl("vm.swappiness=1").unwrap_err().to_string().contains("is not whitelisted"));
        assert!(parse_sysctl("kernel.hostname=x").is_err() && parse_sysctl("net.x").is_err());
    }

    #[test]
    fn memory_swap_is_a_size_or_unlimited() {
        assert_eq!(parse_memory_swap(None).unwrap(), 0);
        assert_eq!(parse_memory_swap(Some("-1")).unwrap(), -1);
        assert_eq!(parse_memory_swap(Some("200m")).unwrap(), 200 << 20);
        let e = parse_memory_swap(Some("x")).unwrap_err().to_string();
        assert_eq!(e, "invalid argument \"x\" for \"--memory-swap\" flag: invalid size");
    }

    #[test]
    fn ranges_are_dockers() {
        assert!(check_oom_score_adj(Some(-1000)).is_ok() && check_oom_score_adj(Some(1001)).is_err());
        assert_eq!(check_swappiness(Some(-1)).unwrap(), None);
        assert_eq!(check_swappiness(Some(60)).unwrap(), Some(60));
        assert!(check_swappiness(Some(101)).is_err());
        assert!(check_memory_reservation(1 << 20, 0).is_err());
        assert!(check_memory_reservation(20 << 20, 10 << 20).is_err());
        assert!(check_cpus(Some(0.001)).is_err() && check_cpus(Some(0.5)).is_ok() && check_cpus(Some(1e6)).is_err());
    }

    #[test]
    fn ulimit_forms() {
        assert_eq!(parse_ulimit("nofile=1024:2048").unwrap(), Ulimit { name: "nofile".into(), soft: 1024, hard: 2048 });
        assert_eq!(parse_ulimit("nproc=10").unwrap().hard, 10);
        assert!(parse_ulimit("nofile").is_err());
    }
}
