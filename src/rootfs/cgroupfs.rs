//! A `cgroup` mount in the container. With a cgroup namespace, fresh cgroupfs
//! mounts show the container's own cgroup as the root. Without one, the container's
//! cgroup directories are bind-mounted from the host (as runc does), so the host's
//! tree is never visible. Every layout: v1 (a tmpfs with one dir per hierarchy),
//! unified v2, and hybrid (v1 plus the cgroup2 mount at `unified`).

use std::cell::OnceCell;
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;

use super::RootfsError;
use super::options::MountOptions;
use super::resolve::{Kind, Root, proc_fd};
use crate::sys;
use crate::sys::cgroupinfo::Hierarchy;
use crate::sys::ops::MountOps;

/// This process's cgroup path on the hierarchy `h`, from `own` (the text of
/// /proc/self/cgroup), relative to the hierarchy's root.
fn own_path(own: &str, h: &Hierarchy) -> Option<PathBuf> {
    let want: Vec<&str> = h.options.split(',').filter(|o| !o.starts_with("none")).collect();
    let (_, path) = sys::cgroupinfo::memberships(own).find(|(controllers, _)| {
        if h.is_v2() { controllers.is_empty() } else { controllers.split(',').any(|c| want.contains(&c)) }
    })?;
    Some(PathBuf::from(path.trim_start_matches('/')))
}

pub(super) fn mount_cgroup(
    ops: &dyn MountOps,
    root: &Root,
    field: &str,
    dst: &Path,
    opts: &MountOptions,
    cgroupns: bool,
) -> Result<(), RootfsError> {
    let err = |call: &'static str, dst: &Path, e: sys::Error| RootfsError::Mount {
        field: field.to_string(),
        src: "cgroup".into(),
        dst: dst.to_path_buf(),
        fstype: "cgroup".into(),
        call,
        source: e,
    };
    let hierarchies = sys::cgroupinfo::host_hierarchies();
    // Read once for every hierarchy (init joined the container's cgroups first),
    // and only when a bind needs it: in a cgroup namespace a fresh mount does not.
    let own = OnceCell::new();
    let flags = opts.flags.difference(MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_REC);
    let unified_only = hierarchies.iter().all(Hierarchy::is_v2);
    if unified_only {
        let Some(h) = hierarchies.first() else {
            return Err(err(
                "mount",
                dst,
                sys::Error::with_path("mount cgroup (no cgroup hierarchy on the host)", dst, nix::errno::Errno::ENOENT),
            ));
        };
        let target = root.create(dst, Kind::Dir).map_err(|e| err("create target", dst, e))?;
        let bound = mount_one(ops, h, &own, &target, dst, flags, cgroupns).map_err(|e| err("mount", dst, e))?;
        if bound && !flags.is_empty() {
            // Reopen: the remount must reach the new bind mount, not the dir under it.
            let target = root.open_path(dst).map_err(|e| err("open", dst, e))?;
            ops.mount(None, &proc_fd(&target), None, flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT, None)
                .map_err(|e| err("remount", dst, sys::Error::with_path("mount remount", dst, e)))?;
        }
        return Ok(());
    }
    // v1 or hybrid: a tmpfs holding one directory per hierarchy.
    let target = root.create(dst, Kind::Dir).map_err(|e| err("create target", dst, e))?;
    ops.mount(Some(Path::new("tmpfs")), &proc_fd(&target), Some("tmpfs"), TMPFS_FLAGS, Some("mode=755"))
        .map_err(|e| err("mount", dst, sys::Error::with_path("mount tmpfs", dst, e)))?;
    // The fresh tmpfs is ours alone and empty: its entries are made and opened
    // relative to it, with nothing on the way to resolve.
    let tmpfs = root.open_path(dst).map_err(|e| err("open", dst, e))?;
    let mut made = Vec::new();
    for h in hierarchies.iter() {
        let Some(name) = h.mountpoint.file_name() else { continue };
        let sub = dst.join(name);
        let dir = subdir(&tmpfs, name).map_err(|e| err("create target", &sub, e))?;
        mount_one(ops, h, &own, &dir, &sub, flags, cgroupns).map_err(|e| err("mount", &sub, e))?;
        made.push(name);
        // Comounted controllers get the host's links too (cpu -> cpu,cpuacct).
        let n = name.to_string_lossy();
        if n.contains(',') {
            for part in n.split(',') {
                let _ = nix::unistd::symlinkat(&*n, Some(tmpfs.as_raw_fd()), part);
            }
        }
    }
    set_flags(ops, root, dst, &tmpfs, &made, flags).map_err(|e| err("remount", dst, e))
}

