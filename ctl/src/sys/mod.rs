//! The only place in berthctl with `unsafe`: thin safe wrappers over calls that
//! nix does not cover. Each block says why it is sound (`// SAFETY:`).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

/// A terminal's size, in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WinSize {
    pub rows: u16,
    pub cols: u16,
}

/// The size of the terminal on `fd` (TIOCGWINSZ).
pub(crate) fn window_size(fd: BorrowedFd<'_>) -> io::Result<WinSize> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer, which
    // points at a live, properly aligned local of exactly that type; `fd` is a
    // borrowed, open descriptor for the duration of the call.
    // JUSTIFICATION: nix has no safe wrapper for TIOCGWINSZ (only a macro that
    // generates an unsafe fn).
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(WinSize { rows: ws.ws_row, cols: ws.ws_col })
}

/// Set the size of the terminal on `fd` (TIOCSWINSZ); the kernel sends
/// SIGWINCH to the terminal's foreground process group.
pub(crate) fn set_window_size(fd: BorrowedFd<'_>, size: WinSize) -> io::Result<()> {
    let ws = libc::winsize { ws_row: size.rows, ws_col: size.cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads one `struct winsize` from the pointer, which
    // points at a live local of that type; `fd` is open for the call.
    // JUSTIFICATION: as for TIOCGWINSZ, nix offers no safe call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A pidfd for `pid` (pidfd_open(2)): readable once the process has exited,
/// and immune to pid reuse.
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1;
    // no memory is shared with the kernel.
    // JUSTIFICATION: nix 0.29 has no pidfd_open.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::other("pidfd_open returned an out-of-range fd"))?;
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Receive one descriptor sent with SCM_RIGHTS (the runtime's
/// `--console-socket` protocol: the pty master, with its name as payload).
pub(crate) fn recv_fd(sock: &UnixStream) -> io::Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(io::Error::from)?;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: SCM_RIGHTS installed this descriptor in our table for us
            // alone (MSG_CMSG_CLOEXEC keeps it from children); we take its only
            // ownership. Extra descriptors, if a peer sent more, are closed below.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            for &extra in &fds[1..] {
                // SAFETY: as above, each is ours alone; dropping closes it.
                drop(unsafe { OwnedFd::from_raw_fd(extra) });
            }
            return Ok(owned);
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidData, "no SCM_RIGHTS descriptor in the message"))
}

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
