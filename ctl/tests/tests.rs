//! berthctl's tests: each drives the real `berthctl` binary with its own
//! data root and runroot (`support::Store`), against the test images and a
//! private docker-registry (`support::images`, `support::registry`).
//!
//! Tests that need root (mounts, chroot-built images, a runtime) are
//! `#[ignore = "needs root"]`; `make test` runs them with `--include-ignored`
//! after `make test-images`.

mod archive;
mod build;
mod commit;
mod containers;
#[cfg(feature = "test-hooks")]
mod crash;
mod docker_compare;
mod events;
mod harness;
mod health;
mod images;
mod login;
mod network;
mod network_run;
mod oom;
mod output;
mod prune;
mod pull;
mod push;
mod restore;
mod sandbox;
mod slow_registry;
mod support;
mod system_df;
mod update;
mod volume;
mod volume_mounts;
