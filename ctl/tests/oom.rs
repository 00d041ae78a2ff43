//! The OOM killer as a docker user sees it: `run -m 16m … tail /dev/zero`
//! exits 137, `inspect` says `"OOMKilled": true`, `ps -a` says `Exited
//! (137)` and `events` has `oom` before `die` — under berth, runc and crun
//! (the supervisor reads the memory cgroup's `oom_kill` count before the
//! runtime's `delete` removes it).

use crate::containers::Ctl;
use crate::support::{self, Run};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn oom_killed_container_says_so(runtime: &str) {
    let ctl = Ctl::with_runtime(runtime);
    let t0 = now().to_string();
    // tail keeps the line it reads; /dev/zero never ends one.
    let out = ctl.run(["--name", "o1", "-m", "16m", "busybox", "sh", "-c", "tail /dev/zero"]).output_of();
    assert_eq!(out.status.code(), Some(137), "{out:?}");
    assert_eq!(ctl.inspect("o1", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}"), "true 137 exited");
    let json = ctl.cmd(["inspect", "o1"]).success();
    assert!(json.contains("\"OOMKilled\": true"), "{json}");
    let ps = ctl.cmd(["ps", "-a", "--filter", "name=o1", "--format", "{{.Status}}"]).success();
    assert!(ps.starts_with("Exited (137) "), "{ps}");
    let until = (now() + 1).to_string();
    let events = ctl
        .cmd(["events", "--since", &t0, "--until", &until, "-f", "container=o1", "--format", "{{.Action}}"])
        .success();
    assert!(events.contains("oom\ndie\n"), "{events}");
    let format = "{{.Type}} {{.Actor.Attributes.name}}";
    let oom_events =
        ctl.cmd(["events", "--since", &t0, "--until", &until, "-f", "event=oom", "--format", format]).success();
    assert_eq!(oom_events, "container o1\n");
    // A container the OOM killer left alone says false.
    ctl.run(["--name", "o2", "-m", "16m", "busybox", "true"]).success();
    assert_eq!(ctl.inspect("o2", "{{.State.OOMKilled}} {{.State.ExitCode}}"), "false 0");
    ctl.cmd(["rm", "o1", "o2"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn oom_killed_container_says_so_berth() {
    oom_killed_container_says_so(&support::runtime());
}

#[test]
#[ignore = "needs root"]
fn oom_killed_container_says_so_runc() {
    oom_killed_container_says_so("runc");
}

#[test]
#[ignore = "needs root"]
fn oom_killed_container_says_so_crun() {
    oom_killed_container_says_so("crun");
}
