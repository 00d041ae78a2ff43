//! berth's command line against runc 1.1.5's, side by side on this machine:
//! flags, help and version, kill's checks, ps/events/list/features, `--debug`,
//! `--preserve-fds`, signal forwarding, exec's process options, quiet terminals,
//! checkpoint/restore.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::*;

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// berth with no container: `berth --root DIR ARGS`.
fn berth_at(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(BERTH);
    c.arg("--root").arg(root).args(args).stdin(Stdio::null());
    output_of(c)
}

fn runc_at(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut c = Command::new("runc");
    c.arg("--root").arg(root).args(args).stdin(Stdio::null());
    output_of(c)
}

#[test]
#[ignore = "needs root"]
fn boolean_flags_take_true_and_false_as_runc() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--debug=true", "list"][..],
        &["--debug=false", "list"],
        &["--systemd-cgroup=false", "list"],
        &["list", "--quiet=true"],
        &["list", "-q=false"],
        &["--debug=maybe", "list"],
    ] {
        let (b, r) = (berth_at(dir.path(), args), runc_at(dir.path(), args));
        assert_eq!(code(&b), code(&r), "{args:?}: berth {} / runc {}", text(&b.stderr), text(&r.stderr));
    }
    // On containers: delete --force=true, kill --all=true, run --detach=false.
    let b = running("cli-bool", |_| {});
    let r = Runc::new("cli-bool-r", LOOP);
    r.create_and_start();
    let (bk, rk) = (b.berth(&["kill", "--all=true", &b.id, "0"]), r.runc(&["kill", "--all=true", &r.bundle.id, "0"]));
    assert_eq!((code(&bk), code(&rk)), (0, 0), "kill --all=true: {} / {}", text(&bk.stderr), text(&rk.stderr));
    let (bd, rd) = (b.berth(&["delete", "--force=true", &b.id]), r.runc(&["delete", "--force=true", &r.bundle.id]));
    assert_eq!((code(&bd), code(&rd)), (0, 0), "delete --force=true: {} / {}", text(&bd.stderr), text(&rd.stderr));
    b.assert_clean();
    let b = Bundle::new("cli-bool-run", &["sh", "-c", "exit 7"]);
    let r = Runc::new("cli-bool-run-r", &["sh", "-c", "exit 7"]);
    let bo = b.berth(&["run", "--detach=false", "-b", b.path().to_str().unwrap(), &b.id]);
    let ro = r.runc(&["run", "--detach=false", "-b", r.bundle.path().to_str().unwrap(), &r.bundle.id]);
    assert_eq!((code(&bo), code(&ro)), (7, 7), "run --detach=false: {} / {}", text(&bo.stderr), text(&ro.stderr));
}

#[test]
#[ignore = "needs root"]
fn update_takes_negative_values_as_separate_arguments_as_runc() {
    let b = running("cli-neg", |_| {});
    let r = Runc::new("cli-neg-r", LOOP);
    r.create_and_start();
    let bpid = b.state()["pid"].as_i64().unwrap() as i32;
    let rpid: i32 = serde_json::from_slice::<Value>(&r.runc(&["state", &r.bundle.id]).stdout).unwrap()["pid"]
        .as_i64()
        .unwrap() as i32;
    let set = ["update", "--memory", "64m", "--memory-swap", "128m", "--pids-limit", "10", "--cpu-quota", "50000"];
    let unset = ["update", "--memory", "-1", "--memory-swap", "-1", "--pids-limit", "-1", "--cpu-quota", "-1"];
    for args in [&set[..], &unset[..]] {
        let mut ba = args.to_vec();
        ba.push(&b.id);
        let mut ra = args.to_vec();
        ra.push(&r.bundle.id);
        let (bo, ro) = (b.berth(&ba), r.runc(&ra));
        assert_eq!((code(&bo), code(&ro)), (0, 0), "{args:?}: berth {} / runc {}", text(&bo.stderr), text(&ro.stderr));
        for (ctrl, file) in [
            ("memory", "memory.limit_in_bytes"),
            ("memory", "memory.memsw.limit_in_bytes"),
            ("pids", "pids.max"),
            ("cpu", "cpu.cfs_quota_us"),
        ] {
            assert_eq!(cgroup_file(bpid, ctrl, file), cgroup_file(rpid, ctrl, file), "{args:?}: {file}");
        }
    }
    assert_eq!(cgroup_file(bpid, "pids", "pids.max"), "max");
    assert_eq!(cgroup_file(bpid, "cpu", "cpu.cfs_quota_us"), "-1");
}

