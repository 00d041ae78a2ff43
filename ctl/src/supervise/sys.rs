//! The supervisor's only `unsafe`: berthctl's own wrappers from `src/sys/`
//! (SCM_RIGHTS for the pty master, the window-size ioctl), shared by path so
//! both binaries run the same reviewed code.

#[path = "../sys/scm.rs"]
mod scm;
#[path = "../sys/tty.rs"]
// window_size is for berthctl's own terminal; the supervisor only sets sizes.
#[allow(dead_code)]
mod tty;

pub(crate) use scm::recv_fd;
pub(crate) use tty::{WinSize, set_window_size};
