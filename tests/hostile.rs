//! Hostile input: a corpus of bad bundles and configs. Each must fail with a
//! non-zero exit and an error naming the field or path, and leave nothing behind:
//! no state dir, no cgroup, no process.

use std::fs;

use serde_json::{Value, json};

use crate::common::{Bundle, mount_push, text};

type Edit = fn(&mut Value);

fn ns_push(c: &mut Value, v: Value) {
    c["linux"]["namespaces"].as_array_mut().unwrap().push(v);
}

/// (name, edit, a substring the error must contain)
const CORPUS: &[(&str, Edit, &str)] = &[
    ("args-empty", |c| c["process"]["args"] = json!([]), "process.args"),
    (
        "args-missing",
        |c| c["process"].as_object_mut().unwrap().remove("args").map(|_| ()).unwrap_or(()),
        "process.args",
    ),
    ("args0-empty", |c| c["process"]["args"] = json!([""]), "process.args"),
    ("args-not-array", |c| c["process"]["args"] = json!("sh"), "process.args"),
    ("args-number", |c| c["process"]["args"] = json!([1, 2]), "process.args"),
    ("args0-missing-binary", |c| c["process"]["args"] = json!(["/bin/nonexistent"]), "/bin/nonexistent"),
    ("args0-not-in-path", |c| c["process"]["args"] = json!(["no-such-cmd"]), "no-such-cmd"),
    ("args0-not-executable", |c| c["process"]["args"] = json!(["/etc/passwd"]), "/etc/passwd"),
    ("args0-directory", |c| c["process"]["args"] = json!(["/tmp"]), "/tmp"),
    ("cwd-relative", |c| c["process"]["cwd"] = json!("tmp"), "process.cwd"),
    ("cwd-is-file", |c| c["process"]["cwd"] = json!("/etc/passwd"), "process.cwd"),
    ("cwd-number", |c| c["process"]["cwd"] = json!(5), "process.cwd"),
    ("env-not-kv", |c| c["process"]["env"] = json!(["NOEQUALS"]), "process.env[0]"),
    ("env-empty-key", |c| c["process"]["env"] = json!(["=value"]), "process.env[0]"),
    ("env-not-array", |c| c["process"]["env"] = json!({"A": "b"}), "process.env"),
    ("uid-string", |c| c["process"]["user"]["uid"] = json!("root"), "process.user.uid"),
    ("uid-negative", |c| c["process"]["user"]["uid"] = json!(-1), "process.user.uid"),
    ("gid-float", |c| c["process"]["user"]["gid"] = json!(1.5), "process.user.gid"),
    ("gids-not-array", |c| c["process"]["user"]["additionalGids"] = json!(7), "process.user.additionalGids"),
    (
        "rlimit-unknown-type",
        |c| c["process"]["rlimits"] = json!([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]),
        "process.rlimits[0].type",
    ),
    (
        "rlimit-soft-above-hard",
        |c| c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}]),
        "process.rlimits[0]",
    ),
    (
        "rlimit-duplicate",
        |c| {
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}, {"type": "RLIMIT_NOFILE", "soft": 2, "hard": 2}])
        },
        "process.rlimits[1]",
    ),
    (
        "rlimit-absurd",
        |c| c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": u64::MAX, "hard": u64::MAX}]),
        "process.rlimits[0]",
    ),
    (
        "rlimit-negative",
        |c| c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": -1, "hard": 1}]),
        "process.rlimits[0].soft",
    ),
    // An unknown capability name is not an error: runc drops it with a warning
    // (as_runc::unknown_capabilities_are_ignored_with_runcs_warning).
    ("cap-not-a-string", |c| c["process"]["capabilities"]["bounding"] = json!([5]), "process.capabilities.bounding"),
    (
        "cap-not-array",
        |c| c["process"]["capabilities"]["effective"] = json!("CAP_KILL"),
        "process.capabilities.effective",
    ),
    ("oom-string", |c| c["process"]["oomScoreAdj"] = json!("high"), "process.oomScoreAdj"),
    ("terminal-string", |c| c["process"]["terminal"] = json!("yes"), "process.terminal"),
    ("terminal-without-socket", |c| c["process"]["terminal"] = json!(true), "console socket"),
    (
        "process-missing",
        |c| {
            c.as_object_mut().unwrap().remove("process");
        },
        "process",
    ),
    ("process-not-object", |c| c["process"] = json!([]), "process"),
    (
        "oci-version-missing",
        |c| {
            c.as_object_mut().unwrap().remove("ociVersion");
        },
        "ociVersion",
    ),
    ("oci-version-2", |c| c["ociVersion"] = json!("2.0.0"), "ociVersion"),
    ("oci-version-number", |c| c["ociVersion"] = json!(1), "ociVersion"),
    (
        "root-missing",
        |c| {
            c.as_object_mut().unwrap().remove("root");
        },
        "root",
    ),
    ("root-path-empty", |c| c["root"]["path"] = json!(""), "root.path"),
    ("rootfs-missing-dir", |c| c["root"]["path"] = json!("no-such-rootfs"), "no-such-rootfs"),
    ("rootfs-is-file", |c| c["root"]["path"] = json!("config.json"), "root.path"),
    ("root-readonly-string", |c| c["root"]["readonly"] = json!("true"), "root.readonly"),
    ("ns-unknown", |c| ns_push(c, json!({"type": "bogus"})), "linux.namespaces[6].type"),
    ("ns-duplicate", |c| ns_push(c, json!({"type": "pid"})), "linux.namespaces[6]: malformed spec file: duplicated ns"),
    ("ns-path-relative", |c| c["linux"]["namespaces"][1]["path"] = json!("netns"), "linux.namespaces[1].path"),
    ("ns-path-missing", |c| c["linux"]["namespaces"][1]["path"] = json!("/no/such/netns"), "/no/such/netns"),
    ("ns-path-not-ns", |c| c["linux"]["namespaces"][1]["path"] = json!("/etc/hostname"), "/etc/hostname"),
    (
        "ns-no-mount",
        |c| c["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "mount"),
        "without a private MNT namespace",
    ),
    ("ns-not-array", |c| c["linux"]["namespaces"] = json!({"type": "pid"}), "linux.namespaces"),
    ("userns-no-mappings", |c| ns_push(c, json!({"type": "user"})), "linux.uidMappings"),
    (
        "mappings-without-userns",
        |c| c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]),
        "linux.uidMappings",
    ),
    (
        "hostname-without-uts",
        |c| c["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "uts"),
        "hostname",
    ),
    ("mount-missing-destination", |c| mount_push(c, json!({"type": "tmpfs", "source": "tmpfs"})), "mounts[7]"),
    ("mount-bad-fstype", |c| mount_push(c, json!({"destination": "/mnt", "type": "nosuchfs", "source": "x"})), "/mnt"),
    (
        "mount-bind-missing-source",
        |c| {
            mount_push(
                c,
                json!({"destination": "/mnt", "type": "bind", "source": "/no/such/source", "options": ["bind"]}),
            )
        },
        "/no/such/source",
    ),
    (
        "mount-options-not-array",
        |c| mount_push(c, json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": "ro"})),
        "mounts[7].options",
    ),
    (
        "mount-escaping-destination",
        |c| {
            mount_push(
                c,
                json!({"destination": "/../../../../tmp/escape", "type": "bind", "source": "/no/such/dir", "options": ["bind"]}),
            )
        },
        "/no/such/dir",
    ),
    (
        "device-bad-type",
        |c| c["linux"]["devices"] = json!([{"path": "/dev/x", "type": "z", "major": 1, "minor": 3}]),
        "linux.devices[0].type",
    ),
    (
        "device-relative-path",
        |c| c["linux"]["devices"] = json!([{"path": "dev/x", "type": "c", "major": 1, "minor": 3}]),
        "linux.devices[0].path",
    ),
    (
        "device-major-string",
        |c| c["linux"]["devices"] = json!([{"path": "/dev/x", "type": "c", "major": "one", "minor": 3}]),
        "linux.devices[0].major",
    ),
    ("masked-relative", |c| c["linux"]["maskedPaths"] = json!(["proc/kcore"]), "linux.maskedPaths[0]"),
    ("readonly-relative", |c| c["linux"]["readonlyPaths"] = json!(["proc/sys"]), "linux.readonlyPaths[0]"),
    ("sysctl-not-namespaced", |c| c["linux"]["sysctl"] = json!({"kernel.panic": "1"}), "linux.sysctl.kernel.panic"),
    (
        "sysctl-net-without-netns",
        |c| {
            c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
            c["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "network");
        },
        "linux.sysctl.net.ipv4.ip_forward",
    ),
    ("sysctl-hostname", |c| c["linux"]["sysctl"] = json!({"kernel.hostname": "x"}), "linux.sysctl.kernel.hostname"),
    ("sysctl-value-number", |c| c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": 1}), "linux.sysctl"),
    (
        "seccomp-bad-default",
        |c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_BOGUS"}),
        "linux.seccomp.defaultAction",
    ),
    (
        "seccomp-bad-action",
        |c| {
            c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]})
        },
        "linux.seccomp.syscalls[0].action",
    ),
    (
        "seccomp-bad-operator",
        |c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_WAT"}]}]}),
        "linux.seccomp.syscalls[0].args[0].op",
    ),
    (
        "seccomp-bad-arch",
        |c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PDP11"]}),
        "linux.seccomp.architectures[0]",
    ),
    (
        "seccomp-notify",
        |c| {
            c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
        },
        "SCMP_ACT_NOTIFY",
    ),
    (
        "seccomp-arg-index",
        |c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
        "linux.seccomp.syscalls[0].args[0]",
    ),
    (
        "resources-memory-string",
        |c| c["linux"]["resources"]["memory"] = json!({"limit": "lots"}),
        "linux.resources.memory.limit",
    ),
    (
        "resources-pids-string",
        |c| c["linux"]["resources"]["pids"] = json!({"limit": "x"}),
        "linux.resources.pids.limit",
    ),
    ("hook-missing-binary", |c| c["hooks"] = json!({"prestart": [{"path": "/no/such/hook"}]}), "/no/such/hook"),
    (
        "hook-fails",
        |c| c["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]}),
        "error running createRuntime hook #0",
    ),
    (
        "hook-hangs",
        |c| c["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "60"], "timeout": 1}]}),
        "ran past specified timeout",
    ),
    ("hook-relative-path-type", |c| c["hooks"] = json!({"prestart": [{"path": 5}]}), "hooks.prestart[0].path"),
    ("apparmor-unavailable", |c| c["process"]["apparmorProfile"] = json!("berth-test-profile"), "apparmorProfile"),
    (
        "selinux-unavailable",
        |c| c["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0"),
        "selinuxLabel",
    ),
];

#[test]
#[ignore = "needs root"]
fn every_bad_config_fails_clearly_and_leaves_nothing() {
    assert!(CORPUS.len() >= 60, "corpus has {} entries", CORPUS.len());
    let mut failures = Vec::new();
    for (i, (name, edit, want)) in CORPUS.iter().enumerate() {
        let id = format!("bad-{i}");
        let b = Bundle::with(&id, &["true"], *edit);
        let out = b.create(&[]);
        let err = text(&out.stderr);
        if out.status.success() {
            failures.push(format!("{name}: create succeeded"));
            continue;
        }
        if !err.contains(want) {
            failures.push(format!("{name}: error {err:?} does not name {want:?}"));
        }
        if b.state_dir().exists() || !b.cgroup_dirs().is_empty() {
            failures.push(format!("{name}: left state or cgroup behind"));
        }
    }
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), CORPUS.len(), failures.join("\n"));
}

