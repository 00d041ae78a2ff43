//! Opening a path inside a directory tree as if the tree were `/`
//! (openat2(2) with RESOLVE_IN_ROOT): `..` stops at the tree's top and an
//! absolute symlink restarts from it, so a link planted in a container's
//! rootfs can never lead a host-side open outside that rootfs
//! (CVE-2021-30465's class of bug).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};

/// Open `path` below `root` with `flags` (O_CLOEXEC always added), every
/// component resolved inside `root` and no /proc magic link followed.
pub(crate) fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> io::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(root.as_raw_fd(), path, how).map_err(io::Error::from)?;
    // SAFETY: openat2 just returned this descriptor and nothing else owns it,
    // so the OwnedFd is its only owner and closes it exactly once.
    // JUSTIFICATION: nix's openat2 returns a RawFd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"host").unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/secret"), b"inside").unwrap();
        // Absolute and `..` links both to the host's copy, if followed naively.
        std::os::unix::fs::symlink(outside.path(), root.path().join("abs")).unwrap();
        let up = format!("../../../../../../..{}", outside.path().display());
        std::os::unix::fs::symlink(&up, root.path().join("up")).unwrap();
        let dir = std::fs::File::open(root.path()).unwrap();
        for link in ["abs/secret", "up/secret"] {
            assert!(open_in_root(dir.as_fd(), Path::new(link), OFlag::O_RDONLY).is_err(), "{link} escaped");
        }
        std::os::unix::fs::symlink("/../../etc", root.path().join("etclink")).unwrap();
        let f = open_in_root(dir.as_fd(), Path::new("etclink/secret"), OFlag::O_RDONLY).unwrap();
        assert_eq!(std::fs::read_to_string(format!("/proc/self/fd/{}", f.as_raw_fd())).unwrap(), "inside");
    }
}
