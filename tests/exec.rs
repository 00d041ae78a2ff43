//! `berth exec` into a running container.

use std::fs;

use serde_json::json;

use crate::common::{Bundle, text};

fn running(id: &str) -> Bundle {
    let b = Bundle::with(id, &["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.05; done"], |c| {
        c["hostname"] = json!("exec-box");
    });
    let out = b.create(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(b.berth(&["start", id]).status.success());
    b
}

#[test]
#[ignore = "needs root"]
fn exec_output_and_exit_code() {
    let b = running("ex-basic");
    let out = b.berth(&["exec", "ex-basic", "sh", "-c", "echo hi; hostname; exit 5"]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(text(&out.stdout), "hi\nexec-box\n");
    let out = b.berth(&["exec", "ex-basic", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(128 + 15));
}

#[test]
#[ignore = "needs root"]
fn exec_sees_the_container_pid_namespace_and_cgroup() {
    let b = running("ex-ns");
    let out = b.berth(&[
        "exec",
        "ex-ns",
        "sh",
        "-c",
        "echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /proc/self/cgroup",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let mut lines = s.lines();
    assert_ne!(lines.next(), Some("1"));
    assert!(lines.next().unwrap().starts_with("sh -c trap"), "{s}");
    let pid = b.state()["pid"].as_i64().unwrap();
    let init_cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let exec_cg: Vec<&str> = lines.collect();
    // Same cgroup namespace view as init: every line equal.
    let init_view = b.berth(&["exec", "ex-ns", "cat", "/proc/1/cgroup"]);
    assert_eq!(text(&init_view.stdout).lines().collect::<Vec<_>>(), exec_cg);
    assert!(!init_cg.is_empty());
}

#[test]
#[ignore = "needs root"]
fn exec_with_process_json() {
    let b = running("ex-json");
    let p = b.path().join("process.json");
    fs::write(
        &p,
        serde_json::to_vec(&json!({
            "terminal": false,
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [2000]},
            "args": ["sh", "-c", "id -u; id -G; echo $GREETING; pwd"],
            "env": ["PATH=/bin", "GREETING=hello"],
            "cwd": "/tmp",
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}
        }))
        .unwrap(),
    )
    .unwrap();
    let out = b.berth(&["exec", "--process", p.to_str().unwrap(), "ex-json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "1000\n1000 2000\nhello\n/tmp\n");
}

#[test]
#[ignore = "needs root"]
fn exec_detach_writes_pid_file() {
    let b = running("ex-detach");
    let pid_file = b.path().join("exec.pid");
    let out = b.berth(&["exec", "-d", "--pid-file", pid_file.to_str().unwrap(), "ex-detach", "sleep", "30"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pid: i32 = fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let cmdline = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(cmdline.starts_with("sleep"), "{cmdline:?}");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
}

#[test]
#[ignore = "needs root"]
fn exec_errors_name_the_container_and_exit_255() {
    let b = running("ex-err");
    let out = b.berth(&["exec", "ex-err", "/no/such/program"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(
        text(&out.stderr).contains("ex-err") && text(&out.stderr).contains("/no/such/program"),
        "{}",
        text(&out.stderr)
    );
    let out = b.berth(&["exec", "no-such-container", "true"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(text(&out.stderr).contains("does not exist"), "{}", text(&out.stderr));
    assert!(b.berth(&["kill", "ex-err", "KILL"]).status.success());
    assert!(crate::common::wait_until(|| b.state()["status"] == "stopped"));
    let out = b.berth(&["exec", "ex-err", "true"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(text(&out.stderr).contains("stopped"), "{}", text(&out.stderr));
}

#[test]
#[ignore = "needs root"]
fn fifty_concurrent_execs_all_succeed() {
    let b = running("ex-many");
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let cmd = b.cmd(&["exec", "ex-many", "sh", "-c", &format!("echo {i}")]);
            std::thread::spawn(move || {
                let out = crate::common::output_of(cmd);
                (out.status.success(), text(&out.stdout))
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (ok, out) = h.join().unwrap();
        assert!(ok, "exec {i} failed");
        assert_eq!(out, format!("{i}\n"));
    }
    // No exec'd process is left in the container: only init (and its sleep).
    let out = b.berth(&["exec", "ex-many", "ps", "-o", "comm"]);
    let procs: Vec<String> = text(&out.stdout).lines().skip(1).map(str::to_string).collect();
    assert!(procs.iter().all(|p| p == "sh" || p == "sleep" || p == "ps"), "{procs:?}");
}
