//! The parts of a container's spec that come from the host at each start:
//! `--device` (the host's device nodes, looked at then, as docker does) and
//! the namespaces of `--pid container:X` / `--ipc container:X` (that
//! container's running init).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::record::DeviceMapping;

#[derive(Debug, thiserror::Error)]
pub(crate) enum HostOptError {
    /// docker's words; "no such file or directory" in Go's spelling, which
    /// `run` maps to 127 as docker's client does.
    #[error("error gathering device information while adding custom device {path:?}: {reason}")]
    Device { path: String, reason: String },
    #[error("cannot join {what} of a non running container: {name}")]
    JoinStopped { what: &'static str, name: String },
}

/// One device node for the spec: `linux.devices` entry and its cgroup rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Device {
    pub node: Value,
    pub rule: Value,
}

/// Go's text for an errno, as docker prints it.
fn go_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The device nodes of `--device` entries: a node as itself, a directory as
/// every node under it (docker's rule), anything else refused.
pub(crate) fn devices(list: &[DeviceMapping]) -> Result<Vec<Device>, HostOptError> {
    let mut out = Vec::new();
    for d in list {
        let err = |reason: String| HostOptError::Device { path: d.path_on_host.clone(), reason };
        let meta = std::fs::metadata(&d.path_on_host).map_err(|e| err(go_text(&e)))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(Path::new(&d.path_on_host), &mut found).map_err(|e| err(go_text(&e)))?;
            for host in found {
                let rel = host.strip_prefix(&d.path_on_host).unwrap_or(&host);
                let inner = Path::new(&d.path_in_container).join(rel);
                if let Some(dev) = node(&host, &inner, &d.cgroup_permissions).map_err(|e| err(go_text(&e)))? {
                    out.push(dev);
                }
            }
            continue;
        }
        let inner = Path::new(&d.path_in_container);
        let dev = node(Path::new(&d.path_on_host), inner, &d.cgroup_permissions).map_err(|e| err(go_text(&e)))?;
        out.push(dev.ok_or_else(|| err("not a device node".into()))?);
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_char_device() || kind.is_block_device() {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// The node at `host` (symlinks followed) as `inner`; None if not a device.
fn node(host: &Path, inner: &Path, perms: &str) -> std::io::Result<Option<Device>> {
    let meta = std::fs::metadata(host)?;
    let kind = if meta.file_type().is_char_device() {
        "c"
    } else if meta.file_type().is_block_device() {
        "b"
    } else {
        return Ok(None);
    };
    let (major, minor) = (nix::sys::stat::major(meta.rdev()), nix::sys::stat::minor(meta.rdev()));
    Ok(Some(Device {
        node: json!({
            "path": inner, "type": kind, "major": major, "minor": minor,
            "fileMode": meta.mode() & 0o7777, "uid": meta.uid(), "gid": meta.gid(),
        }),
        rule: json!({"allow": true, "type": kind, "major": major, "minor": minor, "access": perms}),
    }))
}

/// The init pid of the container `name` (an id or a name) if it runs.
pub(crate) fn running_pid(store: &super::store::Store, name: &str, what: &'static str) -> anyhow::Result<i32> {
    let other = store.lookup(name)?;
    let alive = other.state.pid > 0 && Path::new(&format!("/proc/{}", other.state.pid)).exists();
    if !other.state.running || !alive {
        return Err(HostOptError::JoinStopped { what, name: name.to_string() }.into());
    }
    Ok(other.state.pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host: &str, inner: &str) -> DeviceMapping {
        DeviceMapping { path_on_host: host.into(), path_in_container: inner.into(), cgroup_permissions: "rw".into() }
    }

    #[test]
    fn a_node_keeps_its_numbers_under_its_new_name() {
        let d = devices(&[mapping("/dev/null", "/dev/mynull")]).unwrap();
        assert_eq!(d[0].node["path"], "/dev/mynull");
        assert_eq!(
            (d[0].node["type"].as_str(), d[0].node["major"].as_u64(), d[0].node["minor"].as_u64()),
            (Some("c"), Some(1), Some(3))
        );
        assert_eq!(d[0].rule, json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}));
    }

    #[test]
    fn missing_and_non_device_paths_are_refused_in_dockers_words() {
        let e = devices(&[mapping("/dev/no-such-dev", "/dev/x")]).unwrap_err().to_string();
        assert_eq!(
            e,
            "error gathering device information while adding custom device \"/dev/no-such-dev\": no such file or directory"
        );
        let e = devices(&[mapping("/etc/hostname", "/dev/x")]).unwrap_err().to_string();
        assert!(e.ends_with("not a device node"), "{e}");
    }
}
