//! `checkpoint` and `restore` through the `criu` binary's command line (runc
//! drives the same program over its RPC socket). Each runc flag becomes the
//! `criu dump`/`criu restore` option that runc's RPC field sets.
//!
//! What berth adds to CRIU's images, as runc does: `descriptors.json`, where the
//! container's stdio pointed at dump time, so that restore can hand CRIU our own
//! fds 0-2 in their place (`--inherit-fd`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use super::error::{Cause, ContainerError};
use super::state::{State, Status, Store};
use super::{ContainerId, load_state as load};
use crate::cgroups::{self, CgroupConfig};
use crate::spec;

/// The oldest CRIU runc accepts (3.0.0).
const CRIU_MIN_VERSION: (u32, u32) = (3, 0);

/// What checkpoint and restore share (runc's flags).
pub struct CriuCommon {
    pub criu: PathBuf,
    pub image_path: PathBuf,
    pub work_path: PathBuf,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub manage_cgroups_mode: Option<String>,
    pub empty_ns: Vec<String>,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
}

pub struct CheckpointOptions {
    pub common: CriuCommon,
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
    pub status_fd: i32,
    pub page_server: Option<String>,
    pub pre_dump: bool,
}

pub struct RestoreOptions {
    pub common: CriuCommon,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
    pub systemd_cgroup: bool,
    pub rootless: bool,
}

/// A restored container's process (our child: CRIU restores it as its sibling).
pub struct Restored {
    pub root: PathBuf,
    pub id: String,
    pub pid: Pid,
}

pub fn checkpoint(root: &Path, id: &str, opts: &CheckpointOptions) -> Result<(), ContainerError> {
    let err = |c: Cause| c.into_error(id, "checkpoint");
    let (st, status) = load(root, id, "checkpoint")?;
    if !matches!(status, Status::Running | Status::Paused) {
        return Err(err(Cause::Usage(format!("Container cannot be checkpointed in {status} state"))));
    }
    check_criu(&opts.common.criu).map_err(err)?;
    let c = &opts.common;
    for dir in [&c.image_path, &c.work_path] {
        fs::create_dir_all(dir).map_err(|source| err(Cause::Io { what: "mkdir", path: dir.clone(), source }))?;
    }
    write_descriptors(&c.image_path, st.pid).map_err(err)?;
    let action = if opts.pre_dump { "pre-dump" } else { "dump" };
    let mut args = common_args(action, c);
    args.extend(["--tree".into(), st.pid.to_string(), "--root".into(), st.rootfs.display().to_string()]);
    args.extend(ext_mounts(&st.config, false));
    if let Some(freezer) = freezer_path(&st) {
        args.extend(["--freeze-cgroup".into(), freezer]);
    }
    if let Some(parent) = &opts.parent_path {
        args.extend(["--prev-images-dir".into(), parent.display().to_string(), "--track-mem".into()]);
    } else if opts.pre_dump {
        args.push("--track-mem".into());
    }
    if opts.leave_running && !opts.pre_dump {
        args.push("--leave-running".into());
    }
    if opts.status_fd >= 0 {
        args.extend(["--status-fd".into(), opts.status_fd.to_string()]);
    }
    if let Some(ps) = &opts.page_server {
        let (addr, port) = ps
            .rsplit_once(':')
            .ok_or_else(|| err(Cause::Usage(format!("--page-server {ps:?}: must be ADDRESS:PORT"))))?;
        args.extend(["--page-server".into(), "--address".into(), addr.into(), "--port".into(), port.into()]);
    }
    tracing::debug!(?args, "criu");
    run_criu(c, action, &args).map_err(err)?;
    if !(opts.leave_running || opts.pre_dump) {
        // runc destroys the container once CRIU has dumped (and killed) it.
        super::delete(root, id, true)?;
    }
    Ok(())
}

pub fn restore(root: &Path, id: &str, opts: &RestoreOptions) -> Result<Restored, ContainerError> {
    let err = |c: Cause| c.into_error(id, "restore");
    let cid = ContainerId::new(id).map_err(err)?;
    if opts.console_socket.is_some() {
        return Err(err(Cause::Usage("restore: --console-socket is not supported by berth".into())));
    }
    check_criu(&opts.common.criu).map_err(err)?;
    let store = Store::new(root);
    let dir = store.create_dir(&cid).map_err(err)?;
    match restore_in(root, &store, &cid, opts) {
        Ok(r) => Ok(r),
        Err(c) => {
            let _ = fs::remove_dir_all(&dir);
            Err(err(c))
        }
    }
}

