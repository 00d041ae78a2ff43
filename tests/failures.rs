//! Never a silent failure (issue 11, section 1): a seccomp profile that allows
//! only what the container's program needs still runs it; every failure of init
//! between `create` returning and execve reaches `start`/`run`. And the places
//! where berth now behaves as runc 1.1.5 (run side by side) or as the spec asks:
//! exec's flag checks, quiet runs, the state hooks get.

use std::fs;

use serde_json::{Value, json};

use crate::common::{Bundle, text};

/// The calls busybox-static makes for `true`, measured with strace.
const TRUE_CALLS: &[&str] = &[
    "arch_prctl",
    "brk",
    "execve",
    "exit_group",
    "getrandom",
    "getuid",
    "mprotect",
    "prctl",
    "prlimit64",
    "readlink",
    "rseq",
    "set_robust_list",
    "set_tid_address",
];

/// What busybox `sh` needs on top of that to run a loop, `sleep`, `echo` and `mkdir`
/// (the probe's `mkdir` itself is left out: it is the call the profile denies).
const SH_CALLS: &[&str] = &[
    "clock_nanosleep",
    "clone",
    "close",
    "dup2",
    "fcntl",
    "getdents64",
    "getpid",
    "getppid",
    "ioctl",
    "mmap",
    "munmap",
    "newfstatat",
    "openat",
    "read",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sendfile",
    "uname",
    "wait4",
    "write",
];

/// An allowlist: `names` allowed, everything else fails with `errno`.
fn allowlist(errno: u32, names: &[&str]) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": errno,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]
    })
}

fn sh_calls() -> Vec<&'static str> {
    TRUE_CALLS.iter().chain(SH_CALLS).copied().collect()
}

/// `berth run` with `--log FILE`: (exit code, stdout, stderr, the log).
fn run_logged(b: &Bundle, env: &[(&str, &str)]) -> (i32, String, String, String) {
    let log = b.path().join("berth.log");
    let mut cmd = b.cmd(&["--log", log.to_str().unwrap(), "run", "--bundle", b.path().to_str().unwrap(), &b.id]);
    cmd.envs(env.iter().copied());
    let out = crate::common::output_of(cmd);
    let log = fs::read_to_string(&log).unwrap_or_default();
    use std::os::unix::process::ExitStatusExt;
    // A signal reads as 128+N, as a shell shows it.
    let code = out.status.code().unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
    (code, text(&out.stdout), text(&out.stderr), log)
}

#[test]
#[ignore = "needs root"]
fn seccomp_strict_allowlists_run_under_eperm_enosys_and_enxio_defaults() {
    for (errno, words) in
        [(1, "Operation not permitted"), (38, "Function not implemented"), (6, "No such device or address")]
    {
        for nnp in [true, false] {
            // Without no_new_privs the filter is loaded while CAP_SYS_ADMIN is still
            // held, and the one capset that drops it follows: the profile must allow it.
            let extra: &[&str] = if nnp { &[] } else { &["capset"] };
            let edit = |names: Vec<&'static str>| {
                move |c: &mut Value| {
                    let names: Vec<&str> = names.iter().chain(extra).copied().collect();
                    c["linux"]["seccomp"] = allowlist(errno, &names);
                    c["process"]["noNewPrivileges"] = json!(nnp);
                }
            };
            let t = Bundle::with(&format!("sf-true-{errno}-{nnp}"), &["true"], edit(TRUE_CALLS.to_vec()));
            let (code, out, err) = t.run();
            assert_eq!(code, 0, "true, errno {errno}, nnp {nnp}: stdout {out:?} stderr {err:?}");

            let probe = "echo up; mkdir /tmp/x 2>&1; echo rc=$?";
            let s = Bundle::with(&format!("sf-sh-{errno}-{nnp}"), &["sh", "-c", probe], edit(sh_calls()));
            let out = s.run_ok();
            assert!(out.starts_with("up\n") && out.contains(words) && out.contains("rc=1"), "sh {errno}: {out}");

            // exec into a running container under the same profile.
            let loop_ = "trap 'exit 0' TERM; while true; do sleep 0.05; done";
            let r = Bundle::with(&format!("sf-ex-{errno}-{nnp}"), &["sh", "-c", loop_], edit(sh_calls()));
            assert!(r.create(&[]).status.success(), "create {errno}");
            let st = r.berth(&["start", &r.id]);
            assert!(st.status.success(), "start {errno}: {}", text(&st.stderr));
            let ex = r.berth(&["exec", &r.id, "sh", "-c", probe]);
            let out = text(&ex.stdout);
            assert!(ex.status.success(), "exec {errno}: {out} {}", text(&ex.stderr));
            assert!(out.starts_with("up\n") && out.contains(words) && out.contains("rc=1"), "exec {errno}: {out}");
            let ex = r.berth(&["exec", &r.id, "true"]);
            assert!(ex.status.success(), "exec true {errno}: {}", text(&ex.stderr));
        }
    }
}

