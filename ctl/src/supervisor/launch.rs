//! One start of the container: the bundle written, the rootfs mounted, the
//! container's stdio made (pipes, or a pty whose master the runtime sends to
//! our console socket), `<runtime> create` run and its pid read.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::config::Config;
use crate::container::bundle::{self, BundlePaths};
use crate::container::record::Container;
use crate::container::runtime::{self, Runtime, RuntimeError};
use crate::container::{Layout, rootfs};
use crate::network;

/// The container's end of stdio as the supervisor holds it.
pub(crate) enum ContainerIo {
    Pipes { stdin: Option<File>, stdout: File, stderr: File },
    Tty { master: File },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LaunchError {
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error(transparent)]
    Volume(#[from] crate::volume::attach::AttachError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    #[error("{what} {path:?}")]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("runtime create {id}: no pty master on the console socket within 10s")]
    NoConsole { id: String },
}

impl LaunchError {
    /// docker's exit code for this failure (126/127 for the command, else 125).
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            LaunchError::Runtime(e) => e.exit_code(),
            _ => 125,
        }
    }
}

fn io_err(what: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> LaunchError {
    let path = path.to_path_buf();
    move |source| LaunchError::Io { what, path, source }
}

/// Mount the rootfs and write config.json and the /etc files; the
/// container's volumes are mounted (driver options), filled (copy-up) and
/// added to the spec's mounts.
pub(crate) fn prepare(config: &Config, c: &Container, layout: &Layout) -> Result<(), LaunchError> {
    rootfs::mount_overlay(&c.lower_dirs, &layout.upper(), &layout.work(), &layout.rootfs())?;
    bundle::ensure_workdir(&layout.rootfs(), &c.config.working_dir)?;
    bundle::write_etc_files(&layout.dir, &c.config.hostname, c.host_config.network_mode == "host")?;
    let volumes = crate::volume::attach::mounts_for(&config.data_root, &c.id, &c.mount_points, &layout.rootfs())?;
    // The network's hosts and resolv.conf replace the ones just written;
    // it is set up last, and undone if the spec cannot be made.
    let who = network::container::Identity { id: &c.id, name: &c.name, hostname: &c.config.hostname };
    let netns = match network::start(config, who, &layout.dir)? {
        network::container::Namespace::Path(p) => Some(p),
        network::container::Namespace::Host => None,
    };
    let paths = BundlePaths {
        rootfs: &layout.rootfs(),
        dir: &layout.dir,
        cgroup_v2: crate::container::is_cgroup_v2(),
        netns: netns.as_deref(),
    };
    let mut spec = match bundle::spec(c, &paths) {
        Ok(spec) => spec,
        Err(e) => {
            if let Err(undo) = network::stop(config, &c.id) {
                tracing::warn!(error = %undo, "network teardown after a failed spec");
            }
            return Err(e.into());
        }
    };
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        // A user mount replaces a default one at the same place (docker's
        // rule: `-v /x:/etc/hosts` wins over the generated hosts file).
        mounts.retain(|m| !volumes.iter().any(|v| v["destination"] == m["destination"]));
        mounts.extend(volumes);
    }
    let path = layout.dir.join("config.json");
    // A serde_json::Value always serializes.
    let text = serde_json::to_vec_pretty(&spec).expect("a JSON value serializes");
    std::fs::write(&path, text).map_err(io_err("write", &path))
}

/// `<runtime> create` with the container's stdio; returns our ends and the
/// container's pid.
pub(crate) fn create(c: &Container, layout: &Layout, rt: &Runtime) -> Result<(ContainerIo, i32), LaunchError> {
    let log = layout.runtime_log();
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(layout.pid_file());
    let mut cmd = rt.command(Some(&log));
    cmd.arg("create").arg("--bundle").arg(&layout.dir).arg("--pid-file").arg(layout.pid_file());
    let console = if c.config.tty {
        let sock = layout.console_socket();
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).map_err(io_err("bind console socket", &sock))?;
        cmd.arg("--console-socket").arg(&sock);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        Some(listener)
    } else {
        None
    };
    let mut ours = None;
    if console.is_none() {
        let (out_r, out_w) = nix::unistd::pipe().map_err(|e| LaunchError::Io {
            what: "pipe",
            path: layout.dir.clone(),
            source: e.into(),
        })?;
        let (err_r, err_w) = nix::unistd::pipe().map_err(|e| LaunchError::Io {
            what: "pipe",
            path: layout.dir.clone(),
            source: e.into(),
        })?;
        let stdin = if c.config.open_stdin {
            let (in_r, in_w) = nix::unistd::pipe().map_err(|e| LaunchError::Io {
                what: "pipe",
                path: layout.dir.clone(),
                source: e.into(),
            })?;
            cmd.stdin(Stdio::from(in_r));
            Some(File::from(in_w))
        } else {
            cmd.stdin(Stdio::null());
            None
        };
        cmd.stdout(Stdio::from(out_w)).stderr(Stdio::from(err_w));
        ours = Some(ContainerIo::Pipes { stdin, stdout: File::from(out_r), stderr: File::from(err_r) });
    }
    cmd.arg(&c.id);
    let status =
        cmd.status().map_err(|source| RuntimeError::Spawn { runtime: rt.path.clone(), verb: "create", source })?;
    drop(cmd); // closes the container's ends we passed
    if !status.success() {
        let message = std::fs::read(&log)
            .ok()
            .and_then(|l| runtime::log_message(&l))
            .unwrap_or_else(|| format!("exited with {status}"));
        return Err(RuntimeError::Failed { verb: "create", id: c.id.clone(), message }.into());
    }
    if let Some(listener) = console {
        let master = receive_master(&listener, &c.id)?;
        let _ = std::fs::remove_file(layout.console_socket());
        ours = Some(ContainerIo::Tty { master: File::from(master) });
    }
    let pid_text = std::fs::read_to_string(layout.pid_file()).map_err(io_err("read pid file", &layout.pid_file()))?;
    let pid = pid_text.trim().parse().map_err(|_| LaunchError::Io {
        what: "parse pid file",
        path: layout.pid_file(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, pid_text.clone()),
    })?;
    // `ours` is Some on both branches above.
    Ok((ours.expect("stdio set up on every branch"), pid))
}

/// Accept the runtime's connection and take the pty master from it.
fn receive_master(listener: &UnixListener, id: &str) -> Result<OwnedFd, LaunchError> {
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    let timeout = PollTimeout::try_from(Duration::from_secs(10)).unwrap_or(PollTimeout::MAX);
    let ready = poll(&mut fds, timeout).unwrap_or(0);
    if ready == 0 {
        return Err(LaunchError::NoConsole { id: id.to_string() });
    }
    let (conn, _) = listener.accept().map_err(|source| LaunchError::Io {
        what: "accept on console socket",
        path: id.into(),
        source,
    })?;
    crate::sys::recv_fd(&conn).map_err(|source| LaunchError::Io { what: "receive pty master", path: id.into(), source })
}
