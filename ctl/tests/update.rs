//! `update`: a live container's cgroup files change and `inspect`/`stats`
//! show the new limits; a stopped one gets them at its next start; a new
//! restart policy is honoured at the next exit; a refused update (docker's
//! checks, or the runtime's) leaves the record as it was. Each test runs
//! its containers under its store's own cgroup parent.

use crate::containers::Ctl;
use crate::support::Run;

/// A cgroup interface file of process `pid`: v1 (and hybrid) by the
/// controller's hierarchy, v2 by the unified one (with v2's file name).
fn cgroup_value(pid: &str, controller: &str, v1_file: &str, v2_file: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("read /proc/<pid>/cgroup");
    let mut v2 = None;
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else { continue };
        if ctrls.split(',').any(|c| c == controller) {
            let file = format!("/sys/fs/cgroup/{controller}{path}/{v1_file}");
            return std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}")).trim().to_string();
        }
        if ctrls.is_empty() {
            v2 = Some(path.to_string());
        }
    }
    let path = v2.expect("the process's cgroup");
    let root = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/unified"
    };
    let file = format!("{root}{path}/{v2_file}");
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}")).trim().to_string()
}

fn memory_limit(pid: &str) -> String {
    cgroup_value(pid, "memory", "memory.limit_in_bytes", "memory.max")
}

fn pids_max(pid: &str) -> String {
    cgroup_value(pid, "pids", "pids.max", "pids.max")
}

/// The CFS quota in µs ("-1" unlimited), from v1's file or v2's cpu.max.
fn cpu_quota(pid: &str) -> String {
    let q = cgroup_value(pid, "cpu", "cpu.cfs_quota_us", "cpu.max");
    q.split_whitespace().next().unwrap_or_default().replace("max", "-1")
}

/// A running container's limits changed through the runtime, also paused,
/// and shown by inspect (docker's fields) and stats.
fn live_update_suite(ctl: &Ctl) {
    ctl.run(["-d", "--name", "u1", "-m", "64m", "busybox", "sleep", "300"]).success();
    ctl.wait_for("u1", "{{.State.Status}}", "running");
    let pid = ctl.inspect("u1", "{{.State.Pid}}");
    assert_eq!(memory_limit(&pid), (64 << 20).to_string());
    let out = ctl
        .cmd([
            "update",
            "-m",
            "128m",
            "--memory-swap",
            "256m",
            "--pids-limit",
            "40",
            "--cpus",
            "0.5",
            "-c",
            "512",
            "u1",
        ])
        .success();
    assert_eq!(out, "u1\n");
    assert_eq!(memory_limit(&pid), (128 << 20).to_string());
    assert_eq!(pids_max(&pid), "40");
    assert_eq!(cpu_quota(&pid), "50000");
    let fields = "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}}";
    assert_eq!(ctl.inspect("u1", fields), format!("{} {} 40 500000000 512", 128 << 20, 256 << 20));
    let usage = ctl.cmd(["stats", "--no-stream", "--format", "{{.MemUsage}}", "u1"]).success();
    assert!(usage.trim().ends_with("/ 128MiB"), "stats shows the new limit: {usage:?}");
    // Paused: the runtime updates a frozen cgroup too.
    ctl.cmd(["pause", "u1"]).success();
    assert_eq!(ctl.cmd(["update", "--pids-limit", "30", "u1"]).success(), "u1\n");
    assert_eq!(pids_max(&pid), "30");
    ctl.cmd(["unpause", "u1"]).success();
    // docker's unlimited: -1 asked, 0 recorded, "max" in the cgroup.
    ctl.cmd(["update", "--pids-limit", "-1", "u1"]).success();
    assert_eq!(pids_max(&pid), "max");
    assert_eq!(ctl.inspect("u1", "{{.HostConfig.PidsLimit}}"), "0");
    ctl.cmd(["rm", "-f", "u1"]).success();
}

#[test]
#[ignore = "needs root"]
fn update_changes_a_running_containers_cgroup() {
    live_update_suite(&Ctl::new());
}

#[test]
#[ignore = "needs root"]
fn update_changes_a_running_containers_cgroup_with_runc() {
    live_update_suite(&Ctl::with_runtime("runc"));
}

#[test]
#[ignore = "needs root"]
fn a_stopped_container_gets_the_new_limits_at_its_next_start() {
    let ctl = Ctl::new();
    let parent = ctl.cgroup_parent().to_string();
    ctl.cmd(["create", "--cgroup-parent", &parent, "--name", "u2", "busybox", "sleep", "300"]).success();
    let update = ["update", "-m", "96m", "--memory-swap", "192m", "--cpu-period", "50000", "--cpu-quota", "20000"];
    assert_eq!(ctl.cmd(update).args(["--pids-limit", "25", "u2"]).success(), "u2\n");
    let fields = "{{.HostConfig.Memory}} {{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.PidsLimit}}";
    assert_eq!(ctl.inspect("u2", fields), format!("{} 50000 20000 25", 96 << 20));
    ctl.cmd(["start", "u2"]).success();
    ctl.wait_for("u2", "{{.State.Status}}", "running");
    let pid = ctl.inspect("u2", "{{.State.Pid}}");
    assert_eq!(memory_limit(&pid), (96 << 20).to_string());
    assert_eq!(cpu_quota(&pid), "20000");
    assert_eq!(pids_max(&pid), "25");
    ctl.cmd(["rm", "-f", "u2"]).success();
    ctl.assert_clean();
}

