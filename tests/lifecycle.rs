//! create / start / state / kill / delete / run / list, as containerd drives them.

use std::fs;

use serde_json::json;

use crate::common::{Bundle, LOOP, text, wait_until};

#[test]
#[ignore = "needs root"]
fn run_prints_output_and_returns_exit_code() {
    let b = Bundle::new("lc-run", &["sh", "-c", "echo hello; exit 3"]);
    let (code, out, _) = b.run();
    assert_eq!(code, 3);
    assert_eq!(out, "hello\n");
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn run_reports_128_plus_signal() {
    // Without a pid namespace, so the shell is not pid 1 (which ignores SIGKILL
    // sent from inside its namespace).
    let b = Bundle::with("lc-sig", &["sh", "-c", "kill -9 $$"], |c| {
        c["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "pid");
    });
    assert_eq!(b.run().0, 137);
}

#[test]
#[ignore = "needs root"]
fn create_start_state_kill_delete() {
    // The state's ociVersion is the spec version berth complies with (`berth
    // --version`), as runc reports its own, whatever the bundle's.
    let b = Bundle::with("lc-flow", LOOP, |c| c["ociVersion"] = json!("1.0.0"));
    let pid_file = b.path().join("init.pid");
    let out = b.create(&["--pid-file", pid_file.to_str().unwrap()]);
    assert!(out.status.success(), "create: {}", text(&out.stderr));
    let st = b.state();
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], "lc-flow");
    assert_eq!(st["bundle"], json!(fs::canonicalize(b.path()).unwrap()));
    let version = text(&b.berth(&["--version"]).stdout);
    let spec = version.lines().find_map(|l| l.strip_prefix("spec: ")).unwrap().to_string();
    assert_eq!(st["ociVersion"], json!(spec));
    assert!(st["created"].as_str().unwrap().ends_with('Z'));
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0);
    assert_eq!(fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    // The init of a created container is alive and waiting.
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());

    assert!(b.berth(&["start", "lc-flow"]).status.success());
    assert_eq!(b.state()["status"], "running");
    let again = b.berth(&["start", "lc-flow"]);
    assert!(!again.status.success(), "a second start must fail");

    let del = b.berth(&["delete", "lc-flow"]);
    assert!(!del.status.success());
    assert!(text(&del.stderr).contains("not stopped"), "{}", text(&del.stderr));

    assert!(b.berth(&["kill", "lc-flow", "TERM"]).status.success());
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    let k = b.berth(&["kill", "lc-flow", "KILL"]);
    assert!(text(&k.stderr).contains("container not running"), "{}", text(&k.stderr));
    assert!(b.berth(&["delete", "lc-flow"]).status.success());
    b.assert_clean();
    let st = b.berth(&["state", "lc-flow"]);
    assert!(text(&st.stderr).contains("does not exist"), "{}", text(&st.stderr));
}

