//! `berth create`.
use std::path::PathBuf;

use super::Global;
use super::args::{Flag, Kind, Matches, flag};

use crate::container::{self, CreateOptions};

#[derive(Debug)]
pub struct Args {
    /// Path to the bundle directory
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true
    pub console_socket: Option<PathBuf>,
    /// File to write the init pid to
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root (for ramdisk roots)
    pub no_pivot: bool,
    /// Do not create a new session keyring
    pub no_new_keyring: bool,
    /// Pass N extra fds (3..3+N-1) to the container process
    pub preserve_fds: i32,
    pub id: String,
}

pub(crate) const FLAGS: &[Flag] = &[
    flag(&["bundle", "b"], Kind::Str),
    flag(&["console-socket"], Kind::Str),
    flag(&["pid-file"], Kind::Str),
    flag(&["no-pivot"], Kind::Bool),
    flag(&["no-new-keyring"], Kind::Bool),
    flag(&["preserve-fds"], Kind::Int),
];

/// `--preserve-fds`: Go's int, clamped to ours (a count that large is refused
/// later as "too many open files", as runc does).
pub(crate) fn preserve_fds(m: &Matches) -> Result<i32, String> {
    let n: i64 = m.number("preserve-fds")?.unwrap_or(0);
    Ok(i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX }))
}

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args {
            bundle: m.path("bundle").unwrap_or_else(|| ".".into()),
            console_socket: m.path("console-socket"),
            pid_file: m.path("pid-file"),
            no_pivot: m.bool("no-pivot"),
            no_new_keyring: m.bool("no-new-keyring"),
            preserve_fds: preserve_fds(m)?,
            id: m.arg(0)?.unwrap_or_default(),
        })
    }
}

impl Args {
    pub fn options(&self, g: &Global) -> CreateOptions {
        CreateOptions {
            root: g.root.clone(),
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            console_socket: self.console_socket.clone(),
            pid_file: self.pid_file.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            systemd_cgroup: g.systemd_cgroup,
            rootless: g.rootless,
            started_by_caller: false,
            spec: None,
        }
    }
}

/// runc's check of `--preserve-fds N`: fds 3..3+N must all be open in the caller
/// (runc: "unable to stat preserved-fd I (of N)"), and cannot lie beyond
/// RLIMIT_NOFILE, where no fd can be open ("too many open files").
pub fn check_preserve_fds(n: i32) -> anyhow::Result<()> {
    if n <= 0 {
        return Ok(());
    }
    let (soft, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)?;
    if 3 + n as u64 > soft {
        anyhow::bail!(
            "unable to preserve {n} fds (3..{}): {} (RLIMIT_NOFILE is {soft})",
            3 + n as u64 - 1,
            nix::errno::Errno::EMFILE.desc().to_lowercase()
        );
    }
    for i in 0..n {
        let fd = 3 + i;
        if nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err() {
            anyhow::bail!("unable to stat preserved-fd {i} (of {n}): fd {fd}: {}", nix::errno::Errno::EBADF.desc());
        }
    }
    Ok(())
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    check_preserve_fds(args.preserve_fds)?;
    container::create(&args.options(g))?;
    Ok(0)
}
