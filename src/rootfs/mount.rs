//! One `mounts[]` entry onto its target inside the rootfs, with runc's checks on
//! the destination (never the rootfs root; proc and sysfs only on a real
//! directory; nothing foreign inside /proc) and its fallbacks in a user namespace
//! (sysfs and mqueue bound from the host when a fresh mount is refused).

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::statvfs::{FsFlags, statvfs};
use oci_spec::runtime::Mount;

use super::RootfsError;
use super::copyup::copy_up;
use super::options::{MountOptions, parse};
use super::resolve::{Kind, Root, file_type, proc_fd};
use crate::sys;
use crate::sys::ops::MountOps;

/// statvfs(3)'s ST_RELATIME (4096, as <sys/statvfs.h> and the kernel's
/// MNT_RELATIME), which nix defines for glibc targets only.
const ST_RELATIME: FsFlags = FsFlags::from_bits_retain(0x1000);

/// Entries under /proc that lxcfs emulates: the only non-proc mounts runc allows
/// inside /proc (libcontainer/rootfs_linux.go checkProcMount).
const PROC_ALLOWED: [&str; 14] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/pressure/cpu",
    "/proc/pressure/io",
    "/proc/pressure/memory",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled",
];

pub(super) fn mount_entry(
    ops: &dyn MountOps,
    root: &Root,
    index: usize,
    m: &Mount,
    cgroupns: bool,
    tree: Option<&OwnedFd>,
) -> Result<(), RootfsError> {
    let mut e = Entry {
        ops,
        root,
        field: format!("mounts[{index}]"),
        src: m.source().clone().unwrap_or_default(),
        dst: m.destination().clone(),
        fstype: m.typ().clone().unwrap_or_default(),
        opts: parse(m.options().as_deref().unwrap_or_default()),
    };
    let is_bind = e.opts.is_bind() || e.fstype == "bind";
    if is_root(&e.dst) {
        return Err(e.invalid("mounting onto the rootfs root is not allowed".into()));
    }
    if (e.fstype == "proc" || e.fstype == "sysfs") && !is_bind {
        e.check_proc_target()?;
    }
    if !is_bind && is_dev(&e.dst) {
        // Read-only only once its submounts and devices exist (see `readonly_dev`).
        e.opts.flags.remove(MsFlags::MS_RDONLY);
    }
    if e.fstype == "cgroup" && !is_bind {
        return super::cgroupfs::mount_cgroup(ops, root, &e.field, &e.dst, &e.opts, cgroupns);
    }
    if is_bind { e.bind(tree) } else { e.fresh() }
}

/// One `mounts[]` entry being made: what its steps share, and its errors.
struct Entry<'a> {
    ops: &'a dyn MountOps,
    root: &'a Root,
    field: String,
    src: PathBuf,
    dst: PathBuf,
    fstype: String,
    opts: MountOptions,
}

