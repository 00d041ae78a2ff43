//! One `mounts[]` entry onto its target inside the rootfs.

use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sys::statvfs::{FsFlags, statvfs};
use oci_spec::runtime::Mount;

use super::RootfsError;
use super::options::{MountOptions, parse};
use super::resolve::{Kind, Root, proc_fd};
use crate::sys;

pub(super) fn mount_entry(root: &Root, index: usize, m: &Mount, cgroupns: bool) -> Result<(), RootfsError> {
    let field = format!("mounts[{index}]");
    let dst = m.destination().clone();
    let opts = parse(m.options().as_deref().unwrap_or_default());
    let fstype = m.typ().clone().unwrap_or_default();
    let is_bind = opts.is_bind() || fstype == "bind";
    let src: PathBuf = m.source().clone().unwrap_or_default();
    let err = |call: &'static str, e: sys::Error| RootfsError::Mount {
        field: field.clone(),
        src: src.clone(),
        dst: dst.clone(),
        fstype: fstype.clone(),
        call,
        source: e,
    };
    if fstype == "cgroup" && !is_bind {
        return super::cgroupfs::mount_cgroup(root, &field, &dst, &opts, cgroupns);
    }
    if is_bind {
        let meta = std::fs::metadata(&src).map_err(|e| RootfsError::Source {
            field: field.clone(),
            src: src.clone(),
            source: e,
        })?;
        let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
        let target = root.create(&dst, kind).map_err(|e| err("create target", e))?;
        let flags = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
        mount(Some(&src), &proc_fd(&target), None::<&str>, flags, None::<&str>)
            .map_err(|e| err("mount", sys::Error::with_path("mount", &src, e)))?;
        // Other flags only take effect on a remount of the new bind mount, which we
        // reach by opening the target again (now the root of that mount).
        let rest = opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        let target = root.open_path(&dst).map_err(|e| err("open target", e))?;
        if !rest.is_empty() {
            remount_bind(&proc_fd(&target), rest, &opts).map_err(|e| err("remount", e))?;
        }
        return finish(&proc_fd(&target), &opts).map_err(|e| err("mount", e));
    }
    let target = root.create(&dst, Kind::Dir).map_err(|e| err("create target", e))?;
    let source = if src.as_os_str().is_empty() { PathBuf::from(&fstype) } else { src.clone() };
    let flags = opts.flags & !MsFlags::MS_REMOUNT;
    let data = opts.data();
    mount(Some(&source), &proc_fd(&target), Some(fstype.as_str()), flags, data.as_deref())
        .map_err(|e| err("mount", sys::Error::with_path("mount", &dst, e)))?;
    let target = root.open_path(&dst).map_err(|e| err("open target", e))?;
    finish(&proc_fd(&target), &opts).map_err(|e| err("mount", e))
}

/// Remount a bind mount with `flags`, keeping the flags the kernel locks on it
/// (nosuid, nodev, noexec from the source mount) unless explicitly cleared.
pub(super) fn remount_bind(target: &Path, flags: MsFlags, opts: &MountOptions) -> Result<(), sys::Error> {
    let mut flags = flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    if let Ok(st) = statvfs(target) {
        let have = st.flags();
        for (f, m) in [
            (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
            (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
            (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
            (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
            (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
            (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
        ] {
            if have.contains(f) && !opts.clear.contains(m) {
                flags |= m;
            }
        }
    }
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
        .map_err(|e| sys::Error::with_path("mount remount", target, e))
}

/// Propagation and recursive attributes, after the mount exists.
fn finish(target: &Path, opts: &MountOptions) -> Result<(), sys::Error> {
    for p in &opts.propagation {
        mount(None::<&str>, target, None::<&str>, *p, None::<&str>)
            .map_err(|e| sys::Error::with_path("mount propagation", target, e))?;
    }
    if opts.rec_set != 0 || opts.rec_clear != 0 {
        sys::mount::mount_setattr_recursive(target, opts.rec_set, opts.rec_clear)?;
    }
    Ok(())
}
