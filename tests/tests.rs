//! Root integration tests: each drives the real `berth` binary as containerd does,
//! with its own bundle, state root and cgroup under a parent named for the test
//! run, and checks from inside the container what a user would check.
//!
//! They need root and are `#[ignore = "needs root"]`; `make test` runs them with
//! `cargo test -- --include-ignored`.

mod as_runc;
mod cgroups;
mod clients;
mod common;
mod exec;
mod failures;
mod faults;
mod hostile;
mod lifecycle;
mod notify;
mod process;
mod rootfs;
mod rootless;
mod security;
mod setup;
mod spec;
mod spec_config;