#[test]
#[ignore = "needs root"]
fn init_killed_or_denied_at_execve_fails_start_and_run() {
    // execve killed by the profile: init dies by SIGSYS after the exec fifo.
    let kill = |c: &mut Value| {
        let mut p = allowlist(1, &TRUE_CALLS.iter().filter(|n| **n != "execve").copied().collect::<Vec<_>>());
        p["syscalls"].as_array_mut().unwrap().push(json!({"names": ["execve"], "action": "SCMP_ACT_KILL"}));
        c["linux"]["seccomp"] = p;
    };
    let b = Bundle::with("sf-kill", &["true"], kill);
    let (code, _, err, log) = run_logged(&b, &[]);
    assert_ne!(code, 0, "run must fail: {err}");
    assert!(log.contains("killed by signal 31 (SIGSYS) before execve"), "log: {log}");
    b.assert_clean();

    // Detached: create succeeds, start fails with the same words.
    let b = Bundle::with("sf-kill-start", &["true"], kill);
    assert!(b.create(&[]).status.success());
    let st = b.berth(&["start", &b.id]);
    assert!(!st.status.success(), "start must fail");
    assert!(text(&st.stderr).contains("before execve"), "start: {}", text(&st.stderr));

    // execve denied with EACCES and `write` denied too: init cannot say why, and
    // its death before execve is still seen.
    let b = Bundle::with("sf-deny", &["true"], |c| c["linux"]["seccomp"] = execve_denied(&[]));
    let (code, _, _, log) = run_logged(&b, &[]);
    assert_ne!(code, 0);
    assert!(log.contains("exited with status 1 before execve"), "log: {log}");

    // Denied with `write` allowed: init's own message arrives.
    let b = Bundle::with("sf-deny-said", &["true"], |c| c["linux"]["seccomp"] = execve_denied(&["write"]));
    let (code, _, _, log) = run_logged(&b, &[]);
    assert_ne!(code, 0);
    assert!(log.contains("execve") && log.contains("/bin/true") && log.contains("Permission denied"), "log: {log}");
}

#[test]
#[ignore = "needs root"]
fn fault_after_the_exec_fifo_reaches_start_and_run() {
    for stage in ["start-after-fifo", "start-before-seccomp", "start-after-seccomp"] {
        let b = Bundle::with(&format!("sf-{stage}"), &["true"], |c| {
            c["linux"]["seccomp"] = allowlist(1, &sh_calls());
        });
        let (code, _, err, log) = run_logged(&b, &[("BERTH_TEST_FAIL_AT", stage)]);
        if code == 0 {
            eprintln!("skipped: berth was built without the `test-hooks` feature (make test enables it)");
            return;
        }
        let want = format!("fault injected at {stage}");
        assert!(log.contains(&want) && log.contains("level=error"), "{stage}: run log {log:?} stderr {err:?}");
        b.assert_clean();

        // create returns; the failure shows at start.
        let mut cmd = b.cmd(&["create", "--bundle", b.path().to_str().unwrap(), &b.id]);
        cmd.env("BERTH_TEST_FAIL_AT", stage);
        let out = crate::common::output_of(cmd);
        assert!(out.status.success(), "{stage}: create {}", text(&out.stderr));
        let st = b.berth(&["start", &b.id]);
        assert!(!st.status.success(), "{stage}: start must fail");
        assert!(text(&st.stderr).contains(&want), "{stage}: start said {}", text(&st.stderr));
        let state = b.state();
        assert_eq!(state["status"], "stopped", "{stage}: {state}");
        assert!(b.berth(&["delete", &b.id]).status.success());
        b.assert_clean();
    }
}