#[test]
#[ignore = "needs root"]
fn bad_bundles_fail_clearly() {
    // Not JSON at all, with file:line:col.
    let b = Bundle::new("bad-json", &["true"]);
    fs::write(b.path().join("config.json"), "{\n  \"ociVersion\": \"1.2.0\",\n  oops\n}").unwrap();
    let err = text(&b.create(&[]).stderr);
    assert!(err.contains("config.json") && err.contains(":3:"), "{err}");
    assert!(!b.state_dir().exists());
    // No config.json.
    let b = Bundle::new("bad-noconfig", &["true"]);
    fs::remove_file(b.path().join("config.json")).unwrap();
    let err = text(&b.create(&[]).stderr);
    assert!(err.contains("config.json"), "{err}");
    assert!(!b.state_dir().exists());
    // Bundle that does not exist.
    let b = Bundle::new("bad-nobundle", &["true"]);
    let out = b.berth(&["create", "--bundle", "/no/such/bundle", "bad-nobundle"]);
    assert!(text(&out.stderr).contains("/no/such/bundle"));
    assert!(!b.state_dir().exists());
    // Bundle that is a symlink to a real bundle works like the bundle itself.
    let real = Bundle::new("bad-symlinked", &["true"]);
    let link_dir = tempfile::tempdir().unwrap();
    let link = link_dir.path().join("bundle");
    std::os::unix::fs::symlink(real.path(), &link).unwrap();
    let out = real.berth(&["run", "--bundle", link.to_str().unwrap(), "bad-symlinked"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Invalid ids.
    for id in ["../escape", "a/b", "", "."] {
        let out = real.berth(&["create", "--bundle", real.path().to_str().unwrap(), id]);
        assert!(!out.status.success(), "id {id:?} accepted");
        assert!(text(&out.stderr).contains("invalid container id"), "{}", text(&out.stderr));
    }
}
