//! The only module with `unsafe`: thin, safe wrappers over syscalls that nix does
//! not cover, each returning [`Error`] that names the call and the path it acted on.
//!
//! Files are owned by concern:
//! - `fd.rs`: `open` returning an `OwnedFd`, a pty master as an `OwnedFd`, and fds
//!   over unix sockets (`send_fd`/`recv_fd`, SCM_RIGHTS);
//! - `mount.rs`: `openat2`, `mount_setattr` (recursive attributes, idmaps),
//!   `open_tree` + `move_mount` (detached trees);
//! - `process.rs`: `clone_fork` and `fork` (single-threaded callers only),
//!   `close_range` (`cloexec_from`), `_exit`, `setdomainname`, the session keyring;
//! - `proc_events.rs`: the kernel's process events connector (exec and exit of
//!   any process, over netlink), for `start`;
//! - `sched.rs`: `ioprio_set`, `sched_setattr`;
//! - `seccomp.rs`: seccomp(2) `SECCOMP_SET_MODE_FILTER` with flags;
//! - `bpf.rs`: bpf(2) for cgroup v2 device programs (load, attach, query, detach);
//! - `capset.rs`: capset(2) in one call, for the step after the seccomp filter;
//! - `tty.rs`: `TIOCSCTTY`, `TIOCGWINSZ`/`TIOCSWINSZ`;
//! - `time.rs`: the wall clock as RFC 3339 (UTC, nanoseconds), for state and logs;
//! - `ops.rs`: the test seam, `MountOps`/`NsOps`/`CredOps` with the real `Linux`
//!   and a recording fake (`ops::fake::Recorder`) for unit tests;
//! - `entry.rs`: the binary's C `main` (`#![no_main]`) and the part of std's
//!   runtime start-up berth needs (stdio open, SIGPIPE ignored);
//! - `unwind.rs`: the `_Unwind_*` entry points std links against, as no-ops, in
//!   builds that never unwind, so libgcc_s.so is not loaded;
//! - `procfs.rs`: /proc files read whole in one read, not std's size probes;
//! - `mountinfo.rs`: the one parser of /proc/<pid>/mountinfo (no syscall, no
//!   `unsafe`: shared by cgroups and rootfs, which may not import each other);
//! - `cgroupinfo.rs`: the host's cgroup hierarchies (read once per process, and
//!   inherited by init through clone) and the one parser of /proc/<pid>/cgroup,
//!   for the same two.
//!
//! pivot_root, mount, setns and the rest that nix wraps safely are called from
//! nix where they are used.

pub mod bpf;
pub mod capset;
pub mod cgroupinfo;
pub mod entry;
pub mod fd;
pub mod mount;
pub mod mountinfo;
pub(crate) mod ops;
pub mod proc_events;
pub mod process;
pub mod procfs;
pub mod sched;
pub mod seccomp;
pub mod time;
pub mod tty;
#[cfg(panic = "abort")]
pub mod unwind;

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
