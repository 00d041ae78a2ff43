//! Fault injection for tests: with the `test-hooks` cargo feature, `create` stops
//! at a named stage when `BERTH_TEST_PAUSE_AT=<stage>` is set, so a test can
//! `kill -9` it there and check that `delete --force` undoes everything. It
//! writes the stage name to `BERTH_TEST_PAUSE_FILE` (when set) once it is
//! paused. Without the feature (release builds) it only logs: each stage is
//! also `create`'s `--debug` line for that step.
//!
//! Stages, in order: `after-state-dir` (state dir and lock made, no state.json
//! yet), `after-cgroup` (state saved, cgroup made and limits written),
//! `after-clone` (init cloned and in the cgroup, waiting for its go),
//! `after-mounts` (init has mounted the rootfs and waits; hooks not run yet —
//! without hooks init only stops there when a test pauses there), `ready`
//! (init waits on the exec fifo; state not yet final).

#[cfg(feature = "test-hooks")]
pub(super) fn pause_at(stage: &str) {
    tracing::debug!(stage, "create");
    if std::env::var("BERTH_TEST_PAUSE_AT").ok().as_deref() != Some(stage) {
        return;
    }
    if let Ok(file) = std::env::var("BERTH_TEST_PAUSE_FILE") {
        let _ = std::fs::write(file, stage);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(super) fn pause_at(stage: &str) {
    tracing::debug!(stage, "create");
}

/// Will `create` pause at `stage`? Init stops after its mounts only for hooks,
/// or for a test that pauses there.
#[cfg(feature = "test-hooks")]
pub(super) fn pause_requested(stage: &str) -> bool {
    std::env::var("BERTH_TEST_PAUSE_AT").ok().as_deref() == Some(stage)
}

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(super) fn pause_requested(_stage: &str) -> bool {
    false
}

/// With `BERTH_TEST_FAIL_AT=<stage>`, fail at `stage` as a real step would. The
/// stages lie after the exec fifo, between `create` returning and execve:
/// `start-after-fifo` (before startContainer hooks), `start-before-seccomp`
/// (fds marked close-on-exec), `start-after-seccomp` (filter loaded).
#[cfg(feature = "test-hooks")]
pub(super) fn fail_at(stage: &str) -> Result<(), super::error::Cause> {
    if std::env::var("BERTH_TEST_FAIL_AT").ok().as_deref() != Some(stage) {
        return Ok(());
    }
    Err(super::error::Cause::FaultInjected(stage.to_string()))
}

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(super) fn fail_at(_stage: &str) -> Result<(), super::error::Cause> {
    Ok(())
}

/// With `BERTH_TEST_WAIT_AT=<stage>`, wait (up to 20 s) until process `pid` is
/// gone from /proc (reaped) before going on: `start-after-eof` (the exec fifo
/// closed, init's fate not read yet) lets a test's subreaper reap init first.
#[cfg(feature = "test-hooks")]
pub(super) fn wait_reaped_at(stage: &str, pid: i32) {
    if std::env::var("BERTH_TEST_WAIT_AT").ok().as_deref() != Some(stage) {
        return;
    }
    for _ in 0..2000 {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(super) fn wait_reaped_at(_stage: &str, _pid: i32) {}

/// With `BERTH_TEST_PANIC_AT=<stage>`, panic at `stage`: `init-after-go`, in
/// init, a child made by raw clone, where the panic must end init alone (see
/// `sys::process::abort_self`), never signal the `create` that made it.
#[cfg(feature = "test-hooks")]
pub(super) fn panic_at(stage: &str) {
    if std::env::var("BERTH_TEST_PANIC_AT").ok().as_deref() == Some(stage) {
        panic!("fault injected at {stage}");
    }
}

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(super) fn panic_at(_stage: &str) {}
