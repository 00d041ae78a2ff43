//! /dev: the default devices every container gets, `linux.devices`, the standard
//! symlinks, /dev/ptmx and the /dev/console placeholder.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag, makedev};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::RootfsError;
use super::resolve::{Kind, Root, proc_fd};
use crate::sys;
use crate::sys::ops::MountOps;

/// runc's default device list (libcontainer/specconv AllowedDevices).
const DEFAULTS: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

struct Node<'a> {
    path: &'a Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

pub(super) fn create_all(ops: &dyn MountOps, root: &Root, devices: &[LinuxDevice]) -> Result<(), RootfsError> {
    let old = nix::sys::stat::umask(Mode::empty());
    let result = create_inner(ops, root, devices);
    nix::sys::stat::umask(old);
    result
}

fn create_inner(ops: &dyn MountOps, root: &Root, devices: &[LinuxDevice]) -> Result<(), RootfsError> {
    for (path, major, minor) in DEFAULTS {
        let path = Path::new(path);
        if devices.iter().any(|d| d.path() == path) {
            continue;
        }
        let node = Node { path, kind: SFlag::S_IFCHR, major, minor, mode: 0o666, uid: 0, gid: 0 };
        create(ops, root, &node)
            .map_err(|e| RootfsError::Device { field: format!("default device {}", path.display()), source: e })?;
    }
    for (i, d) in devices.iter().enumerate() {
        let field = format!("linux.devices[{i}]");
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(RootfsError::Invalid {
                    field: format!("{field}.type"),
                    reason: "\"a\" is not a device node type".into(),
                });
            }
        };
        let node = Node {
            path: d.path(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666),
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        create(ops, root, &node).map_err(|e| RootfsError::Device { field, source: e })?;
    }
    Ok(())
}

/// mknod inside the root; in a user namespace (EPERM) bind-mount the host's node.
fn create(ops: &dyn MountOps, root: &Root, n: &Node<'_>) -> Result<(), sys::Error> {
    let parent = n.path.parent().unwrap_or(Path::new("/"));
    let name = n.path.file_name().ok_or_else(|| sys::Error::with_path("mknod", n.path, Errno::EINVAL))?;
    let dir = root.create(parent, Kind::Dir)?;
    let target = proc_fd(&dir).join(name);
    let mode = Mode::from_bits_truncate(n.mode & 0o7777);
    match ops.mknod(&target, n.kind, mode, makedev(n.major, n.minor)) {
        Ok(()) => {}
        // An existing node (e.g. /dev bind-mounted from the host) is kept, as runc does.
        Err(Errno::EEXIST) => return Ok(()),
        Err(Errno::EPERM) => return bind_host(ops, root, n),
        Err(e) => return Err(sys::Error::with_path("mknod", n.path, e)),
    }
    ops.lchown(&target, Uid::from_raw(n.uid), Gid::from_raw(n.gid))
        .map_err(|e| sys::Error::with_path("chown", n.path, e))?;
    Ok(())
}

fn bind_host(ops: &dyn MountOps, root: &Root, n: &Node<'_>) -> Result<(), sys::Error> {
    let target = root.create(n.path, Kind::File)?;
    ops.mount(Some(n.path), &proc_fd(&target), None, MsFlags::MS_BIND, None)
        .map_err(|e| sys::Error::with_path("mount bind device", n.path, e))
}

/// /dev/fd, stdin, stdout, stderr, core; /dev/ptmx → pts/ptmx; /dev/console.
pub(super) fn links(root: &Root, console: bool) -> Result<(), RootfsError> {
    let dev = root
        .create(Path::new("/dev"), Kind::Dir)
        .map_err(|e| RootfsError::Device { field: "/dev".into(), source: e })?;
    let dev = proc_fd(&dev);
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (to, name) in links {
        match std::os::unix::fs::symlink(to, dev.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(RootfsError::Io { what: "symlink", path: Path::new("/dev").join(name), source: e }),
        }
    }
    // The ptmx of the container's own devpts instance.
    let ptmx = dev.join("ptmx");
    let _ = std::fs::remove_file(&ptmx);
    std::os::unix::fs::symlink("pts/ptmx", &ptmx).map_err(|source| RootfsError::Io {
        what: "symlink",
        path: "/dev/ptmx".into(),
        source,
    })?;
    if console {
        // The placeholder the pty is bound onto later. A symlink here would send
        // that bind anywhere (CVE-2025-52565): never follow one, fail closed.
        let old = nix::sys::stat::umask(Mode::empty());
        let r = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o666)
            .custom_flags(libc::O_NOFOLLOW)
            .open(dev.join("console"));
        nix::sys::stat::umask(old);
        let f =
            r.map_err(|source| RootfsError::Io { what: "create (no symlinks)", path: "/dev/console".into(), source })?;
        let meta =
            f.metadata().map_err(|source| RootfsError::Io { what: "stat", path: "/dev/console".into(), source })?;
        if !meta.is_file() {
            return Err(RootfsError::Invalid {
                field: "/dev/console".into(),
                reason: "exists and is not a regular file".into(),
            });
        }
        let _ = f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    }
    Ok(())
}
