//! `update`: change a live container's resource limits. The new values are merged
//! over the resources the container has (so a partial document changes only what
//! it names, as runc's does), written to the cgroup, and saved in the state.
//! A 0 (or "" for cpus and mems) in the document leaves the value unchanged, as
//! runc's `update` reads it: docker sends every field, 0 for those not asked for.

use std::path::Path;

use oci_spec::runtime::LinuxResources;
use serde_json::Value;

use super::error::{Cause, ContainerError};
use super::state::{Status, Store};
use super::{ContainerId, load_state as load};
use crate::cgroups;

/// Merge `patch` (a `linux.resources` JSON object) over the container's resources
/// and apply the result.
pub fn update(root: &Path, id: &str, patch: &Value) -> Result<LinuxResources, ContainerError> {
    let err = |c: Cause| c.into_error(id, "update");
    let store = Store::new(root);
    let cid = ContainerId::new(id).map_err(err)?;
    // Locked from load to save: two updates at once would each merge over the
    // state as it was before the other, and the second save would lose the first.
    let _lock = store.lock(&cid).map_err(err)?;
    let (mut st, status) = load(root, id, "update")?;
    if status == Status::Stopped {
        return Err(err(Cause::NotRunning));
    }
    let mut linux = st.config.linux().clone().unwrap_or_default();
    let current = linux.resources().clone().unwrap_or_default();
    // Through text, not `to_value`/`from_value`: the resources are then read and
    // written by the same serde instances as config.json and state.json.
    let text = serde_json::to_string(&current).map_err(|e| err(Cause::Json(e)))?;
    let mut merged: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(Cause::Json(e)))?;
    let mut patch = patch.clone();
    drop_unchanged(&mut patch);
    merge(&mut merged, &patch);
    let resources: LinuxResources = serde_json::from_str(&merged.to_string()).map_err(|e| err(Cause::Resources(e)))?;
    let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
    cg.set(&resources).map_err(|e| err(e.into()))?;
    linux.set_resources(Some(resources.clone()));
    st.config.set_linux(Some(linux));
    store.save(&st).map_err(err)?;
    Ok(resources)
}

/// The fields runc's `update` leaves alone when they are 0 (strings: empty).
const ZERO_MEANS_UNCHANGED: &[(&str, &str)] = &[
    ("memory", "limit"),
    ("memory", "reservation"),
    ("memory", "swap"),
    ("memory", "kernel"),
    ("memory", "kernelTCP"),
    ("cpu", "shares"),
    ("cpu", "quota"),
    ("cpu", "period"),
    ("cpu", "realtimeRuntime"),
    ("cpu", "realtimePeriod"),
    ("cpu", "cpus"),
    ("cpu", "mems"),
    ("pids", "limit"),
    ("blockIO", "weight"),
    ("blockIO", "leafWeight"),
];

/// Remove from `patch` the fields whose value asks for no change.
fn drop_unchanged(patch: &mut Value) {
    for (section, key) in ZERO_MEANS_UNCHANGED {
        if let Some(obj) = patch.get_mut(*section).and_then(Value::as_object_mut) {
            let unset = match obj.get(*key) {
                Some(Value::Number(n)) => n.as_f64() == Some(0.0),
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if unset {
                obj.remove(*key);
            }
        }
    }
}

/// Deep merge: objects merge key by key, anything else replaces.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_keeps_unnamed_fields() {
        let mut base = json!({"memory": {"limit": 100, "swap": 200}, "pids": {"limit": 5}});
        merge(&mut base, &json!({"memory": {"limit": 300}}));
        assert_eq!(base, json!({"memory": {"limit": 300, "swap": 200}, "pids": {"limit": 5}}));
    }

    /// docker's `update --pids-limit 50` sends memory and cpu fields as 0; runc
    /// leaves those alone, and writing a 0 memory limit fails with EBUSY.
    #[test]
    fn docker_update_zeros_keep_current_values() {
        let mut base = json!({"memory": {"limit": 33554432, "swap": 67108864}, "cpu": {"quota": 100000, "period": 100000, "cpus": "0"}});
        let mut patch = json!({"memory": {"limit": 0, "reservation": 0, "kernel": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": ""}, "pids": {"limit": 50}, "blockIO": {"weight": 0}});
        drop_unchanged(&mut patch);
        merge(&mut base, &patch);
        assert_eq!(
            base,
            json!({"memory": {"limit": 33554432, "swap": 67108864}, "cpu": {"quota": 100000, "period": 100000, "cpus": "0"},
                "pids": {"limit": 50}, "blockIO": {}})
        );
    }
}
