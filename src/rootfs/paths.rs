//! `linux.maskedPaths` and `linux.readonlyPaths`, applied after pivot_root.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::RootfsError;
use super::mount::remount_bind;
use super::options::MountOptions;
use super::resolve::{Root, file_type, proc_fd};
use crate::sys;
use crate::sys::ops::MountOps;

/// Bind each path onto itself read-only. Missing paths are skipped, as runc does.
pub(super) fn readonly(ops: &dyn MountOps, root: &Root, paths: &[String]) -> Result<(), RootfsError> {
    for (i, p) in paths.iter().enumerate() {
        let field = format!("linux.readonlyPaths[{i}]");
        let fd = match root.open_path(Path::new(p)) {
            Ok(fd) => fd,
            Err(e) if e.errno == Errno::ENOENT => continue,
            Err(e) => return Err(RootfsError::Path { field, path: p.into(), source: e }),
        };
        ops.mount(Some(&proc_fd(&fd)), &proc_fd(&fd), None, MsFlags::MS_BIND | MsFlags::MS_REC, None).map_err(|e| {
            RootfsError::Path {
                field: field.clone(),
                path: p.into(),
                source: sys::Error::with_path("mount bind", p, e),
            }
        })?;
        let fd = root.open_path(Path::new(p)).map_err(|e| RootfsError::Path {
            field: field.clone(),
            path: p.into(),
            source: e,
        })?;
        remount_bind(ops, &proc_fd(&fd), MsFlags::MS_RDONLY | MsFlags::MS_REC, &MountOptions::default())
            .map_err(|e| RootfsError::Path { field, path: p.into(), source: e })?;
    }
    Ok(())
}

/// Hide each path: a read-only empty tmpfs over directories, /dev/null over
/// anything else. /dev/null must really be the null device (1:3) and not a symlink
/// or a file the image swapped in (runc's 2025 advisories): otherwise fail closed.
pub(super) fn masked(ops: &dyn MountOps, root: &Root, paths: &[String]) -> Result<(), RootfsError> {
    // Opened and checked once, when the first file (not a directory) is masked.
    let mut null = None;
    for (i, p) in paths.iter().enumerate() {
        let field = format!("linux.maskedPaths[{i}]");
        // The last component is not followed: a symlink swapped in here must not
        // redirect the mask onto another file (runc's 2025 advisories). Fail closed.
        let fd = match root.open_nofollow(Path::new(p)) {
            Ok(fd) => fd,
            Err(e) if e.errno == Errno::ENOENT => continue,
            Err(e) => return Err(RootfsError::Path { field, path: p.into(), source: e }),
        };
        if file_type(&fd).is_ok_and(|t| t == nix::sys::stat::SFlag::S_IFLNK) {
            return Err(RootfsError::Invalid {
                field,
                reason: format!("{p:?} is a symlink, refusing to mask through it"),
            });
        }
        let is_dir = std::fs::metadata(proc_fd(&fd)).map(|m| m.is_dir()).unwrap_or(false);
        let r = if is_dir {
            ops.mount(Some(Path::new("tmpfs")), &proc_fd(&fd), Some("tmpfs"), MsFlags::MS_RDONLY, None)
        } else {
            let null = match &null {
                Some(n) => n,
                None => null.insert(null_device(root)?),
            };
            ops.mount(Some(&proc_fd(null)), &proc_fd(&fd), None, MsFlags::MS_BIND, None)
        };
        r.map_err(|e| RootfsError::Path { field, path: p.into(), source: sys::Error::with_path("mount mask", p, e) })?;
    }
    Ok(())
}

/// The root's /dev/null, reached without following any symlink.
fn null_device(root: &Root) -> Result<std::os::fd::OwnedFd, RootfsError> {
    let bad = |reason: &str| RootfsError::Invalid {
        field: "linux.maskedPaths".into(),
        reason: format!("/dev/null {reason}"),
    };
    let fd = root.open_no_symlinks(Path::new("/dev/null")).map_err(|_| bad("is missing or a symlink"))?;
    let meta = std::fs::metadata(proc_fd(&fd)).map_err(|_| bad("cannot be inspected"))?;
    if !meta.file_type().is_char_device() || meta.rdev() != nix::sys::stat::makedev(1, 3) {
        return Err(bad("is not the null device (char 1:3)"));
    }
    Ok(fd)
}
