//! berth: an OCI runtime, a drop-in for runc. (berthctl, the front end, is its own crate in `ctl/`.)
//!
//! The layers, top to bottom (each imports only those below it; see docs/ARCHITECTURE.md):
//! `cli` → `container` → the per-concern modules
//! (`spec`, `process`, `rootfs`, `cgroups`, `security`, `hooks`, `console`) → `sys`.
//!
//! Everything is `pub(crate)` but the command line (`cli`) and the few items
//! re-exported below, which the binary and the root tests use.
#![deny(unsafe_code)]

pub(crate) mod cgroups;
pub mod cli;
pub(crate) mod console;
pub(crate) mod container;
pub(crate) mod hooks;
pub(crate) mod process;
pub(crate) mod rootfs;
pub(crate) mod security;
pub(crate) mod spec;
#[allow(unsafe_code)]
pub(crate) mod sys;

// The public API: what `src/bin/berth.rs` and the root tests need.
pub use container::error_chain;
#[doc(hidden)]
pub use sys::entry::args as __entry_args;
/// For [`c_main!`]: the start-up the binary's C `main` runs first.
#[doc(hidden)]
pub use sys::entry::start as __entry_start;
pub use sys::fd::recv_fd;
/// A seccomp agent's side of a notify fd (the seccomp notify tests' listener).
pub use sys::seccomp::{NotifResp, notif_recv, notif_send};
