//! `berth spec`: runc's default config.json, field for field, so that tools and
//! tutorials written for `runc spec` work unchanged.

use serde_json::{Value, json};

const CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// runc's `spec` output for this host: a shell in a read-only busybox-style
/// rootfs, with a cgroup namespace only when the host is pure cgroup v2 (as
/// runc 1.2's `spec`: on v1 and hybrid hosts a private cgroup namespace hides
/// nothing the container's /sys/fs/cgroup bind does not already limit, and older
/// tools inside expect the host's paths).
pub fn default_spec() -> Value {
    default_spec_for(is_cgroup2_unified())
}

/// runc's IsCgroup2UnifiedMode: /sys/fs/cgroup is itself a cgroup2 mount.
fn is_cgroup2_unified() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// The default config; `cgroup2`: the host is pure cgroup v2.
pub(crate) fn default_spec_for(cgroup2: bool) -> Value {
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "network"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if cgroup2 {
        namespaces.push(json!({"type": "cgroup"}));
    }
    json!({
        "ociVersion": super::OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": CAPS, "effective": CAPS, "permitted": CAPS, "ambient": CAPS
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "berth",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": namespaces,
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// runc's `spec --rootless`: the default plus a user namespace mapping the caller's
/// ids to root, no devpts gid, no resources. Unlike runc, and as crun does, the
/// network namespace is kept: the container gets only its own loopback, never the
/// host's network, and so may mount a sysfs of its own (runc binds the host's /sys
/// because it has no network namespace; berth falls back to that bind whenever a
/// fresh sysfs is refused).
pub fn rootless_spec(uid: u32, gid: u32) -> Value {
    let mut spec = default_spec();
    let linux = &mut spec["linux"];
    if let Some(ns) = linux["namespaces"].as_array_mut() {
        ns.push(json!({"type": "user"}));
    }
    linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    if let Some(obj) = linux.as_object_mut() {
        obj.remove("resources");
    }
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        mounts.retain(|m| m["type"] != "cgroup" || m["destination"] != "/sys/fs/cgroup");
        for m in mounts.iter_mut() {
            if m["destination"] == "/dev/pts"
                && let Some(opts) = m["options"].as_array_mut()
            {
                opts.retain(|o| o != "gid=5");
            }
        }
        mounts.push(json!({"destination": "/sys/fs/cgroup", "type": "none", "source": "/sys/fs/cgroup",
                           "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}));
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_parses_and_validates() {
        let text = default_spec().to_string();
        let spec = crate::spec::parse("config.json".as_ref(), &text).unwrap();
        crate::spec::validate(&spec).unwrap();
        assert_eq!(spec.hostname().as_deref(), Some("berth"));
    }

    #[test]
    fn rootless_spec_has_user_namespace_and_mappings() {
        let text = rootless_spec(1000, 1000).to_string();
        let spec = crate::spec::parse("config.json".as_ref(), &text).unwrap();
        crate::spec::validate(&spec).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.uid_mappings().as_ref().unwrap()[0].host_id(), 1000);
        assert!(linux.resources().is_none());
    }

    #[test]
    fn cgroup_namespace_only_on_a_pure_cgroup2_host() {
        let types = |v: &Value| -> Vec<String> {
            v["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap().into()).collect()
        };
        assert_eq!(types(&default_spec_for(false)), ["pid", "network", "ipc", "uts", "mount"]);
        assert_eq!(types(&default_spec_for(true)), ["pid", "network", "ipc", "uts", "mount", "cgroup"]);
    }
}
