//! The OCI runtime as a program: `<runtime> --root <runroot>/runtime <verb>`,
//! runc's command line, so berth, runc and crun all fit. Errors carry the
//! runtime's own message (from `--log` JSON or stderr), which is what docker
//! shows too.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RuntimeError {
    #[error("run {runtime:?} {verb}")]
    Spawn {
        runtime: PathBuf,
        verb: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("runtime {verb} {id}: {message}")]
    Failed { verb: &'static str, id: String, message: String },
    #[error("write the resources for the runtime's update (memfd)")]
    Resources {
        #[source]
        source: std::io::Error,
    },
    #[error("runtime state {id}: unreadable output {output:?}")]
    BadState { id: String, output: String },
}

impl RuntimeError {
    /// docker's exit code for a failure to run the container's process:
    /// 127 when the command is missing, 126 when it cannot be executed,
    /// 125 for anything else.
    pub(crate) fn exit_code(&self) -> i32 {
        let RuntimeError::Failed { message, .. } = self else { return 125 };
        // runc/berth: `exec: "x": executable file not found in $PATH`;
        // crun: "executable file `x` not found in $PATH: No such file or directory",
        // "open executable: Permission denied".
        let m = message.to_ascii_lowercase();
        if (m.contains("executable file") && m.contains("not found")) || m.contains("no such file or directory") {
            127
        } else if m.contains("permission denied") || m.contains("is a directory") {
            126
        } else {
            125
        }
    }
}

/// The runtime's view of a container (`state` output, the fields we use).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RuntimeState {
    pub status: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Runtime {
    pub path: PathBuf,
    pub root: PathBuf,
}

impl Runtime {
    pub(crate) fn new(path: &Path, runroot: &Path) -> Runtime {
        Runtime { path: path.to_path_buf(), root: runroot.join("runtime") }
    }

    /// `<runtime> --root R` with optional `--log FILE --log-format json`.
    pub(crate) fn command(&self, log: Option<&Path>) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.arg("--root").arg(&self.root);
        if let Some(log) = log {
            cmd.arg("--log").arg(log).arg("--log-format").arg("json");
        }
        cmd
    }

    /// Run a verb that prints nothing we need; stderr becomes the error.
    fn simple(&self, verb: &'static str, id: &str, extra: &[&str]) -> Result<(), RuntimeError> {
        let out = self
            .command(None)
            .arg(verb)
            .args(extra)
            .arg(id)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RuntimeError::Spawn { runtime: self.path.clone(), verb, source })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(RuntimeError::Failed { verb, id: id.to_string(), message: stderr_message(&out.stderr) })
        }
    }

    pub(crate) fn kill(&self, id: &str, signal: &str) -> Result<(), RuntimeError> {
        let out = self
            .command(None)
            .args(["kill", id, signal])
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RuntimeError::Spawn { runtime: self.path.clone(), verb: "kill", source })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(RuntimeError::Failed { verb: "kill", id: id.to_string(), message: stderr_message(&out.stderr) })
        }
    }

    pub(crate) fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        self.simple("delete", id, if force { &["--force"] } else { &[] })
    }

    pub(crate) fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        self.simple("pause", id, &[])
    }

    pub(crate) fn resume(&self, id: &str) -> Result<(), RuntimeError> {
        self.simple("resume", id, &[])
    }

    /// `update --resources FILE`: new limits for a live container, as a
    /// `linux.resources` document. A file rather than stdin (`-`), which
    /// not every runtime reads; runc, crun and berth all leave a field that
    /// is absent or 0 as it was. The file is a memfd, named to the runtime
    /// by our /proc entry: nothing on disk for a kill -9 to leave behind.
    pub(crate) fn update(&self, id: &str, resources: &serde_json::Value) -> Result<(), RuntimeError> {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let fd = nix::sys::memfd::memfd_create(c"berthctl-update", nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC)
            .map_err(|e| RuntimeError::Resources { source: e.into() })?;
        let mut file = std::fs::File::from(fd);
        file.write_all(resources.to_string().as_bytes()).map_err(|source| RuntimeError::Resources { source })?;
        let path = format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd());
        self.simple("update", id, &["--resources", &path])
    }

    /// The runtime's state, or None when it does not know the container.
    pub(crate) fn state(&self, id: &str) -> Result<Option<RuntimeState>, RuntimeError> {
        let out = self
            .command(None)
            .args(["state", id])
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RuntimeError::Spawn { runtime: self.path.clone(), verb: "state", source })?;
        if !out.status.success() {
            let message = stderr_message(&out.stderr);
            if message.contains("does not exist") || message.contains("not found") || message.contains("No such") {
                return Ok(None);
            }
            return Err(RuntimeError::Failed { verb: "state", id: id.to_string(), message });
        }
        serde_json::from_slice(&out.stdout).map(Some).map_err(|_| RuntimeError::BadState {
            id: id.to_string(),
            output: String::from_utf8_lossy(&out.stdout).into(),
        })
    }

    /// Pids of every process of the container (`ps --format json`).
    pub(crate) fn pids(&self, id: &str) -> Result<Vec<i32>, RuntimeError> {
        let out = self
            .command(None)
            .args(["ps", "--format", "json", id])
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RuntimeError::Spawn { runtime: self.path.clone(), verb: "ps", source })?;
        if !out.status.success() {
            return Err(RuntimeError::Failed { verb: "ps", id: id.to_string(), message: stderr_message(&out.stderr) });
        }
        serde_json::from_slice(&out.stdout).map_err(|_| RuntimeError::BadState {
            id: id.to_string(),
            output: String::from_utf8_lossy(&out.stdout).into(),
        })
    }
}

/// The runtime's last error: the `msg` of the last JSON line whose level is
/// error (runc's `--log-format json`), else the last non-empty line.
pub(crate) fn log_message(log: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(log);
    let mut last = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) if v["level"] == "error" => last = v["msg"].as_str().map(str::to_string),
            Ok(_) => {}
            Err(_) => last = Some(line.trim().to_string()),
        }
    }
    last
}

fn stderr_message(stderr: &[u8]) -> String {
    log_message(stderr).unwrap_or_else(|| "failed with no message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_error_line_of_json_log() {
        let log = b"{\"level\":\"info\",\"msg\":\"x\"}\n{\"level\":\"error\",\"msg\":\"exec: \\\"nope\\\": executable file not found in $PATH\"}\n";
        let msg = log_message(log).unwrap();
        assert!(msg.starts_with("exec: \"nope\""));
        let e = RuntimeError::Failed { verb: "create", id: "x".into(), message: msg };
        assert_eq!(e.exit_code(), 127);
    }

    #[test]
    fn permission_denied_is_126() {
        let e =
            RuntimeError::Failed { verb: "start", id: "x".into(), message: "exec: \"/etc\": permission denied".into() };
        assert_eq!(e.exit_code(), 126);
        let crun = RuntimeError::Failed {
            verb: "create",
            id: "x".into(),
            message: "open executable: Permission denied".into(),
        };
        assert_eq!(crun.exit_code(), 126);
        let crun = RuntimeError::Failed {
            verb: "create",
            id: "x".into(),
            message: "executable file `nope` not found in $PATH: No such file or directory".into(),
        };
        assert_eq!(crun.exit_code(), 127);
        let e = RuntimeError::Failed { verb: "start", id: "x".into(), message: "cgroup: oops".into() };
        assert_eq!(e.exit_code(), 125);
    }
}