/// The same bundle under runc 1.1.5 (state in a temp root): (exit code, stdout + stderr).
fn runc_run(b: &Bundle) -> (i32, String) {
    let root = tempfile::tempdir().unwrap();
    let id = format!("{}-runc", b.id);
    let mut cmd = std::process::Command::new("runc");
    cmd.arg("--root").arg(root.path()).args(["run", "--bundle"]).arg(b.path()).arg(&id);
    cmd.stdin(std::process::Stdio::null());
    let out = crate::common::output_of(cmd);
    let _ = std::process::Command::new("runc").arg("--root").arg(root.path()).args(["delete", "--force", &id]).output();
    (out.status.code().unwrap_or(-1), text(&out.stdout) + &text(&out.stderr))
}

#[test]
#[ignore = "needs root"]
fn hook_killed_by_a_signal_is_reported_as_runc_does() {
    for kind in ["createRuntime", "startContainer"] {
        let b = Bundle::with(&format!("sf-hooksig-{kind}"), &["true"], |c| {
            c["hooks"] = json!({kind: [{"path": "/bin/sh", "args": ["sh", "-c", "echo out; kill -SYS $$"]}]});
        });
        let (code, _, err, log) = run_logged(&b, &[]);
        let (runc_code, runc_out) = runc_run(&b);
        let want = "hook #0: error running hook: signal: bad system call, stdout: out";
        assert_ne!(runc_code, 0, "{kind}: runc");
        assert!(runc_out.contains(want), "{kind}: runc said {runc_out}");
        assert_ne!(code, 0, "{kind}: berth");
        assert!(log.contains(want) && err.contains(want), "{kind}: berth (exit {code}) said {err} / {log}");
        assert!(err.contains(&format!("error running {kind} hook #0")), "{kind}: {err}");
        b.assert_clean();
    }
}

/// A hook that exits without reading its stdin leaves berth a broken pipe: `run`
/// (which resets SIGPIPE to its default for the container's sake) must report the
/// hook's failure, not die of SIGPIPE with nothing said. The state is made larger
/// than a pipe's buffer so that the write always meets the closed pipe.
#[test]
#[ignore = "needs root"]
fn a_hook_that_does_not_read_its_state_does_not_kill_berth() {
    let b = Bundle::with("sf-hookpipe", &["true"], |c| {
        c["annotations"] = json!({"big": "x".repeat(256 * 1024)});
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "exec 0<&-; exit 3"]}]});
    });
    let (code, _, err, _) = run_logged(&b, &[]);
    assert_eq!(code, 1, "berth said {err}");
    assert!(err.contains("error running createRuntime hook #0"), "{err}");
    b.assert_clean();
}

/// A hook's output is kept only up to a limit: 300 MB from a failing hook
/// (runc 1.1.5 keeps all of it and grows to ~4.6 GB RSS) gives an error with
/// its start, and berth finishes (issue 11: "hook output read with a size
/// limit").
#[test]
#[ignore = "needs root"]
fn hook_output_is_read_with_a_size_limit() {
    let b = Bundle::with("sf-hookflood", &["true"], |c| {
        c["hooks"] =
            json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "yes | head -c 300000000; exit 1"]}]});
    });
    let (code, _, err, log) = run_logged(&b, &[]);
    assert_eq!(code, 1, "berth said {}", &err[..err.len().min(300)]);
    assert!(err.contains("error running createRuntime hook #0"), "{}", &err[..err.len().min(300)]);
    assert!(err.len() + log.len() < 512 * 1024, "{} + {} bytes of hook output kept", err.len(), log.len());
    b.assert_clean();
}

