//! berth: an OCI runtime, a drop-in for runc. (berthctl, the front end, is its own crate in `ctl/`.)
//!
//! The layers, top to bottom (each imports only those below it; see docs/ARCHITECTURE.md):
//! `cli` → `container` → the per-concern modules
//! (`spec`, `process`, `rootfs`, `cgroups`, `security`, `hooks`, `console`) → `sys`.
#![deny(unsafe_code)]

pub mod cgroups;
pub mod cli;
pub mod console;
pub mod container;
pub mod hooks;
pub mod process;
pub mod rootfs;
pub mod security;
pub mod spec;
#[allow(unsafe_code)]
pub mod sys;
