//! `berth exec` into a running container.

use std::fs;

use serde_json::json;

use crate::common::{Bundle, status_field, text, wait_until};

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
    // The host's pid of a process in init's pid namespace.
    let init = b.state()["pid"].as_i64().unwrap();
    assert_eq!(pid_ns(pid as i64), pid_ns(init));
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
    // runc takes only numbers for --user; the value refused is named.
    let out = b.berth(&["exec", "-u", "root:0", "ex-err", "true"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(
        text(&out.stderr).contains(r#"--user "root:0": the uid must be a number, not "root""#),
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
    // Busybox's sh starts each `sleep` as /proc/self/exe, which names itself
    // "sleep" a moment after its execve: until then it is "exe".
    let out = b.berth(&["exec", "ex-many", "ps", "-o", "comm"]);
    let procs: Vec<String> = text(&out.stdout).lines().skip(1).map(str::to_string).collect();
    assert!(procs.iter().all(|p| ["sh", "sleep", "exe", "ps"].contains(&p.as_str())), "{procs:?}");
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

fn pid_ns(pid: i64) -> std::path::PathBuf {
    fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap()
}

/// The processes whose parent is `parent`.
fn children_of(parent: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let stat = fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// The exec'd process is berth's own child (berth waits for it and forwards
/// signals to it) and a member of init's pid namespace, not its init; berth's
/// own children would still be born in the host's.
#[test]
#[ignore = "needs root"]
fn exec_process_is_berths_child_in_inits_pid_namespace() {
    let b = running("ex-child");
    let mut child = b.cmd(&["exec", "ex-child", "sh", "-c", "echo $$ > /tmp/in.pid; exec sleep 60"]).spawn().unwrap();
    let in_pid = b.rootfs().join("tmp/in.pid");
    assert!(wait_until(|| fs::read_to_string(&in_pid).is_ok_and(|s| s.ends_with('\n'))), "never started");
    let inside: i32 = fs::read_to_string(&in_pid).unwrap().trim().parse().unwrap();
    assert!(inside > 1, "the exec'd process is the namespace's init");
    let berth = child.id() as i32;
    let kids = children_of(berth);
    assert_eq!(kids.len(), 1, "berth's children: {kids:?}");
    let status = fs::read_to_string(format!("/proc/{}/status", kids[0])).unwrap();
    assert_eq!(status_field(&status, "NSpid:"), format!("{}\t{inside}", kids[0]));
    let init = b.state()["pid"].as_i64().unwrap();
    assert_eq!(pid_ns(kids[0] as i64), pid_ns(init));
    let own = fs::read_link("/proc/self/ns/pid").unwrap();
    assert_eq!(fs::read_link(format!("/proc/{berth}/ns/pid_for_children")).unwrap(), own);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(berth), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(128 + 15));
}

/// A container with a user namespace (root on the host drives it): the process
/// is the mapped root, in init's user and pid namespaces, not their init.
#[test]
#[ignore = "needs root"]
fn exec_into_a_container_with_a_user_namespace() {
    let b = crate::common::running("ex-userns", |c| {
        c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    });
    let out = b.berth(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "id -u; echo $$; readlink /proc/self/ns/user; readlink /proc/self/ns/pid",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let init = b.state()["pid"].as_i64().unwrap();
    let user_ns = fs::read_link(format!("/proc/{init}/ns/user")).unwrap();
    let seen = text(&out.stdout);
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines.len(), 4, "{seen}");
    assert_eq!(lines[0], "0");
    assert!(lines[1].parse::<i32>().is_ok_and(|p| p > 1), "{seen}");
    assert_eq!(lines[2..], [user_ns.to_str().unwrap(), pid_ns(init).to_str().unwrap()]);
}

/// A container without a pid namespace: the process is in ours, as init is.
#[test]
#[ignore = "needs root"]
fn exec_into_a_container_without_a_pid_namespace() {
    let b = crate::common::running("ex-nopidns", |c| {
        c["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "pid");
    });
    let out = b.berth(&["exec", &b.id, "sh", "-c", "readlink /proc/self/ns/pid; readlink /proc/self/ns/uts"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let own = fs::read_link("/proc/self/ns/pid").unwrap();
    let init = b.state()["pid"].as_i64().unwrap();
    assert_eq!(pid_ns(init), own);
    let init_uts = fs::read_link(format!("/proc/{init}/ns/uts")).unwrap();
    let want = format!("{}\n{}\n", own.display(), init_uts.display());
    assert_eq!(text(&out.stdout), want);
}

/// Seen from a mount namespace without the cgroup2 mount (a v1-only layout, as
/// the bench's), exec's process joins every hierarchy itself and the parent has
/// nothing to do before it goes on (no `Go`): it still ends up in each of
/// init's v1 cgroups.
#[test]
#[ignore = "needs root"]
fn exec_on_a_v1_only_layout_joins_every_hierarchy_itself() {
    if !std::path::Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists() {
        return; // not a hybrid host: nothing to unmount
    }
    let b = running("ex-v1only");
    let probe = ["exec", "ex-v1only", "cat", "/proc/self/cgroup"];
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", "mount --make-rprivate / && umount /sys/fs/cgroup/unified && exec \"$@\"", "sh"])
        .arg(crate::common::BERTH)
        .arg("--root")
        .arg(b.root.path())
        .args(probe)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v1 =
        |text: &str| -> Vec<String> { text.lines().filter(|l| !l.starts_with("0::")).map(str::to_string).collect() };
    let seen = v1(&text(&out.stdout));
    // The same process as berth starts it with the hybrid layout (init's cgroups).
    let want = v1(&b.ok(&probe));
    assert!(!want.is_empty());
    assert_eq!(seen, want);
}
