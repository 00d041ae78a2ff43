//! runtime-spec v1.2 runtime.md and the hook rules of config.md, one test per
//! MUST/SHOULD (tests/SPEC-COVERAGE.md maps each sentence to its test): the
//! lifecycle, what each operation must refuse in each state, the state JSON, and
//! the hooks' order, namespaces and failure semantics.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::{Bundle, LOOP, text, wait_until};

fn fails(b: &Bundle, args: &[&str]) -> String {
    let out = b.berth(args);
    assert!(!out.status.success(), "berth {args:?} should fail: {}", text(&out.stdout));
    text(&out.stderr)
}

fn created(b: &Bundle) {
    let out = b.create(&[]);
    assert!(out.status.success(), "create: {}", text(&out.stderr));
}

fn alive(pid: i64) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// Pids of processes still running as part of a berth call on `b`'s state root
/// (a setup process or an init that never reached execve).
pub fn berth_processes(b: &Bundle) -> Vec<i32> {
    let needle = b.root.path().to_str().unwrap().to_string();
    let mut pids = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmd) = fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        if text(&cmd).contains(&needle) && alive(pid as i64) {
            pids.push(pid);
        }
    }
    pids
}

// ---- runtime.md: lifecycle and operations -------------------------------------

#[test]
#[ignore = "needs root"]
fn create_does_not_run_the_user_process_and_start_does() {
    // Lifecycle step 2 / Create: "the user-specified program MUST NOT be run at this time".
    let b = Bundle::new("sp-norun", &["sh", "-c", "touch /ran; sleep 1000"]);
    created(&b);
    assert_eq!(b.state()["status"], "created");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!b.rootfs().join("ran").exists(), "the process ran before start");
    // Start: "This operation MUST run the user-specified program"; status running.
    b.ok(&["start", &b.id]);
    assert_eq!(b.state()["status"], "running");
    assert!(wait_until(|| b.rootfs().join("ran").exists()));
}

/// `start` returns once the user program runs, not when it ends: a shell that
/// goes on to exec a second program (a second execve of the same pid) and runs
/// for 3 s is still running when `start` is back.
#[test]
#[ignore = "needs root"]
fn start_returns_while_the_program_still_runs() {
    let b = Bundle::new("sp-startret", &["sh", "-c", "sleep 3"]);
    created(&b);
    b.ok(&["start", &b.id]);
    assert_eq!(b.state()["status"], "running", "start waited for the program to end");
}

#[test]
#[ignore = "needs root"]
fn config_changes_after_create_do_not_affect_the_container() {
    let b = Bundle::new("sp-cfgchange", &["sh", "-c", "echo first > /out"]);
    created(&b);
    let mut c = b.config();
    c["process"]["args"] = json!(["sh", "-c", "echo second > /out"]);
    c["hostname"] = json!("changed");
    b.set_config(&c);
    b.ok(&["start", &b.id]);
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    assert_eq!(fs::read_to_string(b.rootfs().join("out")).unwrap(), "first\n");
}

#[test]
#[ignore = "needs root"]
fn state_has_the_required_fields_in_every_status() {
    let b = Bundle::with("sp-state", &["sh", "-c", "read x"], |c| {
        c["annotations"] = json!({"org.example.key": "value", "org.example.empty": ""});
        c["process"]["args"] = json!(["sleep", "1000"]);
    });
    created(&b);
    let check = |st: &Value, status: &str| {
        assert_eq!(st["status"], status);
        assert_eq!(st["id"], "sp-state");
        assert!(st["ociVersion"].as_str().is_some_and(|v| v.starts_with("1.")), "{st}");
        let bundle = st["bundle"].as_str().unwrap();
        assert!(Path::new(bundle).is_absolute(), "{st}");
        assert_eq!(Path::new(bundle), fs::canonicalize(b.path()).unwrap());
        assert_eq!(st["annotations"]["org.example.key"], "value");
        assert_eq!(st["annotations"]["org.example.empty"], "");
    };
    let st = b.state();
    check(&st, "created");
    // pid: "REQUIRED when status is created or running", as seen by the host.
    let pid = st["pid"].as_i64().unwrap();
    assert!(alive(pid));
    b.ok(&["start", &b.id]);
    let st = b.state();
    check(&st, "running");
    assert_eq!(st["pid"].as_i64(), Some(pid));
    // The host pid runs the user program.
    assert_eq!(fs::read_to_string(format!("/proc/{pid}/comm")).unwrap(), "sleep\n");
    b.ok(&["kill", &b.id, "KILL"]);
    // Kill: "When the container process is stopped ... status MUST be stopped".
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    check(&b.state(), "stopped");
}

