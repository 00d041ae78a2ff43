//! seccomp: compile `linux.seccomp` to BPF (seccompiler) and load it.
use oci_spec::runtime::LinuxSeccomp;

use super::SecurityError;

/// A compiled filter, ready to load.
pub struct Filter {
    pub program: Vec<seccompiler::sock_filter>,
    /// SECCOMP_FILTER_FLAG_* bits from `linux.seccomp.flags`.
    pub flags: u32,
}

/// Compile the profile. A profile we cannot express is an error naming the field.
pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, SecurityError> {
    let _ = profile;
    Err(SecurityError::Other("seccomp not implemented yet".into()))
}

/// Load `filter` into the calling thread (the last step before execve).
pub fn load(filter: &Filter) -> Result<(), SecurityError> {
    let _ = filter;
    Err(SecurityError::Other("seccomp not implemented yet".into()))
}
