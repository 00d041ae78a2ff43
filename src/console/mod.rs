//! The container's terminal. With `process.terminal`, init opens a pty inside the
//! container's own devpts, makes the slave its stdio and controlling terminal,
//! bind-mounts it on /dev/console, and sends the master to the `--console-socket`
//! with SCM_RIGHTS, exactly as runc does (containerd and conmon receive it).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::stat::Mode;

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("connect to console socket {path:?}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("console")]
    Sys(#[from] sys::Error),
}

fn sys_err(call: &'static str) -> impl FnOnce(nix::errno::Errno) -> ConsoleError {
    move |e| ConsoleError::Sys(sys::Error::new(call, e))
}

/// Connect to the console socket (in the caller's mount namespace, before clone).
pub fn connect(path: &Path) -> Result<OwnedFd, ConsoleError> {
    let stream =
        UnixStream::connect(path).map_err(|source| ConsoleError::Connect { path: path.to_path_buf(), source })?;
    Ok(OwnedFd::from(stream))
}

/// A new pty in the current mount namespace's /dev/ptmx: (master, slave, slave path).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd, String), ConsoleError> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).map_err(sys_err("open /dev/ptmx"))?;
    grantpt(&master).map_err(sys_err("grantpt"))?;
    unlockpt(&master).map_err(sys_err("unlockpt"))?;
    let name = ptsname_r(&master).map_err(sys_err("ptsname"))?;
    let slave = sys::fd::open(name.as_str(), OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| ConsoleError::Sys(sys::Error::with_path("open", &name, e)))?;
    Ok((sys::fd::from_pty_master(master), slave, name))
}

/// In init, after pivot_root: create the pty, make it stdio and the controlling
/// terminal, bind it on /dev/console, and send the master to `socket`.
/// `size` is `process.consoleSize`, applied before the master leaves (runc's
/// setupConsole does the same).
pub fn setup(socket: OwnedFd, size: Option<oci_spec::runtime::Box>) -> Result<(), ConsoleError> {
    setup_with(socket, true, size)
}

/// For `exec`: the same, without touching /dev/console (it belongs to init).
pub fn setup_exec(socket: OwnedFd, size: Option<oci_spec::runtime::Box>) -> Result<(), ConsoleError> {
    setup_with(socket, false, size)
}

/// /dev/console, opened without following any symlink, to mount onto through its
/// /proc/self/fd path; None if it is missing. Anything but the placeholder file (or a
/// device) fails closed: a symlink swapped in would redirect the bind
/// (CVE-2025-52565).
fn console_target() -> Result<Option<OwnedFd>, ConsoleError> {
    let root = sys::fd::open("/", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| ConsoleError::Sys(sys::Error::with_path("open", "/", e)))?;
    let fd = match sys::mount::openat2(
        root.as_fd(),
        Path::new("dev/console"),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        sys::mount::RESOLVE_IN_ROOT | sys::mount::RESOLVE_NO_SYMLINKS,
    ) {
        Ok(fd) => fd,
        Err(e) if e.errno == nix::errno::Errno::ENOENT => return Ok(None),
        Err(e) => return Err(ConsoleError::Sys(e)),
    };
    let st = nix::sys::stat::fstat(fd.as_raw_fd())
        .map_err(|e| ConsoleError::Sys(sys::Error::with_path("fstat", "/dev/console", e)))?;
    let kind = st.st_mode & libc::S_IFMT;
    if kind != libc::S_IFREG && kind != libc::S_IFCHR {
        return Err(ConsoleError::Sys(sys::Error::with_path(
            "mount bind (not a file or device)",
            "/dev/console",
            nix::errno::Errno::EINVAL,
        )));
    }
    Ok(Some(fd))
}

fn setup_with(socket: OwnedFd, bind_console: bool, size: Option<oci_spec::runtime::Box>) -> Result<(), ConsoleError> {
    let (master, slave, name) = open_pty()?;
    // A zero height or width means "not given", as runc reads it.
    if let Some(b) = size.filter(|b| b.height() > 0 && b.width() > 0) {
        let clamp = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
        let ws = libc::winsize { ws_row: clamp(b.height()), ws_col: clamp(b.width()), ws_xpixel: 0, ws_ypixel: 0 };
        sys::tty::set_winsize(master.as_fd(), &ws)?;
    }
    if bind_console && let Some(target) = console_target()? {
        let target = PathBuf::from(format!("/proc/self/fd/{}", target.as_raw_fd()));
        nix::mount::mount(Some(name.as_str()), &target, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .map_err(|e| ConsoleError::Sys(sys::Error::with_path("mount bind", "/dev/console", e)))?;
    }
    sys::fd::send_fd(socket.as_fd(), name.as_bytes(), master.as_fd())?;
    drop(master);
    drop(socket);
    nix::unistd::setsid().map_err(sys_err("setsid"))?;
    sys::tty::set_controlling_tty(slave.as_fd())?;
    for target in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), target).map_err(sys_err("dup2"))?;
    }
    Ok(())
}
