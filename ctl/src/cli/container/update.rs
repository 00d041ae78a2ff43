//! `update` (`container update`): docker 20.10's flags, its client's parse
//! (the values as `run` reads them) and its daemon's checks of an update
//! request (moby's `verifyContainerResources` with `update` set); the change
//! itself is `container::update`. Each container is tried; docker's lines:
//! its name as given on success, "Error response from daemon: …" on
//! failure (exit 1 after all), the daemon's warnings after the names.

use std::collections::BTreeSet;
use std::path::Path;

use crate::config::Config;
use crate::container::store::{Store, StoreError};
use crate::container::update::{self, Changes, UpdateError};
use crate::supervisor::restart;

use super::values::{self, MIN_MEMORY, parse_bytes};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct UpdateArgs {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// Limit the CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<i64>,
    /// Limit the CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<f64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit
    #[arg(long = "kernel-memory")]
    pub kernel_memory: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    pub restart: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

impl UpdateArgs {
    /// docker's "no flag given" (`NFlag() == 0`).
    fn has_no_flag(&self) -> bool {
        let a = self;
        let numbers = [a.cpu_period, a.cpu_quota, a.cpu_rt_period, a.cpu_rt_runtime, a.cpu_shares, a.pids_limit];
        let sizes =
            [&a.cpuset_cpus, &a.cpuset_mems, &a.kernel_memory, &a.memory, &a.memory_reservation, &a.memory_swap];
        numbers.iter().all(Option::is_none)
            && sizes.iter().all(|s| s.is_none())
            && a.blkio_weight.is_none()
            && a.cpus.is_none()
            && a.restart.is_none()
    }
}

/// The flags as docker's client reads them: sizes with `run`'s parser,
/// `--cpus` in nano CPUs, `--pids-limit` 0 as not given and below 0 as
/// unlimited (docker's API: 0). Flag errors are the command's (exit 125).
fn changes(a: &UpdateArgs) -> anyhow::Result<Changes> {
    let bytes = |flag: &str, v: &Option<String>| v.as_deref().map(|s| parse_bytes(flag, s)).transpose();
    Ok(Changes {
        blkio_weight: a.blkio_weight.unwrap_or(0),
        cpu_period: a.cpu_period.unwrap_or(0),
        cpu_quota: a.cpu_quota.unwrap_or(0),
        cpu_realtime_period: a.cpu_rt_period.unwrap_or(0),
        cpu_realtime_runtime: a.cpu_rt_runtime.unwrap_or(0),
        cpu_shares: a.cpu_shares.unwrap_or(0),
        nano_cpus: a.cpus.map_or(0, |c| (c * 1e9).round() as i64),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
        kernel_memory: bytes("--kernel-memory", &a.kernel_memory)?.unwrap_or(0),
        memory: bytes("-m, --memory", &a.memory)?.unwrap_or(0),
        memory_reservation: bytes("--memory-reservation", &a.memory_reservation)?.unwrap_or(0),
        memory_swap: values::parse_memory_swap(a.memory_swap.as_deref())?,
        pids_limit: a.pids_limit.filter(|p| *p != 0).map(|p| p.max(0)),
        restart_policy: None,
    })
}

/// docker's `-` separated, `,` joined list of numbers (`0-3,5`), as its
/// `parsers.ParseUintList`; None when it is not one.
fn parse_list(s: &str) -> Option<BTreeSet<u32>> {
    let mut out = BTreeSet::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a {
                    return None;
                }
                out.extend(a..=b);
            }
            None => {
                out.insert(part.parse().ok()?);
            }
        }
    }
    Some(out)
}

/// docker's check of `--cpuset-cpus`/`--cpuset-mems` against what the
/// host's cpuset cgroup offers (`available`: its cpuset.cpus or .mems;
/// None when there is no cpuset controller to ask).
fn check_cpuset(value: &str, available: Option<&str>, what: &str, nodes: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    let asked =
        parse_list(value).ok_or_else(|| format!("Invalid value {value} for cpuset {what}: invalid format: {value}"))?;
    let Some(available) = available.map(str::trim) else { return Ok(()) };
    let offered = parse_list(available).unwrap_or_default();
    if !asked.is_subset(&offered) {
        return Err(format!("Requested {nodes} are not available - requested {value}, available: {available}"));
    }
    Ok(())
}

