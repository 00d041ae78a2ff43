//! The same command lines through berthctl and through docker (Debian's
//! dockerd with private dirs, `--bridge none --iptables=false`, stopped by
//! its pid), the same busybox image imported into both; stdout and exit
//! codes must match, as must `inspect --format` values and `logs`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::containers::Ctl;
use crate::support::Run;

struct Dockerd {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Dockerd {
    fn start() -> Dockerd {
        let dir =
            tempfile::Builder::new().prefix("berthctl-dockerd-").tempdir_in("/run").expect("temp dir for dockerd");
        let d = dir.path().to_path_buf();
        let d = d.as_path();
        let socket = d.join("docker.sock");
        let log = std::fs::File::create(d.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .args(["--bridge", "none", "--iptables=false", "--ip6tables=false"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let deadline = Instant::now() + Duration::from_secs(60);
        let dockerd = Dockerd { child, socket, _dir: dir };
        while dockerd.docker(["version"]).output_of().status.code() != Some(0) {
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up: {}",
                std::fs::read_to_string(d.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        dockerd
    }

    fn docker<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> Command {
        let mut c = Command::new("docker");
        c.env_remove("DOCKER_CONFIG").arg("-H").arg(format!("unix://{}", self.socket.display())).args(args);
        c
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if let Ok(out) = self.docker(["ps", "-aq"]).output() {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = self.docker(["rm", "-f", id]).output();
            }
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
        crate::support::detach_mounts_under(self._dir.path());
    }
}

fn result(out: std::process::Output) -> (i32, String) {
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `run --rm --network none busybox …` lines whose stdout and exit code
/// docker and berthctl must agree on.
const RUN_TABLE: &[&[&str]] = &[
    &["busybox", "echo", "hi"],
    &["busybox", "sh", "-c", "echo out; echo err >&2; exit 3"],
    &["busybox", "no-such-command"],
    &["busybox", "/etc/passwd"],
    &["-u", "nobody", "busybox", "id"],
    &["-u", "1000:1000", "busybox", "id"],
    &["-w", "/new/dir", "busybox", "pwd"],
    &["-e", "A=1", "-e", "PATH=/bin", "busybox", "sh", "-c", "echo $A $PATH $HOME"],
    &["--entrypoint", "echo", "busybox", "a", "b"],
    &["-h", "box", "busybox", "hostname"],
    &["--read-only", "busybox", "touch", "/x"],
    &["busybox", "grep", "-E", "^(CapBnd|CapEff|Seccomp|NoNewPrivs):", "/proc/self/status"],
    &["--cap-drop", "ALL", "busybox", "grep", "CapBnd", "/proc/self/status"],
    &["--privileged", "busybox", "grep", "Seccomp:", "/proc/self/status"],
    &["busybox", "sh", "-c", "cat /proc/self/cgroup >/dev/null; ls /dev | sort | tr '\\n' ' '"],
    &["busybox", "cat", "/etc/hosts"],
];

#[test]
#[ignore = "needs root"]
fn same_results_as_docker() {
    let ctl = Ctl::new();
    let dockerd = Dockerd::start();
    let layer = crate::containers::busybox_layer();
    dockerd.docker(["import", "--change", r#"CMD ["sh"]"#]).arg(&layer).arg("busybox").success();
    let mut mismatches = Vec::new();
    for row in RUN_TABLE {
        let ours = result(ctl.run(["--rm", "--network", "none"]).args(*row).output_of());
        let theirs = result(dockerd.docker(["run", "--rm", "--network", "none"]).args(*row).output_of());
        if ours != theirs {
            mismatches.push(format!("run {row:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    // Not {{.Config.Entrypoint}}: a null prints `<no value>` in our templates
    // where docker's typed struct prints `[]` (docs/ARCHITECTURE.md, format/).
    let format = "{{.State.Status}} {{.State.ExitCode}} {{.Path}} {{.Args}} {{.Config.Cmd}} {{.Config.WorkingDir}} {{.HostConfig.RestartPolicy.Name}} {{.RestartCount}} {{.State.Running}}";
    for (name, args) in [
        ("cmp1", &["busybox", "sh", "-c", "echo one; echo two >&2; exit 4"][..]),
        ("cmp2", &["-w", "/w", "busybox", "pwd"][..]),
    ] {
        ctl.run(["--name", name, "--network", "none"]).args(args).output_of();
        dockerd.docker(["run", "--name", name, "--network", "none"]).args(args).output_of();
        let ours = ctl.inspect(name, format);
        let theirs = dockerd.docker(["inspect", "-f", format, name]).success().trim().to_string();
        if ours != theirs {
            mismatches.push(format!("inspect {name}\n  berthctl: {ours}\n  docker:   {theirs}"));
        }
        let ours = result(ctl.cmd(["logs", name]).output_of());
        let theirs = result(dockerd.docker(["logs", name]).output_of());
        if ours != theirs {
            mismatches.push(format!("logs {name}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
        let ps = "{{.Names}} {{.Command}} {{.State}}";
        let ours = ctl.cmd(["ps", "-a", "--filter", &format!("name={name}"), "--format", ps]).success();
        let theirs = dockerd.docker(["ps", "-a", "--filter", &format!("name={name}"), "--format", ps]).success();
        if ours != theirs {
            mismatches.push(format!("ps {name}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    assert!(mismatches.is_empty(), "differences from docker:\n{}", mismatches.join("\n"));
}

/// What a container made by this script changed, for `diff`, `cp` and `commit`.
const CHANGES: &str = "echo hi > /new; rm /etc/group; echo x >> /etc/passwd; mkdir -p /srv/a/b; echo deep > /srv/a/b/f; ln -s /new /link; ln -s /../../../../etc/shadow /etc/x";

/// `cp` lines to stdout (`-`) whose tar listing and exit code must match.
const CP_OUT_TABLE: &[&[&str]] = &[
    &["c1:/srv", "-"],
    &["c1:/srv/.", "-"],
    &["c1:/srv/a/b/f", "-"],
    &["c1:/link", "-"],
    &["-L", "c1:/link", "-"],
    &["c1:/etc/x", "-"],
    &["-L", "c1:/etc/x", "-"],
    &["c1:/nope", "-"],
];

/// `cp` lines into a local directory (`DEST` is replaced by a fresh one per
/// side; `DEST/exists` is a directory there) whose resulting trees must match.
const CP_LOCAL_TABLE: &[&[&str]] = &[
    &["c1:/srv", "DEST/exists"],
    &["c1:/srv", "DEST/newdir"],
    &["c1:/srv/.", "DEST/exists"],
    &["c1:/srv/a/b/f", "DEST/exists"],
    &["c1:/srv/a/b/f", "DEST/renamed"],
    &["c1:/srv/a/b/f", "DEST/nodir/"],
    &["c1:/srv", "DEST/exists/file"],
];

#[test]
#[ignore = "needs root"]
fn diff_cp_and_commit_same_as_docker() {
    let ctl = Ctl::new();
    let dockerd = Dockerd::start();
    let layer = crate::containers::busybox_layer();
    dockerd.docker(["import", "--change", r#"CMD ["sh"]"#]).arg(&layer).arg("busybox").success();
    ctl.run(["--name", "c1", "--network", "none", "busybox", "sh", "-c", CHANGES]).success();
    dockerd.docker(["run", "--name", "c1", "--network", "none", "busybox", "sh", "-c", CHANGES]).success();
    let mut mismatches = Vec::new();
    // docker 20.10's overlay2 lists changes in Go map order (its naive diff):
    // the same lines, compared sorted (ours come in walk order).
    let sorted = |(code, out): (i32, String)| {
        let mut lines: Vec<String> = out.lines().map(String::from).collect();
        lines.sort();
        (code, lines)
    };
    let ours = sorted(result(ctl.cmd(["diff", "c1"]).output_of()));
    let theirs = sorted(result(dockerd.docker(["diff", "c1"]).output_of()));
    if ours != theirs {
        mismatches.push(format!("diff\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
    }
    for row in CP_OUT_TABLE {
        let listing = |out: std::process::Output| {
            let names = if out.stdout.is_empty() { Vec::new() } else { crate::commit::tar_names(&out.stdout) };
            (out.status.code(), names)
        };
        let ours = listing(ctl.cmd(["cp"]).args(*row).output_of());
        let theirs = listing(dockerd.docker(["cp"]).args(*row).output_of());
        if ours != theirs {
            mismatches.push(format!("cp {row:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    for (i, row) in CP_LOCAL_TABLE.iter().enumerate() {
        let mut results = Vec::new();
        for side in ["ours", "theirs"] {
            let dest = tmp.path().join(format!("{i}-{side}"));
            std::fs::create_dir_all(dest.join("exists")).unwrap();
            std::fs::write(dest.join("exists/file"), "f").unwrap();
            let args: Vec<String> = row.iter().map(|a| a.replace("DEST", &dest.display().to_string())).collect();
            let out = match side {
                "ours" => ctl.cmd(["cp"]).args(&args).output_of(),
                _ => dockerd.docker(["cp"]).args(&args).output_of(),
            };
            results.push((out.status.code(), crate::support::tree_manifest(&dest)));
        }
        if results[0] != results[1] {
            mismatches.push(format!("cp {row:?}\n  berthctl: {:?}\n  docker:   {:?}", results[0], results[1]));
        }
    }
    // Committed, the two images run the same way and tell the same history.
    let commit = ["commit", "-m", "msg", "-c", r#"CMD ["cat", "/new"]"#, "c1", "committed"];
    ctl.cmd(commit).success();
    dockerd.docker(commit).success();
    for args in [
        &["run", "--rm", "--network", "none", "committed"][..],
        &["history", "--format", "{{.CreatedBy}}|{{.Comment}}", "committed"][..],
    ] {
        let ours = result(ctl.cmd(args).output_of());
        let theirs = result(dockerd.docker(args).output_of());
        if ours != theirs {
            mismatches.push(format!("{args:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    assert!(mismatches.is_empty(), "differences from docker:\n{}", mismatches.join("\n"));
}
