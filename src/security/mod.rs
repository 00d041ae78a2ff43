//! Security settings applied by init just before exec: capabilities, no_new_privs,
//! seccomp, AppArmor and SELinux labels.

pub mod apparmor;
pub mod caps;
pub mod seccomp;
pub mod selinux;
mod syscalls;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("{field}: {what}")]
    Caps { field: &'static str, what: String },
    #[error("{call}")]
    Sys {
        call: &'static str,
        #[source]
        source: crate::sys::Error,
    },
    #[error("{field}: {reason}")]
    Seccomp { field: String, reason: String },
    #[error("{field}: {reason}")]
    Unsupported { field: &'static str, reason: String },
    #[error("{field}: write {path:?}")]
    Label {
        field: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
