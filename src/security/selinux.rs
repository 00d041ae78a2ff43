//! SELinux: the label the process gets at exec (`process.selinuxLabel`). A label
//! asked for on a host without SELinux is an error, never ignored.

use super::SecurityError;

/// Whether selinuxfs is mounted (SELinux enabled).
pub fn is_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Set the label for the next execve of this thread.
pub fn set_exec_label(label: &str) -> Result<(), SecurityError> {
    if !is_enabled() {
        return Err(SecurityError::Unsupported {
            field: "process.selinuxLabel",
            reason: format!("{label:?} requested, but SELinux is not enabled on this host"),
        });
    }
    let path = "/proc/thread-self/attr/exec";
    std::fs::write(path, label).map_err(|source| SecurityError::Label {
        field: "process.selinuxLabel",
        path: path.into(),
        source,
    })
}