impl Entry<'_> {
    fn err(&self, call: &'static str, e: sys::Error) -> RootfsError {
        RootfsError::Mount {
            field: self.field.clone(),
            src: self.src.clone(),
            dst: self.dst.clone(),
            fstype: self.fstype.clone(),
            call,
            source: e,
        }
    }

    fn invalid(&self, reason: String) -> RootfsError {
        RootfsError::Invalid { field: format!("{}.destination", self.field), reason }
    }

    /// proc and sysfs only onto a real directory: a symlink or a file there has
    /// been a way to redirect the mount (runc refuses them the same way); a
    /// missing one is created as a directory.
    fn check_proc_target(&self) -> Result<(), RootfsError> {
        match self.root.open_nofollow(&self.dst) {
            Ok(fd) if file_type(&fd).map_or(true, |t| t != nix::sys::stat::SFlag::S_IFDIR) => {
                Err(self.invalid(format!("filesystem {:?} must be mounted on ordinary directory", self.fstype)))
            }
            Ok(_) => Ok(()),
            Err(e) if e.errno == Errno::ENOENT => Ok(()),
            Err(e) => Err(self.err("open target", e)),
        }
    }

    /// A bind mount (or the copy of its source the parent prepared, idmapped or not),
    /// then the remount that applies its other flags.
    fn bind(&self, tree: Option<&OwnedFd>) -> Result<(), RootfsError> {
        // The copy the parent made, when there is one: the source's own path may
        // be out of our reach (see `userns::bind_sources`).
        let meta = match tree {
            Some(t) => std::fs::metadata(proc_fd(t)),
            None => std::fs::metadata(&self.src),
        };
        let meta =
            meta.map_err(|e| RootfsError::Source { field: self.field.clone(), src: self.src.clone(), source: e })?;
        let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
        let target = self.root.create(&self.dst, kind).map_err(|e| self.err("create target", e))?;
        check_target(self.root, &target, &self.dst, &self.fstype, Some(&self.src)).map_err(|r| self.invalid(r))?;
        match tree {
            Some(tree) => self.ops.move_mount(tree.as_fd(), target.as_fd()).map_err(|e| self.err("mount", e))?,
            None => {
                let flags = MsFlags::MS_BIND | (self.opts.flags & MsFlags::MS_REC);
                self.ops
                    .mount(Some(&self.src), &proc_fd(&target), None, flags, None)
                    .map_err(|e| self.err("mount", sys::Error::with_path("mount", &self.src, e)))?;
            }
        }
        // Other flags only take effect on a remount of the new bind mount, which we
        // reach by opening the target again (now the root of that mount).
        let target = self.root.open_path(&self.dst).map_err(|e| self.err("open target", e))?;
        if tree.is_some() {
            // A copy made in the host's mount namespace is a peer of a shared
            // source there: make it a slave, as a bind made in here (below our
            // rslave root) is, so that nothing mounted under it reaches the host.
            self.ops
                .mount(None, &proc_fd(&target), None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)
                .map_err(|e| self.err("mount", sys::Error::with_path("mount rslave", &self.dst, e)))?;
        }
        let rest = self.opts.flags.difference(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !rest.is_empty() || self.opts.has_atime() {
            remount_bind(self.ops, &proc_fd(&target), rest, &self.opts).map_err(|e| self.err("remount", e))?;
        }
        finish(self.ops, &proc_fd(&target), &self.opts).map_err(|e| self.err("mount", e))
    }

    /// A fresh filesystem (tmpfs, proc, mqueue…), with tmpcopyup.
    fn fresh(&self) -> Result<(), RootfsError> {
        let (root, dst, fstype) = (self.root, &self.dst, self.fstype.as_str());
        let target = root.create(dst, Kind::Dir).map_err(|e| self.err("create target", e))?;
        check_target(root, &target, dst, fstype, None).map_err(|r| self.invalid(r))?;
        // tmpcopyup: keep a handle on the directory the tmpfs is about to hide.
        let below = match self.opts.tmpcopyup && fstype == "tmpfs" {
            true => Some(root.open_path(dst).map_err(|e| self.err("open target", e))?),
            false => None,
        };
        let source = if self.src.as_os_str().is_empty() { PathBuf::from(fstype) } else { self.src.clone() };
        // `difference`, not `& !`: bitflags' complement drops the bits nix does not
        // name, MS_NOSYMFOLLOW among them.
        let flags = self.opts.flags.difference(MsFlags::MS_REMOUNT);
        let data = self.opts.data();
        match self.ops.mount(Some(&source), &proc_fd(&target), Some(fstype), flags, data.as_deref()) {
            Ok(()) => {}
            // In a user namespace that does not own the network (sysfs) or ipc
            // (mqueue) namespace the kernel refuses a fresh mount: bind the host's,
            // as runc does for rootless containers.
            Err(Errno::EPERM) if fstype == "sysfs" || fstype == "mqueue" => self.bind_host(&target, flags)?,
            Err(e) => return Err(self.err("mount", sys::Error::with_path("mount", dst, e))),
        }
        if below.is_none() && !self.opts.has_after_mount() {
            return Ok(());
        }
        // The new mount, through the target opened again (now its root).
        let target = root.open_path(dst).map_err(|e| self.err("open target", e))?;
        if let Some(below) = below {
            copy_up(&below, &target).map_err(|source| RootfsError::Io {
                what: "tmpcopyup into",
                path: dst.clone(),
                source,
            })?;
        }
        finish(self.ops, &proc_fd(&target), &self.opts).map_err(|e| self.err("mount", e))
    }

    /// The host's /sys or /dev/mqueue bound where a fresh one was refused.
    fn bind_host(&self, target: &OwnedFd, flags: MsFlags) -> Result<(), RootfsError> {
        let host = if self.fstype == "sysfs" { "/sys" } else { "/dev/mqueue" };
        tracing::debug!(field = %self.field, host, "fresh mount refused, binding the host's");
        self.ops
            .mount(Some(Path::new(host)), &proc_fd(target), None, MsFlags::MS_BIND | MsFlags::MS_REC, None)
            .map_err(|e| self.err("mount", sys::Error::with_path("mount bind", host, e)))?;
        let target = self.root.open_path(&self.dst).map_err(|e| self.err("open target", e))?;
        let rest = flags.difference(MsFlags::MS_BIND | MsFlags::MS_REC);
        if !rest.is_empty() {
            remount_bind(self.ops, &proc_fd(&target), rest, &self.opts).map_err(|e| self.err("remount", e))?;
        }
        Ok(())
    }
}

/// A fresh (not bound) /dev asked read-only: `mount_entry` mounts it writable,
/// `finalize` remounts it read-only after the submounts, devices and links under
/// it were made (runc's finalizeRootfs). Its `mounts[]` index and flags.
pub(super) fn readonly_dev(spec: &oci_spec::runtime::Spec) -> Option<(usize, MsFlags)> {
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    mounts.iter().enumerate().rev().find_map(|(i, m)| {
        let opts = parse(m.options().as_deref().unwrap_or_default());
        let is_bind = opts.is_bind() || m.typ().as_deref() == Some("bind");
        (!is_bind && is_dev(m.destination()) && opts.flags.contains(MsFlags::MS_RDONLY)).then_some((i, opts.flags))
    })
}

