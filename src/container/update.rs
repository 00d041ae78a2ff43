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
    let mut linux = st.config.linux().clone().unwrap_or_else(crate::spec::empty_linux);
    let current = linux.resources().clone().unwrap_or_default();
    // Through text, not `to_value`/`from_value`: the resources are then read and
    // written by the same serde instances as config.json and state.json.
    let text = serde_json::to_string(&current).map_err(|e| err(Cause::Json(e)))?;
    let mut merged: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(Cause::Json(e)))?;
    let mut patch = patch.clone();
    drop_unchanged(&mut patch);
    merge(&mut merged, &patch);
    let text = merged.to_string();
    let resources: LinuxResources = serde_json::from_str(&text).map_err(|e| err(resources_error(&text, &e)))?;
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

/// A parse error of the merged resources, named by field as runc's are
/// (`memory.limit`): serde_json gives only a position, in a text the user never
/// wrote.
fn resources_error(text: &str, e: &serde_json::Error) -> Cause {
    let whole = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = whole.strip_suffix(&position).unwrap_or(&whole).to_string();
    Cause::Resources { field: field_at(text, e.column()), message }
}

/// The field that 1-based `column` (serde_json counts bytes) of the one-line
/// JSON `text` falls in, as a path: `memory.limit`, `devices[1].allow`; "" at
/// the top level.
fn field_at(text: &str, column: usize) -> String {
    struct Frame {
        array: bool,
        index: usize,
        key: String,
    }
    let mut frames: Vec<Frame> = Vec::new();
    let (mut in_string, mut escaped, mut string) = (false, false, Vec::new());
    let mut want_key = false;
    for &c in text.as_bytes().iter().take(column.saturating_sub(1)) {
        if in_string {
            match c {
                _ if escaped => {
                    escaped = false;
                    string.push(c);
                }
                b'\\' => escaped = true,
                b'"' => {
                    in_string = false;
                    if want_key && let Some(f) = frames.last_mut() {
                        f.key = String::from_utf8_lossy(&string).into_owned();
                        want_key = false;
                    }
                }
                _ => string.push(c),
            }
            continue;
        }
        match c {
            b'"' => {
                in_string = true;
                string.clear();
            }
            b'{' | b'[' => {
                frames.push(Frame { array: c == b'[', index: 0, key: String::new() });
                want_key = c == b'{';
            }
            b'}' | b']' => {
                frames.pop();
            }
            b',' => match frames.last_mut() {
                Some(f) if f.array => f.index += 1,
                Some(_) => want_key = true,
                None => {}
            },
            _ => {}
        }
    }
    let mut path = String::new();
    for f in &frames {
        if f.array {
            path.push_str(&format!("[{}]", f.index));
        } else if !f.key.is_empty() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&f.key);
        }
    }
    path
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

    fn error_of(text: &str) -> String {
        let e = serde_json::from_str::<LinuxResources>(text).unwrap_err();
        resources_error(text, &e).to_string()
    }

    #[test]
    fn a_resources_error_names_the_field_not_a_position() {
        let msg = error_of(r#"{"memory":{"swap":5,"limit":"x"},"pids":{"limit":1}}"#);
        assert_eq!(msg, r#"linux.resources.memory.limit: invalid type: string "x", expected i64"#);
        let msg = error_of(r#"{"devices":[{"allow":true},{"allow":"no","access":"r"}]}"#);
        assert_eq!(msg, r#"linux.resources.devices[1].allow: invalid type: string "no", expected a boolean"#);
        let msg = error_of(r#"{"cpu":{"cpus":"0,\"1"},"memory":{"limit":-1.5}}"#);
        assert!(msg.starts_with("linux.resources.memory.limit: invalid type: floating point"), "{msg}");
        // Columns count bytes: a multi-byte value before the error moves it.
        let msg = error_of(r#"{"unified":{"é.x":"ü"},"pids":{"limit":true}}"#);
        assert_eq!(msg, "linux.resources.pids.limit: invalid type: boolean `true`, expected i64");
    }

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