#[test]
#[ignore = "needs root"]
fn version_has_runcs_shape() {
    for flag in ["-v", "--version"] {
        let out = Command::new(BERTH).arg(flag).output().unwrap();
        assert_eq!(code(&out), 0, "{flag}: {}", text(&out.stderr));
        let b = text(&out.stdout);
        let r = text(&Command::new("runc").arg(flag).output().unwrap().stdout);
        let lines: Vec<&str> = b.lines().collect();
        assert_eq!(lines[0], format!("berth version {}", env!("CARGO_PKG_VERSION")), "{b}");
        assert!(lines[1].starts_with("commit: ") && lines[1].len() > "commit: ".len(), "{b}");
        assert_eq!(lines[2], "spec: 1.2.0", "{b}");
        // The lines docker's info parses are in both, in the same order.
        let shape = |t: &str| {
            t.lines().take(3).map(|l| l.split([' ', ':']).nth(1).unwrap_or("").to_string()).collect::<Vec<_>>()
        };
        assert!(r.lines().next().unwrap().starts_with("runc version "), "{r}");
        assert_eq!(shape(&b)[0], shape(&r)[0], "{b} / {r}");
        assert!(r.lines().nth(1).unwrap().starts_with("commit: "), "{r}");
    }
}

/// runc 1.1.5's commands, each with a help text.
const COMMANDS: [&str; 17] = [
    "checkpoint",
    "create",
    "delete",
    "events",
    "exec",
    "kill",
    "list",
    "pause",
    "ps",
    "restore",
    "resume",
    "run",
    "spec",
    "start",
    "state",
    "update",
    "features",
];

#[test]
#[ignore = "needs root"]
fn help_exits_0_for_every_command_and_an_unknown_topic_as_runc() {
    for c in COMMANDS {
        for args in [vec![c, "-h"], vec![c, "--help"], vec!["help", c], vec!["h", c]] {
            let b = Command::new(BERTH).args(&args).output().unwrap();
            let r = Command::new("runc").args(&args).output().unwrap();
            assert_eq!((code(&b), code(&r)), (0, 0), "{args:?}: {}", text(&b.stderr));
            assert!(text(&b.stdout).contains(&format!("berth {c}")), "{args:?}: {}", text(&b.stdout));
        }
    }
    let b = Command::new(BERTH).args(["help", "foo"]).output().unwrap();
    let r = Command::new("runc").args(["help", "foo"]).output().unwrap();
    assert_eq!(code(&b), code(&r), "help foo: {}", text(&b.stderr));
    assert_eq!(code(&b), 3);
    let want = runc_msg(&r.stderr);
    assert_eq!(want.trim_end_matches("\\n"), "No help topic for 'foo'");
    assert!(text(&b.stderr).contains("No help topic for 'foo'"), "{}", text(&b.stderr));
}

/// One kill, by both runtimes: (berth's exit code, runc's), with berth's stderr
/// holding runc's message.
fn kill_both(b: &Bundle, r: &Runc, args: &[&str], what: &str) {
    let mut ba = vec!["kill"];
    ba.extend_from_slice(args);
    let bo = b.berth(&ba.iter().map(|a| if *a == "ID" { b.id.as_str() } else { a }).collect::<Vec<_>>());
    let ro = r.runc(&ba.iter().map(|a| if *a == "ID" { r.bundle.id.as_str() } else { a }).collect::<Vec<_>>());
    assert_eq!(code(&bo), code(&ro), "{what} {args:?}: berth {} / runc {}", text(&bo.stderr), text(&ro.stderr));
    if code(&ro) != 0 {
        let msg = runc_msg(&ro.stderr).replace(&r.bundle.id, &b.id);
        assert!(text(&bo.stderr).contains(&msg), "{what} {args:?}: berth {:?}, runc {msg:?}", text(&bo.stderr));
    }
}

