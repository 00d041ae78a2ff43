//! OCI hooks: run a hook program with the container's state JSON on stdin, its own
//! args and env, and an optional timeout (config.md "POSIX-platform Hooks").

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{kind} hook {index} ({path:?}): start")]
    Spawn {
        kind: &'static str,
        index: usize,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{kind} hook {index} ({path:?}): {status}")]
    Failed { kind: &'static str, index: usize, path: PathBuf, status: String },
    #[error("{kind} hook {index} ({path:?}): timed out after {secs}s")]
    Timeout { kind: &'static str, index: usize, path: PathBuf, secs: i64 },
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
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| HookError::Spawn { kind, index, path: path.clone(), source })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook may exit without reading its stdin; a broken pipe is not a failure.
        let _ = stdin.write_all(state_json);
    }
    let deadline = hook.timeout().filter(|t| *t > 0).map(|t| (t, Instant::now() + Duration::from_secs(t as u64)));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => return Err(HookError::Spawn { kind, index, path, source }),
        }
        if let Some((secs, at)) = deadline
            && Instant::now() >= at
        {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::Timeout { kind, index, path, secs });
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    let status = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("killed by signal {s}"),
        _ => "failed".into(),
    };
    Err(HookError::Failed { kind, index, path, status })
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
        assert_eq!(e, "poststop hook 0 (\"/bin/sh\"): exit status 3");
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