/// The tmpfs under the v1 hierarchies: nosuid, nodev, noexec (runc's default
/// mount flags), made read-only with the cgroup mount.
const TMPFS_FLAGS: MsFlags = MsFlags::MS_NOSUID.union(MsFlags::MS_NODEV).union(MsFlags::MS_NOEXEC);

/// `name` made in the fresh tmpfs `dir` and opened.
fn subdir(dir: &OwnedFd, name: &OsStr) -> Result<OwnedFd, sys::Error> {
    match nix::sys::stat::mkdirat(Some(dir.as_raw_fd()), name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(sys::Error::with_path("mkdir", Path::new(name), e)),
    }
    let resolve = sys::mount::RESOLVE_BENEATH | sys::mount::RESOLVE_NO_SYMLINKS;
    sys::mount::openat2(dir.as_fd(), Path::new(name), libc::O_PATH | libc::O_DIRECTORY, 0, resolve)
}

/// The cgroup mount's flags on every hierarchy mount, and the tmpfs under them
/// read-only with it, as runc's remount of each: with one mount_setattr on the
/// whole tree (the fresh mounts of a cgroup namespace already have them), then
/// the tmpfs's own when they differ. Kernels before 5.12 (no mount_setattr) and
/// 5.12–5.13 (no MOUNT_ATTR_NOSYMFOLLOW: EINVAL, before anything changed) get
/// runc's remounts.
fn set_flags(
    ops: &dyn MountOps,
    root: &Root,
    dst: &Path,
    tmpfs: &OwnedFd,
    made: &[&OsStr],
    flags: MsFlags,
) -> Result<(), sys::Error> {
    let own = TMPFS_FLAGS | (flags & MsFlags::MS_RDONLY);
    // The tmpfs keeps its relatime, as a remount without an atime option does.
    let tmpfs_attrs = super::options::remount_attrs(own | MsFlags::MS_RELATIME);
    let attrs = super::options::remount_attrs(flags);
    match ops.mount_setattr(&proc_fd(tmpfs), attrs.0, attrs.1, true) {
        Err(e) if matches!(e.errno, Errno::ENOSYS | Errno::EINVAL) => {}
        Err(e) => return Err(e),
        Ok(()) if attrs == tmpfs_attrs => return Ok(()),
        Ok(()) => return ops.mount_setattr(&proc_fd(tmpfs), tmpfs_attrs.0, tmpfs_attrs.1, false),
    }
    for name in made {
        let dir = sys::mount::openat2(tmpfs.as_fd(), Path::new(name), libc::O_PATH, 0, sys::mount::RESOLVE_BENEATH)?;
        ops.mount(None, &proc_fd(&dir), None, flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT, None)
            .map_err(|e| sys::Error::with_path("mount remount", Path::new(name), e))?;
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        let t = root.open_path(dst)?;
        ops.mount(None, &proc_fd(&t), None, own | MsFlags::MS_BIND | MsFlags::MS_REMOUNT, None)
            .map_err(|e| sys::Error::with_path("mount remount", dst, e))?;
    }
    Ok(())
}

/// A fresh cgroupfs (in a cgroup namespace) or a bind of our own cgroup dir, on
/// `target` (`dst` inside the rootfs, for errors). Returns whether it bound: a
/// bind takes `flags` from the caller's remount.
fn mount_one(
    ops: &dyn MountOps,
    h: &Hierarchy,
    own: &OnceCell<String>,
    target: &OwnedFd,
    dst: &Path,
    flags: MsFlags,
    cgroupns: bool,
) -> Result<bool, sys::Error> {
    if cgroupns {
        let data = (!h.options.is_empty()).then_some(h.options.as_str());
        match ops.mount(Some(Path::new("cgroup")), &proc_fd(target), Some(h.fstype.as_str()), flags, data) {
            Ok(()) => return Ok(false),
            // In a user namespace the kernel refuses a fresh v1 hierarchy (EPERM,
            // or EBUSY when it is already mounted elsewhere): bind our own
            // cgroup directory instead, as without a cgroup namespace.
            Err(Errno::EPERM | Errno::EBUSY) => {
                tracing::debug!(dst = ?dst, "fresh cgroup mount refused, binding our cgroup");
            }
            Err(e) => return Err(sys::Error::with_path("mount cgroup", dst, e)),
        }
    }
    let own = own.get_or_init(|| sys::procfs::read("/proc/self/cgroup").unwrap_or_default());
    let src = h.mountpoint.join(own_path(own, h).unwrap_or_default());
    ops.mount(Some(&src), &proc_fd(target), None, MsFlags::MS_BIND | MsFlags::MS_REC, None)
        .map_err(|e| sys::Error::with_path("mount bind", &src, e))?;
    Ok(true)
}
