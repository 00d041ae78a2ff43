//! The supervisor's system-call wrappers: berthctl's own from `ctl/src/sys/`
//! (SCM_RIGHTS for the pty master, the window-size ioctl, the inherited attach
//! socket, the health probes' parent-death signal), included by path so both binaries run the same reviewed code and
//! no other module needs them.

#[path = "../sys/deathsig.rs"]
mod deathsig;
#[path = "../sys/inherit.rs"]
mod inherit;
#[path = "../sys/scm.rs"]
mod scm;
#[path = "../sys/tty.rs"]
// window_size is for berthctl's own terminal; the supervisor only sets sizes.
#[allow(dead_code)]
mod tty;

pub(crate) use deathsig::kill_with_parent;
pub(crate) use inherit::inherited_listener;
pub(crate) use scm::recv_fd;
pub(crate) use tty::{WinSize, set_window_size};
