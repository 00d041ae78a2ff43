//! AppArmor: the profile applied at exec.
use super::SecurityError;

pub fn apply_on_exec(profile: &str) -> Result<(), SecurityError> {
    Err(SecurityError::Other(format!("process.apparmorProfile: {profile:?}: AppArmor is not supported yet")))
}

pub fn is_enabled() -> bool {
    false
}