/// Run `cmd` for at most 10 s (killing it after): (finished in time, output).
fn bounded(mut cmd: std::process::Command) -> (bool, std::process::Output) {
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    cmd.stdout(out.try_clone().unwrap()).stderr(err.try_clone().unwrap());
    let mut child = cmd.spawn().unwrap();
    let done = crate::common::wait_until(|| child.try_wait().unwrap().is_some())
        || crate::common::wait_until(|| child.try_wait().unwrap().is_some());
    if !done {
        child.kill().unwrap();
    }
    let status = child.wait().unwrap();
    let read = |mut f: fs::File| {
        use std::io::{Read, Seek};
        let mut v = Vec::new();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    };
    (done, std::process::Output { status, stdout: read(out), stderr: read(err) })
}

#[test]
#[ignore = "needs root"]
fn config_or_process_file_that_is_not_regular_fails_fast() {
    let b = Bundle::new("sf-devzero", &["true"]);
    let config = b.path().join("config.json");
    fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
    for verb in ["create", "run"] {
        let (done, out) = bounded(b.cmd(&[verb, "--bundle", b.path().to_str().unwrap(), &b.id]));
        assert!(done, "{verb} kept reading /dev/zero");
        let err = text(&out.stderr);
        assert!(!out.status.success() && err.contains("config.json") && err.contains("not a regular file"), "{err}");
        b.assert_clean();
    }

    let r = Bundle::new("sf-devzero-exec", &["sleep", "100"]);
    assert!(r.create(&[]).status.success());
    let (done, out) = bounded(r.cmd(&["exec", "--process", "/dev/zero", &r.id]));
    assert!(done, "exec kept reading /dev/zero");
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("/dev/zero") && err.contains("not a regular file"), "{err}");
}

/// A cgroup made before the container, at `rel` on every hierarchy (cpuset
/// copied from the root so a task may join), removed when dropped.
struct ForeignCgroup {
    dirs: Vec<std::path::PathBuf>,
}

impl ForeignCgroup {
    fn new(rel: &str) -> ForeignCgroup {
        let mut dirs = Vec::new();
        for e in fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let h = e.path();
            if h.is_symlink() || !h.join("cgroup.procs").exists() {
                continue;
            }
            let mut cur = h.clone();
            for part in rel.split('/').filter(|p| !p.is_empty()) {
                cur = cur.join(part);
                if fs::create_dir(&cur).is_ok() {
                    dirs.push(cur.clone());
                }
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    if let Ok(v) = fs::read_to_string(h.join(f)) {
                        let _ = fs::write(cur.join(f), v.trim());
                    }
                }
            }
        }
        ForeignCgroup { dirs }
    }

    fn add(&self, pid: u32) {
        for d in self.dirs.iter().filter(|d| !self.dirs.iter().any(|o| o.starts_with(d) && o != *d)) {
            fs::write(d.join("cgroup.procs"), pid.to_string()).unwrap();
        }
    }

    fn write_all(&self, file: &str, value: &str) {
        for d in
            self.dirs.iter().filter(|d| d.join(file).exists() && !self.dirs.iter().any(|o| o.starts_with(d) && o != *d))
        {
            fs::write(d.join(file), value).unwrap();
        }
    }
}

impl Drop for ForeignCgroup {
    fn drop(&mut self) {
        self.write_all("freezer.state", "THAWED");
        self.write_all("cgroup.freeze", "0");
        for d in self.dirs.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    }
}

