//! `berth checkpoint` and `berth restore`: runc's flags, carried out by the `criu`
//! binary (`--criu`, default `criu` on $PATH). Where CRIU is missing or cannot
//! work on the host, the error names what is missing and CRIU's own complaint.

use std::path::PathBuf;

use super::Global;
use super::args::{Flag, Kind, Matches, flag};
use crate::container::{self, CheckpointOptions, CriuCommon, RestoreOptions};

/// The flags checkpoint and restore share (runc's spelling).
#[derive(Debug)]
pub struct Common {
    /// Path for the criu image files (default ./checkpoint)
    pub image_path: Option<PathBuf>,
    /// Path for criu's work files and logs (default: the image path)
    pub work_path: Option<PathBuf>,
    /// Allow open tcp connections
    pub tcp_established: bool,
    /// Allow external unix sockets
    pub ext_unix_sk: bool,
    /// Allow shell jobs
    pub shell_job: bool,
    /// Handle file locks, for safety
    pub file_locks: bool,
    /// cgroups mode: soft (default), full or strict
    pub manage_cgroups_mode: Option<String>,
    /// Create a namespace, but do not restore its properties
    pub empty_ns: Vec<String>,
    /// Enable auto deduplication of memory images
    pub auto_dedup: bool,
    /// Use userfaultfd to lazily restore memory pages
    pub lazy_pages: bool,
}

#[derive(Debug)]
pub struct Args {
    pub common: Common,
    /// Path for previous criu image files in pre-dump
    pub parent_path: Option<PathBuf>,
    /// Leave the process running after checkpointing
    pub leave_running: bool,
    /// criu writes \0 to this fd once lazy-pages is ready
    pub status_fd: i32,
    /// ADDRESS:PORT of the page server
    pub page_server: Option<String>,
    /// Dump the container's memory only, and leave it running
    pub pre_dump: bool,
    pub id: String,
}

#[derive(Debug)]
pub struct RestoreArgs {
    pub common: Common,
    /// Unix socket that receives the pty master
    pub console_socket: Option<PathBuf>,
    /// Path to the bundle directory
    pub bundle: PathBuf,
    /// Detach from the container's process
    pub detach: bool,
    /// File to write the process id to
    pub pid_file: Option<PathBuf>,
    /// Do not use a subreaper to reap reparented processes
    pub no_subreaper: bool,
    /// Do not use pivot_root
    pub no_pivot: bool,
    /// LSM profile for the restored process, TYPE:NAME
    pub lsm_profile: Option<String>,
    /// LSM mount context for the restore
    pub lsm_mount_context: Option<String>,
    pub id: String,
}

pub(crate) const FLAGS: &[Flag] = &[
    flag(&["image-path"], Kind::Str),
    flag(&["work-path"], Kind::Str),
    flag(&["parent-path"], Kind::Str),
    flag(&["leave-running"], Kind::Bool),
    flag(&["tcp-established"], Kind::Bool),
    flag(&["ext-unix-sk"], Kind::Bool),
    flag(&["shell-job"], Kind::Bool),
    flag(&["lazy-pages"], Kind::Bool),
    flag(&["status-fd"], Kind::Int),
    flag(&["page-server"], Kind::Str),
    flag(&["file-locks"], Kind::Bool),
    flag(&["pre-dump"], Kind::Bool),
    flag(&["manage-cgroups-mode"], Kind::Str),
    flag(&["empty-ns"], Kind::StrList),
    flag(&["auto-dedup"], Kind::Bool),
];

pub(crate) const RESTORE_FLAGS: &[Flag] = &[
    flag(&["console-socket"], Kind::Str),
    flag(&["image-path"], Kind::Str),
    flag(&["work-path"], Kind::Str),
    flag(&["tcp-established"], Kind::Bool),
    flag(&["ext-unix-sk"], Kind::Bool),
    flag(&["shell-job"], Kind::Bool),
    flag(&["file-locks"], Kind::Bool),
    flag(&["manage-cgroups-mode"], Kind::Str),
    flag(&["bundle", "b"], Kind::Str),
    flag(&["detach", "d"], Kind::Bool),
    flag(&["pid-file"], Kind::Str),
    flag(&["no-subreaper"], Kind::Bool),
    flag(&["no-pivot"], Kind::Bool),
    flag(&["empty-ns"], Kind::StrList),
    flag(&["auto-dedup"], Kind::Bool),
    flag(&["lazy-pages"], Kind::Bool),
    flag(&["lsm-profile"], Kind::Str),
    flag(&["lsm-mount-context"], Kind::Str),
];

impl Common {
    fn parse(m: &Matches) -> Result<Common, String> {
        Ok(Common {
            image_path: m.path("image-path"),
            work_path: m.path("work-path"),
            tcp_established: m.bool("tcp-established"),
            ext_unix_sk: m.bool("ext-unix-sk"),
            shell_job: m.bool("shell-job"),
            file_locks: m.bool("file-locks"),
            manage_cgroups_mode: m.string("manage-cgroups-mode")?,
            empty_ns: m.strings("empty-ns")?,
            auto_dedup: m.bool("auto-dedup"),
            lazy_pages: m.bool("lazy-pages"),
        })
    }
}

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args {
            common: Common::parse(m)?,
            parent_path: m.path("parent-path"),
            leave_running: m.bool("leave-running"),
            status_fd: m.number("status-fd")?.unwrap_or(-1),
            page_server: m.string("page-server")?,
            pre_dump: m.bool("pre-dump"),
            id: m.arg(0)?.unwrap_or_default(),
        })
    }
}

impl RestoreArgs {
    pub(crate) fn parse(m: &Matches) -> Result<RestoreArgs, String> {
        Ok(RestoreArgs {
            common: Common::parse(m)?,
            console_socket: m.path("console-socket"),
            bundle: m.path("bundle").unwrap_or_else(|| ".".into()),
            detach: m.bool("detach"),
            pid_file: m.path("pid-file"),
            no_subreaper: m.bool("no-subreaper"),
            no_pivot: m.bool("no-pivot"),
            lsm_profile: m.string("lsm-profile")?,
            lsm_mount_context: m.string("lsm-mount-context")?,
            id: m.arg(0)?.unwrap_or_default(),
        })
    }
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
