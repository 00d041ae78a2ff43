//! OCI hooks: run a hook program with the container's state JSON on stdin, its own
//! args and env, and an optional timeout (config.md "POSIX-platform Hooks").

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use oci_spec::runtime::Hook;

/// How much of a hook's stdout and of its stderr is kept for the error message;
/// the rest is read and dropped, so a chatty hook neither blocks on a full pipe
/// nor grows berth's memory.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// Messages as runc's (libcontainer/configs/config.go), which harnesses match on:
/// `error running createRuntime hook #1: error running hook: exit status 1,
/// stdout: …, stderr: …`.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("error running {kind} hook #{index}: start {path:?}")]
    Spawn {
        kind: &'static str,
        index: usize,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("error running {kind} hook #{index}: error running hook: {status}, stdout: {stdout}, stderr: {stderr}")]
    Failed { kind: &'static str, index: usize, status: String, stdout: String, stderr: String },
    #[error("error running {kind} hook #{index}: hook ran past specified timeout of {secs}.0s")]
    Timeout { kind: &'static str, index: usize, secs: i64 },
}

/// Run `hooks` of `kind` in order; the first failure stops the rest.
pub fn run_all(kind: &'static str, hooks: Option<&Vec<Hook>>, state_json: &[u8]) -> Result<(), HookError> {
    for (index, hook) in hooks.map(|h| h.as_slice()).unwrap_or_default().iter().enumerate() {
        run_one(kind, index, hook, state_json)?;
    }
    Ok(())
}

/// Run every hook of `kind`, logging a warning for each that fails: for poststart
/// and poststop, whose failures "MUST log a warning, but the remaining hooks and
/// lifecycle continue as if the hook had succeeded" (runtime.md, Lifecycle).
pub fn run_all_warn(id: &str, kind: &'static str, hooks: &[Hook], state_json: &[u8]) {
    for (index, hook) in hooks.iter().enumerate() {
        if let Err(e) = run_one(kind, index, hook, state_json) {
            tracing::warn!(id, error = %e, "hook failed");
        }
    }
}

/// Read what the pipe holds without blocking, keeping up to [`OUTPUT_LIMIT`];
/// false once it is closed.
fn drain<R: Read>(pipe: &mut R, kept: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 8192];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
}

fn run_one(kind: &'static str, index: usize, hook: &Hook, state_json: &[u8]) -> Result<(), HookError> {
    let path = hook.path().clone();
    tracing::debug!(kind, index, path = ?path, "hook");
    let mut cmd = Command::new(&path);
    let args = hook.args().as_deref().unwrap_or_default();
    if let Some(argv0) = args.first() {
        cmd.arg0(argv0);
        cmd.args(&args[1..]);
    }
    cmd.env_clear();
    for e in hook.env().as_deref().unwrap_or_default() {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    crate::sys::process::unblock_signals_in_child(&mut cmd);
    let spawn_err = |source| HookError::Spawn { kind, index, path: path.clone(), source };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(stdin) = child.stdin.take() {
        write_state(stdin, state_json);
    }
    let (mut out_pipe, mut out_kept) = (child.stdout.take(), Vec::new());
    let mut err_pipe = child.stderr.take();
    let mut err_kept = Vec::new();
    for fd in [out_pipe.as_ref().map(|p| p.as_fd()), err_pipe.as_ref().map(|p| p.as_fd())].into_iter().flatten() {
        let _ = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
    }
    let deadline = hook.timeout().filter(|t| *t > 0).map(|t| (t, Instant::now() + Duration::from_secs(t as u64)));
    let status = loop {
        {
            let mut fds: Vec<PollFd> = [out_pipe.as_ref().map(|p| p.as_fd()), err_pipe.as_ref().map(|p| p.as_fd())]
                .into_iter()
                .flatten()
                .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
                .collect();
            // Woken by output; otherwise every 2 ms to look at the child.
            let _ = poll(&mut fds, PollTimeout::from(2u8));
        }
        if let Some(p) = out_pipe.as_mut()
            && !drain(p, &mut out_kept)
        {
            out_pipe = None;
        }
        if let Some(p) = err_pipe.as_mut()
            && !drain(p, &mut err_kept)
        {
            err_pipe = None;
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => return Err(spawn_err(source)),
        }
        if let Some((secs, at)) = deadline
            && Instant::now() >= at
        {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::Timeout { kind, index, secs });
        }
    };
    // What the hook wrote just before it exited (a child it left behind may hold
    // the pipes open: do not wait for EOF).
    if let Some(p) = out_pipe.as_mut() {
        drain(p, &mut out_kept);
    }
    if let Some(p) = err_pipe.as_mut() {
        drain(p, &mut err_kept);
    }
    if status.success() {
        return Ok(());
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Err(HookError::Failed { kind, index, status: go_status(status), stdout: text(&out_kept), stderr: text(&err_kept) })
}

/// A wait status as Go's os/exec prints it (`exit status 3`, `signal: killed`).
fn go_status(status: std::process::ExitStatus) -> String {
    if let Some(c) = status.code() {
        return format!("exit status {c}");
    }
    let Some(sig) = status.signal() else { return "failed".into() };
    const NAMES: [&str; 31] = [
        "hangup",
        "interrupt",
        "quit",
        "illegal instruction",
        "trace/breakpoint trap",
        "aborted",
        "bus error",
        "floating point exception",
        "killed",
        "user defined signal 1",
        "segmentation fault",
        "user defined signal 2",
        "broken pipe",
        "alarm clock",
        "terminated",
        "stack fault",
        "child exited",
        "continued",
        "stopped (signal)",
        "stopped",
        "stopped (tty input)",
        "stopped (tty output)",
        "urgent I/O condition",
        "CPU time limit exceeded",
        "file size limit exceeded",
        "virtual timer expired",
        "profiling timer expired",
        "window changed",
        "I/O possible",
        "power failure",
        "bad system call",
    ];
    let name = usize::try_from(sig - 1).ok().and_then(|i| NAMES.get(i)).map(|n| n.to_string());
    let name = name.unwrap_or_else(|| format!("signal {sig}"));
    let core = if status.core_dumped() { " (core dumped)" } else { "" };
    format!("signal: {name}{core}")
}

/// Write the state to a hook's stdin. A hook may exit without reading it: a
/// broken pipe is not a failure, and must not end berth with SIGPIPE (`run` and
/// `exec` reset SIGPIPE to its default for the container's sake before hooks
/// run). SIGPIPE is blocked in this thread for the write, and the one the write
/// raised is taken back before the mask is restored.
fn write_state(mut stdin: std::process::ChildStdin, state_json: &[u8]) {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let mut pipe = SigSet::empty();
    pipe.add(Signal::SIGPIPE);
    let mut old = SigSet::empty();
    let blocked = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&pipe), Some(&mut old)).is_ok();
    let res = stdin.write_all(state_json);
    drop(stdin);
    if blocked && !old.contains(Signal::SIGPIPE) {
        let raised = res.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
        if raised && pending_sigpipe() {
            // Pending, so this returns at once.
            let _ = pipe.wait();
        }
        let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&pipe), None);
    }
}

