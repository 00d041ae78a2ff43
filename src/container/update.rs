//! `update`: change a live container's resource limits. The new values are merged
//! over the resources the container has (so a partial document changes only what
//! it names, as runc's does), written to the cgroup, and saved in the state.

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
    let (mut st, status) = load(root, id, "update")?;
    if status == Status::Stopped {
        return Err(err(Cause::NotRunning));
    }
    let store = Store::new(root);
    let cid = ContainerId::new(id).map_err(err)?;
    let _lock = store.lock(&cid).map_err(err)?;
    let mut linux = st.config.linux().clone().unwrap_or_default();
    let current = linux.resources().clone().unwrap_or_default();
    let mut merged = serde_json::to_value(&current).map_err(|e| err(Cause::Json(e)))?;
    merge(&mut merged, patch);
    let resources: LinuxResources =
        serde_json::from_value(merged).map_err(|e| err(Cause::Other(format!("linux.resources: {e}"))))?;
    let cg = cgroups::open(&st.cgroup).map_err(|e| err(e.into()))?;
    cg.set(&resources).map_err(|e| err(e.into()))?;
    linux.set_resources(Some(resources.clone()));
    st.config.set_linux(Some(linux));
    store.save(&st).map_err(err)?;
    Ok(resources)
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
}