fn restore_in(root: &Path, store: &Store, id: &ContainerId, opts: &RestoreOptions) -> Result<Restored, Cause> {
    let _lock = store.lock(id)?;
    let bundle = fs::canonicalize(&opts.bundle).map_err(|source| Cause::Io {
        what: "bundle",
        path: opts.bundle.clone(),
        source,
    })?;
    let config = spec::load(&bundle)?;
    let rootfs = spec::rootfs_path(&config, &bundle);
    let linux = config.linux().clone().unwrap_or_else(crate::spec::empty_linux);
    let cgroup = CgroupConfig {
        path: linux.cgroups_path().clone().unwrap_or_default(),
        systemd: opts.systemd_cgroup,
        id: id.as_str().into(),
        rootless: opts.rootless,
    };
    let cg = cgroups::open(&cgroup)?;
    cg.create()?;
    if let Some(r) = linux.resources() {
        cg.set(r)?;
    }
    let c = &opts.common;
    let pidfile = c.work_path.join("restore.pid");
    let _ = fs::remove_file(&pidfile);
    let mut args = common_args("restore", c);
    args.extend([
        "--root".into(),
        rootfs.display().to_string(),
        "--restore-detached".into(),
        "--restore-sibling".into(),
    ]);
    args.extend(["--pidfile".into(), pidfile.display().to_string()]);
    args.extend(ext_mounts(&config, true));
    args.extend(inherit_stdio(&c.image_path));
    if let Some(p) = &opts.lsm_profile {
        args.extend(["--lsm-profile".into(), p.clone()]);
    }
    if let Some(m) = &opts.lsm_mount_context {
        args.extend(["--lsm-mount-context".into(), m.clone()]);
    }
    tracing::debug!(?args, "criu");
    if let Err(e) = run_criu(c, "restore", &args) {
        let _ = cg.destroy();
        return Err(e);
    }
    let text = fs::read_to_string(&pidfile).map_err(|source| Cause::Io {
        what: "criu pidfile",
        path: pidfile.clone(),
        source,
    })?;
    let pid: i32 =
        text.trim().parse().map_err(|_| Cause::Criu(format!("criu pidfile {pidfile:?}: not a pid: {text:?}")))?;
    let state = State {
        id: id.as_str().into(),
        pid,
        init_start_time: super::state::start_time(pid).unwrap_or(0),
        bundle,
        rootfs,
        created: crate::sys::time::now_rfc3339(),
        cgroup,
        rootless: opts.rootless,
        creating: false,
        config,
        host_mounts_before: None,
    };
    store.save(&state)?;
    if let Some(p) = &opts.pid_file {
        super::write_pid_file(p, Pid::from_raw(pid))?;
    }
    Ok(Restored { root: root.to_path_buf(), id: id.as_str().into(), pid: Pid::from_raw(pid) })
}

/// Wait for a restored container's process, delete the container, and return
/// the exit status as a shell reports it.
pub fn wait_restored(r: Restored) -> i32 {
    let code = loop {
        match waitpid(r.pid, None) {
            Ok(WaitStatus::Exited(_, c)) => break c,
            Ok(WaitStatus::Signaled(_, s, _)) => break 128 + s as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break 255,
        }
    };
    let _ = super::delete(&r.root, &r.id, true);
    code
}

/// The options every CRIU action gets from runc's shared flags.
fn common_args(action: &str, c: &CriuCommon) -> Vec<String> {
    let mut a: Vec<String> = vec![action.into(), "--images-dir".into(), c.image_path.display().to_string()];
    a.extend(["--work-dir".into(), c.work_path.display().to_string()]);
    a.extend(["--log-file".into(), format!("{action}.log"), "-v4".into()]);
    let flags = [
        (c.tcp_established, "--tcp-established"),
        (c.ext_unix_sk, "--ext-unix-sk"),
        (c.shell_job, "--shell-job"),
        (c.file_locks, "--file-locks"),
        (c.auto_dedup, "--auto-dedup"),
        (c.lazy_pages, "--lazy-pages"),
    ];
    a.extend(flags.iter().filter(|(on, _)| *on).map(|(_, f)| f.to_string()));
    a.push(format!("--manage-cgroups={}", c.manage_cgroups_mode.as_deref().unwrap_or("soft")));
    for ns in &c.empty_ns {
        a.extend(["--empty-ns".into(), ns.clone()]);
    }
    a
}

