//! The only module with `unsafe`: thin, safe wrappers over syscalls that nix does
//! not cover, each returning [`Error`] that names the call and the path it acted on.
//!
//! Files are owned by concern: `mount.rs` (mount API, openat2, pivot_root),
//! `process.rs` (clone, prctl, close_range, exec), `fd.rs` (SCM_RIGHTS, sockets),
//! `bpf.rs` (bpf(2) for cgroup device programs), `capset.rs` (one capset(2)).

pub mod bpf;
pub mod capset;
pub mod fd;
pub mod mount;
pub mod process;
pub mod sched;
pub mod seccomp;
pub mod tty;

use std::fmt;
use std::path::PathBuf;

pub use nix::errno::Errno;

/// A failed syscall: which call, on which path (if any), and the errno.
#[derive(Debug)]
pub struct Error {
    pub call: &'static str,
    pub path: Option<PathBuf>,
    pub errno: Errno,
}

impl Error {
    pub fn new(call: &'static str, errno: Errno) -> Self {
        Error { call, path: None, errno }
    }

    pub fn with_path(call: &'static str, path: impl Into<PathBuf>, errno: Errno) -> Self {
        Error { call, path: Some(path.into()), errno }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{} {:?}", self.call, p),
            None => write!(f, "{}", self.call),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.errno)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
