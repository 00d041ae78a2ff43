//! `tmpcopyup`: a fresh tmpfs starts with a copy of what the rootfs had at its
//! destination (runc copies the same way before moving the tmpfs into place).
//! Both sides are opened handles, so the copy reads the directory the tmpfs now
//! hides. No symlink is ever followed: each level is opened with openat2
//! RESOLVE_NO_SYMLINKS from its parent's handle, and symlinks are copied as
//! symlinks. Modes and owners are kept.

use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::resolve::proc_fd;
use crate::sys::mount as sm;

/// Copy the contents of the directory `from` into the directory `to`.
pub(super) fn copy_up(from: &OwnedFd, to: &OwnedFd) -> io::Result<()> {
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let r = copy_dir(from, to, 0);
    nix::sys::stat::umask(old);
    r
}

fn copy_dir(from: &OwnedFd, to: &OwnedFd, depth: u32) -> io::Result<()> {
    if depth > 128 {
        return Err(io::Error::other("directory tree too deep"));
    }
    let (src, dst) = (proc_fd(from), proc_fd(to));
    for entry in fs::read_dir(&src)? {
        let name = entry?.file_name();
        let (s, d) = (src.join(&name), dst.join(&name));
        let meta = fs::symlink_metadata(&s)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            fs::DirBuilder::new().mode(meta.mode() & 0o7777).create(&d)?;
            let open = |dir: &OwnedFd| {
                sm::openat2(
                    dir.as_fd(),
                    Path::new(&name),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                    0,
                    sm::RESOLVE_NO_SYMLINKS | sm::RESOLVE_BENEATH,
                )
                .map_err(|e| io::Error::from_raw_os_error(e.errno as i32))
            };
            copy_dir(&open(from)?, &open(to)?, depth + 1)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&s)?, &d)?;
        } else if ft.is_file() {
            let mut r = fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&s)?;
            let mut w = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(meta.mode() & 0o7777)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&d)?;
            // A plain read/write loop: the kernel's copy offloads between
            // filesystems are not worth their fallbacks for a few files.
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = io::Read::read(&mut r, &mut buf)?;
                if n == 0 {
                    break;
                }
                io::Write::write_all(&mut w, &buf[..n])?;
            }
        } else if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
            let kind = nix::sys::stat::SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT);
            nix::sys::stat::mknod(&d, kind, nix::sys::stat::Mode::from_bits_truncate(meta.mode()), meta.rdev())
                .map_err(io::Error::from)?;
        } else {
            // Sockets cannot be copied; runc's copy skips them too.
            continue;
        }
        std::os::unix::fs::lchown(&d, Some(meta.uid()), Some(meta.gid()))?;
        if ft.is_dir() || ft.is_file() {
            // The mode again: lchown clears setuid/setgid bits.
            fs::set_permissions(&d, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        }
    }
    Ok(())
}