#[test]
#[ignore = "needs root"]
fn delete_force_kills_a_running_container() {
    let b = Bundle::new("lc-force", &["sleep", "1000"]);
    assert!(b.create(&[]).status.success());
    assert!(b.berth(&["start", "lc-force"]).status.success());
    let pid = b.state()["pid"].as_i64().unwrap();
    assert!(b.berth(&["delete", "--force", "lc-force"]).status.success());
    assert!(wait_until(|| !std::path::Path::new(&format!("/proc/{pid}")).exists()
        || fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| s.contains(") Z")).unwrap_or(true)));
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn run_whose_container_is_deleted_by_force_elsewhere_exits_137_and_leaves_nothing() {
    // `run` deletes its container from the state it holds in memory: when a
    // `delete --force` from elsewhere got there first, it finds nothing to do.
    let b = Bundle::new("lc-runforce", &["sleep", "1000"]);
    let mut run = b.cmd(&["run", "--bundle", b.path().to_str().unwrap(), "lc-runforce"]);
    run.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let child = run.spawn().expect("spawn berth run");
    assert!(wait_until(|| b.berth(&["state", "lc-runforce"]).stdout.windows(9).any(|w| w == b"\"running\"")));
    assert!(b.berth(&["delete", "--force", "lc-runforce"]).status.success());
    let out = child.wait_with_output().expect("wait for berth run");
    assert_eq!(out.status.code(), Some(137), "run: {}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "run printed an error");
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn delete_of_a_created_container_kills_init() {
    let b = Bundle::new("lc-delcreated", &["true"]);
    assert!(b.create(&[]).status.success());
    assert!(b.berth(&["delete", "lc-delcreated"]).status.success());
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn kill_accepts_names_and_numbers() {
    let b = Bundle::new("lc-kill", LOOP);
    assert!(b.create(&[]).status.success());
    assert!(b.berth(&["start", "lc-kill"]).status.success());
    assert!(b.berth(&["kill", "lc-kill", "0"]).status.success(), "signal 0 probes");
    assert!(b.berth(&["kill", "lc-kill", "SIGCONT"]).status.success());
    let bad = b.berth(&["kill", "lc-kill", "NOTASIGNAL"]);
    assert!(!bad.status.success());
    assert!(b.berth(&["kill", "--all", "lc-kill", "9"]).status.success());
    assert!(wait_until(|| b.state()["status"] == "stopped"));
}

#[test]
#[ignore = "needs root"]
fn create_twice_with_the_same_id_fails() {
    let b = Bundle::new("lc-twice", LOOP);
    assert!(b.create(&[]).status.success());
    let second = b.create(&[]);
    assert!(!second.status.success());
    assert!(text(&second.stderr).contains("already exists"), "{}", text(&second.stderr));
    // The first container is untouched.
    assert_eq!(b.state()["status"], "created");
}

#[test]
#[ignore = "needs root"]
fn failed_create_leaves_nothing_behind() {
    let b = Bundle::new("lc-fail", &["/no/such/binary"]);
    let out = b.create(&[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("lc-fail") && err.contains("/no/such/binary"), "{err}");
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn invalid_config_names_the_field_and_leaves_nothing() {
    let b = Bundle::with("lc-badcfg", &["true"], |c| c["process"]["cwd"] = json!("relative"));
    let out = b.create(&[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("process.cwd"), "{}", text(&out.stderr));
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn list_shows_containers_as_table_json_and_quiet() {
    let b = Bundle::new("lc-list", LOOP);
    assert!(b.create(&[]).status.success());
    let table = text(&b.berth(&["list"]).stdout);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("ID "));
    let row = lines.next().unwrap();
    assert!(row.starts_with("lc-list ") && row.contains("created"), "{row}");
    let json: serde_json::Value = serde_json::from_slice(&b.berth(&["list", "--format", "json"]).stdout).unwrap();
    assert_eq!(json[0]["id"], "lc-list");
    assert_eq!(json[0]["status"], "created");
    assert_eq!(text(&b.berth(&["list", "-q"]).stdout), "lc-list\n");
}

#[test]
#[ignore = "needs root"]
fn json_log_has_one_error_line_with_runc_keys() {
    let b = Bundle::new("lc-log", &["/no/such/binary"]);
    let log = b.path().join("log.json");
    let out = b.berth(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        "lc-log",
    ]);
    assert!(!out.status.success());
    let content = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = content.lines().collect();
    assert_eq!(lines.len(), 1, "{content}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["level"], "error");
    assert!(v["msg"].as_str().unwrap().contains("/no/such/binary"));
    assert!(v["time"].is_string());
    assert_eq!(v.as_object().unwrap().len(), 3);
}

#[test]
#[ignore = "needs root"]
fn hooks_run_in_order_with_state_on_stdin() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("hooks.log");
    let host_hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"{name} $s\" >> {}", log.display())]});
    let in_container = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"{name} $s\" >> /hooklog/hooks.log")]});
    let b = Bundle::with("lc-hooks", &["true"], |c| {
        c["hooks"] = json!({
            "prestart": [host_hook("prestart")],
            "createRuntime": [host_hook("createRuntime")],
            "createContainer": [host_hook("createContainer")],
            "startContainer": [in_container("startContainer")],
            "poststart": [host_hook("poststart")],
            "poststop": [host_hook("poststop")],
        });
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/hooklog", "type": "bind", "source": log_dir.path(), "options": ["rbind", "rw"]
        }));
    });
    b.run_ok();
    let content = fs::read_to_string(&log).unwrap();
    let names: Vec<&str> = content.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names, ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
    for line in content.lines() {
        let (_, state) = line.split_once(' ').unwrap();
        let v: serde_json::Value = serde_json::from_str(state).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(v["id"], "lc-hooks", "{line}");
    }
}