/// Bind mounts are external to CRIU: it records them by their destination on
/// dump and needs their source again on restore (runc's `addCriuDumpMount` /
/// `addCriuRestoreMount`).
fn ext_mounts(config: &oci_spec::runtime::Spec, restore: bool) -> Vec<String> {
    let mut out = Vec::new();
    for m in config.mounts().iter().flatten() {
        let bind =
            m.typ().as_deref() == Some("bind") || m.options().iter().flatten().any(|o| o == "bind" || o == "rbind");
        if !bind {
            continue;
        }
        let dst = m.destination().display().to_string();
        let val = match (restore, m.source()) {
            (true, Some(src)) => format!("{dst}:{}", src.display()),
            _ => format!("{dst}:{dst}"),
        };
        out.extend(["--ext-mount-map".into(), val]);
    }
    out
}

/// Where the container's stdio pointed, saved beside the images (runc's
/// descriptors.json: a JSON array of the fd 0-2 link targets).
fn write_descriptors(images: &Path, pid: i32) -> Result<(), Cause> {
    let links: Vec<String> = (0..3)
        .map(|fd| fs::read_link(format!("/proc/{pid}/fd/{fd}")).map(|p| p.display().to_string()).unwrap_or_default())
        .collect();
    let path = images.join("descriptors.json");
    let text = serde_json::to_vec(&links).map_err(Cause::Json)?;
    fs::write(&path, text).map_err(|source| Cause::Io { what: "write", path, source })
}

/// `--inherit-fd` for each saved stdio target that is a pipe or socket: the
/// restored process gets our fd 0-2 in its place (as runc's restore does).
fn inherit_stdio(images: &Path) -> Vec<String> {
    let Ok(text) = fs::read(images.join("descriptors.json")) else { return Vec::new() };
    let links: Vec<String> = serde_json::from_slice(&text).unwrap_or_default();
    let mut out = Vec::new();
    for (fd, link) in links.iter().enumerate().take(3) {
        if link.starts_with("pipe:") || link.starts_with("socket:") {
            out.extend(["--inherit-fd".into(), format!("fd[{fd}]:{link}")]);
        }
    }
    out
}

fn freezer_path(st: &State) -> Option<String> {
    let cg = cgroups::open(&st.cgroup).ok()?;
    cg.paths().into_iter().find(|p| p.components().any(|c| c.as_os_str() == "freezer")).map(|p| p.display().to_string())
}

/// CRIU is there and new enough (runc checks the same before each action).
fn check_criu(criu: &Path) -> Result<(), Cause> {
    let out = Command::new(criu).arg("--version").output().map_err(|e| {
        Cause::Criu(if e.kind() == std::io::ErrorKind::NotFound {
            format!("CRIU version check failed: {criu:?} not found (install criu, or pass --criu PATH)")
        } else {
            format!("CRIU version check failed: run {criu:?}: {e}")
        })
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.lines().find_map(|l| l.strip_prefix("Version:")).map(str::trim).unwrap_or_default();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if !out.status.success() || have < CRIU_MIN_VERSION {
        return Err(Cause::Criu(format!(
            "CRIU version check failed: {criu:?} reports {:?}; berth needs CRIU 3.0 or newer",
            text.trim()
        )));
    }
    Ok(())
}

/// Run CRIU; on failure the error names the log and CRIU's last error line.
fn run_criu(c: &CriuCommon, action: &str, args: &[String]) -> Result<(), Cause> {
    let out = Command::new(&c.criu).args(args).output().map_err(|e| Cause::Criu(format!("run {:?}: {e}", c.criu)))?;
    if out.status.success() {
        return Ok(());
    }
    let log = c.work_path.join(format!("{action}.log"));
    let last = fs::read_to_string(&log)
        .ok()
        .and_then(|t| t.lines().rev().find(|l| l.contains("Error")).map(|l| l.trim().to_string()))
        .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_string());
    Err(Cause::Criu(format!(
        "criu failed: type {} ({}); log file: {}: {last}",
        action.to_uppercase(),
        out.status,
        log.display()
    )))
}
