//! One start of the container from the bundle berthctl prepared: the
//! container's stdio made (pipes, or a pty whose master the runtime sends to
//! our console socket), `<runtime> run --detach` run (create and start in one
//! runtime process: runc, crun and berth all have it) and its pid read; and
//! `<runtime> delete` after each exit. The attach clients that must see the
//! first byte of output are connected before (`main.rs`).

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::args::Args;

/// The container's end of stdio as the supervisor holds it.
pub(crate) enum ContainerIo {
    Pipes { stdin: Option<File>, stdout: File, stderr: File },
    Tty { master: File },
}

/// Why a start failed, for berthctl to record and report (it reads the
/// runtime's message from `output` and picks docker's exit code).
#[derive(Debug)]
pub(crate) struct Failure {
    pub verb: &'static str,
    pub detail: Detail,
}

#[derive(Debug)]
pub(crate) enum Detail {
    /// The runtime failed; its `--log` JSON or stderr is in this file.
    Output(PathBuf),
    /// Something of ours failed.
    Message(String),
}

fn ours(verb: &'static str, what: &str, e: impl std::fmt::Display) -> Failure {
    Failure { verb, detail: Detail::Message(format!("{what}: {e}")) }
}

fn runtime(a: &Args, log: Option<&Path>) -> Command {
    let mut cmd = Command::new(&a.runtime);
    cmd.arg("--root").arg(&a.runtime_root);
    if let Some(log) = log {
        cmd.arg("--log").arg(log).arg("--log-format").arg("json");
    }
    cmd
}

fn pipe(verb: &'static str) -> Result<(OwnedFd, OwnedFd), Failure> {
    nix::unistd::pipe().map_err(|e| ours(verb, "pipe", e))
}

/// `<runtime> run --detach` with the container's stdio; our ends and its
/// pid. A failure is reported as create's, as docker names it ("OCI runtime
/// create failed").
pub(crate) fn run(a: &Args) -> Result<(ContainerIo, i32), Failure> {
    let log = a.run.join("runtime.log");
    let pid_file = a.run.join("pid");
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(&pid_file);
    let mut cmd = runtime(a, Some(&log));
    cmd.arg("run").arg("--detach").arg("--bundle").arg(&a.bundle).arg("--pid-file").arg(&pid_file);
    let mut io = None;
    let console = if a.tty {
        let sock = a.run.join("console");
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).map_err(|e| ours("create", &format!("bind {sock:?}"), e))?;
        cmd.arg("--console-socket").arg(&sock);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        Some(listener)
    } else {
        let (out_r, out_w) = pipe("create")?;
        let (err_r, err_w) = pipe("create")?;
        let stdin = if a.stdin {
            let (in_r, in_w) = pipe("create")?;
            cmd.stdin(Stdio::from(in_r));
            Some(File::from(in_w))
        } else {
            cmd.stdin(Stdio::null());
            None
        };
        cmd.stdout(Stdio::from(out_w)).stderr(Stdio::from(err_w));
        io = Some(ContainerIo::Pipes { stdin, stdout: File::from(out_r), stderr: File::from(err_r) });
        None
    };
    cmd.arg(&a.id);
    let status = cmd.status().map_err(|e| ours("create", &format!("run {:?} run", a.runtime), e))?;
    drop(cmd); // closes the container's ends we passed
    if !status.success() {
        return Err(Failure { verb: "create", detail: Detail::Output(log) });
    }
    if let Some(listener) = console {
        let master = receive_master(&listener, &a.id)?;
        let _ = std::fs::remove_file(a.run.join("console"));
        io = Some(ContainerIo::Tty { master: File::from(master) });
    }
    let text = std::fs::read_to_string(&pid_file).map_err(|e| ours("create", &format!("read {pid_file:?}"), e))?;
    let pid = text.trim().parse().map_err(|_| ours("create", &format!("parse {pid_file:?}"), text.trim()))?;
    // `io` is Some on both branches above.
    Ok((io.expect("stdio set up on every branch"), pid))
}

/// Accept the runtime's connection and take the pty master from it.
fn receive_master(listener: &UnixListener, id: &str) -> Result<OwnedFd, Failure> {
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    let timeout = PollTimeout::try_from(Duration::from_secs(10)).unwrap_or(PollTimeout::MAX);
    if poll(&mut fds, timeout).unwrap_or(0) == 0 {
        return Err(Failure {
            verb: "create",
            detail: Detail::Message(format!("runtime create {id}: no pty master on the console socket within 10s")),
        });
    }
    let (conn, _) = listener.accept().map_err(|e| ours("create", "accept on console socket", e))?;
    crate::sys::recv_fd(&conn).map_err(|e| ours("create", "receive pty master", e))
}

/// `<runtime> delete --force`, as after every run.
pub(crate) fn delete(a: &Args) {
    let res = runtime(a, None)
        .arg("delete")
        .arg("--force")
        .arg(&a.id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match res {
        Ok(out) if !out.status.success() => {
            eprintln!("runtime delete {}: {}", a.id, String::from_utf8_lossy(&out.stderr).trim());
        }
        Err(e) => eprintln!("run {:?} delete: {e}", a.runtime),
        Ok(_) => {}
    }
}
