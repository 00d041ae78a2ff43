//! `events`: the container's resource usage as runc's event JSON — once with
//! `--stats`, or every interval, plus an `oom` event whenever the kernel's OOM
//! killer hit the container's cgroup.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::error::{Cause, ContainerError};
use super::load_state as load;
use super::state::Status;
use crate::cgroups::{self, Stats};

/// runc's `types.Event`.
#[derive(Debug, Serialize)]
pub struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    pub typ: &'a str,
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

pub fn stats(root: &Path, id: &str) -> Result<Stats, ContainerError> {
    let (st, status) = load(root, id, "events")?;
    let err = |c: Cause| c.into_error(id, "events");
    if status == Status::Stopped {
        return Err(err(not_running(id)));
    }
    let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
    cg.stats().map_err(|e| err(e.into()))
}

/// Stream events to `out` until the container stops: stats every `interval`,
/// `oom` as soon as the OOM-kill count grows (checked every 100 ms).
pub fn stream(root: &Path, id: &str, interval: Duration, mut out: impl FnMut(String)) -> Result<(), ContainerError> {
    let (st, status) = load(root, id, "events")?;
    let err = |c: Cause| c.into_error(id, "events");
    if status == Status::Stopped {
        return Err(err(not_running(id)));
    }
    let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
    let mut ooms = cg.oom_kills();
    let tick = Duration::from_millis(100);
    let mut waited = interval;
    loop {
        if !super::state::is_alive(st.pid, st.init_start_time) {
            return Ok(());
        }
        let now = cg.oom_kills();
        if now > ooms {
            ooms = now;
            out(serde_json::to_string(&Event::<()> { typ: "oom", id, data: None }).unwrap_or_default());
        }
        if waited >= interval {
            waited = Duration::ZERO;
            let stats = cg.stats().map_err(|e| err(e.into()))?;
            out(serde_json::to_string(&Event { typ: "stats", id, data: Some(stats) }).unwrap_or_default());
        }
        std::thread::sleep(tick);
        waited += tick;
    }
}

/// runc's `events` of a stopped container: "container with id X is not running".
fn not_running(id: &str) -> Cause {
    Cause::Usage(format!("container with id {id} is not running"))
}