/// The root cpuset cgroup's `cpuset.<name>` (v1 controller, else v2's
/// effective set).
fn cpuset_available(name: &str) -> Option<String> {
    let v1 = Path::new("/sys/fs/cgroup/cpuset").join(format!("cpuset.{name}"));
    let v2 = Path::new("/sys/fs/cgroup").join(format!("cpuset.{name}.effective"));
    std::fs::read_to_string(v1).or_else(|_| std::fs::read_to_string(v2)).ok()
}

/// docker's daemon checks of an update request, whatever the container:
/// Ok with its warnings, or its refusal. A discarded blkio weight is
/// cleared from `ch`.
fn verify(ch: &mut Changes) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    if ch.memory != 0 && ch.memory < MIN_MEMORY {
        return Err("Minimum memory limit allowed is 6MB".into());
    }
    if ch.memory > 0 && ch.memory_swap > 0 && ch.memory_swap < ch.memory {
        return Err("Minimum memoryswap limit should be larger than memory limit, see usage".into());
    }
    values::check_memory_reservation(ch.memory_reservation, ch.memory).map_err(|e| e.to_string())?;
    if ch.kernel_memory > 0 {
        warnings.push("Specifying a kernel memory limit is deprecated and will be removed in a future release.".into());
        if ch.kernel_memory < MIN_MEMORY {
            return Err("Minimum kernel memory limit allowed is 6MB".into());
        }
    }
    if ch.nano_cpus > 0 && ch.cpu_period > 0 {
        return Err("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
    }
    if ch.nano_cpus > 0 && ch.cpu_quota > 0 {
        return Err("Conflicting options: Nano CPUs and CPU Quota cannot both be set".into());
    }
    if ch.nano_cpus != 0 {
        values::check_cpus(Some(ch.nano_cpus as f64 / 1e9)).map_err(|e| e.to_string())?;
    }
    if ch.cpu_period != 0 && !(1000..=1_000_000).contains(&ch.cpu_period) {
        return Err("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)".into());
    }
    if ch.cpu_quota > 0 && ch.cpu_quota < 1000 {
        return Err("CPU cfs quota can not be less than 1ms (i.e. 1000)".into());
    }
    check_cpuset(&ch.cpuset_cpus, cpuset_available("cpus").as_deref(), "cpus", "CPUs")?;
    check_cpuset(&ch.cpuset_mems, cpuset_available("mems").as_deref(), "mems", "memory nodes")?;
    let realtime = ch.cpu_realtime_period > 0 || ch.cpu_realtime_runtime > 0;
    if realtime && !Path::new("/sys/fs/cgroup/cpu/cpu.rt_period_us").exists() {
        return Err("Your kernel does not support CPU real-time scheduler".into());
    }
    let (weight, discarded) = values::check_blkio_weight(ch.blkio_weight).map_err(|e| e.to_string())?;
    if discarded {
        warnings.push(values::BLKIO_WEIGHT_DISCARDED.into());
    }
    ch.blkio_weight = weight;
    Ok(warnings)
}

/// `berthctl update [OPTIONS] CONTAINER [CONTAINER...]`
pub(crate) fn run(config: &Config, a: &UpdateArgs) -> anyhow::Result<i32> {
    if a.has_no_flag() {
        eprintln!("you must provide one or more flags when using this command");
        return Ok(1);
    }
    let mut ch = changes(a)?;
    // docker's client parses the policy (its words, bare); its daemon
    // checks it, for each container.
    let mut refused = None;
    if let Some(p) = a.restart.as_deref() {
        match restart::parse(p) {
            Ok(policy) => ch.restart_policy = Some(policy),
            Err(e) if e.is_client_side() => {
                eprintln!("{e}");
                return Ok(1);
            }
            Err(e) => refused = Some(e.to_string()),
        }
    }
    let verified = match refused {
        Some(e) => Err(e),
        None => verify(&mut ch),
    };
    let mut store = Store::open(&config.data_root)?;
    let (mut failed, mut warnings) = (false, Vec::new());
    for name in &a.containers {
        let result = verified.clone().and_then(|w| update_one(config, &mut store, name, &ch).map(|()| w));
        match result {
            Ok(w) => {
                println!("{name}");
                warnings.extend(w);
            }
            Err(e) => {
                failed = true;
                eprintln!("Error response from daemon: {e}");
            }
        }
    }
    // docker's client prints the daemon's warnings after the names, on stdout.
    for w in warnings {
        println!("{w}");
    }
    Ok(i32::from(failed))
}