#[test]
#[ignore = "needs root"]
fn kill_checks_the_container_before_the_signal_as_runc() {
    let sets: [&[&str]; 4] = [&["ID", "0"], &["--all", "ID", "0"], &["--all", "ID", "TERM"], &["ID", "BOGUS"]];
    // Nonexistent.
    let b = Bundle::new("cli-kill-none", LOOP);
    let r = Runc::new("cli-kill-none-r", LOOP);
    for s in sets {
        kill_both(&b, &r, s, "nonexistent");
    }
    // Created, running, paused.
    let b = Bundle::new("cli-kill", LOOP);
    let r = Runc::new("cli-kill-r", LOOP);
    ok(&b.create(&[]), "create");
    ok(&r.create(), "runc create");
    for s in &sets[..2] {
        kill_both(&b, &r, s, "created");
    }
    ok(&b.berth(&["start", &b.id]), "start");
    ok(&r.runc(&["start", &r.bundle.id]), "runc start");
    for s in &sets[..2] {
        kill_both(&b, &r, s, "running");
    }
    ok(&b.berth(&["pause", &b.id]), "pause");
    ok(&r.runc(&["pause", &r.bundle.id]), "runc pause");
    for s in &sets[..2] {
        kill_both(&b, &r, s, "paused");
    }
    // Stopped (runc 1.1.5 cannot always resume here: fresh containers instead).
    let b = Bundle::new("cli-kill-stopped", &["true"]);
    let r = Runc::new("cli-kill-stopped-r", &["true"]);
    b.create_and_start();
    r.create_and_start();
    assert!(wait_until(|| b.state()["status"] == "stopped" && r.status() == "stopped"));
    for s in [&["ID", "0"][..], &["--all", "ID", "0"], &["--all", "ID", "TERM"], &["ID", "TERM"]] {
        kill_both(&b, &r, s, "stopped");
    }
}

#[test]
#[ignore = "needs root"]
fn ps_and_events_of_a_stopped_container_as_runc() {
    let b = Bundle::new("cli-stopped", &["true"]);
    let r = Runc::new("cli-stopped-r", &["true"]);
    b.create_and_start();
    r.create_and_start();
    assert!(wait_until(|| b.state()["status"] == "stopped" && r.status() == "stopped"));
    let (bo, ro) = (b.berth(&["ps", &b.id]), r.runc(&["ps", &r.bundle.id]));
    assert_eq!((code(&bo), code(&ro)), (0, 0), "ps: {} / {}", text(&bo.stderr), text(&ro.stderr));
    assert_eq!(text(&bo.stdout), text(&ro.stdout), "ps prints the header only");
    // A zero interval is refused before anything else, --stats or not.
    for args in [&["events"][..], &["events", "--stats"], &["events", "--interval", "0s", "--stats"]] {
        let mut ba = args.to_vec();
        ba.push(&b.id);
        let mut ra = args.to_vec();
        ra.push(&r.bundle.id);
        let (bo, ro) = (b.berth(&ba), r.runc(&ra));
        assert_eq!((code(&bo), code(&ro)), (1, 1), "{args:?}: {} / {}", text(&bo.stderr), text(&ro.stderr));
        let msg = runc_msg(&ro.stderr).replace(&r.bundle.id, &b.id);
        assert!(text(&bo.stderr).contains(&msg), "{args:?}: berth {:?}, runc {msg:?}", text(&bo.stderr));
    }
}

/// Every key path of a JSON document; the entries of `hugetlb` (page sizes) and
/// `memory.raw` (the kernel's memory.stat) are data, not keys of the format.
fn key_paths(v: &Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            let p = format!("{prefix}.{k}");
            out.insert(p.clone());
            if !p.ends_with(".hugetlb") && !p.ends_with(".raw") {
                key_paths(x, &p, out);
            }
        }
    }
}

#[test]
#[ignore = "needs root"]
fn events_stats_have_exactly_runcs_keys() {
    let b = running("cli-stats", |_| {});
    let r = Runc::new("cli-stats-r", LOOP);
    r.create_and_start();
    let (bo, ro) = (b.berth(&["events", "--stats", &b.id]), r.runc(&["events", "--stats", &r.bundle.id]));
    let bv: Value = serde_json::from_slice(&bo.stdout).unwrap_or_else(|_| panic!("berth: {}", text(&bo.stderr)));
    let rv: Value = serde_json::from_slice(&ro.stdout).unwrap_or_else(|_| panic!("runc: {}", text(&ro.stderr)));
    let (mut bk, mut rk) = (Default::default(), Default::default());
    key_paths(&bv, "", &mut bk);
    key_paths(&rv, "", &mut rk);
    let only_berth: Vec<_> = bk.difference(&rk).collect();
    let only_runc: Vec<_> = rk.difference(&bk).collect();
    assert!(only_berth.is_empty() && only_runc.is_empty(), "only berth: {only_berth:?}; only runc: {only_runc:?}");
}

