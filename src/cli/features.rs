//! `berth features`: the runtime-spec features document (features.md). It lists
//! only what `create` really supports; docker and containerd read it.
use serde_json::json;

use super::Global;
use super::args::Matches;

const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "ridmap",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

#[derive(Debug)]
pub struct Args {}

impl Args {
    pub(crate) fn parse(_m: &Matches) -> Result<Args, String> {
        Ok(Args {})
    }
}

pub fn run(g: &Global, _args: Args) -> anyhow::Result<i32> {
    let caps: Vec<String> = crate::security::caps::known_names();
    let doc = json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": true},
            "seccomp": {
                "enabled": true,
                "actions": crate::security::seccomp::ACTIONS,
                "operators": crate::security::seccomp::OPERATORS,
                "archs": crate::security::seccomp::ARCHS,
                "knownFlags": crate::security::seccomp::FLAGS,
                "supportedFlags": crate::security::seccomp::FLAGS
            },
            "apparmor": {"enabled": crate::security::apparmor::is_enabled()},
            "selinux": {"enabled": crate::security::selinux::is_enabled()},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": true}}
        },
        // runc's are `org.opencontainers.runc.*`; berth's own carry its name.
        "annotations": {
            "run.berth.version": env!("CARGO_PKG_VERSION"),
            "run.berth.commit": super::COMMIT,
            "run.berth.checkpoint.enabled": checkpoint_enabled(g)
        }
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(0)
}

/// runc's `org.opencontainers.runc.checkpoint.enabled`: true when CRIU can be
/// run at all (runc checks only that it is built with checkpoint support).
fn checkpoint_enabled(g: &Global) -> &'static str {
    let ok = std::process::Command::new(&g.criu)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok { "true" } else { "false" }
}
