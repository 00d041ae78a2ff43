//! `pause` / `resume`: freeze or thaw every process in the container's cgroup
//! (freezer.state on v1, cgroup.freeze on v2), and `ps`: the pids in it.

use std::path::Path;

use nix::unistd::Pid;

use super::error::{Cause, ContainerError};
use super::load_state as load;
use super::state::Status;
use crate::cgroups::{self, FreezerState};

pub fn pause(root: &Path, id: &str) -> Result<(), ContainerError> {
    let (st, status) = load(root, id, "pause")?;
    let err = |c: Cause| c.into_error(id, "pause");
    match status {
        Status::Running | Status::Created => {}
        // runc: "container not running" for a paused container too.
        _ => return Err(err(Cause::NotRunning)),
    }
    let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
    tracing::debug!(id, "pause: freezing the cgroup");
    cg.freeze(FreezerState::Frozen).map_err(|e| err(e.into()))
}

pub fn resume(root: &Path, id: &str) -> Result<(), ContainerError> {
    let (st, status) = load(root, id, "resume")?;
    let err = |c: Cause| c.into_error(id, "resume");
    if status != Status::Paused {
        return Err(err(Cause::NotPaused));
    }
    let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
    tracing::debug!(id, "resume: thawing the cgroup");
    cg.freeze(FreezerState::Thawed).map_err(|e| err(e.into()))
}

/// The pids in the container's cgroup, as the host sees them.
pub fn pids(root: &Path, id: &str) -> Result<Vec<Pid>, ContainerError> {
    let (st, status) = load(root, id, "ps")?;
    let err = |c: Cause| c.into_error(id, "ps");
    // runc lists a stopped container's (empty) cgroup: the header, exit 0.
    if status == Status::Stopped {
        return Ok(Vec::new());
    }
    let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
    let mut pids = cg.pids().map_err(|e| err(e.into()))?;
    pids.sort();
    Ok(pids)
}
