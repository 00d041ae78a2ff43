//! The container's filesystem view: mounts, devices, pivot_root, masked and
//! read-only paths, sysctls. Everything here runs in init, inside the new mount
//! namespace, in runc's order: `prepare` (before the createContainer hooks),
//! `pivot`, then `finalize` (after hostname and sysctl).

mod cgroupfs;
mod copyup;
mod devices;
mod mount;
mod options;
mod paths;
mod pivot;
mod resolve;

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};

pub use options::{MountOptions, parse as parse_options};

use crate::sys;
use crate::sys::ops::MountOps;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("{field}: {call} {src:?} on {dst:?} (type {fstype})")]
    Mount {
        field: String,
        src: PathBuf,
        dst: PathBuf,
        fstype: String,
        call: &'static str,
        #[source]
        source: sys::Error,
    },
    #[error("{field}: source {src:?}")]
    Source {
        field: String,
        src: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{field}")]
    Device {
        field: String,
        #[source]
        source: sys::Error,
    },
    #[error("{field}: {path:?}")]
    Path {
        field: String,
        path: PathBuf,
        #[source]
        source: sys::Error,
    },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{what} {path:?}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pivot_root")]
    Pivot {
        #[source]
        source: sys::Error,
    },
    #[error("{field}")]
    Sys {
        field: String,
        #[source]
        source: sys::Error,
    },
}

fn propagation_flag(name: &str) -> Option<MsFlags> {
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// `linux.rootfsPropagation` as mount flags; None when unset (runc then uses
/// rslave for the setup and leaves "/" alone afterwards).
fn root_propagation(spec: &Spec) -> Result<Option<MsFlags>, RootfsError> {
    let linux = spec.linux().as_ref();
    match linux.and_then(|l| l.rootfs_propagation().as_deref()) {
        None | Some("") => Ok(None),
        Some(p) => propagation_flag(p).map(Some).ok_or_else(|| RootfsError::Invalid {
            field: "linux.rootfsPropagation".into(),
            reason: format!("unknown propagation {p:?}"),
        }),
    }
}

/// Detached copies of bind sources, keyed by their `mounts[]` index, made by the
/// parent before clone: idmapped ones (only a process privileged over the
/// source's filesystem may idmap it, which init in a user namespace is not), and,
/// with a new user namespace, every other (its sources may be out of init's reach).
pub type IdmappedTrees = Vec<(usize, OwnedFd)>;

/// A detached copy of `mounts[index]`'s source, its ids shown through the user
/// namespace `userns` (MOUNT_ATTR_IDMAP). Relative sources are relative to
/// `bundle`.
pub fn idmapped_tree(index: usize, m: &Mount, bundle: &Path, userns: &OwnedFd) -> Result<OwnedFd, RootfsError> {
    let field = format!("mounts[{index}]");
    let opts = parse_options(m.options().as_deref().unwrap_or_default());
    let is_bind = opts.is_bind() || m.typ().as_deref() == Some("bind");
    if !is_bind {
        return Err(RootfsError::Invalid {
            field: format!("{field}.uidMappings"),
            reason: "idmapped mounts are supported for bind mounts only".into(),
        });
    }
    let src = bundle.join(m.source().clone().unwrap_or_default());
    let recursive = opts.idmap.unwrap_or(opts.flags.contains(MsFlags::MS_REC));
    let err = |call: &'static str, source: sys::Error| RootfsError::Mount {
        field: field.clone(),
        src: src.clone(),
        dst: m.destination().clone(),
        fstype: "bind".into(),
        call,
        source,
    };
    let tree =
        sys::mount::open_tree_clone(&src, opts.flags.contains(MsFlags::MS_REC)).map_err(|e| err("open_tree", e))?;
    sys::mount::mount_setattr_idmap(tree.as_fd(), userns.as_fd(), recursive).map_err(|e| err("idmap", e))?;
    Ok(tree)
}

