//! The only place in berthctl with `unsafe`: thin safe wrappers over calls that
//! nix does not cover. Each block says why it is sound (`// SAFETY:`).

mod at;
mod pidfd;
mod scm;
mod time;
mod tty;

pub(crate) use at::open_dir_in_root;
pub(crate) use pidfd::pidfd_open;
pub(crate) use scm::recv_fd;
pub(crate) use time::zone_abbreviation;
pub(crate) use tty::{WinSize, set_window_size, window_size};