#[test]
#[ignore = "needs root"]
fn list_shows_the_owner_and_features_carry_berths_annotations() {
    let b = running("cli-list", |_| {});
    let r = Runc::new("cli-list-r", LOOP);
    r.create_and_start();
    let bl: Value = serde_json::from_str(&b.ok(&["list", "--format", "json"])).unwrap();
    let rl: Value = serde_json::from_slice(&r.runc(&["list", "--format", "json"]).stdout).unwrap();
    assert_eq!(bl[0]["owner"], rl[0]["owner"], "{bl} / {rl}");
    assert_eq!(bl[0]["owner"], "root");
    let f: Value = serde_json::from_str(&b.ok(&["features"])).unwrap();
    let ann = f["annotations"].as_object().unwrap();
    assert!(ann.keys().all(|k| !k.starts_with("org.opencontainers.runc")), "{ann:?}");
    assert_eq!(ann["run.berth.version"], env!("CARGO_PKG_VERSION"));
    assert!(ann.contains_key("run.berth.commit") && ann.contains_key("run.berth.checkpoint.enabled"), "{ann:?}");
}

/// `level=debug` lines (text or JSON) in a log.
fn debug_lines(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains("level=debug")
                || serde_json::from_str::<Value>(l).is_ok_and(|v| v["level"] == "debug" && v["msg"].is_string())
        })
        .count()
}

#[test]
#[ignore = "needs root"]
fn debug_writes_level_debug_lines_for_each_step_as_runc() {
    for format in ["text", "json"] {
        // To --log: create's steps, in both runtimes.
        let b = Bundle::new(&format!("cli-debug-{format}"), LOOP);
        let r = Runc::new(&format!("cli-debug-{format}-r"), LOOP);
        let (blog, rlog) = (b.path().join("berth.log"), r.bundle.path().join("runc.log"));
        let opts = |log: &std::path::Path| {
            vec!["--debug".to_string(), "--log".into(), log.display().to_string(), "--log-format".into(), format.into()]
        };
        let mut ba: Vec<String> = opts(&blog);
        ba.extend(["create", "--bundle", b.path().to_str().unwrap(), &b.id].map(String::from));
        ok(&b.berth(&ba.iter().map(String::as_str).collect::<Vec<_>>()), "berth --debug create");
        let mut ra: Vec<String> = opts(&rlog);
        ra.extend(["create", "--bundle", r.bundle.path().to_str().unwrap(), &r.bundle.id].map(String::from));
        ok(&r.runc(&ra.iter().map(String::as_str).collect::<Vec<_>>()), "runc --debug create");
        let (bt, rt) = (std::fs::read_to_string(&blog).unwrap(), std::fs::read_to_string(&rlog).unwrap());
        assert!(debug_lines(&rt) > 0, "runc: {rt}");
        assert!(debug_lines(&bt) >= 5, "berth {format}: {bt}");
        for step in ["after-cgroup", "after-clone", "after-mounts", "ready"] {
            assert!(bt.contains(step), "berth {format} has no {step} line: {bt}");
        }
        // To stderr: start and delete's steps; without --debug, none.
        let s = b.berth(&["--debug", "--log-format", format, "start", &b.id]);
        assert!(debug_lines(&text(&s.stderr)) > 0, "start: {}", text(&s.stderr));
        let quiet = b.berth(&["--log-format", format, "pause", &b.id]);
        assert_eq!(debug_lines(&text(&quiet.stderr)), 0, "{}", text(&quiet.stderr));
        let d = b.berth(&["--debug=true", "--log-format", format, "delete", "--force", &b.id]);
        assert!(debug_lines(&text(&d.stderr)) >= 2, "delete: {}", text(&d.stderr));
        b.assert_clean();
    }
}

#[test]
#[ignore = "needs root"]
fn preserve_fds_beyond_the_fd_limit_is_refused_as_runc() {
    let b = Bundle::new("cli-pfd", &["true"]);
    let r = Runc::new("cli-pfd-r", &["true"]);
    let (bp, rp) = (b.path().to_str().unwrap(), r.bundle.path().to_str().unwrap());
    let bo = b.berth(&["run", "--preserve-fds", "2000000", "-b", bp, &b.id]);
    let ro = r.runc(&["run", "--preserve-fds", "2000000", "-b", rp, &r.bundle.id]);
    assert_eq!((code(&bo), code(&ro)), (1, 1), "{} / {}", text(&bo.stderr), text(&ro.stderr));
    assert!(text(&bo.stderr).contains("too many open files"), "{}", text(&bo.stderr));
    b.assert_clean();
    // A preserved fd that is not open is refused, with runc's wording (runc itself
    // holds fds 3-6, so only a higher one shows it there).
    let bo = b.berth(&["run", "--preserve-fds", "50", "-b", bp, &b.id]);
    assert_eq!(code(&bo), 1);
    let e = text(&bo.stderr);
    assert!(e.contains("unable to stat preserved-fd ") && e.contains(" (of 50)"), "{e}");
    b.assert_clean();
}