/// Before the hooks and pivot_root, as runc's prepareRoot: detach our mount tree
/// from the host's (`rootfsPropagation`, default rslave), make the rootfs's parent
/// mount private (so nothing below propagates out, and pivot_root accepts it),
/// bind the rootfs onto itself, mount every `mounts[]` entry with targets resolved
/// inside the rootfs, create the devices, the /dev links and, with a terminal, the
/// /dev/console placeholder. A read-only /dev is mounted writable here, so that
/// its submounts and devices can be made, and made read-only by `finalize`.
pub fn prepare(
    ops: &dyn MountOps,
    spec: &Spec,
    rootfs: &Path,
    console: bool,
    idmapped: &IdmappedTrees,
) -> Result<(), RootfsError> {
    let linux = spec.linux().clone().unwrap_or_else(crate::spec::empty_linux);
    let prop = root_propagation(spec)?.unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    let sys_err = |field: &str, call: &'static str, p: &Path| {
        let field = field.to_string();
        let p = p.to_path_buf();
        move |e| RootfsError::Sys { field, source: sys::Error::with_path(call, p, e) }
    };
    let own_ns = has_mount_namespace(spec);
    if own_ns {
        ops.mount(None, Path::new("/"), None, prop, None).map_err(sys_err(
            "linux.rootfsPropagation",
            "mount",
            Path::new("/"),
        ))?;
        make_parent_private(ops, rootfs)?;
    }
    // pivot_root needs the new root to be a mount point; without a mount
    // namespace it is the one mount `delete` removes, with all below it.
    ops.mount(Some(rootfs), rootfs, None, MsFlags::MS_BIND | MsFlags::MS_REC, None).map_err(sys_err(
        "root.path",
        "mount bind",
        rootfs,
    ))?;
    if !own_ns {
        // In the caller's mount namespace: the bind alone is made private, so
        // that nothing mounted below it shows up in the mounts it came from.
        ops.mount(None, rootfs, None, MsFlags::MS_PRIVATE, None).map_err(sys_err(
            "root.path",
            "mount private",
            rootfs,
        ))?;
    }
    let root = resolve::Root::open(rootfs).map_err(|source| RootfsError::Sys { field: "root.path".into(), source })?;
    let cgroupns =
        linux.namespaces().as_deref().unwrap_or_default().iter().any(|n| n.typ() == LinuxNamespaceType::Cgroup);
    let mounts = spec.mounts().clone().unwrap_or_default();
    for (i, m) in mounts.iter().enumerate() {
        let tree = idmapped.iter().find(|(j, _)| *j == i).map(|(_, fd)| fd);
        mount::mount_entry(ops, &root, i, m, cgroupns, tree)?;
    }
    // Without a /dev of its own (a bind of the host's /dev), the container keeps
    // the host's nodes: runc skips device creation then.
    let dev_bound = mounts.iter().any(|m| {
        m.destination() == Path::new("/dev") && parse_options(m.options().as_deref().unwrap_or_default()).is_bind()
    });
    if !dev_bound {
        devices::create_all(ops, &root, linux.devices().as_deref().unwrap_or_default())?;
        devices::links(&root, console)?;
    }
    Ok(())
}

/// runc's rootfsParentMountPrivate: find the mount holding `rootfs` (EINVAL means
/// "not a mount point", so walk up) and make it private.
fn make_parent_private(ops: &dyn MountOps, rootfs: &Path) -> Result<(), RootfsError> {
    let mut path = rootfs;
    loop {
        match ops.mount(None, path, None, MsFlags::MS_PRIVATE, None) {
            Ok(()) => return Ok(()),
            Err(nix::errno::Errno::EINVAL) if path != Path::new("/") => {
                path = path.parent().unwrap_or(Path::new("/"));
            }
            Err(e) => {
                return Err(RootfsError::Sys {
                    field: "root.path".into(),
                    source: sys::Error::with_path("mount private (parent of the rootfs)", path, e),
                });
            }
        }
    }
}

/// Whether `linux.namespaces` lists a mount namespace (new or joined); without
/// one the container's mounts are made in the caller's.
pub fn has_mount_namespace(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default()
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Mount)
}

/// Make `rootfs` the root: pivot_root, MS_MOVE + chroot with `no_pivot`, or,
/// without a mount namespace of its own (where either would change the
/// caller's), chroot alone, as runc does.
pub fn pivot(spec: &Spec, rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    if !has_mount_namespace(spec) {
        return pivot::chroot(rootfs);
    }
    pivot::pivot(rootfs, no_pivot)
}

/// After pivot (`root` is then "/"): `rootfsPropagation` on the new root (runc
/// applies it only now, so that a shared root cannot reach the host's mounts),
/// `readonlyPaths`, `maskedPaths`, a read-only /dev (after everything under it
/// was made, as runc's finalizeRootfs), then `root.readonly`.
pub fn finalize(ops: &dyn MountOps, spec: &Spec, root: &Path) -> Result<(), RootfsError> {
    let linux = spec.linux().clone().unwrap_or_else(crate::spec::empty_linux);
    if let Some(prop) = root_propagation(spec)? {
        ops.mount(None, root, None, prop, None).map_err(|e| RootfsError::Sys {
            field: "linux.rootfsPropagation".into(),
            source: sys::Error::with_path("mount", root, e),
        })?;
    }
    let opened = resolve::Root::open(root).map_err(|source| RootfsError::Sys { field: "root".into(), source })?;
    paths::readonly(ops, &opened, linux.readonly_paths().as_deref().unwrap_or_default())?;
    paths::masked(ops, &opened, linux.masked_paths().as_deref().unwrap_or_default())?;
    if let Some((i, flags)) = mount::readonly_dev(spec) {
        mount::remount_readonly(ops, &opened, i, Path::new("/dev"), flags)?;
    }
    if spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false) {
        mount::remount_bind(ops, root, MsFlags::MS_RDONLY, &MountOptions::default())
            .map_err(|source| RootfsError::Sys { field: "root.readonly".into(), source })?;
    }
    Ok(())
}

/// Write `linux.sysctl` to /proc/sys. Keys are checked so that none can name a
/// path outside /proc/sys.
pub fn set_sysctls(spec: &Spec) -> Result<(), RootfsError> {
    let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().clone()) else { return Ok(()) };
    for (key, value) in sysctl {
        let field = format!("linux.sysctl.{key}");
        if key.is_empty() || key.contains('/') || key.split('.').any(|p| p.is_empty() || p == "..") {
            return Err(RootfsError::Invalid { field, reason: "not a sysctl name".into() });
        }
        let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value.as_bytes()).map_err(|source| RootfsError::Io { what: "write", path, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
