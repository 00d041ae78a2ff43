//! The container's filesystem view: mounts, devices, pivot_root, masked and
//! read-only paths, sysctls. Everything here runs in init, inside the new mount
//! namespace, in runc's order: `prepare` (before the createContainer hooks),
//! `pivot`, then `finalize` (after hostname and sysctl).

mod cgroupfs;
mod devices;
mod mount;
mod options;
mod paths;
mod pivot;
mod resolve;

use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

pub use options::{MountOptions, parse as parse_options};

use crate::sys;

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

/// Before the hooks and pivot_root: detach our mount tree from the host's
/// (`rootfsPropagation`, default rslave), bind the rootfs onto itself, mount every
/// `mounts[]` entry with targets resolved inside the rootfs, create the devices,
/// the /dev links and, with a terminal, the /dev/console placeholder.
pub fn prepare(spec: &Spec, rootfs: &Path, console: bool) -> Result<(), RootfsError> {
    let linux = spec.linux().clone().unwrap_or_default();
    let prop = match linux.rootfs_propagation().as_deref() {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(p) => propagation_flag(p).ok_or_else(|| RootfsError::Invalid {
            field: "linux.rootfsPropagation".into(),
            reason: format!("unknown propagation {p:?}"),
        })?,
    };
    let sys_err = |field: &str, call: &'static str, p: &Path| {
        let field = field.to_string();
        let p = p.to_path_buf();
        move |e| RootfsError::Sys { field, source: sys::Error::with_path(call, p, e) }
    };
    nix::mount::mount(None::<&str>, "/", None::<&str>, prop, None::<&str>).map_err(sys_err(
        "linux.rootfsPropagation",
        "mount",
        Path::new("/"),
    ))?;
    // pivot_root fails (EINVAL) when the new root's parent mount is shared, which
    // `rootfsPropagation: shared` just made it: make that one mount private, as
    // runc's rootfsParentMountPrivate does. The configured propagation is applied
    // to the new "/" after pivot_root (`apply_root_propagation`).
    // An unbindable parent refuses the bind below (EINVAL) in the same way.
    if prop.intersects(MsFlags::MS_SHARED | MsFlags::MS_UNBINDABLE) {
        let parent = parent_mount(rootfs);
        nix::mount::mount(None::<&str>, &parent, None::<&str>, MsFlags::MS_PRIVATE, None::<&str>).map_err(sys_err(
            "linux.rootfsPropagation",
            "mount private",
            &parent,
        ))?;
    }
    // pivot_root needs the new root to be a mount point.
    nix::mount::mount(Some(rootfs), rootfs, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(sys_err("root.path", "mount bind", rootfs))?;
    let root = resolve::Root::open(rootfs).map_err(|source| RootfsError::Sys { field: "root.path".into(), source })?;
    let cgroupns =
        linux.namespaces().as_deref().unwrap_or_default().iter().any(|n| n.typ() == LinuxNamespaceType::Cgroup);
    let mounts = spec.mounts().clone().unwrap_or_default();
    for (i, m) in mounts.iter().enumerate() {
        mount::mount_entry(&root, i, m, cgroupns)?;
    }
    // Without a /dev of its own (a bind of the host's /dev), the container keeps
    // the host's nodes: runc skips device creation then.
    let dev_bound = mounts.iter().any(|m| {
        m.destination() == Path::new("/dev") && parse_options(m.options().as_deref().unwrap_or_default()).is_bind()
    });
    if !dev_bound {
        devices::create_all(&root, linux.devices().as_deref().unwrap_or_default())?;
        devices::links(&root, console)?;
    }
    Ok(())
}

/// The mount point `path` lives on: the longest mount point in our mountinfo
/// that is `path` or one of its ancestors.
fn parent_mount(path: &Path) -> PathBuf {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| path.starts_with(p))
        .max_by_key(|p| p.as_os_str().len())
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// After pivot_root: `rootfsPropagation` on the new "/" (runc applies it there
/// too, so that a shared root never touches the host's mounts).
pub fn apply_root_propagation(spec: &Spec) -> Result<(), RootfsError> {
    let linux = spec.linux().clone().unwrap_or_default();
    let Some(flag) = linux.rootfs_propagation().as_deref().filter(|p| !p.is_empty()).and_then(propagation_flag) else {
        return Ok(());
    };
    nix::mount::mount(None::<&str>, "/", None::<&str>, flag, None::<&str>).map_err(|e| RootfsError::Sys {
        field: "linux.rootfsPropagation".into(),
        source: sys::Error::with_path("mount", "/", e),
    })
}

/// Make `rootfs` the root (pivot_root, or MS_MOVE + chroot with `no_pivot`).
pub fn pivot(rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    pivot::pivot(rootfs, no_pivot)
}

/// After pivot: `readonlyPaths`, `maskedPaths`, then `root.readonly`.
pub fn finalize(spec: &Spec) -> Result<(), RootfsError> {
    let linux = spec.linux().clone().unwrap_or_default();
    let root =
        resolve::Root::open(Path::new("/")).map_err(|source| RootfsError::Sys { field: "root".into(), source })?;
    paths::readonly(&root, linux.readonly_paths().as_deref().unwrap_or_default())?;
    paths::masked(&root, linux.masked_paths().as_deref().unwrap_or_default())?;
    if spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false) {
        mount::remount_bind(Path::new("/"), MsFlags::MS_RDONLY, &MountOptions::default())
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