/// One container: resolved, changed; docker's error text when not.
fn update_one(config: &Config, store: &mut Store, name: &str, ch: &Changes) -> Result<(), String> {
    let id = store.resolve(name).map_err(|e| match e {
        StoreError::NotFound(n) => format!("No such container: {n}"),
        other => super::message(&other.into()),
    })?;
    update::apply(config, store, &id, ch).map(|_| ()).map_err(|e| match e {
        UpdateError::Lifecycle(e) => super::message(&e),
        other => super::message(&other.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct T {
        #[command(flatten)]
        a: UpdateArgs,
    }

    fn args(list: &[&str]) -> UpdateArgs {
        use clap::Parser;
        T::try_parse_from(std::iter::once("t").chain(list.iter().copied()).chain(["c1"])).unwrap().a
    }

    fn verified(list: &[&str]) -> Result<Vec<String>, String> {
        verify(&mut changes(&args(list)).unwrap())
    }

    #[test]
    fn no_flag_is_dockers_usage_error() {
        assert!(args(&[]).has_no_flag());
        assert!(!args(&["--restart", "no"]).has_no_flag());
        assert!(!args(&["--pids-limit", "0"]).has_no_flag());
    }

    #[test]
    fn values_parse_as_runs_do() {
        let ch = changes(&args(&["-m", "64m", "--memory-swap", "-1", "--cpus", "1.5", "-c", "512"])).unwrap();
        assert_eq!((ch.memory, ch.memory_swap, ch.nano_cpus, ch.cpu_shares), (64 << 20, -1, 1_500_000_000, 512));
        assert_eq!(changes(&args(&["--pids-limit", "-1"])).unwrap().pids_limit, Some(0));
        assert_eq!(changes(&args(&["--pids-limit", "0"])).unwrap().pids_limit, None);
        assert_eq!(changes(&args(&["--pids-limit", "7"])).unwrap().pids_limit, Some(7));
        let e = changes(&args(&["-m", "lots"])).unwrap_err().to_string();
        assert_eq!(e, "invalid argument \"lots\" for \"-m, --memory\" flag: invalid size");
    }

    #[test]
    fn dockers_checks_of_the_request() {
        let e = |list: &[&str]| verified(list).unwrap_err();
        assert_eq!(e(&["-m", "1k"]), "Minimum memory limit allowed is 6MB");
        assert_eq!(
            e(&["-m", "64m", "--memory-swap", "32m"]),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(e(&["--memory-reservation", "1m"]), "Minimum memory reservation allowed is 6MB");
        assert_eq!(
            e(&["-m", "64m", "--memory-reservation", "128m"]),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
        assert_eq!(e(&["--kernel-memory", "1m"]), "Minimum kernel memory limit allowed is 6MB");
        assert_eq!(
            e(&["--cpus", "1", "--cpu-period", "100000"]),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert_eq!(
            e(&["--cpus", "1", "--cpu-quota", "1000"]),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        );
        assert!(e(&["--cpus", "1000"]).starts_with("Range of CPUs is from 0.01 to "));
        assert!(e(&["--cpu-period", "10"]).starts_with("CPU cfs period can not be less than 1ms"));
        assert_eq!(e(&["--cpu-quota", "10"]), "CPU cfs quota can not be less than 1ms (i.e. 1000)");
        assert_eq!(e(&["--cpuset-cpus", "x"]), "Invalid value x for cpuset cpus: invalid format: x");
        let w = verified(&["--kernel-memory", "10m"]).unwrap();
        assert_eq!(w, ["Specifying a kernel memory limit is deprecated and will be removed in a future release."]);
        assert_eq!(verified(&["--cpu-quota", "-1", "--memory-swap", "10m"]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn cpusets_are_checked_against_the_hosts() {
        assert_eq!(parse_list("0-2,5"), Some(BTreeSet::from([0, 1, 2, 5])));
        assert_eq!(parse_list("3-1"), None);
        assert_eq!(parse_list(""), None);
        assert!(check_cpuset("0-1", Some("0-1\n"), "cpus", "CPUs").is_ok());
        assert_eq!(
            check_cpuset("5", Some("0-1\n"), "cpus", "CPUs").unwrap_err(),
            "Requested CPUs are not available - requested 5, available: 0-1"
        );
        assert_eq!(
            check_cpuset("3", Some("0"), "mems", "memory nodes").unwrap_err(),
            "Requested memory nodes are not available - requested 3, available: 0"
        );
        assert!(check_cpuset("7", None, "cpus", "CPUs").is_ok());
    }
}
