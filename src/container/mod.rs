//! The container lifecycle, one file per verb: create (with init), start, state,
//! kill, delete, list. Owns the state store; sees cgroups only through the
//! `CgroupManager` trait.

mod channel;
mod checkpoint;
mod create;
mod delete;
mod error;
mod events;
mod exec;
mod execwatch;
mod hostmounts;
mod init;
mod kill;
mod namespaces;
mod pause;
mod setup;
mod start;
pub mod state;
mod testhook;
mod update;
mod userns;

pub use checkpoint::{CheckpointOptions, CriuCommon, RestoreOptions, checkpoint, restore, wait_restored};
pub use create::{CreateOptions, create, start_created, write_pid_file};
pub use delete::{delete, delete_run};
pub use error::{Cause, ContainerError, error_chain};
pub use events::{Event, stats, stream};
pub use exec::{ExecOptions, exec, load_process};
pub use kill::{kill, parse_signal};
pub use pause::{pause, pids, resume};
pub use start::start;
pub use state::{OciState, State, Status, Store};
pub use update::update;

use std::path::Path;

/// A container id, checked once: runc's `^[\w+-\.]+$`, not "." or "..".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerId(String);

impl ContainerId {
    pub fn new(id: &str) -> Result<Self, Cause> {
        let ok = !id.is_empty()
            && id != "."
            && id != ".."
            && id.len() <= 1024
            && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'));
        if ok { Ok(ContainerId(id.to_string())) } else { Err(Cause::InvalidId(id.to_string())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Load a container's state and its live status.
pub fn load_state(root: &Path, id: &str, op: &'static str) -> Result<(State, Status), ContainerError> {
    let cid = ContainerId::new(id).map_err(|c| c.into_error(id, op))?;
    let store = Store::new(root);
    let state = store.load(&cid).map_err(|c| c.into_error(id, op))?;
    let status = store.status(&state);
    Ok((state, status))
}

/// `berth state`: runc's state JSON for one container.
pub fn oci_state(root: &Path, id: &str) -> Result<OciState, ContainerError> {
    let (state, status) = load_state(root, id, "state")?;
    Ok(state.to_oci(status))
}

/// `berth list`: every container's state, sorted by id.
pub fn list(root: &Path) -> Result<Vec<OciState>, ContainerError> {
    let store = Store::new(root);
    let ids = store.ids().map_err(|c| c.into_error("*", "list"))?;
    let mut out = Vec::new();
    for id in ids {
        let Ok(cid) = ContainerId::new(&id) else { continue };
        // A container deleted while we list is simply not listed.
        if let Ok(state) = store.load(&cid) {
            let status = store.status(&state);
            let mut oci = state.to_oci(status);
            oci.owner = owner(&store.dir(&cid));
            out.push(oci);
        }
    }
    Ok(out)
}

/// The owner runc's `list` shows: the name of the user owning the container's
/// state dir, from /etc/passwd, or `#UID` when it has none.
fn owner(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata(dir).map(|m| m.uid()) else { return String::new() };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    user_name(&passwd, uid).unwrap_or_else(|| format!("#{uid}"))
}

fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn owner_names_come_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n";
        assert_eq!(super::user_name(passwd, 1000).as_deref(), Some("bob"));
        assert_eq!(super::user_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(super::user_name(passwd, 7), None);
    }

    use super::*;

    #[test]
    fn container_id_rules_match_runc() {
        for ok in ["abc", "a.b-c_d+e", "0"] {
            assert!(ContainerId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "../x", "é"] {
            assert!(ContainerId::new(bad).is_err(), "{bad}");
        }
    }
}