#[test]
#[ignore = "needs root"]
fn frozen_cgroup_is_refused_and_a_busy_one_warned_as_runc_does() {
    let rel = format!("berth-foreign-{}/c", std::process::id());
    let edit = |c: &mut Value| c["linux"]["cgroupsPath"] = json!(format!("/{rel}"));

    // Frozen (the v1 freezer, which runc 1.1.5 checks too): refused by both.
    let cg = ForeignCgroup::new(&rel);
    cg.write_all("freezer.state", "FROZEN");
    let b = Bundle::with("sf-frozen", &["true"], edit);
    let (done, out) = bounded(b.cmd(&["run", "--bundle", b.path().to_str().unwrap(), &b.id]));
    assert!(done, "run hung in a frozen cgroup");
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("container's cgroup unexpectedly frozen"), "{err}");
    assert!(!b.state_dir().exists());
    let (runc_code, runc_out) = runc_run(&b);
    assert!(runc_code != 0 && runc_out.contains("container's cgroup unexpectedly frozen"), "runc: {runc_out}");
    // The cgroup is not ours: still there, still frozen.
    assert!(cg.dirs.iter().all(|d| d.exists()));
    drop(cg);

    // Frozen through cgroup2 on this hybrid host (runc 1.1.5 does not look there).
    let cg = ForeignCgroup::new(&rel);
    if cg.dirs.iter().any(|d| d.join("cgroup.freeze").exists()) {
        cg.write_all("cgroup.freeze", "1");
        let (done, out) = bounded(b.cmd(&["run", "--bundle", b.path().to_str().unwrap(), &b.id]));
        assert!(done && text(&out.stderr).contains("unexpectedly frozen"), "{}", text(&out.stderr));
    }
    drop(cg);

    // Not empty: a warning, as runc's, and the container runs.
    let cg = ForeignCgroup::new(&rel);
    let mut sleeper = std::process::Command::new("sleep").arg("100").spawn().unwrap();
    cg.add(sleeper.id());
    let (runc_code, runc_out) = runc_run(&b);
    let want = "container's cgroup is not empty: 1 process(es) found";
    assert!(runc_code == 0 && runc_out.contains(want), "runc: {runc_out}");
    let out = b.create(&[]);
    assert!(out.status.success() && text(&out.stderr).contains(want), "{}", text(&out.stderr));
    let _ = b.berth(&["delete", "--force", &b.id]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    drop(cg);
}

