//! The parent's side of starting a supervisor: prepare the bundle (rootfs,
//! volumes, network, config.json), bind the attach socket and, to attach,
//! connect to it (so no output is missed: the supervisor takes the queued
//! connection before it starts the container), spawn `berthctl-supervise`
//! detached (it makes its own session) with the socket, then the handshake
//! over its stdin and stdout: wait for "started <pid>" (the supervisor ran
//! `<runtime> run --detach`: one runtime process, not create + start),
//! record the container running, say "recorded" (only then may the
//! supervisor record an exit). A failure arrives as "error <exit code>
//! <message>", after the supervisor's hook recorded it.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::config::Config;
use crate::container::record::{Container, ProcessId};
use crate::container::runtime::Runtime;
use crate::container::store::Store;
use crate::container::{Layout, health, process_start_time};

use super::client::{self, AttachOpts};
use super::logfile::Rotation;

/// The supervisor's program, installed beside berthctl.
pub(crate) const SUPERVISOR: &str = "berthctl-supervise";

/// A failure to start the container's process, with docker's exit code
/// (126 not executable, 127 not found, 125 otherwise).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct StartError {
    pub code: i32,
    pub message: String,
}

/// docker's status for a container that could not start, from the error's
/// Go text (moby's translateContainerdStartErr, the CLI's runStartContainerErr):
/// 127 for a missing file, 126 for a denied or directory one, else 125.
pub(crate) fn start_error_code(message: &str) -> i32 {
    if ["executable file not found", "no such file or directory"].iter().any(|t| message.contains(t)) {
        127
    } else if ["permission denied", "is a directory"].iter().any(|t| message.contains(t)) {
        126
    } else {
        125
    }
}

struct Launched {
    child: Child,
    from_sup: BufReader<ChildStdout>,
    log: PathBuf,
}

/// `berthctl-supervise` beside our own binary (the two are built and
/// installed together), else on PATH.
fn supervisor_path() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf))
        && dir.join(SUPERVISOR).is_file()
    {
        return Ok(dir.join(SUPERVISOR));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(SUPERVISOR))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow::anyhow!("{SUPERVISOR} not found next to berthctl or on PATH (make build installs both)"))
}

/// Prepare container `c`, spawn its supervisor and wait until the container
/// runs; the record says so, with its pid. With `attach`, the connection to
/// the attach socket, made before the container started.
pub(crate) fn spawn(
    config: &Config,
    rt: &Runtime,
    c: &Container,
    attach: Option<&AttachOpts>,
) -> anyhow::Result<Option<UnixStream>> {
    let layout = Layout::new(config, &c.id);
    let mut store = Store::open(&config.data_root)?;
    let fail = |store: &mut Store, message: String| {
        let code = start_error_code(&message);
        super::failed(config, store, &c.id, code, &message);
        anyhow::Error::new(StartError { code, message })
    };
    if let Err(e) = super::launch::prepare(config, c, &layout) {
        return Err(fail(&mut store, crate::cli::error_chain(&anyhow::Error::new(e))));
    }
    let (mut child, sock) = match start_supervisor(config, rt, c, &layout, attach) {
        Ok(v) => v,
        Err(e) => return Err(fail(&mut store, crate::cli::error_chain(&e))),
    };
    let (Some(mut to_sup), Some(from_sup)) = (child.stdin.take(), child.stdout.take()) else {
        anyhow::bail!("supervisor for {}: no stdio pipes", c.id);
    };
    let mut l = Launched { child, from_sup: BufReader::new(from_sup), log: layout.supervisor_log() };
    let pid = match l.expect("started") {
        Ok(pid) => pid,
        Err(Lost(e)) => {
            // The runtime may have made it before the supervisor went.
            let _ = rt.delete(&c.id, true);
            return Err(fail(&mut store, e));
        }
        Err(Said(e)) => return Err(e),
    };
    crate::testhook::fault("run:started");
    let sup = l.child.id() as i32;
    let sup = ProcessId { pid: sup, start_time: process_start_time(sup).unwrap_or(0) };
    // Recorded before "recorded", so the supervisor's exit hook always comes
    // after (should we die first, the supervisor records it).
    super::record_running(&mut store, &c.id, pid.parse().unwrap_or(0), Some(sup))?;
    to_sup.write_all(b"recorded\n").map_err(|e| anyhow::anyhow!("tell supervisor {}: {e}", c.id))?;
    Ok(sock)
}