/// A container that exits with 3 once /go exists (which stays, so every
/// restart exits again at once).
const EXIT_ON_GO: &str = "while [ ! -f /go ]; do sleep 0.1; done; exit 3";

#[test]
#[ignore = "needs root"]
fn a_restart_policy_changed_by_update_is_honoured_at_the_next_exit() {
    let ctl = Ctl::new();
    ctl.run(["-d", "--name", "r1", "busybox", "sh", "-c", EXIT_ON_GO]).success();
    ctl.wait_for("r1", "{{.State.Status}}", "running");
    // The policy alone: the record changes, the runtime is not asked.
    assert_eq!(ctl.cmd(["update", "--restart", "on-failure:1", "r1"]).success(), "r1\n");
    ctl.cmd(["exec", "r1", "touch", "/go"]).success();
    ctl.wait_for("r1", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}", "exited 1 3");

    ctl.run(["-d", "--name", "r2", "--restart", "always", "busybox", "sh", "-c", EXIT_ON_GO]).success();
    ctl.wait_for("r2", "{{.State.Status}}", "running");
    ctl.cmd(["update", "--restart", "no", "r2"]).success();
    assert_eq!(ctl.inspect("r2", "{{.HostConfig.RestartPolicy.Name}}"), "no");
    ctl.cmd(["exec", "r2", "touch", "/go"]).success();
    ctl.wait_for("r2", "{{.State.Status}} {{.State.ExitCode}}", "exited 3");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(ctl.inspect("r2", "{{.State.Status}} {{.RestartCount}}"), "exited 0");

    // docker: no policy for an --rm container, but "no" is fine.
    ctl.run(["-d", "--rm", "--name", "r3", "busybox", "sleep", "300"]).success();
    let out = ctl.cmd(["update", "--restart", "always", "r3"]).failure();
    let id = ctl.inspect("r3", "{{.Id}}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Error response from daemon: Cannot update container {id}: Restart policy cannot be updated because AutoRemove is enabled for the container\n"
        )
    );
    assert_eq!(ctl.cmd(["update", "--restart", "no", "r3"]).success(), "r3\n");
    // Stopped, an --rm container removes itself (no `rm -f` racing that).
    ctl.cmd(["stop", "-t", "1", "r3"]).success();
    ctl.cmd(["rm", "-f", "r1", "r2"]).success();
    ctl.wait_no_containers();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn refused_updates_leave_the_record_as_it_was() {
    let ctl = Ctl::new();
    ctl.run(["-d", "--name", "f1", "-m", "64m", "--pids-limit", "50", "busybox", "sleep", "300"]).success();
    ctl.wait_for("f1", "{{.State.Status}}", "running");
    ctl.cmd(["create", "--name", "f2", "busybox", "true"]).success();
    let pid = ctl.inspect("f1", "{{.State.Pid}}");
    let before = ctl.inspect("f1", "{{json .HostConfig}}");
    let id = ctl.inspect("f1", "{{.Id}}");
    let stderr = |out: std::process::Output| (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned());
    // The runtime refuses (cpu shares below 2) after the memory limit was
    // merged in: neither the record nor the cgroup takes the new values.
    let (code, err) = stderr(ctl.cmd(["update", "-m", "32m", "-c", "1", "f1"]).failure());
    assert_eq!(code, Some(1));
    assert!(err.starts_with(&format!("Error response from daemon: Cannot update container {id}: ")), "{err}");
    // docker's own checks.
    let (_, err) = stderr(ctl.cmd(["update", "-m", "1k", "f1"]).failure());
    assert_eq!(err, "Error response from daemon: Minimum memory limit allowed is 6MB\n");
    let (_, err) = stderr(ctl.cmd(["update", "-m", "512m", "f1"]).failure());
    assert!(
        err.ends_with(
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time\n"
        ),
        "{err}"
    );
    assert_eq!(ctl.inspect("f1", "{{json .HostConfig}}"), before);
    assert_eq!(memory_limit(&pid), (64 << 20).to_string());
    assert_eq!(pids_max(&pid), "50");
    // Every container is tried; the names that worked are printed.
    let out = ctl.cmd(["update", "--pids-limit", "20", "f1", "nosuch", "f2"]).failure();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "f1\nf2\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Error response from daemon: No such container: nosuch\n");
    let out = ctl.cmd(["update", "f1"]).failure();
    assert_eq!(
        (out.status.code(), String::from_utf8_lossy(&out.stderr).as_ref()),
        (Some(1), "you must provide one or more flags when using this command\n")
    );
    ctl.cmd(["rm", "-f", "f1", "f2"]).success();
    ctl.assert_clean();
}