/// `exec` flags runc refuses, refused with runc's words: (runc's exit code and
/// output, berth's exit code and stderr) for each.
#[test]
#[ignore = "needs root"]
fn exec_refuses_escaping_cgroups_bare_env_and_relative_cwd_as_runc() {
    let b = Bundle::new("sf-exec-flags", &["sleep", "100"]);
    assert!(b.create(&[]).status.success());
    assert!(b.berth(&["start", &b.id]).status.success());
    // runc's container goes with `r` (Drop: runc delete --force), even when an
    // assertion below fails.
    let r = crate::common::Runc::new("sf-exec-flags-runc", &["sleep", "100"]);
    r.create_and_start();
    let (rid, runc) = (r.bundle.id.clone(), |args: &[&str]| r.runc(args));
    let cases: [(&[&str], &str); 4] = [
        (&["--cgroup", ".."], ".. is not a sub cgroup path"),
        (&["--cgroup", "a/../.."], "a/../.. is not a sub cgroup path"),
        (&["-e", "FOO"], "invalid environment variable: \\\"FOO\\\""),
        (&["--cwd", "rel"], "Cwd must be an absolute path"),
    ];
    for (flags, want) in cases {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        let out = runc(&[&args[..], &[rid.as_str(), "true"]].concat());
        assert!(!out.status.success() && text(&out.stderr).contains(want), "runc {flags:?}: {}", text(&out.stderr));
        let ours = b.berth(&[&args[..], &[&b.id, "true"]].concat());
        let want = want.replace("\\\"", "\"");
        assert!(
            !ours.status.success() && text(&ours.stderr).contains(&want),
            "berth {flags:?}: {}",
            text(&ours.stderr)
        );
    }
    drop(r);

    // A real sub-cgroup: the process lands in it, on every hierarchy.
    for d in b.cgroup_dirs() {
        fs::create_dir(d.join("sub")).unwrap();
        for f in ["cpuset.cpus", "cpuset.mems"] {
            if let Ok(v) = fs::read_to_string(d.join(f)) {
                fs::write(d.join("sub").join(f), v.trim()).unwrap();
            }
        }
    }
    let out = b.berth(&["exec", "--cgroup", "sub", &b.id, "cat", "/proc/self/cgroup"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cg = text(&out.stdout);
    assert!(cg.lines().filter(|l| !l.contains("name=")).all(|l| l.ends_with("/sub")), "{cg}");
    let _ = b.berth(&["delete", "--force", &b.id]);
}

#[test]
#[ignore = "needs root"]
fn a_default_config_runs_without_a_word_on_stderr_as_runc() {
    // `berth spec` asks for ambient capabilities without inheritable ones, which
    // cannot be raised: runc skips them silently, and so does berth.
    let b = Bundle::new("sf-quiet", &["true"]);
    let (code, out, err) = b.run();
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let (runc_code, runc_out) = runc_run(&b);
    assert_eq!((runc_code, runc_out.as_str()), (0, ""));
    let r = Bundle::new("sf-quiet-exec", &["sleep", "100"]);
    assert!(r.create(&[]).status.success());
    assert!(r.berth(&["start", &r.id]).status.success());
    let out = r.berth(&["exec", &r.id, "true"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "", "exec");
}

#[test]
#[ignore = "needs root"]
fn prestart_and_create_runtime_hooks_get_status_created() {
    let dir = tempfile::tempdir().unwrap();
    let (pre, rt) = (dir.path().join("prestart"), dir.path().join("createRuntime"));
    let b = Bundle::with("sf-hookstate", &["true"], |c| {
        let hook =
            |f: &std::path::Path| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", f.display())]});
        c["hooks"] = json!({"prestart": [hook(&pre)], "createRuntime": [hook(&rt)]});
    });
    b.run_ok();
    for f in [pre, rt] {
        let v: Value = serde_json::from_slice(&fs::read(&f).unwrap()).unwrap();
        assert_eq!(v["status"], "created", "{f:?}: {v}");
        assert!(v["pid"].as_i64().unwrap() > 0);
    }
}

#[test]
#[ignore = "needs root"]
fn kill_takes_real_time_signals_and_thaws_a_paused_container_for_kill() {
    for sig in ["RTMIN+3", "SIGRTMIN+3", "37"] {
        let b = Bundle::new(
            &format!("sf-kill-rt-{}", sig.replace('+', "")),
            &["sh", "-c", "trap 'exit 0' 37; while true; do sleep 0.05; done"],
        );
        let out = b.create(&[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(b.berth(&["start", &b.id]).status.success());
        // The shell is the namespace's init: the kernel drops a signal it has
        // no handler for, so send it only once the trap is installed.
        let pid = b.state()["pid"].as_i64().unwrap();
        assert!(crate::common::wait_until(|| catches(pid, 37)), "{sig}: the trap was never installed");
        let out = b.berth(&["kill", &b.id, sig]);
        assert!(out.status.success(), "{sig}: {}", text(&out.stderr));
        assert!(crate::common::wait_until(|| b.state()["status"] == "stopped"), "{sig}: init did not get it");
        let _ = b.berth(&["delete", &b.id]);
    }
    for all in [false, true] {
        let b = Bundle::new(&format!("sf-kill-paused-{all}"), &["sleep", "100"]);
        let out = b.create(&[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(b.berth(&["start", &b.id]).status.success());
        assert!(b.berth(&["pause", &b.id]).status.success());
        let args: &[&str] = if all { &["kill", "--all", &b.id, "KILL"] } else { &["kill", &b.id, "KILL"] };
        assert!(b.berth(args).status.success());
        assert!(crate::common::wait_until(|| b.state()["status"] == "stopped"), "all={all}: still {}", b.state());
        let _ = b.berth(&["delete", &b.id]);
    }
}

/// Whether process `pid` has a handler for signal `sig` (`SigCgt` in its status).
fn catches(pid: i64, sig: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mask = status.lines().find_map(|l| l.strip_prefix("SigCgt:")).map(str::trim).unwrap_or("0");
    u64::from_str_radix(mask, 16).is_ok_and(|m| m & (1 << (sig - 1)) != 0)
}

/// `true`'s allowlist under an EPERM default, with `extra` allowed too and
/// execve denied with EACCES.
fn execve_denied(extra: &[&str]) -> Value {
    let mut names: Vec<&str> = TRUE_CALLS.iter().filter(|n| **n != "execve").copied().collect();
    names.extend_from_slice(extra);
    let mut p = allowlist(1, &names);
    p["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(json!({"names": ["execve"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}));
    p
}
