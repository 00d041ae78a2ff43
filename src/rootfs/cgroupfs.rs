//! A `cgroup` mount in the container. With a cgroup namespace, fresh cgroupfs
//! mounts show the container's own cgroup as the root. Without one, the container's
//! cgroup directories are bind-mounted from the host (as runc does), so the host's
//! tree is never visible. Every layout: v1 (a tmpfs with one dir per hierarchy),
//! unified v2, and hybrid (v1 plus the cgroup2 mount at `unified`).

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::RootfsError;
use super::options::MountOptions;
use super::resolve::{Kind, Root, proc_fd};
use crate::sys;
use crate::sys::ops::MountOps;

/// One cgroup hierarchy mounted on the host.
struct Hierarchy {
    mountpoint: PathBuf,
    fstype: String,
    /// Super options without rw/ro: the controllers (v1) or "" (v2).
    options: String,
}

/// Each hierarchy once, at its first mount (the host's, mounted at boot): other
/// containers' cgroup mounts (a container without a mount namespace, a rootfs
/// on a shared mount) show up in our mountinfo too, and may be gone by the time
/// we bind from them.
fn host_hierarchies() -> Vec<Hierarchy> {
    let text = sys::procfs::read("/proc/self/mountinfo").unwrap_or_default();
    hierarchies_in(&text)
}

fn hierarchies_in(mountinfo: &str) -> Vec<Hierarchy> {
    let mut found: Vec<Hierarchy> = Vec::new();
    for m in sys::mountinfo::parse(mountinfo) {
        if m.fstype != "cgroup" && m.fstype != "cgroup2" {
            continue;
        }
        let options =
            m.super_options.iter().filter(|o| *o != "rw" && *o != "ro").cloned().collect::<Vec<_>>().join(",");
        if found.iter().any(|h| h.fstype == m.fstype && h.options == options) {
            continue;
        }
        found.push(Hierarchy { options, mountpoint: m.mountpoint, fstype: m.fstype });
    }
    found
}

/// This process's cgroup path on the hierarchy `h`, from `own` (the text of
/// /proc/self/cgroup).
fn own_path(own: &str, h: &Hierarchy) -> Option<PathBuf> {
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if h.fstype == "cgroup2" {
            controllers.is_empty()
        } else {
            let want: Vec<&str> = h.options.split(',').filter(|o| !o.starts_with("none")).collect();
            controllers.split(',').any(|c| want.contains(&c))
        };
        if matches {
            return Some(PathBuf::from(path.trim_start_matches('/')));
        }
    }
    None
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
    let hierarchies = host_hierarchies();
    // Read once for every hierarchy (init joined the container's cgroups first),
    // and only when a bind needs it: in a cgroup namespace a fresh mount does not.
    let own = OnceCell::new();
    let flags = opts.flags.difference(MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_REC);
    let unified_only = hierarchies.iter().all(|h| h.fstype == "cgroup2");
    if unified_only {
        let Some(h) = hierarchies.first() else {
            return Err(err(
                "mount",
                dst,
                sys::Error::with_path("mount cgroup (no cgroup hierarchy on the host)", dst, nix::errno::Errno::ENOENT),
            ));
        };
        return mount_one(ops, root, h, &own, dst, flags, cgroupns).map_err(|e| err("mount", dst, e));
    }
    // v1 or hybrid: a tmpfs holding one directory per hierarchy.
    let target = root.create(dst, Kind::Dir).map_err(|e| err("create target", dst, e))?;
    let tmpfs_flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    ops.mount(Some(Path::new("tmpfs")), &proc_fd(&target), Some("tmpfs"), tmpfs_flags, Some("mode=755"))
        .map_err(|e| err("mount", dst, sys::Error::with_path("mount tmpfs", dst, e)))?;
    for h in hierarchies.iter() {
        let Some(name) = h.mountpoint.file_name() else { continue };
        let sub = dst.join(name);
        mount_one(ops, root, h, &own, &sub, flags, cgroupns).map_err(|e| err("mount", &sub, e))?;
        // Comounted controllers get the host's links too (cpu -> cpu,cpuacct).
        let n = name.to_string_lossy();
        if n.contains(',') {
            let parent = root.open_path(dst).map_err(|e| err("open", dst, e))?;
            for part in n.split(',') {
                let _ = std::os::unix::fs::symlink(&*n, proc_fd(&parent).join(part));
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        let t = root.open_path(dst).map_err(|e| err("open", dst, e))?;
        ops.mount(None, &proc_fd(&t), None, MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | tmpfs_flags, Some("mode=755"))
            .map_err(|e| err("remount", dst, sys::Error::with_path("mount remount", dst, e)))?;
    }
    Ok(())
}

/// A fresh cgroupfs (in a cgroup namespace) or a bind of our own cgroup dir, on
/// `dst` inside the rootfs.
fn mount_one(
    ops: &dyn MountOps,
    root: &Root,
    h: &Hierarchy,
    own: &OnceCell<String>,
    dst: &Path,
    flags: MsFlags,
    cgroupns: bool,
) -> Result<(), sys::Error> {
    let target = root.create(dst, Kind::Dir)?;
    if cgroupns {
        let data = (!h.options.is_empty()).then_some(h.options.as_str());
        match ops.mount(Some(Path::new("cgroup")), &proc_fd(&target), Some(h.fstype.as_str()), flags, data) {
            Ok(()) => return Ok(()),
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
    ops.mount(Some(&src), &proc_fd(&target), None, MsFlags::MS_BIND | MsFlags::MS_REC, None)
        .map_err(|e| sys::Error::with_path("mount bind", &src, e))?;
    if !flags.is_empty() {
        // Reopen: the remount must reach the new bind mount, not the dir under it.
        let target = root.open_path(dst)?;
        ops.mount(None, &proc_fd(&target), None, flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT, None)
            .map_err(|e| sys::Error::with_path("mount remount", dst, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::hierarchies_in;

    #[test]
    fn each_hierarchy_once_at_its_first_mount() {
        let text = "\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
90 80 0:26 /c1 /tmp/b/rootfs/sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct
91 80 0:27 /c1 /tmp/b/rootfs/sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory
";
        let got: Vec<String> = hierarchies_in(text).iter().map(|h| h.mountpoint.display().to_string()).collect();
        assert_eq!(got, ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified"]);
    }
}