#[test]
#[ignore = "needs root"]
fn stopped_once_the_process_exits_by_itself() {
    let b = Bundle::new("sp-exit", &["true"]);
    b.create_and_start();
    assert!(wait_until(|| b.state()["status"] == "stopped"));
}

#[test]
#[ignore = "needs root"]
fn every_operation_needs_an_id_and_an_existing_container() {
    let b = Bundle::new("sp-noid", &["true"]);
    for op in ["state", "start", "kill", "delete"] {
        fails(&b, &[op]);
        let err = fails(&b, &[op, "sp-missing"]);
        assert!(err.contains("does not exist"), "{op}: {err}");
    }
    // Create: "MUST generate an error if it is not provided a path to the bundle and
    // the container ID". Without --bundle the bundle is the cwd, which has no config.
    let mut c = b.cmd(&["create"]);
    c.current_dir(b.root.path());
    assert!(!crate::common::output_of(c).status.success());
    let mut c = b.cmd(&["create", "sp-nobundle"]);
    c.current_dir(b.root.path());
    let out = crate::common::output_of(c);
    assert!(!out.status.success());
    assert!(!b.root.path().join("sp-nobundle").exists());
}

#[test]
#[ignore = "needs root"]
fn create_with_an_invalid_id_errors_and_creates_nothing() {
    let b = Bundle::new("sp-badid", &["true"]);
    for bad in ["../escape", "a/b", "..", "with space"] {
        let err = fails(&b, &["create", "--bundle", b.path().to_str().unwrap(), bad]);
        assert!(err.contains("invalid container id"), "{bad}: {err}");
    }
    let left: Vec<_> = fs::read_dir(b.root.path()).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert!(!b.path().parent().unwrap().join("escape").exists());
}

#[test]
#[ignore = "needs root"]
fn create_with_a_taken_id_errors_and_leaves_the_first_untouched() {
    let b = Bundle::new("sp-dup", LOOP);
    b.create_and_start();
    let pid = b.state()["pid"].as_i64().unwrap();
    let other = Bundle::new("sp-dup", &["true"]);
    let err = fails(&b, &["create", "--bundle", other.path().to_str().unwrap(), "sp-dup"]);
    assert!(err.contains("already exists"), "{err}");
    let st = b.state();
    assert_eq!(st["status"], "running");
    assert_eq!(st["pid"].as_i64(), Some(pid));
    assert_eq!(Path::new(st["bundle"].as_str().unwrap()), fs::canonicalize(b.path()).unwrap());
}

#[test]
#[ignore = "needs root"]
fn start_of_a_container_that_is_not_created_errors_without_effect() {
    let b = Bundle::new("sp-start2", LOOP);
    b.create_and_start();
    let pid = b.state()["pid"].as_i64().unwrap();
    fails(&b, &["start", &b.id]);
    assert_eq!(b.state()["status"], "running");
    assert_eq!(b.state()["pid"].as_i64(), Some(pid));
    b.ok(&["kill", &b.id, "KILL"]);
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    let err = fails(&b, &["start", &b.id]);
    assert!(err.contains("stopped"), "{err}");
    assert_eq!(b.state()["status"], "stopped");
}

#[test]
#[ignore = "needs root"]
fn kill_signals_created_and_running_containers_and_refuses_stopped_ones() {
    // A created container can be killed (Kill: "neither created nor running").
    let c = Bundle::new("sp-killc", LOOP);
    created(&c);
    c.ok(&["kill", &c.id, "KILL"]);
    assert!(wait_until(|| c.state()["status"] == "stopped"));
    let err = fails(&c, &["kill", &c.id, "KILL"]);
    assert!(err.contains("not running"), "{err}");
    assert_eq!(c.state()["status"], "stopped");

    // "MUST send the specified signal": the process sees exactly that signal.
    let b = Bundle::new(
        "sp-killsig",
        &["sh", "-c", "trap 'echo usr1 > /sig; exit 0' USR1; while true; do sleep 0.05; done"],
    );
    b.create_and_start();
    // Let the shell install its trap before signalling.
    std::thread::sleep(std::time::Duration::from_millis(300));
    b.ok(&["kill", &b.id, "USR1"]);
    // The shell's `>` makes the file before `echo` fills it: wait for the line.
    let sig = || fs::read_to_string(b.rootfs().join("sig")).unwrap_or_default();
    assert!(wait_until(|| sig() == "usr1\n"), "the trap wrote {:?}", sig());
}

