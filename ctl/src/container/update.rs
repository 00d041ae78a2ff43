//! `update`: a container's limits and restart policy changed after its
//! creation, by docker's rules (moby's `container.UpdateContainer` and
//! `daemon.update`). The record's HostConfig is changed and, for a live
//! container, the runtime's `update` run, in one database transaction: a
//! refusal of either leaves the record as it was, and nothing else changes
//! the record in between. The request itself (flags, docker's checks of the
//! values) is the command's (`cli/container/update.rs`).

use serde_json::Value;

use super::lifecycle;
use super::record::{HostConfig, RestartPolicy};
use super::store::{Store, StoreError};
use crate::config::Config;
use crate::db::DbError;
use crate::supervisor::restart;

/// What `update` asks, in docker's terms: a 0 (or "") leaves the value as
/// it is, as in docker's `Resources` of an update request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Changes {
    pub blkio_weight: u16,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpu_realtime_period: i64,
    pub cpu_realtime_runtime: i64,
    pub cpu_shares: i64,
    pub nano_cpus: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub kernel_memory: i64,
    pub memory: i64,
    pub memory_reservation: i64,
    pub memory_swap: i64,
    /// `Some(0)` is unlimited (docker's `--pids-limit -1`).
    pub pids_limit: Option<i64>,
    pub restart_policy: Option<RestartPolicy>,
}

