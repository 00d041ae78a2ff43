//! `berth create`.
use std::path::PathBuf;

use super::Global;
use crate::container::{self, CreateOptions};

#[derive(clap::Args, Debug)]
#[group(id = "create_args")]
pub struct Args {
    /// Path to the bundle directory
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// File to write the init pid to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root (for ramdisk roots)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra fds (3..3+N-1) to the container process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
    pub id: String,
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
        }
    }
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    container::create(&args.options(g))?;
    Ok(0)
}
