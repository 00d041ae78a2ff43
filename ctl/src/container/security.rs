//! docker's security defaults for a container: its capability set and the
//! `--cap-add`/`--cap-drop` rules, its default seccomp profile turned into the
//! OCI form for the container's capabilities and the host's architecture, and
//! the masked and read-only paths.

use serde_json::{Value, json};

/// docker's default capabilities (moby oci/caps/defaults.go).
pub(crate) const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability the kernel knows (capability(7), up to CAP_CHECKPOINT_RESTORE),
/// what `--privileged` and `--cap-add ALL` grant.
pub(crate) const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// docker's masked paths (moby oci/defaults.go).
pub(crate) const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// docker's read-only paths.
pub(crate) const READONLY_PATHS: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

#[derive(Debug, thiserror::Error)]
pub(crate) enum SecurityError {
    #[error("--cap-add/--cap-drop {0:?}: unknown capability")]
    UnknownCap(String),
    #[error("seccomp profile {path}")]
    Profile {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("seccomp profile {path}: read")]
    ReadProfile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// `CAP_X` from `x`, `X` or `cap_x`; `ALL` stays `ALL`.
fn normalize_cap(name: &str) -> Result<String, SecurityError> {
    let upper = name.to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") };
    if ALL_CAPS.contains(&full.as_str()) { Ok(full) } else { Err(SecurityError::UnknownCap(name.to_string())) }
}

/// docker's rule (moby oci/caps TweakCapabilities): start from the defaults
/// (or every capability when privileged or `--cap-add ALL`), drop what
/// `--cap-drop` names (all of them for ALL), then add what `--cap-add` names;
/// an add wins over a drop of the same capability.
pub(crate) fn capabilities(add: &[String], drop: &[String], privileged: bool) -> Result<Vec<String>, SecurityError> {
    let add = add.iter().map(|c| normalize_cap(c)).collect::<Result<Vec<_>, _>>()?;
    let drop = drop.iter().map(|c| normalize_cap(c)).collect::<Result<Vec<_>, _>>()?;
    if privileged || add.iter().any(|c| c == "ALL") {
        return Ok(ALL_CAPS.iter().map(|s| s.to_string()).collect());
    }
    let mut caps: Vec<String> = if drop.iter().any(|c| c == "ALL") {
        Vec::new()
    } else {
        DEFAULT_CAPS.iter().filter(|c| !drop.iter().any(|d| d == *c)).map(|s| s.to_string()).collect()
    };
    for c in add {
        if !caps.contains(&c) {
            caps.push(c);
        }
    }
    Ok(caps)
}

/// The default profile: moby's default seccomp profile as Debian ships it in
/// containers-common (Apache-2.0, the same syscall rules, includes/excludes by
/// capability and architecture; unknown syscalls get ENOSYS so that libc
/// falls back, e.g. from clone3). Embedded so berthctl does not depend on the
/// file being installed.
const DEFAULT_PROFILE: &str = include_str!("seccomp-default.json");

/// GOARCH of the host and the libseccomp architecture names the profile's
/// archMap keys on.
fn host_arches() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", "SCMP_ARCH_X86_64"),
        "aarch64" => ("arm64", "SCMP_ARCH_AARCH64"),
        "x86" => ("386", "SCMP_ARCH_X86"),
        "powerpc64" => ("ppc64le", "SCMP_ARCH_PPC64LE"),
        "s390x" => ("s390x", "SCMP_ARCH_S390X"),
        "riscv64" => ("riscv64", "SCMP_ARCH_RISCV64"),
        other => (other, "SCMP_ARCH_NATIVE"),
    }
}

/// docker's profile (default, or a file from `--security-opt seccomp=FILE`)
/// resolved to OCI `linux.seccomp` for these capabilities on this host, as
/// moby's profiles/seccomp setupSeccomp does.
pub(crate) fn seccomp(profile_file: Option<&str>, caps: &[String]) -> Result<Value, SecurityError> {
    let (text, path) = match profile_file {
        None => (DEFAULT_PROFILE.to_string(), "(default)".to_string()),
        Some(p) => (
            std::fs::read_to_string(p).map_err(|source| SecurityError::ReadProfile { path: p.to_string(), source })?,
            p.to_string(),
        ),
    };
    let profile: Value = serde_json::from_str(&text).map_err(|source| SecurityError::Profile { path, source })?;
    Ok(resolve_profile(&profile, caps, host_arches()))
}