/// Bind the attach socket, connect to it when attaching, and spawn the
/// supervisor with the listening socket as an inherited descriptor.
fn start_supervisor(
    config: &Config,
    rt: &Runtime,
    c: &Container,
    layout: &Layout,
    attach: Option<&AttachOpts>,
) -> anyhow::Result<(Child, Option<UnixStream>)> {
    std::fs::create_dir_all(&layout.run).map_err(|e| anyhow::anyhow!("create {:?}: {e}", layout.run))?;
    let path = layout.attach_socket();
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).map_err(|e| anyhow::anyhow!("bind attach socket {path:?}: {e}"))?;
    let sock = match attach {
        Some(opts) => Some(client::connect(&path, opts).map_err(|e| anyhow::anyhow!("attach to {}: {e}", c.id))?),
        None => None,
    };
    let mut cmd = supervisor_command(config, rt, c, layout)?;
    cmd.arg("--attach-fd").arg(listener.as_raw_fd().to_string());
    // The supervisor inherits the listener: not close-on-exec for this
    // spawn (berthctl starts no other process meanwhile); our copy closes
    // when `listener` drops.
    nix::fcntl::fcntl(listener.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()))
        .map_err(|e| anyhow::anyhow!("attach socket {path:?}: {e}"))?;
    let child = cmd.spawn().map_err(|e| anyhow::anyhow!("spawn supervisor for {}: {e}", c.id))?;
    Ok((child, sock))
}

/// `berthctl-supervise` with what it needs to know about `c`.
fn supervisor_command(config: &Config, rt: &Runtime, c: &Container, layout: &Layout) -> anyhow::Result<Command> {
    let log_path = layout.supervisor_log();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| anyhow::anyhow!("open supervisor log {log_path:?}: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| anyhow::anyhow!("find berthctl's own path: {e}"))?;
    let mut cmd = Command::new(supervisor_path()?);
    cmd.arg("--id").arg(&c.id);
    cmd.arg("--bundle").arg(&layout.dir).arg("--run").arg(&layout.run);
    cmd.arg("--runtime").arg(&rt.path).arg("--runtime-root").arg(&rt.root);
    cmd.arg("--berthctl").arg(exe).arg("--data-root").arg(&config.data_root).arg("--runroot").arg(&config.runroot);
    if c.host_config.log_config.kind != "none" {
        let r = Rotation::from_opts(&c.host_config.log_config.config)
            .unwrap_or(Rotation { max_size: 10 << 20, max_files: 3 });
        cmd.arg("--log").arg(layout.log_file());
        cmd.arg("--log-max-size").arg(r.max_size.to_string()).arg("--log-max-files").arg(r.max_files.to_string());
    }
    if let Some(h) = c.config.healthcheck.as_ref().filter(|h| health::probe_args(Some(h)).is_some()) {
        let [interval, timeout, start_period, retries] = health::schedule(h);
        cmd.arg("--health-process").arg(layout.run.join(health::PROCESS_FILE));
        cmd.arg("--health-interval").arg(interval.to_string()).arg("--health-timeout").arg(timeout.to_string());
        cmd.arg("--health-start-period").arg(start_period.to_string()).arg("--health-retries").arg(retries.to_string());
    }
    if c.config.tty {
        cmd.arg("--tty");
    }
    if c.config.open_stdin {
        cmd.arg("--stdin");
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::from(log));
    Ok(cmd)
}

/// How a handshake step went wrong.
enum HandshakeError {
    /// The supervisor reported a failure (and recorded it): pass it on.
    Said(anyhow::Error),
    /// The supervisor went away or spoke nonsense: nobody recorded anything.
    Lost(String),
}
use HandshakeError::{Lost, Said};

impl Launched {
    /// Read the next line; `word` or `word <rest>` gives the rest.
    fn expect(&mut self, word: &str) -> Result<String, HandshakeError> {
        let mut line = String::new();
        let n = self.from_sup.read_line(&mut line).map_err(|e| Lost(format!("read from supervisor: {e}")))?;
        let line = line.trim_end();
        if n == 0 {
            let status = self.child.wait().ok();
            let tail = std::fs::read_to_string(&self.log).unwrap_or_default();
            let last = tail.lines().last().unwrap_or("no message").to_string();
            return Err(Lost(format!("supervisor exited ({status:?}) before {word:?}: {last}")));
        }
        if line == word {
            return Ok(String::new());
        }
        if let Some(rest) = line.strip_prefix(word).and_then(|r| r.strip_prefix(' ')) {
            return Ok(rest.to_string());
        }
        if let Some(rest) = line.strip_prefix("error ") {
            let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
            let e = StartError { code: code.parse().unwrap_or(125), message: message.to_string() };
            return Err(Said(e.into()));
        }
        Err(Lost(format!("supervisor said {line:?}, expected {word:?}")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn start_errors_map_to_dockers_statuses() {
        use super::start_error_code;
        assert_eq!(start_error_code("exec: \"x\": executable file not found in $PATH"), 127);
        assert_eq!(start_error_code("error gathering device information: no such file or directory"), 127);
        assert_eq!(start_error_code("exec /etc: is a directory"), 126);
        assert_eq!(start_error_code("cgroup: write failed"), 125);
    }
}
