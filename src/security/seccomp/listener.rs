//! A seccomp agent's socket and the message its notify fd is sent with.

use std::os::fd::OwnedFd;

use oci_spec::runtime::LinuxSeccomp;

use super::{Filter, bad};
use crate::security::SecurityError;
use crate::sys::seccomp as sc;

/// A seccomp agent's socket (`linux.seccomp.listenerPath`), connected by the
/// runtime before the container's root hides it, and the message the notify fd
/// goes with: runc's ContainerProcessState (`ociVersion`, `fds`: ["seccompFd"],
/// `pid` as the runtime sees it, `metadata`, and the container's `state`).
pub struct Listener {
    pub(super) socket: OwnedFd,
    pub(super) message: Vec<u8>,
}

/// Connect to the profile's listener when its filter notifies (`filter.flags`).
pub fn connect_listener(profile: &LinuxSeccomp, filter: &Filter) -> Result<Option<OwnedFd>, SecurityError> {
    if filter.flags & sc::FLAG_NEW_LISTENER == 0 {
        return Ok(None);
    }
    let path = profile.listener_path().clone().unwrap_or_default();
    match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => Ok(Some(OwnedFd::from(s))),
        Err(e) => Err(bad("linux.seccomp.listenerPath", format!("connect to {path:?}: {e}"))),
    }
}

impl Listener {
    /// `state`: the container's OCI state; `pid`: the process the filter is
    /// loaded into, as the host sees it.
    pub fn new(socket: OwnedFd, profile: &LinuxSeccomp, mut state: serde_json::Value, pid: i32) -> Listener {
        // Go's `omitempty` on the state's annotations, as runc sends it.
        if let Some(o) = state.as_object_mut()
            && o.get("annotations").is_some_and(|a| a.as_object().is_none_or(|m| m.is_empty()))
        {
            o.remove("annotations");
        }
        let mut msg = serde_json::json!({
            "ociVersion": crate::spec::OCI_VERSION,
            "fds": ["seccompFd"],
            "pid": pid,
            "state": state,
        });
        if let Some(m) = profile.listener_metadata().as_deref().filter(|m| !m.is_empty()) {
            msg["metadata"] = m.into();
        }
        Listener { socket, message: serde_json::to_vec(&msg).unwrap_or_default() }
    }
}