#[test]
#[ignore = "needs root"]
fn delete_of_a_running_container_errors_without_effect() {
    let b = Bundle::new("sp-delrun", LOOP);
    b.create_and_start();
    let pid = b.state()["pid"].as_i64().unwrap();
    let err = fails(&b, &["delete", &b.id]);
    assert!(err.contains("not stopped"), "{err}");
    assert_eq!(b.state()["status"], "running");
    assert!(alive(pid));
    assert!(b.state_dir().exists());
    assert!(!b.cgroup_dirs().is_empty());
}

#[test]
#[ignore = "needs root"]
fn delete_removes_what_create_made_and_nothing_else() {
    // A bind-mount source, a joined network namespace and the cgroup parent are
    // associated with the container but not created by it: they stay.
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("keep"), "data").unwrap();
    let nsdir = tempfile::tempdir().unwrap();
    let ns = nsdir.path().join("netns");
    fs::write(&ns, "").unwrap();
    assert!(
        std::process::Command::new("unshare")
            .arg(format!("--net={}", ns.display()))
            .arg("true")
            .status()
            .unwrap()
            .success()
    );
    let b = Bundle::with("sp-delown", &["true"], |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": src.path(), "options": ["rbind", "rw"]
        }));
        for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "network" {
                n["path"] = json!(ns);
            }
        }
    });
    b.create_and_start();
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    b.ok(&["delete", &b.id]);
    b.assert_clean();
    assert_eq!(fs::read_to_string(src.path().join("keep")).unwrap(), "data");
    assert!(fs::read_to_string("/proc/self/mountinfo").unwrap().contains(ns.to_str().unwrap()), "netns was unmounted");
    let parent = Path::new("/sys/fs/cgroup/pids").join(crate::common::cgroup_parent());
    let unified = Path::new("/sys/fs/cgroup").join(crate::common::cgroup_parent());
    assert!(parent.exists() || unified.exists() || !Path::new("/sys/fs/cgroup/pids").exists());
    let _ = std::process::Command::new("umount").arg(&ns).status();
}

#[test]
#[ignore = "needs root"]
fn an_id_can_be_reused_after_delete() {
    let b = Bundle::new("sp-reuse", &["true"]);
    for _ in 0..2 {
        b.create_and_start();
        assert!(wait_until(|| b.state()["status"] == "stopped"));
        b.ok(&["delete", &b.id]);
        b.assert_clean();
    }
}

#[test]
#[ignore = "needs root"]
fn a_failed_create_leaves_the_environment_as_it_was() {
    // Errors: "generating an error MUST leave the state of the environment as if the
    // operation were never attempted". The mount target dir is made inside the
    // rootfs only; the failure comes after the cgroup, clone and mounts.
    let b = Bundle::with("sp-failenv", &["/no/such/program"], |c| {
        c["linux"]["resources"] = json!({"pids": {"limit": 10}});
    });
    let before = fs::read_to_string("/proc/self/mountinfo").unwrap().lines().count();
    let err = fails(&b, &["create", "--bundle", b.path().to_str().unwrap(), &b.id]);
    assert!(err.contains("/no/such/program"), "{err}");
    b.assert_clean();
    assert!(berth_processes(&b).is_empty());
    assert_eq!(fs::read_to_string("/proc/self/mountinfo").unwrap().lines().count(), before);
    assert!(fails(&b, &["state", &b.id]).contains("does not exist"));
}

// ---- config.md: hooks ----------------------------------------------------------

/// A hook that appends "<name> <mnt ns> <root of state pid> <state json>" to `log`.
fn host_hook(name: &str, log: &Path) -> Value {
    let script = format!(
        "read s; pid=$(echo \"$s\" | grep -o '\"pid\":[0-9]*' | cut -d: -f2); \
         echo \"{name} $(readlink /proc/self/ns/mnt) $(readlink /proc/$pid/root) $s\" >> {}",
        log.display()
    );
    json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

fn hook_lines(log: &Path) -> Vec<(String, String, String, Value)> {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut it = l.splitn(4, ' ');
            let name = it.next().unwrap().to_string();
            let ns = it.next().unwrap().to_string();
            let root = it.next().unwrap().to_string();
            let st = serde_json::from_str(it.next().unwrap()).unwrap_or_else(|e| panic!("{l}: {e}"));
            (name, ns, root, st)
        })
        .collect()
}

