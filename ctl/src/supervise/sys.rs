//! The supervisor's system-call wrappers: berthctl's own from `ctl/src/sys/`
//! (SCM_RIGHTS for the pty master, the window-size ioctl), included by path so
//! both binaries run the same reviewed code and no other module needs them.

#[path = "../sys/scm.rs"]
mod scm;
#[path = "../sys/tty.rs"]
// window_size is for berthctl's own terminal; the supervisor only sets sizes.
#[allow(dead_code)]
mod tty;

pub(crate) use scm::recv_fd;
pub(crate) use tty::{WinSize, set_window_size};
