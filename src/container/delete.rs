//! `delete`: remove a stopped (or created) container — with `--force`, kill a
//! running one first — then its cgroup and state, then run the poststop hooks.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::create::Created;
use super::error::{Cause, ContainerError};
use super::kill::kill_cgroup;
use super::state::{self, State, Status, Store};
use super::{ContainerId, load_state as load};
use crate::{cgroups, hooks};

pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), ContainerError> {
    let err = |c: Cause| c.into_error(id, "delete");
    let cid = ContainerId::new(id).map_err(err)?;
    let store = Store::new(root);
    let missing = |e: ContainerError| match e {
        // runc: --force on a missing container succeeds, removing any half-made dir
        // (a create killed before it saved any state).
        ContainerError { source: Cause::NotExist, .. } if force => store.remove(&cid).map_err(err),
        e => Err(e),
    };
    if let Err(e) = load(root, id, "delete") {
        return missing(e);
    }
    let _lock = match store.lock(&cid) {
        Ok(l) => l,
        Err(c) => return missing(err(c)),
    };
    // Loaded again under the lock: a `create` still running held it until now, and
    // another `delete` may have removed the container meanwhile.
    let (st, status) = match load(root, id, "delete") {
        Ok(s) => s,
        Err(e) => return missing(e),
    };
    remove(&store, &cid, &st, status, force)
}

/// `run`'s delete of the container it created, started and reaped: as
/// `delete --force`, with the state `create` saved, from memory instead of two
/// reads of state.json (`update` changes only the resources, which delete does
/// not use). Under the lock only the state's presence is checked: a
/// `delete --force` from elsewhere may have removed the container meanwhile.
/// A container made without `started_by_caller` is deleted as by `delete --force`.
pub fn delete_run(root: &Path, id: &str, created: &Created) -> Result<(), ContainerError> {
    let Some(st) = created.state.as_ref().filter(|st| st.id == id) else {
        return delete(root, id, true);
    };
    let err = |c: Cause| c.into_error(id, "delete");
    let cid = ContainerId::new(id).map_err(err)?;
    let store = Store::new(root);
    let _lock = match store.lock(&cid) {
        Ok(l) => l,
        Err(Cause::NotExist) => return Ok(()),
        Err(c) => return Err(err(c)),
    };
    if !store.dir(&cid).join("state.json").exists() {
        return store.remove(&cid).map_err(err);
    }
    remove(&store, &cid, st, store.status(st), true)
}

/// The steps of `delete` once the container is loaded and locked: kill init
/// (created, or `force`), the mounts made in the caller's mount namespace, the
/// cgroup, the state, then the poststop hooks.
fn remove(store: &Store, cid: &ContainerId, st: &State, status: Status, force: bool) -> Result<(), ContainerError> {
    let id = cid.as_str();
    let err = |c: Cause| c.into_error(id, "delete");
    tracing::debug!(id, %status, force, "delete");
    match status {
        Status::Stopped => {}
        Status::Created | Status::Creating => kill_init(st.pid, st.init_start_time),
        Status::Running | Status::Paused if force => kill_init(st.pid, st.init_start_time),
        Status::Running | Status::Paused => {
            return Err(err(Cause::NotStopped { id: id.to_string(), status }));
        }
    }
    if let Some(before) = &st.host_mounts_before {
        super::hostmounts::remove_new(&st.rootfs, before);
    }
    let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
    // A stopped container's cgroup is usually empty: removed with one rmdir per
    // hierarchy, without reading every cgroup.procs first. Processes left (no
    // pid namespace, or --force) make that fail and are killed first.
    if !(status == Status::Stopped && cg.remove_if_empty()) {
        kill_cgroup(cg.as_ref());
        if let Err(e) = cg.destroy() {
            return Err(err(e.into()));
        }
    }
    tracing::debug!(id, "delete: cgroup removed");
    store.remove(cid).map_err(err)?;
    tracing::debug!(id, "delete: state removed");
    // Poststop failures are logged, not fatal, and the remaining hooks still run
    // (runtime spec "Lifecycle" step 13).
    if let Some(h) = st.config.hooks().as_ref().and_then(|h| h.poststop().as_ref()) {
        let oci = serde_json::to_vec(&st.to_oci(Status::Stopped)).unwrap_or_default();
        hooks::run_all_warn(id, "poststop", h, &oci);
    }
    Ok(())
}

/// SIGKILL init and wait until it is gone (reaped by its parent, or a zombie).
fn kill_init(pid: i32, start: u64) {
    if !state::is_alive(pid, start) {
        return;
    }
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while state::is_alive(pid, start) && Instant::now() < deadline {
        // If we are init's parent (`run`), reap it; otherwise its parent will.
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        std::thread::sleep(Duration::from_millis(2));
    }
}
