//! docker's copy-up: the first time an empty volume is mounted over a path
//! the image has content at, that content is copied into the volume, with
//! owners, modes, times and xattrs, and the volume's root takes the
//! image directory's owner and mode (moby `container.CopyImagePathContent`).
//!
//! The image path is opened inside the rootfs (openat2 RESOLVE_IN_ROOT), so
//! a symlink the container planted there (`/data -> /../../etc`) cannot
//! make the copy read the host; the volume's `_data` is opened without
//! following a symlink. Both are then handed to `cp -a` as
//! `/proc/<pid>/fd/N` paths: cp walks below them by file descriptor and
//! copies symlinks as symlinks (`-a` implies `--no-dereference`).

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::sys::{Errno, SysError, fs};

#[derive(Debug, thiserror::Error)]
pub(crate) enum CopyError {
    #[error("open {path:?}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("open {destination:?} in the rootfs {rootfs:?}")]
    OpenInRoot {
        rootfs: PathBuf,
        destination: String,
        #[source]
        source: SysError,
    },
    #[error("run cp")]
    Spawn(#[source] std::io::Error),
    #[error("cp -a {destination:?} into {data:?} failed ({status}): {stderr}")]
    Copy { destination: String, data: PathBuf, status: std::process::ExitStatus, stderr: String },
}

/// Copy the rootfs content at `destination` into the volume directory
/// `data` if `data` is empty. Returns whether anything was copied.
pub(crate) fn copy_up(rootfs: &Path, destination: &str, data: &Path) -> Result<bool, CopyError> {
    let data_dir = open_dir_nofollow(data)?;
    let mut entries =
        std::fs::read_dir(fd_path(&data_dir)).map_err(|source| CopyError::Open { path: data.into(), source })?;
    if entries.next().is_some() {
        return Ok(false);
    }
    let root = open_dir_nofollow(rootfs)?;
    let rel = Path::new(destination.trim_start_matches('/'));
    let resolve = fs::RESOLVE_IN_ROOT | fs::RESOLVE_NO_MAGICLINKS;
    let src = match fs::openat2(root.as_fd(), rel, libc::O_DIRECTORY | libc::O_RDONLY, 0, resolve) {
        Ok(fd) => fd,
        // Nothing (or not a directory) at that path in the image: nothing to copy.
        Err(e) if matches!(e.errno, Errno::ENOENT | Errno::ENOTDIR) => return Ok(false),
        Err(source) => {
            return Err(CopyError::OpenInRoot { rootfs: rootfs.into(), destination: destination.into(), source });
        }
    };
    // `SRC/.` copies the directory's content and its own attributes onto
    // the existing DST; `-a` is `-dR --preserve=all`: owner, mode, times,
    // links and xattrs, symlinks copied as links.
    let out = Command::new("cp")
        .arg("-a")
        .arg(fd_path(&src).join("."))
        .arg(fd_path(&data_dir))
        .output()
        .map_err(CopyError::Spawn)?;
    if !out.status.success() {
        return Err(CopyError::Copy {
            destination: destination.into(),
            data: data.into(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(true)
}

fn open_dir_nofollow(path: &Path) -> Result<OwnedFd, CopyError> {
    File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|source| CopyError::Open { path: path.into(), source })
}

/// `/proc/<our pid>/fd/N`: a path naming exactly the open directory, usable
/// by a child process while we hold the descriptor.
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn copies_into_an_empty_volume_only() {
        let rootfs = tempfile::tempdir().unwrap();
        let vol = tempfile::tempdir().unwrap();
        let img = rootfs.path().join("app/data");
        std::fs::create_dir_all(img.join("sub")).unwrap();
        std::fs::write(img.join("sub/f"), b"image").unwrap();
        std::fs::set_permissions(&img, std::fs::Permissions::from_mode(0o750)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", img.join("link")).unwrap();
        assert!(copy_up(rootfs.path(), "/app/data", vol.path()).unwrap());
        assert_eq!(std::fs::read_to_string(vol.path().join("sub/f")).unwrap(), "image");
        assert!(std::fs::symlink_metadata(vol.path().join("link")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::metadata(vol.path()).unwrap().permissions().mode() & 0o777, 0o750);
        std::fs::write(img.join("sub/f"), b"changed").unwrap();
        assert!(!copy_up(rootfs.path(), "/app/data", vol.path()).unwrap(), "a non-empty volume is left alone");
        assert_eq!(std::fs::read_to_string(vol.path().join("sub/f")).unwrap(), "image");
    }

    #[test]
    fn missing_image_path_copies_nothing() {
        let rootfs = tempfile::tempdir().unwrap();
        let vol = tempfile::tempdir().unwrap();
        assert!(!copy_up(rootfs.path(), "/nope", vol.path()).unwrap());
    }

    #[test]
    fn a_planted_symlink_does_not_copy_the_host() {
        let rootfs = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("secret"), b"host").unwrap();
        std::os::unix::fs::symlink(host.path(), rootfs.path().join("data")).unwrap();
        let vol = tempfile::tempdir().unwrap();
        copy_up(rootfs.path(), "/data", vol.path()).unwrap();
        assert!(!vol.path().join("secret").exists(), "copied the host's directory");
    }
}
