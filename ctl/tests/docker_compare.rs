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
    &["--group-add", "tty", "--group-add", "6", "busybox", "id"],
    &["--group-add", "no-such-group", "busybox", "id"],
    &["--sysctl", "kernel.shmmax=1000000", "busybox", "cat", "/proc/sys/kernel/shmmax"],
    &["--sysctl", "vm.swappiness=1", "busybox", "true"],
    &["--pid", "host", "busybox", "sh", "-c", "test -d /proc/1 && echo host"],
    &["--ipc", "none", "busybox", "sh", "-c", "grep -c ' /dev/shm ' /proc/mounts"],
    &["--ipc", "bogus", "busybox", "true"],
    &["--uts", "host", "-h", "x", "busybox", "true"],
    &[
        "--device",
        "/dev/null:/dev/mynull:rw",
        "busybox",
        "sh",
        "-c",
        "echo x >/dev/mynull && ls -l /dev/mynull | cut -c1-10",
    ],
    &["--device", "/dev/null:/dev/mynull:r", "busybox", "sh", "-c", "echo x >/dev/mynull"],
    &["--device", "/dev/no-such-device", "busybox", "true"],
    &["--hostname", "h", "--domainname", "d.example", "busybox", "cat", "/proc/sys/kernel/domainname"],
    &["--oom-score-adj", "100", "busybox", "cat", "/proc/self/oom_score_adj"],
    &["--oom-score-adj", "2000", "busybox", "true"],
    &["--memory-swappiness", "200", "busybox", "true"],
    &["--cpus", "99", "busybox", "true"],
    &["--stop-signal", "FOO", "busybox", "true"],
    &["-a", "stderr", "busybox", "sh", "-c", "echo out; echo err >&2"],
    &["-p", "8080:80", "busybox", "true"],
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
    let t0 = unix_now();
    // Not {{.Config.Entrypoint}}: a null prints `<no value>` in our templates
    // where docker's typed struct prints `[]` (docs/ARCHITECTURE.md, format/).
    let format = "{{.State.Status}} {{.State.ExitCode}} {{.Path}} {{.Args}} {{.Config.Cmd}} {{.Config.WorkingDir}} {{.HostConfig.RestartPolicy.Name}} {{.RestartCount}} {{.State.Running}}";
    for (name, args) in [
        ("cmp1", &["busybox", "sh", "-c", "echo one; echo two >&2; exit 4"][..]),
        ("cmp2", &["-w", "/w", "busybox", "pwd"][..]),
        ("cmp3", &["-l", "b=2", "-l", "a=1", "busybox", "true"][..]),
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
    mismatches.extend(exec_differences(&ctl, &dockerd));
    let until = format!("{:.3}", unix_now() + 1.0);
    let t0 = format!("{t0:.3}");
    for (what, args) in FORMAT_TABLE {
        let args: Vec<String> = args.iter().map(|a| a.replace("{since}", &t0).replace("{until}", &until)).collect();
        let ours = ctl.cmd(&args).output_of();
        let theirs = dockerd.docker(&args).output_of();
        let (ours, theirs) = (shape(what, &result(ours)), shape(what, &result(theirs)));
        if ours != theirs {
            mismatches.push(format!("{what} {args:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    assert!(mismatches.is_empty(), "differences from docker:\n{}", mismatches.join("\n"));
}

/// `exec` lines (after `exec`, `ex` is the container) whose stdout and status
/// docker and berthctl must agree on; the runtime's error text differs by
/// runtime, so a failure to start compares by status only.
const EXEC_TABLE: &[&[&str]] = &[
    &["ex", "sh", "-c", "ulimit -n; id -G"],
    &["-e", "A=1", "-w", "/tmp", "ex", "sh", "-c", "echo $A; pwd"],
    &["-u", "nobody", "ex", "id"],
    &["-u", "no-such-user", "ex", "id"],
    &["ex", "sh", "-c", "exit 7"],
    &["ex", "no-such-command"],
    &["--env-file", "/no/such/file", "ex", "true"],
    &["no-such-container", "true"],
];

fn exec_differences(ctl: &Ctl, dockerd: &Dockerd) -> Vec<String> {
    let start = ["-d", "--name", "ex", "--network", "none", "--ulimit", "nofile=100:200", "--group-add", "6"];
    ctl.cmd(["run"]).args(start).args(["busybox", "sleep", "300"]).success();
    dockerd.docker(["run"]).args(start).args(["busybox", "sleep", "300"]).success();
    let mut out = Vec::new();
    for row in EXEC_TABLE {
        let mut ours = result(ctl.cmd(["exec"]).args(*row).output_of());
        let mut theirs = result(dockerd.docker(["exec"]).args(*row).output_of());
        if theirs.1.starts_with("OCI runtime exec failed") && ours.1.starts_with("OCI runtime exec failed") {
            (ours.1, theirs.1) = (String::new(), String::new());
        }
        if ours != theirs {
            out.push(format!("exec {row:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    for (cmd, want) in [(&["pause", "ex"][..], 0), (&["exec", "ex", "true"], 1), (&["unpause", "ex"], 0)] {
        let (ours, theirs) = (ctl.cmd(cmd).output_of(), dockerd.docker(cmd).output_of());
        let codes = (ours.status.code(), theirs.status.code());
        if codes != (Some(want), Some(want)) {
            out.push(format!("{cmd:?}: berthctl {:?}, docker {:?}", codes.0, codes.1));
        }
    }
    let (ours, theirs) = (ctl.cmd(["top", "ex"]).success(), dockerd.docker(["top", "ex"]).success());
    let header = |t: &str| t.lines().next().unwrap_or_default().to_string();
    if header(&ours) != header(&theirs) {
        out.push(format!("top header\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
    }
    ctl.cmd(["rm", "-f", "ex"]).success();
    dockerd.docker(["rm", "-f", "ex"]).success();
    out
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// What of an output must match: `text` all of it, `keys` the keys of each
/// JSON line in their order, `header` the first line, `zone` how the
/// events' times end (`Z` or an offset) and what follows the id.
fn shape(what: &str, (code, out): &(i32, String)) -> (i32, String) {
    let text = match what {
        "keys" => out
            .lines()
            .map(|l| {
                let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(l).unwrap_or_default();
                v.keys().cloned().collect::<Vec<_>>().join(",")
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "header" => out.lines().next().unwrap_or_default().to_string(),
        "zone" => out
            .lines()
            .map(|l| {
                let mut f = l.split(' ');
                let time = f.next().unwrap_or_default();
                let zone = if time.ends_with('Z') { "Z" } else { &time[time.len().saturating_sub(6)..] };
                let (kind, action, _id) = (f.next(), f.next(), f.next());
                format!("{} {kind:?} {action:?} {}", zone, f.collect::<Vec<_>>().join(" "))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => out.clone(),
    };
    (*code, text)
}

/// Output-format command lines run through both after the containers
/// above: `text` compares stdout, `keys` the JSON keys in order, `header`
/// a table's header line, `zone` the shape of `events` lines.
const FORMAT_TABLE: &[(&str, &[&str])] = &[
    (
        "text",
        &[
            "inspect",
            "-f",
            "{{.Config.Labels}} {{json .Config.Labels}} {{.State.OOMKilled}} {{.HostConfig.Memory}}",
            "cmp3",
        ],
    ),
    (
        "text",
        &[
            "inspect",
            "-f",
            "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}} {{index .Config.Labels \"a\"}}",
            "cmp3",
        ],
    ),
    (
        "text",
        &[
            "ps",
            "-a",
            "--filter",
            "name=cmp3",
            "--format",
            "{{.Names}}|{{.Labels}}|{{.Networks}}|{{.Mounts}}|{{.LocalVolumes}}|{{.Ports}}|{{.State}}",
        ],
    ),
    ("keys", &["ps", "-a", "--filter", "name=cmp3", "--format", "{{json .}}"]),
    ("keys", &["ps", "-a", "--filter", "name=cmp3", "--format", "json"]),
    (
        "header",
        &["ps", "-a", "--format", "table {{.ID}}\t{{.Names}}\t{{.Networks}}\t{{.LocalVolumes}}\t{{.RunningFor}}"],
    ),
    (
        "text",
        &[
            "events",
            "--since",
            "{since}",
            "--until",
            "{until}",
            "--filter",
            "type=container",
            "--filter",
            "container=cmp1",
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
        ],
    ),
    (
        "text",
        &[
            "events",
            "--since",
            "{since}",
            "--until",
            "{until}",
            "--filter",
            "container=cmp3",
            "--filter",
            "event=create",
            "--format",
            "{{.Status}} {{.From}} {{.Actor.Attributes.a}} {{.Scope}}",
        ],
    ),
    (
        "keys",
        &[
            "events",
            "--since",
            "{since}",
            "--until",
            "{until}",
            "--filter",
            "container=cmp2",
            "--filter",
            "event=die",
            "--format",
            "{{json .}}",
        ],
    ),
    (
        "zone",
        &[
            "events",
            "--since",
            "{since}",
            "--until",
            "{until}",
            "--filter",
            "container=cmp3",
            "--filter",
            "event=start",
        ],
    ),
];

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
        // docker's commit config: the container's Config with the change,
        // its id and its Config as it ran (container, container_config).
        &[
            "image",
            "inspect",
            "-f",
            "{{.Config.Image}} {{.Config.Cmd}} {{.Config.AttachStdout}} {{.ContainerConfig.Image}} \
             {{.ContainerConfig.Cmd}} {{.ContainerConfig.AttachStdout}} {{len .Container}} \
             {{eq .Config.Hostname .ContainerConfig.Hostname}} {{len .Config.Hostname}}",
            "committed",
        ][..],
    ] {
        let ours = result(ctl.cmd(args).output_of());
        let theirs = result(dockerd.docker(args).output_of());
        if ours != theirs {
            mismatches.push(format!("{args:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    assert!(mismatches.is_empty(), "differences from docker:\n{}", mismatches.join("\n"));
}

/// `info` and `version` templates docker users script against, with the
/// same store contents (one image, one stopped container) on the same host:
/// the same values where both describe the host or the store, every key of
/// docker's `info --format '{{json .}}'`, and the same DriverStatus keys.
#[test]
#[ignore = "needs root"]
fn info_and_version_as_docker() {
    let ctl = Ctl::new();
    let dockerd = Dockerd::start();
    let layer = crate::containers::busybox_layer();
    dockerd.docker(["import", "--change", r#"CMD ["sh"]"#]).arg(&layer).arg("busybox").success();
    ctl.run(["--name", "i1", "--network", "none", "busybox", "true"]).success();
    dockerd.docker(["run", "--name", "i1", "--network", "none", "busybox", "true"]).success();
    let mut mismatches = Vec::new();
    for format in [
        "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}}",
        "{{.Driver}} {{range .DriverStatus}}{{index . 0}},{{end}}",
        "{{.LoggingDriver}} {{.CgroupDriver}} {{.CgroupVersion}}",
        "{{.KernelVersion}} / {{.OperatingSystem}} / {{.OSVersion}} / {{.OSType}} / {{.Architecture}}",
        "{{.NCPU}} {{.MemTotal}} {{.Name}}",
        "{{.MemoryLimit}} {{.SwapLimit}} {{.KernelMemory}} {{.KernelMemoryTCP}} {{.OomKillDisable}}",
        "{{.CPUCfsPeriod}} {{.CPUCfsQuota}} {{.CPUShares}} {{.CPUSet}} {{.PidsLimit}} {{.IPv4Forwarding}}",
        "{{.HTTPProxy}}|{{.HTTPSProxy}}|{{.NoProxy}}|",
        "{{.Plugins.Volume}} {{.Swarm.LocalNodeState}} {{.SecurityOptions}}",
        "{{.IndexServerAddress}} {{.RegistryConfig.InsecureRegistryCIDRs}} {{.ExperimentalBuild}} {{.Labels}}",
        "{{.Debug}} {{.NEventsListener}} {{.Isolation}}|",
    ] {
        let ours = ctl.cmd(["info", "--format", format]).success();
        let theirs = dockerd.docker(["info", "--format", format]).success();
        if ours != theirs {
            mismatches.push(format!("info -f {format:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    let keys = |json: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(json).expect("info --format '{{json .}}' is JSON");
        v.as_object().unwrap().keys().cloned().collect()
    };
    let ours = keys(&ctl.cmd(["info", "--format", "{{json .}}"]).success());
    for k in keys(&dockerd.docker(["info", "--format", "{{json .}}"]).success()) {
        if !ours.contains(&k) {
            mismatches.push(format!("info: docker's key {k} missing"));
        }
    }
    for format in [
        "{{.Client.Os}}/{{.Client.Arch}}",
        "{{.Server.Os}}/{{.Server.Arch}} {{.Server.KernelVersion}}",
        "{{(index .Server.Components 0).Name}} {{index (index .Server.Components 0).Details \"KernelVersion\"}}",
        "{{range .Server.Components}}{{if eq .Name \"docker-init\"}}{{.Version}}{{end}}{{end}}",
    ] {
        let ours = ctl.cmd(["version", "--format", format]).success();
        let theirs = dockerd.docker(["version", "--format", format]).success();
        if ours != theirs {
            mismatches.push(format!("version -f {format:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    // The default layout's Server part has docker's lines in docker's order.
    let ours = ctl.cmd(["info"]).success();
    let theirs = dockerd.docker(["info"]).success();
    let heads = |text: &str| -> Vec<String> {
        let server = text.split("Server:\n").nth(1).unwrap_or_default();
        server
            .lines()
            .filter(|l| l.starts_with(' ') && !l.starts_with("  "))
            .filter_map(|l| l.split(':').next())
            .map(|h| h.trim().to_string())
            .collect()
    };
    let ours_heads = heads(&ours);
    let mut at = 0;
    for h in heads(&theirs).iter().filter(|h| !["containerd version", "runc version", "Registry"].contains(&h.as_str()))
    {
        match ours_heads[at..].iter().position(|o| o == h) {
            Some(i) => at += i + 1,
            None => mismatches.push(format!("info: docker's line {h:?} missing or out of order in:\n{ours}")),
        }
    }
    assert!(mismatches.is_empty(), "differences from docker:\n{}", mismatches.join("\n"));
}

/// `update` lines run in order on the same three containers on both sides
/// (`up1` running, `up2` created with `-m 64m`, `up3` created with `--rm`):
/// status, stdout (names, then the daemon's warnings) and stderr (docker's
/// words, the container id left out) must match. Not `--restart
/// on-failure:x`: docker 28's client words it differently from 20.10's.
const UPDATE_TABLE: &[&[&str]] = &[
    &["up1"],
    &["--memory", "100m", "up1"],
    &["--memory", "100m", "--memory-swap", "200m", "up1"],
    &["-m", "1k", "up1"],
    &["--memory-reservation", "1m", "up1"],
    &["-m", "64m", "--memory-reservation", "128m", "up1"],
    &["-m", "64m", "--memory-swap", "32m", "up1"],
    &["--cpus", "1", "--cpu-period", "100000", "up1"],
    &["--cpus", "1", "up1"],
    &["--cpu-quota", "50000", "up1"],
    &["--cpu-period", "50000", "up2"],
    &["--cpus", "1", "up2"],
    &["--cpu-period", "10", "up2"],
    &["--cpu-quota", "10", "up2"],
    &["-m", "200m", "up2"],
    &["-m", "100m", "up2"],
    &["--restart", "always", "up3"],
    &["--restart", "no", "up3"],
    &["--restart", "bogus", "up1"],
    &["--restart", "always:3", "up1"],
    &["--restart", "on-failure:-1", "up1"],
    &["--restart", "on-failure:3", "up1", "nosuch", "up2"],
    &["--kernel-memory", "10m", "up2", "up3"],
    &["--kernel-memory", "1m", "up2"],
    &["--pids-limit", "-1", "up1"],
    &["--pids-limit", "30", "up2"],
    &["--cpuset-cpus", "99", "up1"],
    &["--cpuset-cpus", "x", "up1"],
    &["--cpuset-cpus", "0", "--cpuset-mems", "0", "-c", "512", "up1"],
    &["--blkio-weight", "300", "up1"],
];

#[test]
#[ignore = "needs root"]
fn update_same_as_docker() {
    let ctl = Ctl::new();
    let dockerd = Dockerd::start();
    let layer = crate::containers::busybox_layer();
    dockerd.docker(["import", "--change", r#"CMD ["sh"]"#]).arg(&layer).arg("busybox").success();
    let setup: [&[&str]; 3] = [
        &["run", "-d", "--name", "up1", "--network", "none", "busybox", "sleep", "300"],
        &["create", "--name", "up2", "--network", "none", "-m", "64m", "busybox", "sleep", "300"],
        &["create", "--name", "up3", "--network", "none", "--rm", "busybox", "true"],
    ];
    for args in setup {
        ctl.cmd(args).success();
        dockerd.docker(args).success();
    }
    let ids = |text: &[u8]| {
        let text = String::from_utf8_lossy(text);
        text.split(' ')
            .map(|w| if w.len() == 65 && w.ends_with(':') { "<id>:" } else { w })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let outcome = |out: std::process::Output| {
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), ids(&out.stderr))
    };
    let mut mismatches = Vec::new();
    for row in UPDATE_TABLE {
        let ours = outcome(ctl.cmd(["update"]).args(*row).output_of());
        let theirs = outcome(dockerd.docker(["update"]).args(*row).output_of());
        if ours != theirs {
            mismatches.push(format!("update {row:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    for (name, format) in [
        (
            "up1",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} {{.HostConfig.CpusetMems}} {{.HostConfig.BlkioWeight}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}",
        ),
        (
            "up2",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.PidsLimit}} {{.HostConfig.KernelMemory}} {{.HostConfig.RestartPolicy.Name}}",
        ),
        ("up3", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.AutoRemove}} {{.HostConfig.KernelMemory}}"),
    ] {
        let ours = ctl.inspect(name, format);
        let theirs = dockerd.docker(["inspect", "-f", format, name]).success().trim().to_string();
        if ours != theirs {
            mismatches.push(format!("inspect {name}\n  berthctl: {ours}\n  docker:   {theirs}"));
        }
    }
    assert!(mismatches.is_empty(), "differences from docker:\n{}", mismatches.join("\n"));
}

/// `run` lines whose health flags docker refuses: the status and the
/// message (the last part of stderr's first line: docker's CLI says
/// "docker: …", berthctl "Error: …" or "berthctl: Error response from daemon: ….").
const HEALTH_ERROR_TABLE: &[&[&str]] = &[
    &["--no-healthcheck", "--health-cmd", "true"],
    &["--no-healthcheck", "--health-retries", "2"],
    &["--health-interval", "-1s"],
    &["--health-timeout", "-1ms"],
    &["--health-retries", "-1"],
    &["--health-start-period", "-2s", "--health-interval", "-1s"],
    &["--health-interval", "500us"],
    &["--health-timeout", "999us"],
    &["--health-start-period", "1ns"],
    &["--health-interval", "xx"],
];

fn message_of(out: &std::process::Output) -> (i32, String) {
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or_default().trim();
    let last = first.rsplit(": ").next().unwrap_or_default().trim_end_matches('.');
    (out.status.code().unwrap_or(-1), last.to_string())
}

/// Wait until `inspect -f {{.State.Health.Status}}` says `want` on one side.
fn wait_status(inspect: &mut dyn FnMut() -> String, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = inspect();
        if got == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Health checks through both: the flag errors, `Config.Healthcheck`'s
/// JSON (flags, `--no-healthcheck`, merged over an image's HEALTHCHECK),
/// and `State.Health` after the probes ran: healthy, unhealthy, a timeout,
/// the `ps` filter, and a stopped container's.
#[test]
#[ignore = "needs root"]
fn health_checks_as_docker() {
    let ctl = Ctl::new();
    let dockerd = Dockerd::start();
    let layer = crate::containers::busybox_layer();
    dockerd.docker(["import", "--change", r#"CMD ["sh"]"#]).arg(&layer).arg("busybox").success();
    let mut mismatches = Vec::new();
    for row in HEALTH_ERROR_TABLE {
        let ours = message_of(&ctl.run(["--rm", "--network", "none"]).args(*row).args(["busybox", "true"]).output_of());
        let theirs = message_of(
            &dockerd.docker(["run", "--rm", "--network", "none"]).args(*row).arg("busybox").arg("true").output_of(),
        );
        if ours != theirs {
            mismatches.push(format!("run {row:?}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    let hc = r#"HEALTHCHECK --interval=5s --retries=4 CMD ["true"]"#;
    ctl.cmd(["create", "--name", "hbase", "busybox"]).success();
    dockerd.docker(["create", "--name", "hbase", "busybox"]).success();
    ctl.cmd(["commit", "-c", hc, "hbase", "hc"]).success();
    dockerd.docker(["commit", "-c", hc, "hbase", "hc"]).success();
    for (name, args) in [
        ("hc1", &["--health-cmd", "exit 0", "--health-interval", "1s", "--health-retries", "2", "busybox"][..]),
        ("hc2", &["--no-healthcheck", "busybox"]),
        ("hc3", &["--health-timeout", "1500ms", "--health-start-period", "1m", "busybox"]),
        ("hc4", &["busybox"]),
        ("hc5", &["--health-interval", "2s", "hc"]),
        ("hc6", &["--no-healthcheck", "hc"]),
        ("hc7", &["hc"]),
    ] {
        ctl.cmd(["create", "--name", name]).args(args).success();
        dockerd.docker(["create", "--name", name]).args(args).success();
        // One `{{json}}` per template: inside a larger one our keys come out
        // sorted (docs/ARCHITECTURE.md, format/).
        for f in ["{{json .Config.Healthcheck}}", "{{json .State.Health}}"] {
            let (ours, theirs) = (ctl.inspect(name, f), dockerd.docker(["inspect", "-f", f, name]).success());
            if ours != theirs.trim() {
                mismatches
                    .push(format!("inspect {name} {args:?} {f}\n  berthctl: {ours}\n  docker:   {}", theirs.trim()));
            }
        }
    }
    mismatches.extend(health_state_differences(&ctl, &dockerd));
    assert!(mismatches.is_empty(), "differences from docker:\n{}", mismatches.join("\n"));
}

/// Containers whose probes pass, fail, and time out, compared once each
/// reached its status on both sides.
fn health_state_differences(ctl: &Ctl, dockerd: &Dockerd) -> Vec<String> {
    let mut out = Vec::new();
    let rows: [(&str, &[&str], &str); 4] = [
        ("hok", &["--health-cmd", "echo hi", "--health-interval", "200ms"], "healthy"),
        ("hbig", &["--health-cmd", "yes | head -c 5000", "--health-interval", "200ms"], "healthy"),
        (
            "hbad",
            &["--health-cmd", "echo no >&2; exit 3", "--health-interval", "200ms", "--health-retries", "2"],
            "unhealthy",
        ),
        (
            "hslow",
            &[
                "--health-cmd",
                "sleep 5",
                "--health-interval",
                "200ms",
                "--health-timeout",
                "300ms",
                "--health-retries",
                "1",
            ],
            "unhealthy",
        ),
    ];
    for (name, args, _) in rows {
        let start = ["-d", "--name", name, "--network", "none"];
        ctl.cmd(["run"]).args(start).args(args).args(["busybox", "sleep", "300"]).success();
        dockerd.docker(["run"]).args(start).args(args).args(["busybox", "sleep", "300"]).success();
    }
    let status = "{{.State.Health.Status}}";
    let first = "{{.State.Health.Status}} {{with index .State.Health.Log 0}}{{.ExitCode}} {{json .Output}}{{end}}";
    for (name, _, want) in rows {
        let ours = wait_status(&mut || ctl.inspect(name, status), want);
        let theirs =
            wait_status(&mut || dockerd.docker(["inspect", "-f", status, name]).success().trim().to_string(), want);
        let (ours, theirs) = if ours == theirs {
            (ctl.inspect(name, first), dockerd.docker(["inspect", "-f", first, name]).success().trim().to_string())
        } else {
            (ours, theirs)
        };
        if ours != theirs {
            out.push(format!("health of {name}\n  berthctl: {ours}\n  docker:   {theirs}"));
        }
    }
    // Before its first probe (an hour away) a container is `starting`, with an empty log.
    let start = ["-d", "--name", "hwait", "--network", "none", "--health-cmd", "true", "--health-interval", "1h"];
    ctl.cmd(["run"]).args(start).args(["busybox", "sleep", "300"]).success();
    dockerd.docker(["run"]).args(start).args(["busybox", "sleep", "300"]).success();
    let f = "{{json .State.Health}}";
    let (ours, theirs) = (ctl.inspect("hwait", f), dockerd.docker(["inspect", "-f", f, "hwait"]).success());
    if ours != theirs.trim() {
        out.push(format!("health before the first probe\n  berthctl: {ours}\n  docker:   {}", theirs.trim()));
    }
    let ps = "{{.Names}} {{.Status}}";
    let args = ["ps", "--filter", "name=hwait", "--format", ps];
    let (ours, theirs) = (ctl.cmd(args).success(), dockerd.docker(args).success());
    if !ours.ends_with("(health: starting)\n") || !theirs.ends_with("(health: starting)\n") {
        out.push(format!("ps of a starting container\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
    }
    for filter in ["health=healthy", "health=unhealthy", "health=none", "health=starting"] {
        let args = ["ps", "--filter", filter, "--filter", "name=h", "--format", "{{.Names}}"];
        let (ours, theirs) = (ctl.cmd(args).success(), dockerd.docker(args).success());
        let sorted = |s: String| {
            let mut v: Vec<String> = s.lines().map(str::to_string).collect();
            v.sort();
            v
        };
        if sorted(ours.clone()) != sorted(theirs.clone()) {
            out.push(format!("ps --filter {filter}\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
    }
    let bogus = ["ps", "--filter", "health=bogus"];
    let (ours, theirs) = (message_of(&ctl.cmd(bogus).output_of()), message_of(&dockerd.docker(bogus).output_of()));
    if ours != theirs {
        out.push(format!("ps --filter health=bogus\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
    }
    // A probe the runtime cannot start: -1 and the exec error (whose text is
    // the runtime's own, so only its shape is compared).
    let hc = r#"HEALTHCHECK --interval=200ms --retries=1 CMD ["/nonexistent"]"#;
    ctl.cmd(["commit", "-c", hc, "hbase", "hcbad"]).success();
    dockerd.docker(["commit", "-c", hc, "hbase", "hcbad"]).success();
    ctl.cmd(["run", "-d", "--name", "hnx", "--network", "none", "hcbad", "sleep", "300"]).success();
    dockerd.docker(["run", "-d", "--name", "hnx", "--network", "none", "hcbad", "sleep", "300"]).success();
    let f =
        "{{.State.Health.Status}} {{with index .State.Health.Log 0}}{{.ExitCode}} {{printf \"%.38s\" .Output}}{{end}}";
    let ours = wait_status(&mut || ctl.inspect("hnx", status), "unhealthy");
    let theirs =
        wait_status(&mut || dockerd.docker(["inspect", "-f", status, "hnx"]).success().trim().to_string(), "unhealthy");
    let (ours, theirs) = if ours == theirs {
        (ctl.inspect("hnx", f), dockerd.docker(["inspect", "-f", f, "hnx"]).success().trim().to_string())
    } else {
        (ours, theirs)
    };
    if ours != theirs {
        out.push(format!("health of a probe that cannot start\n  berthctl: {ours}\n  docker:   {theirs}"));
    }
    ctl.cmd(["stop", "-t", "1", "hok"]).success();
    dockerd.docker(["stop", "-t", "1", "hok"]).success();
    let (ours, theirs) = (ctl.inspect("hok", status), dockerd.docker(["inspect", "-f", status, "hok"]).success());
    if ours != theirs.trim() {
        out.push(format!("health of a stopped container\n  berthctl: {ours}\n  docker:   {}", theirs.trim()));
    }
    out
}
