//! The only place in berthctl with `unsafe`: thin safe wrappers over calls that
//! nix does not cover. Each block says why it is sound (`// SAFETY:`).
//! `fs.rs` holds the confined-open and xattr calls the layer unpacker needs,
//! `proc.rs` who owns half-written state, `netif.rs` a fresh
//! network namespace's loopback, `time.rs` the local zone's name, `term.rs`
//! reading a password without echo, `at.rs` opening inside a rootfs,
//! `pidfd.rs`, `scm.rs` (SCM_RIGHTS) and `tty.rs` (window size) for containers
//! (the supervisor binary includes `scm.rs` and `tty.rs` too, and `inherit.rs`,
//! its attach socket, and `deathsig.rs`, its probes' parent-death signal, only
//! it: `supervise/sys.rs`).

mod at;
mod pidfd;
mod scm;
mod time;
mod tty;

pub(crate) use at::open_dir_in_root;
pub(crate) use pidfd::pidfd_open;
pub(crate) use scm::recv_fd;
pub(crate) use time::zone_abbreviation;
pub(crate) use tty::{set_window_size, window_size};

pub(crate) mod fs;
pub(crate) mod netif;
pub(crate) mod proc;
pub(crate) mod term;

use std::fmt;
use std::path::PathBuf;

pub(crate) use nix::errno::Errno;

/// A failed syscall: which call, on which path (if any), and the errno.
#[derive(Debug)]
pub(crate) struct SysError {
    pub call: &'static str,
    pub path: Option<PathBuf>,
    pub errno: Errno,
}

impl SysError {
    pub(crate) fn new(call: &'static str, path: impl Into<PathBuf>, errno: Errno) -> Self {
        SysError { call, path: Some(path.into()), errno }
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{} {:?}: {}", self.call, p, self.errno.desc()),
            None => write!(f, "{}: {}", self.call, self.errno.desc()),
        }
    }
}

impl std::error::Error for SysError {}
