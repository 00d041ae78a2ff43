//! Security settings applied by init just before exec: capabilities, no_new_privs,
//! seccomp, AppArmor and SELinux labels.

pub mod apparmor;
pub mod caps;
pub mod seccomp;
pub mod selinux;

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("security: {0}")]
    Other(String),
}