#[test]
#[ignore = "needs root"]
fn hooks_run_in_their_namespaces_at_their_points() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hooks.log");
    let host_mnt = fs::read_link("/proc/self/ns/mnt").unwrap().to_str().unwrap().to_string();
    // createContainer's path resolves in the runtime namespace: a script that
    // exists only on the host (in the bundle dir, outside the rootfs).
    let b = Bundle::with("sp-hookns", &["sh", "-c", "readlink /proc/self/ns/mnt > /hooklog/proc; sleep 1000"], |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/hooklog", "type": "bind", "source": dir.path(), "options": ["rbind", "rw"]
        }));
    });
    let script = b.path().join("host-only-hook.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nread s\necho \"createContainer $(readlink /proc/self/ns/mnt) x {{}}\" >> {}\n",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut c = b.config();
    c["hooks"] = json!({
        "prestart": [host_hook("prestart", &log)],
        "createRuntime": [host_hook("createRuntime", &log)],
        "createContainer": [{"path": script}],
        // startContainer's path resolves in the container: /hooklog is only there.
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo \"startContainer $(readlink /proc/self/ns/mnt) x {}\" >> /hooklog/hooks.log"]}],
        "poststart": [host_hook("poststart", &log)],
        "poststop": [host_hook("poststop", &log)],
    });
    b.set_config(&c);
    created(&b);
    let pid = b.state()["pid"].as_i64().unwrap();
    let lines = hook_lines(&log);
    let names: Vec<&str> = lines.iter().map(|l| l.0.as_str()).collect();
    // Only the create-time hooks so far, in order.
    assert_eq!(names, ["prestart", "createRuntime", "createContainer"]);
    b.ok(&["start", &b.id]);
    assert!(wait_until(|| dir.path().join("proc").exists()));
    b.ok(&["kill", &b.id, "KILL"]);
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    b.ok(&["delete", &b.id]);
    let lines = hook_lines(&log);
    let names: Vec<&str> = lines.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(names, ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
    let container_mnt = fs::read_to_string(dir.path().join("proc")).unwrap().trim().to_string();
    assert_ne!(container_mnt, host_mnt);
    for (name, ns, root, st) in &lines {
        match name.as_str() {
            // Runtime namespace; before pivot_root the container process's root is
            // still the host's "/".
            "prestart" | "createRuntime" => {
                assert_eq!(ns, &host_mnt, "{name}");
                assert_eq!(root, "/", "{name} ran after pivot_root");
                assert_eq!(st["pid"].as_i64(), Some(pid), "{name}");
            }
            "createContainer" | "startContainer" => assert_eq!(ns, &container_mnt, "{name}"),
            "poststart" | "poststop" => assert_eq!(ns, &host_mnt, "{name}"),
            _ => unreachable!(),
        }
        if name != "createContainer" && name != "startContainer" {
            // "The state of the container MUST be passed to hooks over stdin".
            assert_eq!(st["id"], "sp-hookns", "{name}");
            assert_eq!(Path::new(st["bundle"].as_str().unwrap()), fs::canonicalize(b.path()).unwrap());
        }
    }
}

#[test]
#[ignore = "needs root"]
fn prestart_runs_after_the_namespaces_exist() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let b = Bundle::with("sp-prens", &["true"], |c| {
        let script = format!(
            "read s; pid=$(echo \"$s\" | grep -o '\"pid\":[0-9]*' | cut -d: -f2); readlink /proc/$pid/ns/net > {}",
            log.display()
        );
        c["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
    });
    created(&b);
    let seen = fs::read_to_string(&log).unwrap();
    assert!(seen.starts_with("net:["), "{seen}");
    assert_ne!(seen.trim(), fs::read_link("/proc/self/ns/net").unwrap().to_str().unwrap());
}

