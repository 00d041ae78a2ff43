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
    Err(SecurityError::Seccomp { field: "linux.seccomp".into(), reason: "not implemented yet".into() })
}

/// Load `filter` into the calling thread (the last step before execve).
pub fn load(filter: &Filter) -> Result<(), SecurityError> {
    let _ = filter;
    Err(SecurityError::Seccomp { field: "linux.seccomp".into(), reason: "not implemented yet".into() })
}

/// Actions `compile` accepts (for `berth features`).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
/// Argument operators `compile` accepts.
pub const OPERATORS: &[&str] =
    &["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"];
/// Architectures a profile may name.
pub const ARCHS: &[&str] = &["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"];
/// Filter flags `load` supports.
pub const FLAGS: &[&str] = &["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"];
