//! `linux.maskedPaths` and `linux.readonlyPaths`, applied after pivot_root.

use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};

use super::RootfsError;
use super::mount::remount_bind;
use super::options::MountOptions;
use super::resolve::{Root, file_type, proc_fd};
use crate::sys;

/// Bind each path onto itself read-only. Missing paths are skipped, as runc does.
pub(super) fn readonly(root: &Root, paths: &[String]) -> Result<(), RootfsError> {
    for (i, p) in paths.iter().enumerate() {
        let field = format!("linux.readonlyPaths[{i}]");
        let fd = match root.open_path(Path::new(p)) {
            Ok(fd) => fd,
            Err(e) if e.errno == Errno::ENOENT => continue,
            Err(e) => return Err(RootfsError::Path { field, path: p.into(), source: e }),
        };
        mount(Some(&proc_fd(&fd)), &proc_fd(&fd), None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
            .map_err(|e| RootfsError::Path {
                field: field.clone(),
                path: p.into(),
                source: sys::Error::with_path("mount bind", p, e),
            })?;
        let fd = root.open_path(Path::new(p)).map_err(|e| RootfsError::Path {
            field: field.clone(),
            path: p.into(),
            source: e,
        })?;
        remount_bind(&proc_fd(&fd), MsFlags::MS_RDONLY | MsFlags::MS_REC, &MountOptions::default())
            .map_err(|e| RootfsError::Path { field, path: p.into(), source: e })?;
    }
    Ok(())
}

/// Hide each path: a read-only empty tmpfs over directories, /dev/null over
/// anything else. /dev/null must really be the null device (1:3) and not a symlink
/// or a file the image swapped in (runc's 2025 advisories): otherwise fail closed.
pub(super) fn masked(root: &Root, paths: &[String]) -> Result<(), RootfsError> {
    if paths.is_empty() {
        return Ok(());
    }
    let null = null_device()?;
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
            mount(Some("tmpfs"), &proc_fd(&fd), Some("tmpfs"), MsFlags::MS_RDONLY, None::<&str>)
        } else {
            mount(Some(&proc_fd(&null)), &proc_fd(&fd), None::<&str>, MsFlags::MS_BIND, None::<&str>)
        };
        r.map_err(|e| RootfsError::Path { field, path: p.into(), source: sys::Error::with_path("mount mask", p, e) })?;
    }
    Ok(())
}

fn null_device() -> Result<std::os::fd::OwnedFd, RootfsError> {
    let bad = |reason: &str| RootfsError::Invalid {
        field: "linux.maskedPaths".into(),
        reason: format!("/dev/null {reason}"),
    };
    let fd = sys::mount::openat2(
        std::fs::File::open("/").map_err(|source| RootfsError::Io { what: "open", path: "/".into(), source })?.as_fd(),
        Path::new("dev/null"),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        sys::mount::RESOLVE_NO_SYMLINKS | sys::mount::RESOLVE_IN_ROOT,
    )
    .map_err(|_| bad("is missing or a symlink"))?;
    let meta = std::fs::metadata(proc_fd(&fd)).map_err(|_| bad("cannot be inspected"))?;
    if !meta.file_type().is_char_device() || meta.rdev() != nix::sys::stat::makedev(1, 3) {
        return Err(bad("is not the null device (char 1:3)"));
    }
    Ok(fd)
}
