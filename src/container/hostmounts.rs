//! A container without a mount namespace of its own (no `mount` in
//! `linux.namespaces`: "inherit the runtime's") gets its rootfs and mounts made
//! in the caller's mount namespace, as runc and crun do: init binds the rootfs
//! onto itself (a private mount, so nothing below it propagates), mounts
//! `mounts[]` under it and chroots into it. This module finds and removes that
//! bind (and with it everything mounted below) at `delete`, or when `create`
//! fails; the mounts at the rootfs that were there before are left alone.

use std::path::Path;

use nix::mount::{MntFlags, umount2};

use crate::sys;

/// Ids of the mounts whose mount point is `rootfs`, bottom first.
pub(super) fn at(rootfs: &Path) -> Vec<u64> {
    let text = crate::sys::procfs::read("/proc/self/mountinfo").unwrap_or_default();
    sys::mountinfo::parse(&text).into_iter().filter(|m| m.mountpoint == rootfs).map(|m| m.id).collect()
}

/// Detach (lazily, with all below them) the mounts at `rootfs` made since
/// `before` was taken, topmost first.
pub(super) fn remove_new(rootfs: &Path, before: &[u64]) {
    for _ in 0..16 {
        let Some(top) = at(rootfs).last().copied() else { return };
        if before.contains(&top) {
            return;
        }
        if let Err(e) = umount2(rootfs, MntFlags::MNT_DETACH) {
            tracing::warn!(rootfs = ?rootfs, error = %e, "remove the container's mounts");
            return;
        }
    }
}