/// Remount `mounts[index]` (a fresh filesystem on `dst`) read-only, keeping its flags.
pub(super) fn remount_readonly(
    ops: &dyn MountOps,
    root: &Root,
    index: usize,
    dst: &Path,
    flags: MsFlags,
) -> Result<(), RootfsError> {
    let err = |call: &'static str, source: sys::Error| RootfsError::Path {
        field: format!("mounts[{index}]"),
        path: dst.to_path_buf(),
        source: sys::Error { call, ..source },
    };
    let target = root.open_path(dst).map_err(|e| err("open target", e))?;
    let flags = flags.difference(MsFlags::MS_BIND | MsFlags::MS_REC) | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    ops.mount(None, &proc_fd(&target), None, flags, None).map_err(|e| err("mount remount", sys::Error::new("", e)))
}

/// `/dev`, `/dev/`, `//dev`: the destination is the container's /dev.
fn is_dev(dst: &Path) -> bool {
    let mut names = Vec::new();
    for c in dst.components() {
        match c {
            Component::Normal(n) => names.push(n),
            Component::ParentDir => {
                names.pop();
            }
            _ => {}
        }
    }
    names == ["dev"]
}

/// `/`, `/.`, `/a/..`: a destination that names the rootfs root itself.
fn is_root(dst: &Path) -> bool {
    let mut depth: i32 = 0;
    for c in dst.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => depth = (depth - 1).max(0),
            _ => {}
        }
    }
    depth == 0
}

/// Checks on the resolved target: not the root itself (a symlink can lead there
/// too), and inside /proc only procfs or what lxcfs emulates.
fn check_target(
    root: &Root,
    target: &OwnedFd,
    dst: &Path,
    fstype: &str,
    bind_src: Option<&Path>,
) -> Result<(), String> {
    if root.is_same(target).map_err(|e| format!("{dst:?}: {e}"))? {
        return Err(format!("{dst:?} resolves to the rootfs root, which cannot be mounted onto"));
    }
    let inside = root.inside(target).unwrap_or_else(|| dst.to_path_buf());
    let Ok(rel) = inside.strip_prefix("/proc") else { return Ok(()) };
    if rel.as_os_str().is_empty() {
        // On /proc itself: a fresh procfs, or a bind of the root of one.
        let ok = match bind_src {
            None => fstype == "proc",
            Some(src) => {
                let is_proc = nix::sys::statfs::statfs(src)
                    .map(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
                    .unwrap_or(false);
                is_proc && std::fs::metadata(src).map(|m| m.ino() == 1).unwrap_or(false)
            }
        };
        return if ok { Ok(()) } else { Err(format!("{inside:?} cannot be mounted because it is not of type proc")) };
    }
    if PROC_ALLOWED.iter().any(|p| Path::new(p) == inside) {
        return Ok(());
    }
    Err(format!("{inside:?} cannot be mounted because it is inside /proc"))
}

/// Remount a bind mount with `flags`, keeping the flags the kernel locks on it
/// (nosuid, nodev, noexec and the atime mode from the source mount) unless the
/// options clear them or pick another atime mode.
pub(super) fn remount_bind(
    ops: &dyn MountOps,
    target: &Path,
    flags: MsFlags,
    opts: &MountOptions,
) -> Result<(), sys::Error> {
    let mut flags = flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    if let Ok(st) = statvfs(target) {
        let have = st.flags();
        let mut keep = vec![
            (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
            (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
            (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        ];
        if !opts.has_atime() {
            keep.extend([
                (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
                (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
                (ST_RELATIME, MsFlags::MS_RELATIME),
            ]);
        }
        for (f, m) in keep {
            if have.contains(f) && !opts.clear.contains(m) {
                flags |= m;
            }
        }
    }
    ops.mount(None, target, None, flags, None).map_err(|e| sys::Error::with_path("mount remount", target, e))
}

/// Propagation and recursive attributes, after the mount exists (only when
/// [`MountOptions::has_after_mount`]).
fn finish(ops: &dyn MountOps, target: &Path, opts: &MountOptions) -> Result<(), sys::Error> {
    for p in &opts.propagation {
        ops.mount(None, target, None, *p, None).map_err(|e| sys::Error::with_path("mount propagation", target, e))?;
    }
    if opts.rec_set != 0 || opts.rec_clear != 0 {
        ops.mount_setattr(target, opts.rec_set, opts.rec_clear, true)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_naming_the_root() {
        for d in ["/", "/.", "/a/..", "/../..", "//"] {
            assert!(is_root(Path::new(d)), "{d}");
        }
        for d in ["/a", "/a/../b", "/.."] {
            assert_eq!(is_root(Path::new(d)), d == "/..", "{d}");
        }
    }
}
