//! The exact argument lists real clients pass, taken from containerd's go-runc
//! (the runc v2 shim) and from podman's conmon, run verbatim. Both put the global
//! flags (`--root`, `--log`, `--log-format json`) before the subcommand on every
//! call and read the log file when a call fails.

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::{Bundle, ok, output_of, wait_until};

/// A client's command line: `berth --root R --log L --log-format json <args>`.
fn client_cmd(b: &Bundle, log: &std::path::Path, args: &[&str]) -> Command {
    let mut all = vec!["--log", log.to_str().unwrap(), "--log-format", "json"];
    all.extend_from_slice(args);
    b.cmd(&all)
}

/// One client call, run to completion.
fn call(b: &Bundle, log: &std::path::Path, args: &[&str]) -> std::process::Output {
    output_of(client_cmd(b, log, args))
}

#[test]
#[ignore = "needs root"]
fn go_runc_call_sequence() {
    let b = Bundle::new("cl-gorunc", &["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.05; done"]);
    let log = b.path().join("log.json");
    let pid_file = b.path().join("init.pid");
    let bundle = b.path().to_str().unwrap();
    // go-runc Create: create --bundle B --pid-file P ID (no console: IO is pipes).
    ok(
        &call(&b, &log, &["create", "--bundle", bundle, "--pid-file", pid_file.to_str().unwrap(), "cl-gorunc"]),
        "create",
    );
    let pid: i64 = fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    // go-runc State: state ID, decoded into its Container struct.
    let st: Value = serde_json::from_str(&ok(&call(&b, &log, &["state", "cl-gorunc"]), "state")).unwrap();
    assert_eq!(st["status"], "created");
    assert_eq!(st["pid"], pid);
    for key in ["ociVersion", "id", "bundle", "rootfs", "created", "owner"] {
        assert!(st.get(key).is_some(), "state lacks {key}: {st}");
    }
    ok(&call(&b, &log, &["start", "cl-gorunc"]), "start");
    assert_eq!(b.state()["status"], "running");
    // go-runc Ps: ps --format json ID → a JSON array of host pids.
    let pids: Vec<i64> =
        serde_json::from_str(&ok(&call(&b, &log, &["ps", "--format", "json", "cl-gorunc"]), "ps")).unwrap();
    assert!(pids.contains(&pid), "{pids:?}");
    // go-runc Exec: exec --process P --detach --pid-file F ID.
    let process = b.path().join("process.json");
    let mut spec = b.config()["process"].clone();
    spec["args"] = json!(["sh", "-c", "echo exec-ran > /tmp/exec-ran"]);
    fs::write(&process, serde_json::to_vec(&spec).unwrap()).unwrap();
    let exec_pid = b.path().join("exec.pid");
    ok(
        &call(
            &b,
            &log,
            &[
                "exec",
                "--process",
                process.to_str().unwrap(),
                "--detach",
                "--pid-file",
                exec_pid.to_str().unwrap(),
                "cl-gorunc",
            ],
        ),
        "exec",
    );
    assert!(fs::read_to_string(&exec_pid).unwrap().trim().parse::<i64>().is_ok());
    assert!(wait_until(|| b.rootfs().join("tmp/exec-ran").exists()));
    // go-runc Update: update --resources - ID, the resources JSON on stdin.
    let mut c = client_cmd(&b, &log, &["update", "--resources", "-", "cl-gorunc"]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(br#"{"pids": {"limit": 321}}"#).unwrap();
    let out = child.wait_with_output().unwrap();
    ok(&out, "update");
    let limit = b
        .cgroup_dirs()
        .into_iter()
        .map(|d| d.join("pids.max"))
        .find(|p| p.exists())
        .map(|p| fs::read_to_string(p).unwrap());
    assert_eq!(limit.as_deref().map(str::trim), Some("321"));
    // go-runc Stats: events --stats ID → one JSON object of type "stats".
    let ev: Value = serde_json::from_str(&ok(&call(&b, &log, &["events", "--stats", "cl-gorunc"]), "events")).unwrap();
    assert_eq!(ev["type"], "stats");
    assert!(ev["data"]["pids"]["current"].as_u64().unwrap_or(0) >= 1, "{ev}");
    // go-runc Pause / Resume.
    ok(&call(&b, &log, &["pause", "cl-gorunc"]), "pause");
    assert_eq!(b.state()["status"], "paused");
    ok(&call(&b, &log, &["resume", "cl-gorunc"]), "resume");
    assert_eq!(b.state()["status"], "running");
    // go-runc Kill: kill [--all] ID SIGNAL, the signal as a number.
    ok(&call(&b, &log, &["kill", "--all", "cl-gorunc", "15"]), "kill");
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    // go-runc Delete: delete --force ID.
    ok(&call(&b, &log, &["delete", "--force", "cl-gorunc"]), "delete");
    b.assert_clean();
    // Nothing failed, so nothing at error level went to the log.
    let logged = fs::read_to_string(&log).unwrap_or_default();
    assert!(!logged.contains("\"level\":\"error\""), "{logged}");
}

/// podman/conmon: no `--root` (the default root is used, so this test passes one
/// of its own through the same position), `create --bundle B --pid-file P ID`,
/// then `start`, `state`, `kill ID SIGNAL`, `delete --force`. A failed call leaves
/// one JSON object in the log file, which conmon reads as the error.
#[test]
#[ignore = "needs root"]
fn conmon_call_sequence_and_its_error_log() {
    let b = Bundle::new("cl-conmon", &["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.05; done"]);
    let log = b.path().join("oci-log");
    let pid_file = b.path().join("pidfile");
    let bundle = b.path().to_str().unwrap();
    ok(
        &call(&b, &log, &["create", "--bundle", bundle, "--pid-file", pid_file.to_str().unwrap(), "cl-conmon"]),
        "create",
    );
    ok(&call(&b, &log, &["start", "cl-conmon"]), "start");
    let st: Value = serde_json::from_str(&ok(&call(&b, &log, &["state", "cl-conmon"]), "state")).unwrap();
    assert_eq!(st["status"], "running");
    ok(&call(&b, &log, &["kill", "cl-conmon", "TERM"]), "kill");
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    ok(&call(&b, &log, &["delete", "--force", "cl-conmon"]), "delete");
    b.assert_clean();

    // A failing create: exactly one JSON object naming the cause.
    let bad = Bundle::new("cl-conmon-bad", &["/no/such/entrypoint"]);
    let bad_log = bad.path().join("oci-log");
    let out = call(&bad, &bad_log, &["create", "--bundle", bad.path().to_str().unwrap(), "cl-conmon-bad"]);
    assert!(!out.status.success());
    let content = fs::read_to_string(&bad_log).unwrap();
    let v: Value = serde_json::from_str(content.trim()).expect("the log is one JSON object");
    assert_eq!(v["level"], "error");
    assert!(v["msg"].as_str().unwrap().contains("/no/such/entrypoint"), "{v}");
    bad.assert_clean();
}