#[test]
#[ignore = "needs root"]
fn poststart_runs_after_the_user_process_is_executed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let b = Bundle::with("sp-poststart", &["sleep", "1000"], |c| {
        let script = format!(
            "read s; pid=$(echo \"$s\" | grep -o '\"pid\":[0-9]*' | cut -d: -f2); cat /proc/$pid/comm > {}",
            log.display()
        );
        c["hooks"] = json!({"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
    });
    b.create_and_start();
    // Written before `start` returned.
    assert_eq!(fs::read_to_string(&log).unwrap(), "sleep\n");
}

#[test]
#[ignore = "needs root"]
fn poststop_runs_after_the_container_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let b = Bundle::new("sp-poststop", &["true"]);
    let mut c = b.config();
    let script = format!(
        "test -e {} && echo state-left > {log} || echo deleted > {log}",
        b.state_dir().display(),
        log = log.display()
    );
    c["hooks"] = json!({"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
    b.set_config(&c);
    b.create_and_start();
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    b.ok(&["delete", &b.id]);
    assert_eq!(fs::read_to_string(&log).unwrap(), "deleted\n");
}

#[test]
#[ignore = "needs root"]
fn hooks_get_their_args_and_env_and_a_timeout_kills_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let b = Bundle::with("sp-hookenv", &["true"], |c| {
        c["hooks"] = json!({"createRuntime": [{
            "path": "/bin/sh",
            "args": ["custom-argv0", "-c", format!("echo \"$0 $HOOKVAR ${{LEAKCHECK:-unset}}\" > {}", log.display())],
            "env": ["HOOKVAR=value"]
        }]});
    });
    let mut cmd = b.cmd(&["create", "--bundle", b.path().to_str().unwrap(), &b.id]);
    cmd.env("LEAKCHECK", "leaked");
    let out = crate::common::output_of(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // argv[0] from args, env exactly as given (nothing inherited from berth's).
    assert_eq!(fs::read_to_string(&log).unwrap(), "custom-argv0 value unset\n");

    let t = Bundle::with("sp-hooktimeout", &["true"], |c| {
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "60"], "timeout": 1}]});
    });
    let err = fails(&t, &["create", "--bundle", t.path().to_str().unwrap(), &t.id]);
    assert!(err.contains("ran past specified timeout of 1.0s"), "{err}");
    t.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn a_hook_path_must_be_absolute_and_a_timeout_positive() {
    for (id, hook) in
        [("sp-hookrel", json!({"path": "bin/true"})), ("sp-hookzero", json!({"path": "/bin/true", "timeout": 0}))]
    {
        let b = Bundle::with(id, &["true"], |c| c["hooks"] = json!({"prestart": [hook]}));
        let err = fails(&b, &["create", "--bundle", b.path().to_str().unwrap(), id]);
        assert!(err.contains("hooks.prestart[0]"), "{id}: {err}");
        b.assert_clean();
    }
}

#[test]
#[ignore = "needs root"]
fn a_failing_create_time_hook_fails_create_and_destroys_the_container() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let id = format!("sp-fail-{}", kind.to_lowercase());
        let b = Bundle::with(&id, &["sh", "-c", "touch /ran"], |c| {
            c["hooks"] = json!({kind: [{"path": "/bin/sh", "args": ["sh", "-c", "exit 7"]}]});
        });
        let err = fails(&b, &["create", "--bundle", b.path().to_str().unwrap(), &id]);
        assert!(err.contains(&format!("error running {kind} hook #0")) && err.contains("exit status 7"), "{err}");
        b.assert_clean();
        assert!(berth_processes(&b).is_empty(), "{kind}: init left running");
        assert!(!b.rootfs().join("ran").exists());
    }
}

#[test]
#[ignore = "needs root"]
fn a_failing_start_container_hook_fails_start_and_stops_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let poststart = dir.path().join("poststart-ran");
    let b = Bundle::with("sp-failstart", &["sh", "-c", "touch /ran"], |c| {
        c["hooks"] = json!({
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 9"]}],
            "poststart": [{"path": "/bin/touch", "args": ["touch", poststart]}],
        });
    });
    created(&b);
    let err = fails(&b, &["start", &b.id]);
    assert!(err.contains("error running startContainer hook #0") && err.contains("exit status 9"), "{err}");
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    assert!(!b.rootfs().join("ran").exists(), "the user process ran");
    assert!(!poststart.exists(), "poststart ran after a failed start");
    b.ok(&["delete", &b.id]);
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn a_failing_poststart_or_poststop_hook_is_a_warning_and_the_rest_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let fail = json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 5"]});
    let mark =
        |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {name} >> {}", log.display())]});
    let b = Bundle::with("sp-warnhooks", LOOP, |c| {
        c["hooks"] = json!({
            "poststart": [fail.clone(), mark("poststart-2")],
            "poststop": [fail.clone(), mark("poststop-2")],
        });
    });
    created(&b);
    let out = b.berth(&["start", &b.id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let warn = text(&out.stderr);
    assert!(warn.contains("warning") && warn.contains("error running poststart hook #0"), "{warn}");
    assert_eq!(b.state()["status"], "running");
    b.ok(&["kill", &b.id, "TERM"]);
    assert!(wait_until(|| b.state()["status"] == "stopped"));
    let out = b.berth(&["delete", &b.id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("error running poststop hook #0"), "{}", text(&out.stderr));
    b.assert_clean();
    assert_eq!(fs::read_to_string(&log).unwrap(), "poststart-2\npoststop-2\n");
}
