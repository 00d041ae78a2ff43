//! The container's filesystem view: mounts, devices, pivot_root, masked and
//! read-only paths. Everything here runs in init, inside the new mount namespace.

use std::path::Path;

use oci_spec::runtime::Spec;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("rootfs: {0}")]
    Other(String),
}

/// Before the hooks and pivot_root: make the mount tree private (per
/// `rootfsPropagation`), bind the rootfs onto itself, mount every `mounts[]` entry
/// (targets resolved inside `rootfs`, never following a symlink out of it), create
/// default devices plus `linux.devices`, /dev symlinks, /dev/pts/ptmx, and an empty
/// /dev/console file when `console` is set (console/ bind-mounts the pty onto it).
pub fn prepare(spec: &Spec, rootfs: &Path, console: bool) -> Result<(), RootfsError> {
    let _ = (spec, rootfs, console);
    Ok(())
}

/// Make `rootfs` the root: pivot_root (or chroot-style MS_MOVE with `no_pivot`),
/// detach the old root, chdir("/").
pub fn pivot(rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    let _ = (rootfs, no_pivot);
    Ok(())
}

/// After pivot: `readonlyPaths`, `maskedPaths`, `root.readonly`, /dev remounted as
/// the config asks, `rootfsPropagation` applied to the new root.
pub fn finalize(spec: &Spec) -> Result<(), RootfsError> {
    let _ = spec;
    Ok(())
}

/// Write `linux.sysctl` entries to /proc/sys.
pub fn set_sysctls(spec: &Spec) -> Result<(), RootfsError> {
    let _ = spec;
    Ok(())
}