fn resolve_profile(profile: &Value, caps: &[String], (goarch, scmp_arch): (&str, &str)) -> Value {
    let mut arches = Vec::new();
    for entry in profile["archMap"].as_array().into_iter().flatten() {
        if entry["architecture"] == scmp_arch {
            arches.push(entry["architecture"].clone());
            arches.extend(entry["subArchitectures"].as_array().into_iter().flatten().cloned());
        }
    }
    if arches.is_empty()
        && let Some(list) = profile["architectures"].as_array()
    {
        arches = list.clone();
    }
    let has_cap = |list: &Value| list.as_array().into_iter().flatten().any(|c| caps.iter().any(|h| c == h.as_str()));
    let in_arch = |list: &Value| list.as_array().into_iter().flatten().any(|a| a == goarch);
    let mut syscalls = Vec::new();
    for rule in profile["syscalls"].as_array().into_iter().flatten() {
        let inc = &rule["includes"];
        let exc = &rule["excludes"];
        if inc["caps"].is_array()
            && !inc["caps"].as_array().is_some_and(|l| l.iter().all(|c| caps.iter().any(|h| c == h.as_str())))
        {
            continue;
        }
        if inc["arches"].is_array() && !in_arch(&inc["arches"]) {
            continue;
        }
        if has_cap(&exc["caps"]) || in_arch(&exc["arches"]) {
            continue;
        }
        let mut out = json!({ "names": rule["names"], "action": rule["action"] });
        if let Some(args) = rule["args"].as_array().filter(|a| !a.is_empty()) {
            out["args"] = Value::Array(args.clone());
        }
        if let Some(errno) = rule["errnoRet"].as_u64() {
            out["errnoRet"] = json!(errno);
        }
        syscalls.push(out);
    }
    let mut out = json!({ "defaultAction": profile["defaultAction"], "architectures": arches, "syscalls": syscalls });
    if let Some(errno) = profile["defaultErrnoRet"].as_u64() {
        out["defaultErrnoRet"] = json!(errno);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    #[test]
    fn default_caps_are_dockers_fourteen() {
        let caps = capabilities(&[], &[], false).unwrap();
        assert_eq!(caps.len(), 14);
        assert!(caps.contains(&"CAP_NET_RAW".to_string()));
        assert!(!caps.contains(&"CAP_SYS_ADMIN".to_string()));
    }

    #[test]
    fn cap_drop_all_then_add_one() {
        let caps = capabilities(&["net_admin".into()], &["ALL".into()], false).unwrap();
        assert_eq!(names(&caps), ["CAP_NET_ADMIN"]);
    }

    #[test]
    fn add_wins_over_drop_and_privileged_gets_all() {
        let caps = capabilities(&["CHOWN".into()], &["chown".into(), "CAP_KILL".into()], false).unwrap();
        assert!(caps.contains(&"CAP_CHOWN".into()) && !caps.contains(&"CAP_KILL".into()));
        assert_eq!(capabilities(&[], &[], true).unwrap().len(), ALL_CAPS.len());
        assert!(capabilities(&["NOPE".into()], &[], false).is_err());
    }

    #[test]
    fn profile_follows_caps_and_arch() {
        let profile: Value = serde_json::from_str(DEFAULT_PROFILE).unwrap();
        let caps = capabilities(&[], &[], false).unwrap();
        let out = resolve_profile(&profile, &caps, ("amd64", "SCMP_ARCH_X86_64"));
        assert_eq!(out["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(out["architectures"][0], "SCMP_ARCH_X86_64");
        let allows = |name: &str| {
            out["syscalls"].as_array().unwrap().iter().any(|r| {
                r["action"] == "SCMP_ACT_ALLOW"
                    && r["names"].as_array().unwrap().iter().any(|n| n == name)
                    && r.get("args").is_none()
            })
        };
        assert!(allows("arch_prctl"), "amd64-only rule kept");
        assert!(!allows("s390_runtime_instr"), "s390 rule dropped");
        assert!(!allows("bpf"), "bpf needs CAP_SYS_ADMIN");
        assert!(allows("chroot"), "CAP_SYS_CHROOT is a default cap");
        let admin = capabilities(&["SYS_ADMIN".into()], &[], false).unwrap();
        let out = resolve_profile(&profile, &admin, ("amd64", "SCMP_ARCH_X86_64"));
        assert!(
            out["syscalls"].as_array().unwrap().iter().any(|r| r["names"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == "bpf")
                && r["action"] == "SCMP_ACT_ALLOW")
        );
    }
}
