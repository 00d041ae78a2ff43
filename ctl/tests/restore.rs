//! What happens around a container's life that docker's daemon would
//! handle: a host reboot (containers show Exited; `system restore` starts
//! those their restart policy asks for), the runtime a container was created with (used by every
//! later command whatever the global `--runtime`), and `container prune
//! --filter`.

use std::time::{Duration, Instant};

use crate::containers::Ctl;
use crate::support::Run;

const LOOP: &[&str] = &["busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"];

/// What a reboot leaves: every process of ours gone (killed with -9), no
/// mounts, no cgroups below our parent, an empty runroot (it is a tmpfs).
fn simulate_reboot(ctl: &Ctl) {
    for pid in ctl.our_processes() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    // The containers' processes are not ours by command line: kill what is
    // in their cgroups.
    let deadline = Instant::now() + Duration::from_secs(10);
    for d in ctl.cgroup_dirs() {
        for e in std::fs::read_dir(&d).unwrap().flatten().filter(|e| e.path().is_dir()) {
            loop {
                let procs = std::fs::read_to_string(e.path().join("cgroup.procs")).unwrap_or_default();
                if procs.trim().is_empty() {
                    break;
                }
                for p in procs.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGKILL);
                }
                assert!(Instant::now() < deadline, "processes in {:?} did not die", e.path());
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_dir(e.path());
        }
    }
    crate::support::detach_mounts_under(&ctl.store.root);
    crate::support::detach_mounts_under(&ctl.store.runroot);
    std::fs::remove_dir_all(&ctl.store.runroot).unwrap();
    std::fs::create_dir_all(&ctl.store.runroot).unwrap();
}

#[test]
#[ignore = "needs root"]
fn after_a_reboot_containers_are_exited_and_restore_starts_the_right_ones() {
    let ctl = Ctl::new();
    for (name, policy) in
        [("always", "always"), ("unless", "unless-stopped"), ("stopped", "unless-stopped"), ("plain", "no")]
    {
        ctl.run(["-d", "--name", name, "--restart", policy]).args(LOOP).success();
        ctl.wait_for(name, "{{.State.Status}}", "running");
    }
    ctl.cmd(["stop", "stopped"]).success();
    simulate_reboot(&ctl);

    let ps = ctl.cmd(["ps", "-a", "--format", "{{.Names}} {{.State}} {{.Status}}"]).success();
    let mut lines: Vec<&str> = ps.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 4, "{ps}");
    for l in &lines {
        let name = l.split(' ').next().unwrap();
        let code = if name == "stopped" { "0" } else { "255" };
        assert!(l.starts_with(&format!("{name} exited Exited ({code}) ")), "{ps}");
    }
    assert_eq!(ctl.cmd(["ps", "-q"]).success(), "", "nothing runs after a reboot");

    let started = ctl.cmd(["system", "restore"]).success();
    let mut started: Vec<&str> = started.lines().collect();
    started.sort();
    assert_eq!(started, ["always", "unless"]);
    let running = ctl.cmd(["ps", "--format", "{{.Names}}"]).success();
    let mut running: Vec<&str> = running.lines().collect();
    running.sort();
    assert_eq!(running, ["always", "unless"]);
    assert_eq!(ctl.inspect("stopped", "{{.State.Status}}"), "exited");
    assert_eq!(ctl.inspect("plain", "{{.State.Status}}"), "exited");
    // A second restore finds everything as it should be.
    assert_eq!(ctl.cmd(["system", "restore"]).success(), "");
    let ids = ctl.cmd(["ps", "-aq"]).success();
    ctl.cmd(["rm", "-f"]).args(ids.split_whitespace()).success();
    ctl.assert_clean();
}

/// Every command on a container created with `--runtime other` uses that
/// runtime while the global default stays the test's runtime.
fn recorded_runtime_is_used(other: &str) {
    let ctl = Ctl::new();
    let runtime = if other == "crun" { crate::containers::crun_wrapper(ctl.store.path()) } else { other.to_string() };
    ctl.run(["-d", "--runtime", &runtime, "--name", "r1"]).args(LOOP).success();
    ctl.wait_for("r1", "{{.State.Status}}", "running");
    assert_eq!(ctl.inspect("r1", "{{.HostConfig.Runtime}}"), runtime);
    // The runtime's own state store lists it: the other runtime made it.
    let list = std::process::Command::new(other)
        .arg("--root")
        .arg(ctl.store.runroot.join("runtime"))
        .args(["list", "-q"])
        .success();
    let id = ctl.inspect("r1", "{{.Id}}");
    assert!(list.lines().any(|l| l == id), "{other} list: {list:?}");
    assert_eq!(ctl.cmd(["exec", "r1", "echo", "in"]).success(), "in\n");
    ctl.cmd(["pause", "r1"]).success();
    ctl.cmd(["unpause", "r1"]).success();
    assert_eq!(ctl.cmd(["top", "r1"]).output_of().status.code(), Some(0));
    ctl.cmd(["stop", "r1"]).success();
    ctl.cmd(["start", "r1"]).success();
    ctl.wait_for("r1", "{{.State.Status}}", "running");
    ctl.cmd(["kill", "r1"]).success();
    ctl.cmd(["restart", "r1"]).success();
    ctl.wait_for("r1", "{{.State.Status}}", "running");
    ctl.cmd(["rm", "-f", "r1"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn a_container_keeps_its_runtime_runc() {
    recorded_runtime_is_used("runc");
}

#[test]
#[ignore = "needs root"]
fn a_container_keeps_its_runtime_crun() {
    recorded_runtime_is_used("crun");
}

#[test]
#[ignore = "needs root"]
fn container_prune_filters() {
    let ctl = Ctl::new();
    ctl.run(["--name", "old", "-l", "keep=no", "busybox", "true"]).success();
    std::thread::sleep(Duration::from_millis(1100));
    let cut = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    ctl.run(["--name", "new", "-l", "keep=no", "busybox", "sh", "-c", "echo x > /big"]).success();
    ctl.run(["--name", "kept", "-l", "keep=yes", "busybox", "true"]).success();
    ctl.run(["-d", "--name", "live"]).args(LOOP).success();
    let old = ctl.inspect("old", "{{.Id}}");
    let out = ctl.cmd(["container", "prune", "-f", "--filter", &format!("until={cut}")]).success();
    assert!(out.starts_with(&format!("Deleted Containers:\n{old}\n\nTotal reclaimed space: ")), "{out}");
    let out = ctl.cmd(["container", "prune", "-f", "--filter", "label!=keep=yes"]).success();
    let new = out.lines().nth(1).unwrap_or_default().to_string();
    assert_eq!(out.lines().next(), Some("Deleted Containers:"), "{out}");
    assert!(out.lines().last().is_some_and(|l| l.starts_with("Total reclaimed space: ")), "{out}");
    assert_eq!(new.len(), 64, "{out}");
    let left = ctl.cmd(["ps", "-a", "--format", "{{.Names}}"]).success();
    assert_eq!(left, "live\nkept\n");
    let out = ctl.cmd(["container", "prune", "-f", "--filter", "nope=1"]).output_of();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid filter 'nope'"), "{out:?}");
    ctl.cmd(["container", "prune", "-f", "--filter", "label=keep"]).success();
    assert_eq!(ctl.cmd(["ps", "-a", "--format", "{{.Names}}"]).success(), "live\n");
    ctl.cmd(["rm", "-f", "live"]).success();
    ctl.assert_clean();
}