/// Is a SIGPIPE pending for this thread or the process?
fn pending_sigpipe() -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/thread-self/status") else { return false };
    let bit = 1u64 << (nix::sys::signal::Signal::SIGPIPE as u32 - 1);
    text.lines()
        .filter_map(|l| l.strip_prefix("SigPnd:").or_else(|| l.strip_prefix("ShdPnd:")))
        .filter_map(|v| u64::from_str_radix(v.trim(), 16).ok())
        .any(|mask| mask & bit != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: serde_json::Value) -> Hook {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn hook_gets_state_on_stdin_and_args() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let h = hook(serde_json::json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("cat > {}; echo \" $0 $FOO\" >> {}", out.display(), out.display())],
            "env": ["FOO=bar"]
        }));
        run_all("prestart", Some(&vec![h]), b"{\"id\":\"x\"}").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"id\":\"x\"} sh bar\n");
    }

    #[test]
    fn failing_hook_names_kind_index_and_status() {
        let h = hook(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}));
        let e = run_all("poststop", Some(&vec![h]), b"{}").unwrap_err().to_string();
        assert_eq!(e, "error running poststop hook #0: error running hook: exit status 3, stdout: , stderr: ");
    }

    #[test]
    fn hook_killed_by_a_signal_reads_as_runc_with_its_output() {
        let h =
            hook(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "echo out; echo err >&2; kill -SYS $$"]}));
        let e = run_all("startContainer", Some(&vec![h]), b"{}").unwrap_err().to_string();
        assert_eq!(
            e,
            "error running startContainer hook #0: error running hook: signal: bad system call, stdout: out\n, stderr: err\n"
        );
    }

    #[test]
    fn hook_output_is_kept_up_to_the_limit() {
        let h = hook(
            serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x; exit 1"]}),
        );
        let e = run_all("prestart", Some(&vec![h]), b"{}").unwrap_err();
        let HookError::Failed { stdout, .. } = e else { panic!("{e}") };
        assert_eq!(stdout.len(), OUTPUT_LIMIT);
    }

    #[test]
    fn hook_timeout_kills_it() {
        let h = hook(serde_json::json!({"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}));
        let e = run_all("prestart", Some(&vec![h]), b"{}").unwrap_err();
        assert!(matches!(e, HookError::Timeout { secs: 1, .. }), "{e}");
    }

    #[test]
    fn run_all_warn_runs_the_hooks_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let hooks = vec![
            hook(serde_json::json!({"path": "/bin/false"})),
            hook(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo ran > {}", out.display())]})),
        ];
        run_all_warn("c1", "poststop", &hooks, b"{}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran\n");
    }

    #[test]
    fn missing_hook_binary_is_a_spawn_error() {
        let h = hook(serde_json::json!({"path": "/nonexistent/hook"}));
        let e = run_all("createRuntime", Some(&vec![h]), b"{}").unwrap_err();
        assert!(matches!(e, HookError::Spawn { .. }), "{e}");
    }
}