impl Changes {
    /// Whether a live container's cgroup must change: any limit but the
    /// kernel memory (never applied) and the real-time budget (which docker
    /// 20.10 records for the next start only).
    pub(crate) fn touches_limits(&self) -> bool {
        self.blkio_weight != 0
            || self.cpu_period != 0
            || self.cpu_quota != 0
            || self.cpu_shares != 0
            || self.nano_cpus != 0
            || !self.cpuset_cpus.is_empty()
            || !self.cpuset_mems.is_empty()
            || self.memory != 0
            || self.memory_reservation != 0
            || self.memory_swap != 0
            || self.pids_limit.is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum UpdateError {
    /// docker's words, with the full id, for a change this container
    /// refuses or its runtime failed to make.
    #[error("Cannot update container {id}: {message}")]
    Cannot { id: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lifecycle(anyhow::Error),
}

impl From<DbError> for UpdateError {
    fn from(e: DbError) -> Self {
        UpdateError::Store(StoreError::Db(e))
    }
}

/// docker's `UpdateContainer`: `--cpus` and `--cpu-period`/`--cpu-quota`
/// never both, a memory limit above the swap limit in force only with a new
/// swap limit, no restart policy for an `--rm` container; then every value
/// asked replaces the recorded one.
pub(crate) fn merge(hc: &mut HostConfig, ch: &Changes) -> Result<(), String> {
    let conflict = |what: &str| Err(format!("Conflicting options: {what}"));
    if ch.nano_cpus > 0 && hc.cpu_period > 0 {
        return conflict("Nano CPUs cannot be updated as CPU Period has already been set");
    }
    if ch.nano_cpus > 0 && hc.cpu_quota > 0 {
        return conflict("Nano CPUs cannot be updated as CPU Quota has already been set");
    }
    if ch.cpu_period > 0 && hc.nano_cpus > 0 {
        return conflict("CPU Period cannot be updated as NanoCPUs has already been set");
    }
    if ch.cpu_quota > 0 && hc.nano_cpus > 0 {
        return conflict("CPU Quota cannot be updated as NanoCPUs has already been set");
    }
    // A record made before berthctl recorded docker's default says 0 for it.
    hc.memory_swap = super::record::swap_in_force(hc.memory, hc.memory_swap);
    if ch.memory != 0 && ch.memory > hc.memory_swap && ch.memory_swap == 0 {
        return Err(
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
                .into(),
        );
    }
    if let Some(p) = &ch.restart_policy
        && hc.auto_remove
        && !restart::is_none(p)
    {
        return Err("Restart policy cannot be updated because AutoRemove is enabled for the container".into());
    }
    let set = |dst: &mut i64, v: i64| {
        if v != 0 {
            *dst = v;
        }
    };
    if ch.blkio_weight != 0 {
        hc.blkio_weight = ch.blkio_weight;
    }
    set(&mut hc.cpu_shares, ch.cpu_shares);
    set(&mut hc.nano_cpus, ch.nano_cpus);
    set(&mut hc.cpu_period, ch.cpu_period);
    set(&mut hc.cpu_quota, ch.cpu_quota);
    if !ch.cpuset_cpus.is_empty() {
        hc.cpuset_cpus = ch.cpuset_cpus.clone();
    }
    if !ch.cpuset_mems.is_empty() {
        hc.cpuset_mems = ch.cpuset_mems.clone();
    }
    set(&mut hc.memory, ch.memory);
    set(&mut hc.memory_swap, ch.memory_swap);
    set(&mut hc.memory_reservation, ch.memory_reservation);
    set(&mut hc.kernel_memory, ch.kernel_memory);
    set(&mut hc.cpu_realtime_period, ch.cpu_realtime_period);
    set(&mut hc.cpu_realtime_runtime, ch.cpu_realtime_runtime);
    if ch.pids_limit.is_some() {
        hc.pids_limit = ch.pids_limit;
    }
    if let Some(p) = &ch.restart_policy {
        hc.restart_policy = p.clone();
    }
    Ok(())
}

/// The `linux.resources` document for a live container's runtime: the
/// limits a start with this HostConfig would write (so the container is as
/// a restart would make it), without what `update` never changes live.
/// An unlimited pids limit is -1: to a runtime's `update`, 0 or absent
/// means "as it was".
pub(crate) fn live_limits(hc: &HostConfig, ch: &Changes) -> Value {
    let mut doc = super::bundle::limits(hc);
    for (section, key) in [
        ("memory", "swappiness"),
        ("memory", "disableOOMKiller"),
        ("cpu", "realtimePeriod"),
        ("cpu", "realtimeRuntime"),
    ] {
        if let Some(o) = doc.get_mut(section).and_then(Value::as_object_mut) {
            o.remove(key);
        }
    }
    if ch.pids_limit == Some(0) {
        doc["pids"] = serde_json::json!({"limit": -1});
    }
    doc
}

/// Change container `id` as `ch` asks; returns the new HostConfig. A live
/// (running or paused) container gets the new limits through its runtime
/// first, inside the transaction; one the runtime no longer runs (it exited
/// meanwhile) gets them at its next start, as a stopped one does.
pub(crate) fn apply(config: &Config, store: &mut Store, id: &str, ch: &Changes) -> Result<HostConfig, UpdateError> {
    let c = lifecycle::reload(config, store, id).map_err(UpdateError::Lifecycle)?;
    let rt = lifecycle::runtime_for(config, &c).map_err(UpdateError::Lifecycle)?;
    let cannot = |message: String| UpdateError::Cannot { id: id.to_string(), message };
    let change = |r: &mut super::record::Container| {
        let old = r.host_config.clone();
        merge(&mut r.host_config, ch).map_err(cannot)?;
        let live = (r.state.running || r.state.paused) && !r.state.restarting;
        if !live || !ch.touches_limits() {
            return Ok(());
        }
        let Err(e) = rt.update(id, &live_limits(&r.host_config, ch)) else { return Ok(()) };
        match rt.state(id) {
            Ok(None) => return Ok(()),
            Ok(Some(s)) if s.status == "stopped" => return Ok(()),
            _ => {}
        }
        // runc writes controller by controller: what it wrote before the
        // failure is put back, so the container keeps the limits its record
        // (rolled back with this error) says.
        let unlimited = old.pids_limit.is_none_or(|p| p <= 0);
        let back = Changes { pids_limit: (ch.pids_limit.is_some() && unlimited).then_some(0), ..Changes::default() };
        let mut doc = live_limits(&old, &back);
        if old.memory == 0 && ch.memory != 0 {
            doc["memory"] = serde_json::json!({"limit": -1, "swap": -1});
        }
        if old.nano_cpus == 0 && old.cpu_quota == 0 && (ch.nano_cpus != 0 || ch.cpu_quota != 0) {
            doc["cpu"]["quota"] = serde_json::json!(-1);
        }
        if let Err(undo) = rt.update(id, &doc) {
            tracing::warn!(id, error = %undo, "restore the limits after a failed update");
        }
        Err(cannot(runtime_message(e)))
    };
    let c = store.try_update_logged(id, change, |r| vec![r.event("update")])?;
    Ok(c.host_config)
}

/// The runtime's own text of a failure, as docker shows containerd's.
fn runtime_message(e: super::runtime::RuntimeError) -> String {
    match e {
        super::runtime::RuntimeError::Failed { message, .. } => message,
        other => crate::cli::error_chain(&anyhow::Error::new(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc() -> HostConfig {
        HostConfig::default()
    }

    #[test]
    fn cpus_and_cfs_period_never_both() {
        let mut h = hc();
        h.nano_cpus = 1_000_000_000;
        let e = merge(&mut h, &Changes { cpu_period: 50_000, ..Default::default() }).unwrap_err();
        assert_eq!(e, "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set");
        let e = merge(&mut h, &Changes { cpu_quota: 50_000, ..Default::default() }).unwrap_err();
        assert_eq!(e, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set");
        let mut h = hc();
        h.cpu_period = 50_000;
        let e = merge(&mut h, &Changes { nano_cpus: 1, ..Default::default() }).unwrap_err();
        assert_eq!(e, "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set");
        merge(&mut h, &Changes { cpu_quota: 20_000, ..Default::default() }).unwrap();
        assert_eq!((h.cpu_period, h.cpu_quota), (50_000, 20_000));
    }

    #[test]
    fn memory_above_the_swap_limit_needs_a_new_swap_limit() {
        // No limit at all: docker's recorded swap limit is 0.
        let mut h = hc();
        let e = merge(&mut h, &Changes { memory: 100 << 20, ..Default::default() }).unwrap_err();
        assert!(e.starts_with("Memory limit should be smaller than already set memoryswap limit"), "{e}");
        merge(&mut h, &Changes { memory: 100 << 20, memory_swap: 200 << 20, ..Default::default() }).unwrap();
        assert_eq!((h.memory, h.memory_swap), (100 << 20, 200 << 20));
        // A record of `-m 64m` from before the default was recorded: 128m in force.
        let mut h = hc();
        h.memory = 64 << 20;
        assert!(merge(&mut h, &Changes { memory: 200 << 20, ..Default::default() }).is_err());
        merge(&mut h, &Changes { memory: 100 << 20, ..Default::default() }).unwrap();
        assert_eq!((h.memory, h.memory_swap), (100 << 20, 128 << 20), "the swap limit stays");
    }

    #[test]
    fn zero_leaves_a_value_and_pids_unlimited_is_zero() {
        let mut h = hc();
        (h.cpu_shares, h.pids_limit, h.cpuset_cpus) = (512, Some(50), "0".into());
        merge(&mut h, &Changes { blkio_weight: 300, ..Default::default() }).unwrap();
        assert_eq!((h.cpu_shares, h.pids_limit, h.cpuset_cpus.as_str(), h.blkio_weight), (512, Some(50), "0", 300));
        let ch = Changes { pids_limit: Some(0), ..Default::default() };
        merge(&mut h, &ch).unwrap();
        assert_eq!(h.pids_limit, Some(0));
        assert_eq!(live_limits(&h, &ch)["pids"]["limit"], -1);
    }

    #[test]
    fn restart_policy_of_an_rm_container_only_to_no() {
        let mut h = hc();
        h.auto_remove = true;
        let always = Changes { restart_policy: Some(restart::parse("always").unwrap()), ..Default::default() };
        let e = merge(&mut h, &always).unwrap_err();
        assert_eq!(e, "Restart policy cannot be updated because AutoRemove is enabled for the container");
        merge(&mut h, &Changes { restart_policy: Some(restart::parse("no").unwrap()), ..Default::default() }).unwrap();
        let mut h = hc();
        merge(&mut h, &always).unwrap();
        assert_eq!(h.restart_policy.name, "always");
        assert!(!always.touches_limits(), "a policy alone never reaches the runtime");
    }

    #[test]
    fn live_limits_are_a_starts_without_the_rest() {
        let mut h = hc();
        (h.memory, h.memory_swappiness, h.oom_kill_disable) = (64 << 20, Some(10), Some(true));
        (h.cpu_period, h.cpu_quota, h.cpu_realtime_runtime, h.cpuset_mems) = (50_000, 25_000, 1000, "0".into());
        let doc = live_limits(&h, &Changes::default());
        assert_eq!(doc["memory"], serde_json::json!({"limit": 64 << 20, "swap": 128 << 20}));
        assert_eq!(doc["cpu"], serde_json::json!({"period": 50_000, "quota": 25_000, "mems": "0"}));
        assert!(doc.get("devices").is_none() && doc.get("pids").is_none());
    }
}