#[test]
#[ignore = "needs root"]
fn failing_prestart_hook_fails_create_and_cleans_up() {
    let b = Bundle::with("lc-badhook", &["true"], |c| {
        c["hooks"] = json!({"prestart": [{"path": "/bin/false"}]});
    });
    let out = b.create(&[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("error running prestart hook #0"), "{}", text(&out.stderr));
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn pid_file_and_state_pid_agree_for_run_detach() {
    let b = Bundle::new("lc-detach", LOOP);
    let pid_file = b.path().join("pid");
    let out = b.berth(&[
        "run",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--bundle",
        b.path().to_str().unwrap(),
        "lc-detach",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let st = b.state();
    assert_eq!(st["status"], "running");
    assert_eq!(fs::read_to_string(&pid_file).unwrap(), st["pid"].to_string());
}

#[test]
#[ignore = "needs root"]
fn every_config_sample_runs() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config-samples");
    for (name, want) in [
        ("minimal", "minimal ok"),
        ("full", "full ok\nfull-sample\n1000\n1"),
        ("hooks", "hooks ok"),
        ("seccomp", "seccomp ok"),
        ("rootless", "rootless ok"),
    ] {
        let id = format!("sample-{name}");
        let b = Bundle::new(&id, &["true"]);
        let mut config: serde_json::Value =
            serde_json::from_slice(&fs::read(format!("{dir}/{name}.json")).unwrap()).unwrap();
        config["linux"]["cgroupsPath"] = json!(format!("/{}/{id}", crate::common::cgroup_parent()));
        b.set_config(&config);
        let (code, out, err) = b.run();
        assert_eq!(code, 0, "{name}: {err}");
        assert!(out.starts_with(want), "{name}: {out:?}");
        b.assert_clean();
    }
}

/// The subreaper used by `start_reports_init_reaped_by_a_subreaper_before_execve`:
/// it creates the container detached (so init becomes its child), starts it
/// with start told to wait until init is reaped, reaps init as soon as it dies,
/// and prints start's exit code and stderr.
const SUBREAPER: &str = r#"
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl PR_SET_CHILD_SUBREAPER failed")
berth, root, bundle, cid, pid_file = sys.argv[1:]
subprocess.run([berth, "--root", root, "create", "--bundle", bundle, "--pid-file", pid_file, cid], check=True)
pid = int(open(pid_file).read())
env = dict(os.environ, BERTH_TEST_WAIT_AT="start-after-eof")
start = subprocess.Popen([berth, "--root", root, "start", cid], env=env, stderr=subprocess.PIPE)
os.waitpid(pid, 0)
_, err = start.communicate()
print(start.returncode)
sys.stdout.write(err.decode())
"#;

/// The gap left by /proc alone: a detached container whose init dies before
/// execve (here killed by its seccomp profile at execve) and is reaped by a
/// subreaper before `start` reads /proc. `start` still fails, from the kernel's
/// exit event it heard.
#[test]
#[ignore = "needs root"]
fn start_reports_init_reaped_by_a_subreaper_before_execve() {
    let b = Bundle::with("lc-reaped", &["true"], |c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_KILL"}]});
    });
    let pid_file = b.path().join("init.pid");
    let out = crate::common::output_of({
        let mut c = std::process::Command::new("python3");
        c.args(["-c", SUBREAPER, crate::common::BERTH]).arg(b.root.path()).arg(b.path()).arg(&b.id).arg(&pid_file);
        c
    });
    let said = text(&out.stdout);
    assert!(out.status.success(), "subreaper: {said} {}", text(&out.stderr));
    let (code, err) = said.split_once('\n').unwrap_or((&said, ""));
    assert_ne!(code, "0", "start must fail: {err}");
    assert!(err.contains("killed by signal 31 (SIGSYS) before execve"), "start said: {err}");
    assert_eq!(b.state()["status"], "stopped");
}
