//! SELinux: the label applied at exec.
use super::SecurityError;

pub fn set_exec_label(label: &str) -> Result<(), SecurityError> {
    Err(SecurityError::Other(format!("process.selinuxLabel: {label:?}: SELinux is not supported yet")))
}

pub fn is_enabled() -> bool {
    false
}
