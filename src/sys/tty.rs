//! Terminal ioctls nix has no safe wrapper for.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;

use super::{Error, Result};

/// Make `fd` (a pty slave) the controlling terminal of this session (TIOCSCTTY).
pub fn set_controlling_tty(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument by value (0: do not steal), and `fd` is
    // a live borrowed descriptor for the duration of the call.
    // JUSTIFICATION: nix 0.29 has no TIOCSCTTY wrapper.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if ret == -1 {
        return Err(Error::new("ioctl TIOCSCTTY", Errno::last()));
    }
    Ok(())
}

/// Window size of the terminal `fd`.
pub fn get_winsize(fd: BorrowedFd<'_>) -> Result<libc::winsize> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which points to a
    // live, properly aligned local of that type.
    // JUSTIFICATION: nix 0.29 has no TIOCGWINSZ wrapper outside its ioctl macros.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    if ret == -1 {
        return Err(Error::new("ioctl TIOCGWINSZ", Errno::last()));
    }
    Ok(ws)
}

/// Set the window size of the terminal `fd`.
pub fn set_winsize(fd: BorrowedFd<'_>, ws: &libc::winsize) -> Result<()> {
    // SAFETY: TIOCSWINSZ reads one `winsize` through the pointer, a live reference.
    // JUSTIFICATION: as for get_winsize.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws as *const libc::winsize) };
    if ret == -1 {
        return Err(Error::new("ioctl TIOCSWINSZ", Errno::last()));
    }
    Ok(())
}
