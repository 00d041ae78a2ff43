//! `berth checkpoint` and `berth restore`: runc's flags, carried out by the `criu`
//! binary (`--criu`, default `criu` on $PATH). Where CRIU is missing or cannot
//! work on the host, the error names what is missing and CRIU's own complaint.

use std::path::PathBuf;

use super::Global;
use crate::container::{self, CheckpointOptions, CriuCommon, RestoreOptions};

/// The flags checkpoint and restore share (runc's spelling).
#[derive(clap::Args, Debug)]
pub struct Common {
    /// Path for the criu image files (default ./checkpoint)
    #[arg(long = "image-path")]
    pub image_path: Option<PathBuf>,
    /// Path for criu's work files and logs (default: the image path)
    #[arg(long = "work-path")]
    pub work_path: Option<PathBuf>,
    /// Allow open tcp connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// Allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// Allow shell jobs
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// Handle file locks, for safety
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// cgroups mode: soft (default), full or strict
    #[arg(long = "manage-cgroups-mode")]
    pub manage_cgroups_mode: Option<String>,
    /// Create a namespace, but do not restore its properties
    #[arg(long = "empty-ns")]
    pub empty_ns: Vec<String>,
    /// Enable auto deduplication of memory images
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// Use userfaultfd to lazily restore memory pages
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Path for previous criu image files in pre-dump
    #[arg(long = "parent-path")]
    pub parent_path: Option<PathBuf>,
    /// Leave the process running after checkpointing
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// criu writes \0 to this fd once lazy-pages is ready
    #[arg(long = "status-fd", default_value_t = -1, allow_negative_numbers = true)]
    pub status_fd: i32,
    /// ADDRESS:PORT of the page server
    #[arg(long = "page-server")]
    pub page_server: Option<String>,
    /// Dump the container's memory only, and leave it running
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    pub id: String,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub common: Common,
    /// Unix socket that receives the pty master
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Path to the bundle directory
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Detach from the container's process
    #[arg(short, long)]
    pub detach: bool,
    /// File to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Do not use a subreaper to reap reparented processes
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// Do not use pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// LSM profile for the restored process, TYPE:NAME
    #[arg(long = "lsm-profile")]
    pub lsm_profile: Option<String>,
    /// LSM mount context for the restore
    #[arg(long = "lsm-mount-context")]
    pub lsm_mount_context: Option<String>,
    pub id: String,
}

impl Common {
    fn options(&self, g: &Global) -> anyhow::Result<CriuCommon> {
        let image_path = match &self.image_path {
            Some(p) => p.clone(),
            None => std::env::current_dir()?.join("checkpoint"),
        };
        Ok(CriuCommon {
            criu: g.criu.clone(),
            work_path: self.work_path.clone().unwrap_or_else(|| image_path.clone()),
            image_path,
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
            manage_cgroups_mode: self.manage_cgroups_mode.clone(),
            empty_ns: self.empty_ns.clone(),
            auto_dedup: self.auto_dedup,
            lazy_pages: self.lazy_pages,
        })
    }
}

pub fn checkpoint(g: &Global, args: Args) -> anyhow::Result<i32> {
    let opts = CheckpointOptions {
        common: args.common.options(g)?,
        parent_path: args.parent_path,
        leave_running: args.leave_running,
        status_fd: args.status_fd,
        page_server: args.page_server,
        pre_dump: args.pre_dump,
    };
    container::checkpoint(&g.root, &args.id, &opts)?;
    Ok(0)
}

pub fn restore(g: &Global, args: RestoreArgs) -> anyhow::Result<i32> {
    let opts = RestoreOptions {
        common: args.common.options(g)?,
        bundle: args.bundle,
        console_socket: args.console_socket,
        pid_file: args.pid_file,
        lsm_profile: args.lsm_profile,
        lsm_mount_context: args.lsm_mount_context,
        systemd_cgroup: g.systemd_cgroup,
        rootless: g.rootless,
    };
    let restored = container::restore(&g.root, &args.id, &opts)?;
    if args.detach {
        return Ok(0);
    }
    Ok(container::wait_restored(restored))
}
