//! The parent's side of starting a supervisor: spawn `berthctl __supervise`
//! detached (it makes its own session), then the handshake over its stdin
//! and stdout: wait for "created", let the caller attach, say "start", wait
//! for "started". A failure arrives as "error <exit code> <message>".

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::config::Config;
use crate::container::Layout;

/// A failure to start the container's process, with docker's exit code
/// (126 not executable, 127 not found, 125 otherwise).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct StartError {
    pub code: i32,
    pub message: String,
}

pub(crate) struct Launched {
    child: Child,
    to_sup: ChildStdin,
    from_sup: BufReader<ChildStdout>,
}

/// Spawn the supervisor for container `id` and wait until the container is
/// created (not yet started).
pub(crate) fn spawn(config: &Config, runtime: &std::path::Path, id: &str) -> anyhow::Result<Launched> {
    let layout = Layout::new(config, id);
    let log_path = layout.supervisor_log();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| anyhow::anyhow!("open supervisor log {log_path:?}: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| anyhow::anyhow!("find berthctl's own path: {e}"))?;
    let mut child = Command::new(exe)
        .arg("--data-root")
        .arg(&config.data_root)
        .arg("--runroot")
        .arg(&config.runroot)
        .arg("--runtime")
        .arg(runtime)
        .arg("__supervise")
        .arg(id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| anyhow::anyhow!("spawn supervisor for {id}: {e}"))?;
    let (Some(to_sup), Some(from_sup)) = (child.stdin.take(), child.stdout.take()) else {
        anyhow::bail!("supervisor for {id}: no stdio pipes");
    };
    let mut l = Launched { child, to_sup, from_sup: BufReader::new(from_sup) };
    l.expect("created", &log_path)?;
    Ok(l)
}

impl Launched {
    fn expect(&mut self, word: &str, log: &std::path::Path) -> anyhow::Result<()> {
        let mut line = String::new();
        let n = self.from_sup.read_line(&mut line).map_err(|e| anyhow::anyhow!("read from supervisor: {e}"))?;
        let line = line.trim_end();
        if n == 0 {
            let status = self.child.wait().ok();
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            let last = tail.lines().last().unwrap_or("no message").to_string();
            anyhow::bail!("supervisor exited ({status:?}) before {word:?}: {last}");
        }
        if line == word {
            return Ok(());
        }
        if let Some(rest) = line.strip_prefix("error ") {
            let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
            return Err(StartError { code: code.parse().unwrap_or(125), message: message.to_string() }.into());
        }
        anyhow::bail!("supervisor said {line:?}, expected {word:?}")
    }

    /// Tell the supervisor to start the container and wait until it has.
    pub(crate) fn start(mut self, config: &Config, id: &str) -> anyhow::Result<()> {
        self.to_sup.write_all(b"start\n").map_err(|e| anyhow::anyhow!("tell supervisor to start: {e}"))?;
        let log = Layout::new(config, id).supervisor_log();
        self.expect("started", &log)
    }
}
