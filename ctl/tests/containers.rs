//! berthctl's container commands as a docker user checks them: run in the
//! foreground and detached, exit codes, logs, exec, inspect, ps, stop, rm,
//! restart policies, a supervisor killed with -9, many runs at once; each
//! under berth, runc and crun, and nothing left behind (mounts, cgroups,
//! supervisors, run state).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, Run, Store};

/// A store with busybox imported, a cgroup parent of its own and the
/// runtime under test.
pub struct Ctl {
    pub store: Store,
    runtime: String,
    pub cgroup_parent: String,
}

/// The busybox layer blob of the test images (a rootfs tar.gz).
pub fn busybox_layer() -> PathBuf {
    let images = support::images();
    let layer = images.manifest("busybox")["layers"][0]["digest"].as_str().expect("busybox layer digest").to_string();
    images.blob(&layer)
}

/// crun refuses the hybrid layout; it runs in a mount namespace without
/// the cgroup2 mount (the host facts' workaround), through this wrapper.
pub fn crun_wrapper(dir: &Path) -> String {
    let path = dir.join("crun-hybrid");
    std::fs::write(
        &path,
        "#!/bin/sh\nexec unshare -m sh -c 'mount --make-rprivate / && { umount /sys/fs/cgroup/unified 2>/dev/null; true; } && exec crun \"$@\"' sh \"$@\"\n",
    )
    .expect("write crun wrapper");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod crun wrapper");
    path.to_string_lossy().into_owned()
}

impl Ctl {
    pub fn new() -> Ctl {
        Ctl::with_runtime(&support::runtime())
    }

