//! `berth exec` into a running container.

use std::fs;

use serde_json::json;

use crate::common::{Bundle, text};

/// A running container named `exec-box` to exec into.
fn running(id: &str) -> Bundle {
    crate::common::running(id, |c| c["hostname"] = json!("exec-box"))
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

#[test]
#[ignore = "needs root"]
fn exec_tty_through_a_console_socket() {
    use std::io::Write;
    use std::os::unix::net::UnixListener;
    let b = running("ex-tty");
    let sock = b.path().join("exec-console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let cmd = b.cmd(&[
        "exec",
        "--tty",
        "--console-socket",
        sock.to_str().unwrap(),
        "ex-tty",
        "sh",
        "-c",
        "tty; test -t 0 && echo isatty; read x; echo got $x",
    ]);
    let waiter = std::thread::spawn(move || crate::common::output_of(cmd));
    let mut m = crate::common::accept_pty(&listener);
    m.write_all(b"hello\n").unwrap();
    let got = crate::common::read_until(&mut m, "got hello");
    assert!(got.contains("/dev/pts/"), "{got:?}");
    assert!(got.contains("isatty"), "{got:?}");
    assert!(got.contains("got hello"), "{got:?}");
    let out = waiter.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `berth exec -t` without a console socket relays its own terminal: a shell
/// under `script` (a real pty on berth's side) reads a line and exits.
#[test]
#[ignore = "needs root"]
fn exec_tty_under_script_reads_a_line() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let b = running("ex-script");
    let inner = format!(
        "{} --root {} exec -t ex-script sh -c 'read x; echo got $x; exit 3'",
        crate::common::BERTH,
        b.root.path().display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (bsdutils)");
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(text(&out.stdout).contains("got hello"), "{} {}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

/// Signals sent to `berth exec` reach the process; its exit status is berth's.
#[test]
#[ignore = "needs root"]
fn exec_forwards_signals() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let b = running("ex-sig");
    let mut child = b
        .cmd(&[
            "exec",
            "ex-sig",
            "sh",
            "-c",
            "trap 'exit 7' TERM; echo ready > /tmp/ready; while true; do sleep 0.05; done",
        ])
        .spawn()
        .unwrap();
    assert!(crate::common::wait_until(|| b.rootfs().join("tmp/ready").exists()), "exec'd process never started");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7));
}

#[test]
#[ignore = "needs root"]
fn exec_into_a_paused_container_is_refused_until_resumed() {
    let b = running("ex-paused");
    assert!(b.berth(&["pause", "ex-paused"]).status.success());
    let out = b.berth(&["exec", "ex-paused", "true"]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("ex-paused") && err.contains("paused"), "{err}");
    assert!(b.berth(&["resume", "ex-paused"]).status.success());
    let out = b.berth(&["exec", "ex-paused", "echo", "ok"]);
    assert_eq!(text(&out.stdout), "ok\n", "{}", text(&out.stderr));
    // Nothing of the refused exec is left: only init and its sleep.
    let out = b.berth(&["exec", "ex-paused", "ps", "-o", "comm"]);
    let procs: Vec<String> = text(&out.stdout).lines().skip(1).map(str::to_string).collect();
    assert!(procs.iter().all(|p| p == "sh" || p == "sleep" || p == "ps"), "{procs:?}");
}

/// `berth exec` started with INT and CHLD ignored (as by `nohup`, or a shell's
/// `trap ''`): the process starts with no signal ignored, its exit status is
/// berth's (an ignored SIGCHLD would have the kernel reap it before berth
/// waits), and INT sent to berth still reaches it.
#[test]
#[ignore = "needs root"]
fn exec_started_with_signals_ignored() {
    use std::process::Command;
    let b = running("ex-sigign");
    let root = b.root.path().to_str().unwrap().to_string();
    let ignoring = |script: &str| {
        let mut c = Command::new("sh");
        c.args(["-c", "trap '' INT CHLD; exec \"$@\"", "sh", crate::common::BERTH, "--root", &root]);
        c.args(["exec", "ex-sigign", "sh", "-c", script]);
        c
    };
    let out = ignoring("grep SigIgn /proc/self/status; exit 6").output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let mask = text(&out.stdout).trim().trim_start_matches("SigIgn:").trim().to_string();
    assert_eq!(u64::from_str_radix(&mask, 16), Ok(0), "the process starts with ignored signals: {mask}");
    let mut child = ignoring("trap 'exit 4' INT; echo > /tmp/ready; while true; do sleep 0.05; done").spawn().unwrap();
    assert!(crate::common::wait_until(|| b.rootfs().join("tmp/ready").exists()), "exec'd process never started");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(4));
}