/// `RUNTIME run` started by a shell that ignores INT, HUP and USR1, as `nohup` or
/// a background job would: the container must still get each one sent to `run`.
fn signal_through_ignored(runtime: &str, root: &std::path::Path, bundle: &Bundle, sig: &str) -> i32 {
    let out = bundle.path().join(format!("out-{sig}"));
    let script = format!(
        "trap '' INT HUP USR1; exec {runtime} --root {} run -b {} {} >{} 2>&1",
        root.display(),
        bundle.path().display(),
        bundle.id,
        out.display()
    );
    let mut child = Command::new("sh").args(["-c", &script]).stdin(Stdio::null()).spawn().unwrap();
    assert!(wait_until(|| std::fs::read_to_string(&out).unwrap_or_default().contains("ready")), "{runtime}: no ready");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args([&format!("-{sig}"), &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    status.code().unwrap_or(-1)
}

#[test]
#[ignore = "needs root"]
fn run_forwards_signals_it_was_started_with_ignored_as_runc() {
    let args = [
        "sh",
        "-c",
        "trap 'exit 3' USR1; trap 'exit 4' INT; trap 'exit 5' HUP; echo ready; while true; do sleep 0.05; done",
    ];
    for (sig, want) in [("USR1", 3), ("INT", 4), ("HUP", 5)] {
        let b = Bundle::new(&format!("cli-sig-{}", sig.to_lowercase()), &args);
        let r = Runc::new(&format!("cli-sig-{}-r", sig.to_lowercase()), &args);
        assert_eq!(signal_through_ignored("runc", &r.root(), &r.bundle, sig), want, "runc {sig}");
        assert_eq!(signal_through_ignored(BERTH, b.root.path(), &b, sig), want, "berth {sig}");
        b.assert_clean();
    }
    // Nor does the container inherit an ignored signal (Rust ignores SIGPIPE).
    let b = Bundle::new("cli-sigign", &["grep", "SigIgn", "/proc/self/status"]);
    let r = Runc::new("cli-sigign-r", &["grep", "SigIgn", "/proc/self/status"]);
    let ro = r.runc(&["run", "-b", r.bundle.path().to_str().unwrap(), &r.bundle.id]);
    // runc's Go runtime leaves signal 32 (glibc's) as it found it; berth resets
    // every one.
    let mask = |t: &str| u64::from_str_radix(t.trim().trim_start_matches("SigIgn:").trim(), 16).unwrap();
    let (bm, rm) = (mask(&b.run_ok()), mask(&text(&ro.stdout)));
    assert_eq!(bm, 0, "berth's container starts with ignored signals: {bm:#x}");
    assert_eq!(rm & !(1 << 31), 0, "runc: {rm:#x}");
}

#[test]
#[ignore = "needs root"]
fn exec_unknown_cap_warns_and_a_process_without_user_runs_as_root_as_runc() {
    let b = running("cli-exec", |_| {});
    let r = Runc::new("cli-exec-r", LOOP);
    r.create_and_start();
    let bo = b.berth(&["exec", "--cap", "CAP_BOGUS", &b.id, "true"]);
    let ro = r.runc(&["exec", "--cap", "CAP_BOGUS", &r.bundle.id, "true"]);
    assert_eq!((code(&bo), code(&ro)), (0, 0), "{} / {}", text(&bo.stderr), text(&ro.stderr));
    let msg = runc_msg(&ro.stderr);
    assert_eq!(msg, "ignoring unknown or unavailable capabilities: [CAP_BOGUS]");
    assert!(text(&bo.stderr).contains(&msg) && text(&bo.stderr).contains("level=warning"), "{}", text(&bo.stderr));
    let process = b.path().join("process.json");
    std::fs::write(&process, json!({"args": ["id"], "cwd": "/", "env": ["PATH=/bin"]}).to_string()).unwrap();
    let p = process.to_str().unwrap();
    let bo = b.berth(&["exec", "--process", p, &b.id]);
    let ro = r.runc(&["exec", "--process", p, &r.bundle.id]);
    assert_eq!((code(&bo), code(&ro)), (0, 0), "{} / {}", text(&bo.stderr), text(&ro.stderr));
    assert_eq!(text(&bo.stdout), text(&ro.stdout));
    assert!(text(&bo.stdout).starts_with("uid=0(root) gid=0(root)"), "{}", text(&bo.stdout));
}

#[test]
#[ignore = "needs root"]
fn exec_applies_the_console_size_of_process_json() {
    let b = running("cli-consize", |_| {});
    let sock = b.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let process = b.path().join("process.json");
    let p = json!({"args": ["stty", "size"], "cwd": "/", "env": ["PATH=/bin"], "terminal": true,
        "consoleSize": {"height": 33, "width": 77}, "user": {"uid": 0, "gid": 0}});
    std::fs::write(&process, p.to_string()).unwrap();
    let mut cmd = b.cmd(&["exec", "--detach", "--console-socket", sock.to_str().unwrap(), "--process"]);
    cmd.args([process.to_str().unwrap(), &b.id]);
    let child = std::thread::spawn(move || output_of(cmd));
    let mut master = accept_pty(&listener);
    let got = read_until(&mut master, "\n");
    let out = child.join().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(got.contains("33 77"), "stty size in the exec'd pty: {got:?}");
}

/// A terminal `run` under `script` (a pty, stdout and stderr merged), stdin held
/// open: everything the user's terminal shows.
fn script_run(runtime: &str, root: &std::path::Path, bundle: &Bundle) -> Vec<u8> {
    let cmd = format!("{runtime} --root {} run -b {} {}", root.display(), bundle.path().display(), bundle.id);
    let sh = format!("sleep 5 | script -qec '{cmd}' /dev/null");
    let out = Command::new("sh").args(["-c", &sh]).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{runtime}: {}", text(&out.stderr));
    out.stdout
}

#[test]
#[ignore = "needs root"]
fn terminal_run_shows_only_the_process_output_as_runc() {
    let edit = |c: &mut Value| c["process"]["terminal"] = json!(true);
    let b = Bundle::with("cli-quiet", &["echo", "hi"], edit);
    let r = Runc::with("cli-quiet-r", &["echo", "hi"], edit);
    let (bo, ro) = (script_run(BERTH, b.root.path(), &b), script_run("runc", &r.root(), &r.bundle));
    assert_eq!(text(&bo), text(&ro));
    assert_eq!(bo, b"hi\r\n");
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn debug_lines_of_init_never_reach_the_containers_terminal() {
    let b = Bundle::with("cli-quiet-sock", &["echo", "hi"], |c| c["process"]["terminal"] = json!(true));
    let sock = b.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let out = std::thread::scope(|s| {
        let h = s.spawn(|| {
            b.berth(&[
                "--debug",
                "create",
                "--console-socket",
                sock.to_str().unwrap(),
                "-b",
                b.path().to_str().unwrap(),
                &b.id,
            ])
        });
        let mut master = accept_pty(&listener);
        let out = h.join().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        ok(&b.berth(&["start", &b.id]), "start");
        let got = read_until(&mut master, "hi");
        assert!(!got.contains("level="), "a log line in the container's terminal: {got:?}");
        out
    });
    // init's own lines (after the pty became its stdio) went to our stderr.
    assert!(text(&out.stderr).contains("init: ready, waiting on the exec fifo"), "{}", text(&out.stderr));
}

#[test]
#[ignore = "needs root"]
fn checkpoint_and_restore_say_what_is_missing() {
    let b = running("cli-criu", |_| {});
    let r = Runc::new("cli-criu-r", LOOP);
    r.create_and_start();
    let images = b.path().join("images");
    let img = images.to_str().unwrap();
    // Without CRIU: the same failure as runc's, naming the binary.
    let bo = b.berth(&["--criu", "/nonexistent/criu", "checkpoint", "--image-path", img, &b.id]);
    let ro = r.runc(&["--criu", "/nonexistent/criu", "checkpoint", "--image-path", img, &r.bundle.id]);
    assert_eq!((code(&bo), code(&ro)), (1, 1), "{} / {}", text(&bo.stderr), text(&ro.stderr));
    assert!(text(&ro.stderr).contains("CRIU version check failed"), "{}", text(&ro.stderr));
    let e = text(&bo.stderr);
    assert!(
        e.contains("CRIU version check failed") && e.contains("/nonexistent/criu") && e.contains("install criu"),
        "{e}"
    );
    assert_eq!(b.state()["status"], "running", "a failed checkpoint leaves the container running");
    let bo = b.berth(&[
        "--criu",
        "/nonexistent/criu",
        "restore",
        "--image-path",
        img,
        "-b",
        b.path().to_str().unwrap(),
        "cli-criu2",
    ]);
    assert_eq!(code(&bo), 1, "{}", text(&bo.stderr));
    assert!(text(&bo.stderr).contains("CRIU version check failed"), "{}", text(&bo.stderr));
    assert!(!b.root.path().join("cli-criu2").exists(), "a failed restore leaves no state");
    // A created container cannot be checkpointed (runc's wording).
    let c = Bundle::new("cli-criu-created", LOOP);
    ok(&c.create(&[]), "create");
    let co = c.berth(&["checkpoint", "--image-path", img, &c.id]);
    assert_eq!(code(&co), 1);
    assert!(text(&co.stderr).contains("Container cannot be checkpointed in created state"), "{}", text(&co.stderr));
    // With Debian's criu: either it works here, or both runtimes fail alike and
    // berth names criu's log and its error.
    if Command::new("criu").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let flags = ["--leave-running", "--tcp-established", "--ext-unix-sk", "--shell-job", "--file-locks"];
        let mut ba = vec!["checkpoint", "--image-path", img];
        ba.extend(flags);
        ba.push(&b.id);
        let bo = b.berth(&ba);
        let rimg = r.bundle.path().join("images");
        let mut ra = vec!["checkpoint", "--image-path", rimg.to_str().unwrap()];
        ra.extend(flags);
        ra.push(&r.bundle.id);
        let ro = r.runc(&ra);
        assert_eq!(code(&bo), code(&ro), "criu: {} / {}", text(&bo.stderr), text(&ro.stderr));
        if code(&bo) != 0 {
            let e = text(&bo.stderr);
            assert!(e.contains("criu failed: type DUMP") && e.contains("dump.log"), "{e}");
        }
        assert_eq!(b.state()["status"], "running", "--leave-running");
    }
}

/// runc's stdout with berth's name where runc prints its own (the help texts
/// berth copies), and the VERSION section of the app help left out.
fn as_berths(runc_stdout: &[u8]) -> String {
    let t = text(runc_stdout).replace("/run/runc", "/run/berth").replace("runc", "berth");
    let t = t.replace("opencontainers/berth/types", "opencontainers/runc/types");
    without_version(&t)
}

fn without_version(t: &str) -> String {
    match (t.find("\nVERSION:\n"), t.find("\n\nCOMMANDS:")) {
        (Some(a), Some(b)) => format!("{}{}", &t[..a], &t[b..]),
        _ => t.to_string(),
    }
}

#[test]
#[ignore = "needs root"]
fn help_texts_are_runcs_with_berths_name() {
    let mut cases: Vec<Vec<&str>> = vec![vec![], vec!["-h"], vec!["--help"], vec!["-help"], vec!["help"], vec!["h"]];
    for c in COMMANDS.into_iter().chain(["help"]) {
        cases.extend([vec![c, "--help"], vec![c, "-h"], vec!["help", c], vec!["h", c]]);
    }
    for args in cases {
        let b = Command::new(BERTH).args(&args).output().unwrap();
        let r = Command::new("runc").args(&args).output().unwrap();
        assert_eq!((code(&b), code(&r)), (0, 0), "{args:?}: {}", text(&b.stderr));
        assert_eq!(without_version(&text(&b.stdout)), as_berths(&r.stdout), "{args:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn usage_errors_print_and_exit_as_runc() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &["--bogus", "list"],
        &["-x"],
        &["--debug=maybe", "list"],
        &["--log-format", "xml", "list"],
        &["foo"],
        &["help", "foo"],
        &["help", "-x"],
        &["state"],
        &["state", "a", "b"],
        &["kill"],
        &["kill", "id", "9", "extra"],
        &["exec"],
        &["ps"],
        &["list", "x"],
        &["spec", "x"],
        &["features", "x"],
        &["delete", "--bogus", "id"],
        &["delete", "id", "--bogus"],
        &["delete", "id", "--", "--force"],
        &["delete", "-f", "--force", "id"],
        &["delete", "--force=yes", "id"],
        &["exec", "-e", "A=1", "--env", "B=2", "id", "true"],
        &["exec", "-t=maybe", "id"],
        &["exec", "-g", "1", "-g", "x", "id"],
        &["create", "-b"],
        &["create", "--systemd-cgroup", "id"],
        &["create", "--preserve-fds", "x", "id"],
        &["events", "--interval", "1", "id"],
        &["update", "--pids-limit", "x", "id"],
        &["update", "id", "--pids-limit", "x"],
        // runc looks the container up before it reads a value.
        &["update", "--memory", "abc", "id"],
        &["update", "--cpu-period", "x", "id"],
        &["list", "--format"],
        &["list", "--format", "x"],
        &["list", "-q", "x"],
        &["list", "--", "-q"],
        &["kill", "-h", "a", "b", "c"],
        &["--debug", "list", "-h"],
        &["--root"],
    ];
    for args in cases {
        let (b, r) = (berth_at(dir.path(), args), runc_at(dir.path(), args));
        assert_eq!(code(&b), code(&r), "{args:?}: berth {} / runc {}", text(&b.stderr), text(&r.stderr));
        assert_eq!(without_version(&text(&b.stdout)), as_berths(&r.stdout), "{args:?}");
        let msg = runc_msg(&r.stderr).trim_end_matches("\\n").replace("runc: ", "");
        assert!(text(&b.stderr).contains(&msg), "{args:?}: berth {:?}, runc {msg:?}", text(&b.stderr));
    }
}

#[test]
#[ignore = "needs root"]
fn single_dash_flags_and_flags_after_the_id_as_runc() {
    let b = running("cli-order", |_| {});
    let r = Runc::new("cli-order-r", LOOP);
    r.create_and_start();
    let (broot, rroot) = (b.root.path().to_str().unwrap().to_string(), r.root().to_str().unwrap().to_string());
    let both = |args: &[&str]| {
        let sub = |root: &str, id: &str| {
            let mut v = vec!["-root".to_string(), root.to_string()];
            v.extend(args.iter().map(|a| if *a == "ID" { id.to_string() } else { a.to_string() }));
            v
        };
        let bo = Command::new(BERTH).args(sub(&broot, &b.id)).stdin(Stdio::null()).output().unwrap();
        let ro = Command::new("runc").args(sub(&rroot, &r.bundle.id)).stdin(Stdio::null()).output().unwrap();
        assert_eq!(code(&bo), code(&ro), "{args:?}: berth {} / runc {}", text(&bo.stderr), text(&ro.stderr));
        (text(&bo.stdout), text(&ro.stdout))
    };
    // A single-dash long global flag, and list's flags after nothing.
    let (bl, rl) = both(&["list", "-quiet"]);
    assert_eq!((bl.trim(), rl.trim()), (b.id.as_str(), r.bundle.id.as_str()));
    // exec: everything after the id is the process's, even what looks like exec's flags.
    let (be, re) = both(&["exec", "-e", "X=1", "-e", "Y=2", "ID", "sh", "-c", "echo $X$Y -t --env Z"]);
    assert_eq!((be.as_str(), re.as_str()), ("12 -t --env Z\n", "12 -t --env Z\n"));
    // ps: before the id, its own flags (single-dash long too); after it, ps(1)'s.
    let (bp, rp) = both(&["ps", "-format", "json", "ID"]);
    assert!(serde_json::from_str::<Value>(&bp).unwrap().as_array().is_some_and(|a| !a.is_empty()), "{bp}");
    assert!(serde_json::from_str::<Value>(&rp).is_ok(), "{rp}");
    let (bp, rp) = both(&["ps", "ID", "-f", "json"]);
    let json = |t: &str| serde_json::from_str::<Value>(t).is_ok();
    assert_eq!(json(&bp), json(&rp), "berth {bp:?} / runc {rp:?}");
    // kill and delete: flags after the id count.
    both(&["kill", "ID", "KILL", "-a"]);
    assert!(wait_until(|| b.state()["status"] == "stopped" && r.status() == "stopped"));
    both(&["delete", "ID", "--force"]);
    let (bs, rs) = (b.berth(&["state", &b.id]), r.runc(&["state", &r.bundle.id]));
    assert_eq!((code(&bs), code(&rs)), (1, 1), "deleted: {} / {}", text(&bs.stderr), text(&rs.stderr));
    b.assert_clean();
}
