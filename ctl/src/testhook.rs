//! Fault points for crash-safety tests, compiled in only with the
//! `test-hooks` feature: `BERTH_TEST_FAULT=<point>` makes the process kill
//! itself with SIGKILL when it reaches `<point>`, exactly as `kill -9` would
//! (no destructor runs, nothing is flushed or cleaned up).
//!
//! Points: `pull:manifest` (manifest and config stored, no layer started),
//! `pull:layer` (the first layer half downloaded and partly unpacked),
//! `pull:blobs` (every blob committed, no snapshot committed),
//! `pull:snapshots` (snapshots committed, the image not yet recorded),
//! `commit:layer` (a layer packed and unpacked, its blob and snapshot not
//! committed), `commit:image` (config and manifest stored, the image not yet
//! recorded), `run:exit` (a foreground `run` told of the exit it claimed,
//! before recording it: the supervisor must record it), `run:started` (the
//! supervisor ran the container, berthctl has not recorded it running: the
//! supervisor must), `network:setup` (a
//! container's interfaces and rules made, the container not yet created).

/// Die here if the test asked for it.
#[cfg(feature = "test-hooks")]
pub(crate) fn fault(point: &str) {
    if std::env::var("BERTH_TEST_FAULT").is_ok_and(|p| p == point) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn fault(_point: &str) {}
