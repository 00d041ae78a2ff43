//! Opening paths inside a container's rootfs without leaving it (openat2).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Open the directory `path` inside the tree at `root` (openat2 with
/// RESOLVE_IN_ROOT: `..` and absolute symlinks stay inside it), for creating
/// things in a container's rootfs without following links out of it.
pub(crate) fn open_dir_in_root(root: BorrowedFd<'_>, path: &std::path::Path) -> io::Result<OwnedFd> {
    use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
    let how = OpenHow::new()
        .flags(OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(root.as_raw_fd(), path, how).map_err(io::Error::from)?;
    // SAFETY: openat2 just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