    /// `runtime`: berth's path, "runc" or "crun".
    pub fn with_runtime(runtime: &str) -> Ctl {
        let store = Store::new();
        let runtime = if runtime == "crun" { crun_wrapper(store.path()) } else { runtime.to_string() };
        let tag = store.path().file_name().unwrap().to_string_lossy().into_owned();
        let ctl = Ctl { store, runtime, cgroup_parent: format!("/berthctl-test-{tag}") };
        ctl.cmd(["import", "--change", r#"CMD ["sh"]"#]).arg(busybox_layer()).arg("busybox").success();
        ctl
    }

    pub fn cmd<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> Command {
        let mut c = self.store.berthctl(args);
        c.env("BERTH_RUNTIME", &self.runtime);
        c
    }

    /// `berthctl run --cgroup-parent <ours> ARGS…`
    pub fn run<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> Command {
        let mut c = self.cmd(["run", "--cgroup-parent", &self.cgroup_parent]);
        c.args(args);
        c
    }

    /// The cgroup parent this store's containers run under (removed on drop).
    pub fn cgroup_parent(&self) -> &str {
        &self.cgroup_parent
    }

    pub fn inspect(&self, name: &str, format: &str) -> String {
        self.cmd(["inspect", "-f", format, name]).success().trim().to_string()
    }

    /// Wait until `inspect -f format` prints `want`.
    pub fn wait_for(&self, name: &str, format: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.inspect(name, format);
            if got == want {
                return;
            }
            assert!(Instant::now() < deadline, "{name}: {format} is {got:?}, waited for {want:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until `ps -a` lists no container (`--rm` ones remove themselves).
    pub fn wait_no_containers(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = self.cmd(["ps", "-aq"]).success();
            if left.is_empty() {
                return;
            }
            assert!(Instant::now() < deadline, "containers not removed: {left}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Pids of live processes whose command line mentions our data root.
    pub fn our_processes(&self) -> Vec<i32> {
        let needle = self.store.root.to_string_lossy().into_owned();
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&needle) {
                out.push(pid);
            }
        }
        out
    }

    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let d = e.path().join(self.cgroup_parent.trim_start_matches('/'));
            if d.is_dir() {
                out.push(d);
            }
        }
        out
    }

    /// Nothing of a removed container remains: no supervisor, no mount, no
    /// cgroup below our parent, no run state, no container dir.
    pub fn assert_clean(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.our_processes().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(self.our_processes(), Vec::<i32>::new(), "supervisors left running");
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let root = self.store.path().to_string_lossy().into_owned();
        assert!(!info.contains(&root), "mounts left under {root}");
        for d in self.cgroup_dirs() {
            let children: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().filter(|e| e.path().is_dir()).collect();
            assert!(children.is_empty(), "cgroups left in {}: {children:?}", d.display());
        }
        let run_dirs: Vec<_> =
            std::fs::read_dir(self.store.runroot.join("c")).map(|r| r.flatten().collect()).unwrap_or_default();
        assert!(run_dirs.is_empty(), "run state left: {run_dirs:?}");
        let data_dirs: Vec<_> =
            std::fs::read_dir(self.store.root.join("containers")).map(|r| r.flatten().collect()).unwrap_or_default();
        assert!(data_dirs.is_empty(), "container dirs left: {data_dirs:?}");
    }
}

impl Drop for Ctl {
    fn drop(&mut self) {
        if let Ok(out) = self.cmd(["ps", "-aq", "--no-trunc"]).output() {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = self.cmd(["rm", "-f", id]).output();
            }
        }
        for d in self.cgroup_dirs() {
            let _ = std::fs::remove_dir(&d);
        }
    }
}

fn status(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// The checks every runtime must pass.
fn basic_suite(ctl: &Ctl) {
    let out = ctl.run(["--rm", "busybox", "echo", "hi"]).output_of();
    assert_eq!((status(&out), String::from_utf8_lossy(&out.stdout).as_ref()), (0, "hi\n"), "{out:?}");
    let out = ctl.run(["--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]).output_of();
    assert_eq!(status(&out), 3);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("err\n"));
    assert_eq!(status(&ctl.run(["--rm", "busybox", "no-such-command"]).output_of()), 127);
    assert_eq!(status(&ctl.run(["--rm", "busybox", "/etc/passwd"]).output_of()), 126);
    assert_eq!(ctl.cmd(["ps", "-aq"]).success(), "", "--rm left containers");

    let id = ctl
        .run([
            "-d",
            "--name",
            "web",
            "busybox",
            "sh",
            "-c",
            "trap 'exit 0' TERM; echo started; while true; do sleep 0.1; done",
        ])
        .success();
    assert_eq!(id.trim().len(), 64);
    ctl.wait_for("web", "{{.State.Status}}", "running");
    let ps = ctl.cmd(["ps", "--format", "{{.Names}} {{.State}}"]).success();
    assert_eq!(ps, "web running\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ctl.cmd(["logs", "web"]).success() != "started\n" {
        assert!(Instant::now() < deadline, "no log line");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = ctl.cmd(["exec", "web", "sh", "-c", "echo $FOO; pwd; exit 7"]).output_of();
    assert_eq!(status(&out), 7);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "\n/\n");
    assert_eq!(
        ctl.cmd(["exec", "-e", "FOO=bar", "-w", "/tmp", "web", "sh", "-c", "echo $FOO; pwd"]).success(),
        "bar\n/tmp\n"
    );
    assert_eq!(ctl.cmd(["exec", "-u", "nobody", "web", "id", "-u"]).success(), "65534\n");
    assert_eq!(ctl.cmd(["stop", "-t", "5", "web"]).success(), "web\n");
    assert_eq!(ctl.inspect("web", "{{.State.Status}} {{.State.ExitCode}}"), "exited 0");
    assert_eq!(ctl.cmd(["rm", "web"]).success(), "web\n");
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn basic_commands_with_the_default_runtime() {
    basic_suite(&Ctl::new());
}

#[test]
#[ignore = "needs root"]
fn basic_commands_with_runc() {
    basic_suite(&Ctl::with_runtime("runc"));
}

#[test]
#[ignore = "needs root"]
fn basic_commands_with_crun() {
    basic_suite(&Ctl::with_runtime("crun"));
}

#[test]
#[ignore = "needs root"]
fn stdin_reaches_the_container_with_i() {
    let ctl = Ctl::new();
    let mut child = ctl
        .run(["--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HELLO\n");
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn tty_gives_a_terminal_and_logs_crlf() {
    let ctl = Ctl::new();
    let out = ctl.run(["-t", "--name", "t1", "busybox", "sh", "-c", "tty; echo done"]).output_of();
    assert_eq!(status(&out), 0, "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("/dev/pts/"), "{text:?}");
    assert!(text.contains("done\r\n"), "{text:?}");
    assert_eq!(ctl.cmd(["logs", "t1"]).success(), text);
    ctl.cmd(["rm", "t1"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn inspect_and_ps_show_dockers_values() {
    let ctl = Ctl::new();
    ctl.run([
        "--name",
        "c1",
        "-e",
        "A=1",
        "-w",
        "/work",
        "-h",
        "box",
        "-l",
        "k=v",
        "busybox",
        "sh",
        "-c",
        "hostname; pwd; exit 2",
    ])
    .output_of();
    assert_eq!(ctl.cmd(["logs", "c1"]).success(), "box\n/work\n");
    assert_eq!(
        ctl.inspect(
            "c1",
            "{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.Config.Hostname}} {{.Config.WorkingDir}}"
        ),
        "/c1 exited 2 box /work"
    );
    assert_eq!(
        ctl.inspect("c1", "{{.Path}} {{.Args}} {{.Config.Cmd}} {{.Config.Labels.k}}"),
        "sh [-c hostname; pwd; exit 2] [sh -c hostname; pwd; exit 2] v"
    );
    assert_eq!(ctl.inspect("c1", "{{index .Config.Env 0}} {{.HostConfig.RestartPolicy.Name}}"), "A=1 no");
    let ps = ctl.cmd(["ps", "-a", "--format", "{{.Names}}|{{.Command}}|{{.Status}}"]).success();
    assert!(ps.starts_with("c1|\"sh -c 'hostname; pw…\"|Exited (2) "), "{ps}");
    assert_eq!(ctl.cmd(["ps", "-q"]).success(), "");
    assert_eq!(ctl.cmd(["ps", "-a", "--filter", "exited=2", "--format", "{{.Names}}"]).success(), "c1\n");
    assert_eq!(ctl.cmd(["ps", "-a", "--filter", "label=k=x", "--format", "{{.Names}}"]).success(), "");
    let short = ctl.inspect("c1", "{{.Id}}")[..5].to_string();
    assert_eq!(ctl.cmd(["rename", &short, "c2"]).success(), "");
    assert_eq!(ctl.inspect("c2", "{{.Name}}"), "/c2");
    let out = ctl.cmd(["inspect", "nope"]).output_of();
    assert_eq!(status(&out), 1);
    ctl.cmd(["rm", "c2"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn on_failure_restarts_with_backoff_then_stays_down() {
    let ctl = Ctl::new();
    ctl.run(["-d", "--name", "r1", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 1"]).success();
    ctl.wait_for("r1", "{{.State.Status}} {{.RestartCount}}", "exited 2");
    assert_eq!(ctl.cmd(["logs", "r1"]).success(), "run\nrun\nrun\n");
    assert_eq!(ctl.inspect("r1", "{{.State.ExitCode}}"), "1");
    ctl.cmd(["rm", "r1"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn killed_supervisor_leaves_the_truth_and_no_leak() {
    let ctl = Ctl::new();
    ctl.run(["-d", "--name", "k1", "busybox", "sleep", "1000"]).success();
    ctl.wait_for("k1", "{{.State.Status}}", "running");
    let sup: i32 = ctl
        .our_processes()
        .into_iter()
        .find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("berthctl-supervise"))
        })
        .expect("a supervisor");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sup), nix::sys::signal::Signal::SIGKILL).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(ctl.inspect("k1", "{{.State.Status}}"), "running");
    assert_eq!(ctl.cmd(["ps", "--format", "{{.Names}}"]).success(), "k1\n");
    ctl.cmd(["rm", "-f", "k1"]).success();
    assert_eq!(ctl.cmd(["ps", "-aq"]).success(), "");
    ctl.assert_clean();
}

/// A foreground `run` records its container's exit itself; killed just
/// before it does, the supervisor records it (and removes the container
/// for `--rm`) all the same.
#[test]
#[ignore = "needs root"]
fn exit_recorded_when_the_foreground_run_is_killed_at_the_exit() {
    use std::os::unix::process::ExitStatusExt;
    let ctl = Ctl::new();
    let out = ctl
        .run(["--name", "f1", "busybox", "sh", "-c", "exit 4"])
        .env("BERTH_TEST_FAULT", "run:exit")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(9), "run was not killed at the exit: {out:?}");
    ctl.wait_for("f1", "{{.State.Status}} {{.State.ExitCode}}", "exited 4");
    let out =
        ctl.run(["--rm", "--name", "f2", "busybox", "true"]).env("BERTH_TEST_FAULT", "run:exit").output().unwrap();
    assert_eq!(out.status.signal(), Some(9), "run --rm was not killed at the exit: {out:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ctl.cmd(["ps", "-a", "--format", "{{.Names}}"]).success() != "f1\n" {
        assert!(Instant::now() < deadline, "f2 was not removed after its run was killed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Without the fault the foreground run records the exit and removes.
    let out = ctl.run(["--rm", "busybox", "sh", "-c", "echo out; exit 5"]).output().unwrap();
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stdout).as_ref()), (Some(5), "out\n"));
    assert_eq!(ctl.cmd(["ps", "-a", "--format", "{{.Names}}"]).success(), "f1\n");
    ctl.cmd(["rm", "f1"]).success();
    ctl.assert_clean();
}

/// The supervisor runs the container (`<runtime> run --detach`) before
/// berthctl records it running; berthctl killed in between leaves a
/// container that runs under its supervisor, which `ps` lists and `rm -f`
/// removes (and a `--rm` one that removes itself at its exit).
#[test]
#[ignore = "needs root"]
fn run_killed_after_the_start_leaves_a_complete_container() {
    use std::os::unix::process::ExitStatusExt;
    let ctl = Ctl::new();
    let out = ctl
        .run(["-d", "--name", "s1", "busybox", "sleep", "1000"])
        .env("BERTH_TEST_FAULT", "run:started")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(9), "run was not killed after the start: {out:?}");
    ctl.wait_for("s1", "{{.State.Status}}", "running");
    assert_eq!(ctl.cmd(["ps", "--format", "{{.Names}}"]).success(), "s1\n");
    let out =
        ctl.run(["--rm", "--name", "s2", "busybox", "true"]).env("BERTH_TEST_FAULT", "run:started").output().unwrap();
    assert_eq!(out.status.signal(), Some(9), "run --rm was not killed after the start: {out:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ctl.cmd(["ps", "-a", "--format", "{{.Names}}"]).success() != "s1\n" {
        assert!(Instant::now() < deadline, "s2 was not removed after its run was killed");
        std::thread::sleep(Duration::from_millis(50));
    }
    ctl.cmd(["rm", "-f", "s1"]).success();
    assert_eq!(ctl.cmd(["ps", "-aq"]).success(), "");
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn fifty_parallel_detached_runs_get_distinct_names() {
    let ctl = Ctl::new();
    let children: Vec<_> = (0..50)
        .map(|_| ctl.run(["-d", "busybox", "true"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let names = ctl.cmd(["ps", "-a", "--format", "{{.Names}}"]).success();
    let mut names: Vec<&str> = names.lines().collect();
    assert_eq!(names.len(), 50);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 50, "duplicate names");
    let ids = ctl.cmd(["ps", "-aq"]).success();
    let mut rm = ctl.cmd(["rm", "-f"]);
    rm.args(ids.split_whitespace());
    rm.success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn logs_follow_tail_and_timestamps() {
    let ctl = Ctl::new();
    ctl.run(["-d", "--name", "l1", "busybox", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.3; done"]).success();
    let follow = ctl.cmd(["logs", "-f", "l1"]).success();
    assert_eq!(follow, "1\n2\n3\n");
    assert_eq!(ctl.cmd(["logs", "--tail", "1", "l1"]).success(), "3\n");
    let ts = ctl.cmd(["logs", "-t", "l1"]).success();
    assert!(ts.lines().all(|l| l.split_once(' ').is_some_and(|(t, _)| t.ends_with('Z') && t.contains('T'))), "{ts}");
    ctl.cmd(["rm", "l1"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn user_read_only_and_caps_as_docker() {
    let ctl = Ctl::new();
    assert_eq!(
        ctl.run(["--rm", "-u", "nobody", "busybox", "id"]).success(),
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n"
    );
    assert_eq!(ctl.run(["--rm", "-u", "123:456", "busybox", "id", "-u"]).success(), "123\n");
    let out = ctl.run(["--rm", "-u", "ghost", "busybox", "true"]).output_of();
    assert_eq!(status(&out), 125);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unable to find user ghost"), "{out:?}");
    let out = ctl.run(["--rm", "--read-only", "busybox", "touch", "/x"]).output_of();
    assert_eq!(status(&out), 1);
    assert_eq!(
        ctl.run(["--rm", "--read-only", "--tmpfs", "/tmp", "busybox", "touch", "/tmp/x"]).output_of().status.code(),
        Some(0)
    );
    let caps = ctl.run(["--rm", "busybox", "grep", "CapBnd", "/proc/self/status"]).success();
    assert_eq!(caps.trim(), "CapBnd:\t00000000a80425fb", "docker's default capability set");
    let caps = ctl
        .run(["--rm", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "busybox", "grep", "CapBnd", "/proc/self/status"])
        .success();
    assert_eq!(caps.trim(), "CapBnd:\t0000000000001000");
    let seccomp = ctl.run(["--rm", "busybox", "grep", "Seccomp:", "/proc/self/status"]).success();
    assert_eq!(seccomp.trim(), "Seccomp:\t2");
    assert_eq!(ctl.run(["--rm", "-w", "/new/dir", "busybox", "pwd"]).success(), "/new/dir\n");
    let shm = ctl.run(["--rm", "busybox", "df", "-k", "/dev/shm"]).success();
    assert!(shm.lines().nth(1).is_some_and(|l| l.split_whitespace().nth(1) == Some("65536")), "{shm}");
    ctl.assert_clean();
}

/// `--pid`/`--ipc container:X` join X's namespaces while X runs; once X is
/// stopped, the start fails in docker's words and leaves the new container
/// created, with nothing mounted for it.
#[test]
#[ignore = "needs root"]
fn joining_another_containers_namespaces() {
    let ctl = Ctl::new();
    ctl.run(["-d", "--name", "host1", "busybox", "sleep", "300"]).success();
    let seen = ctl.run(["--rm", "--pid", "container:host1", "busybox", "ps", "-o", "comm"]).success();
    assert!(seen.lines().any(|l| l.trim() == "sleep"), "{seen}");
    let ipc =
        ctl.run(["--rm", "--ipc", "container:host1", "busybox", "sh", "-c", "readlink /proc/self/ns/ipc"]).success();
    let own = ctl.cmd(["exec", "host1", "readlink", "/proc/self/ns/ipc"]).success();
    assert_eq!(ipc, own);
    ctl.cmd(["stop", "-t", "0", "host1"]).success();
    let out = ctl.run(["--name", "late", "--pid", "container:host1", "busybox", "true"]).failure();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot join PID of a non running container: host1"));
    assert_eq!(ctl.inspect("late", "{{.State.Status}}"), "created");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let id = ctl.inspect("late", "{{.Id}}");
    assert!(!mounts.contains(&id), "a mount of the container that did not start is left");
    ctl.cmd(["rm", "-f", "late", "host1"]).success();
}

/// docker: `stop`, `kill` and `rm -f` of a detached `--rm` container succeed
/// and print its name, though its supervisor removes it while they wait.
#[test]
#[ignore = "needs root"]
fn stop_kill_and_rm_f_of_an_rm_container_succeed() {
    let ctl = Ctl::new();
    for (verb, args) in [("stop", &["stop", "-t", "0"][..]), ("kill", &["kill"][..]), ("rm", &["rm", "-f"][..])] {
        let name = format!("rm-{verb}");
        ctl.run(["-d", "--rm", "--name", &name, "--network", "none", "busybox", "sleep", "300"]).success();
        ctl.wait_for(&name, "{{.State.Status}}", "running");
        assert_eq!(ctl.cmd(args).arg(&name).success(), format!("{name}\n"), "{verb}");
        ctl.wait_no_containers();
    }
    ctl.assert_clean();
}
