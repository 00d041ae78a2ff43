//! AppArmor: the profile the process changes to at exec (`process.apparmorProfile`).
//! A profile asked for on a host without AppArmor is an error, never ignored.

use std::path::Path;

use super::SecurityError;

/// Whether the host kernel has AppArmor enabled.
pub fn is_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|s| s.starts_with('Y'))
}

/// Ask the kernel to switch to `profile` at the next execve.
pub fn apply_on_exec(profile: &str) -> Result<(), SecurityError> {
    if !is_enabled() {
        return Err(SecurityError::Unsupported {
            field: "process.apparmorProfile",
            reason: format!("{profile:?} requested, but AppArmor is not enabled on this host"),
        });
    }
    let path = if Path::new("/proc/self/attr/apparmor/exec").exists() {
        "/proc/self/attr/apparmor/exec"
    } else {
        "/proc/self/attr/exec"
    };
    std::fs::write(path, format!("exec {profile}")).map_err(|source| SecurityError::Label {
        field: "process.apparmorProfile",
        path: path.into(),
        source,
    })
}
