//! Terminal size ioctls for pty masters and our own terminal.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

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
