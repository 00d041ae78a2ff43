//! docker's health checks as a user meets them: the `--health-*` flags and
//! their errors, `Config.Healthcheck` merged over the image's HEALTHCHECK,
//! the supervisor's probes moving `State.Health` (starting → healthy,
//! unhealthy after the retries, timeouts, the start period), `ps`'s status
//! and `health` filter, the `health_status` events, and nothing left
//! running after a stop or a `kill -9` of the supervisor.

use std::time::{Duration, Instant};

use crate::containers::Ctl;
use crate::support::Run;

fn now() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    format!("{t:.9}")
}

fn health(ctl: &Ctl, name: &str) -> serde_json::Value {
    serde_json::from_str(&ctl.inspect(name, "{{json .State.Health}}")).unwrap()
}

/// Wait until `State.Health` satisfies `done` (probes run every few hundred ms).
fn wait_health(ctl: &Ctl, name: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h = health(ctl, name);
        if done(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "{name}: health is still {h}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs root"]
fn flag_errors_are_dockers() {
    let ctl = Ctl::new();
    for (args, code, text) in [
        (&["--no-healthcheck", "--health-cmd", "true"][..], 125, "--no-healthcheck conflicts with --health-* options"),
        (&["--health-interval", "-1s"], 125, "--health-interval cannot be negative"),
        (&["--health-retries", "-1"], 125, "--health-retries cannot be negative"),
        (&["--health-start-period", "-2s"], 125, "--health-start-period cannot be negative"),
        (&["--health-interval", "500us"], 125, "Interval in Healthcheck cannot be less than 1ms"),
        (&["--health-interval", "xx"], 125, "time: invalid duration \"xx\""),
    ] {
        let out = ctl.run(args).args(["--network", "none", "busybox", "true"]).output_of();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "run {args:?}: {err}");
        assert!(err.contains(text), "run {args:?}: {err}");
    }
    // docker's `create` reports what its daemon refuses with status 1.
    let out = ctl.cmd(["create", "--health-timeout", "10us", "busybox"]).output_of();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error response from daemon: Timeout in Healthcheck cannot be less than 1ms"
    );
    assert_eq!(ctl.cmd(["ps", "-aq"]).success(), "", "a refused container was created");
}

#[test]
#[ignore = "needs root"]
fn config_merges_flags_over_the_image_healthcheck() {
    let ctl = Ctl::new();
    ctl.cmd(["create", "--name", "base", "busybox"]).success();
    ctl.cmd(["commit", "-c", "HEALTHCHECK --interval=5s --retries=4 CMD true", "base", "hc"]).success();
    ctl.cmd(["create", "--name", "c1", "--health-interval", "250ms", "hc"]).success();
    assert_eq!(
        ctl.inspect("c1", "{{json .Config.Healthcheck}}"),
        r#"{"Test":["CMD-SHELL","true"],"Interval":250000000,"Retries":4}"#
    );
    ctl.cmd(["create", "--name", "c2", "--health-cmd", "exit 0", "--health-timeout", "2s", "busybox"]).success();
    assert_eq!(
        ctl.inspect("c2", "{{json .Config.Healthcheck}}"),
        r#"{"Test":["CMD-SHELL","exit 0"],"Timeout":2000000000}"#
    );
    ctl.cmd(["create", "--name", "c3", "--no-healthcheck", "hc"]).success();
    // docker fills the image's other fields in under NONE too.
    assert_eq!(
        ctl.inspect("c3", "{{json .Config.Healthcheck}}"),
        r#"{"Test":["NONE"],"Interval":5000000000,"Retries":4}"#
    );
    // `--no-healthcheck` over the image's: no check runs, no State.Health.
    ctl.cmd(["start", "c3"]).success();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ctl.inspect("c3", "{{json .State.Health}}"), "null");
    ctl.cmd(["rm", "-f", "c1", "c2", "c3", "base"]).success();
}

#[test]
#[ignore = "needs root"]
fn starting_then_healthy_in_ps_inspect_and_events() {
    let ctl = Ctl::new();
    let since = now();
    let args = ["-d", "--name", "ok", "--network", "none", "--health-cmd", "echo hi", "--health-interval", "300ms"];
    ctl.run(args).args(["busybox", "sleep", "300"]).success();
    let h = health(&ctl, "ok");
    if h["Status"] == "starting" {
        assert_eq!(h["FailingStreak"], 0);
        let ps = ctl.cmd(["ps", "--filter", "health=starting", "--format", "{{.Names}} {{.Status}}"]).success();
        assert!(ps.is_empty() || ps.trim().ends_with("(health: starting)"), "{ps}");
    }
    let h = wait_health(&ctl, "ok", |h| h["Status"] == "healthy");
    let first = &h["Log"][0];
    assert_eq!((first["ExitCode"].as_i64(), first["Output"].as_str()), (Some(0), Some("hi\n")));
    assert!(first["Start"].as_str().unwrap() <= first["End"].as_str().unwrap());
    assert_eq!(ctl.inspect("ok", "{{.State.Health.Status}}"), "healthy");
    let ps = ctl.cmd(["ps", "--filter", "health=healthy", "--format", "{{.Names}} {{.Status}}"]).success();
    assert!(ps.starts_with("ok Up ") && ps.trim().ends_with("(healthy)"), "{ps}");
    assert_eq!(ctl.cmd(["ps", "-q", "--filter", "health=unhealthy"]).success(), "");
    assert_eq!(ctl.cmd(["ps", "-q", "--filter", "health=none"]).success(), "");
    let out = ctl.cmd(["ps", "--filter", "health=bogus"]).output_of();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unrecognised filter value for health: bogus"));
    // Five results at most, oldest first.
    let h = wait_health(&ctl, "ok", |h| h["Log"].as_array().is_some_and(|l| l.len() == 5));
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(health(&ctl, "ok")["Log"].as_array().unwrap().len(), 5, "{h}");
    let events = ctl
        .cmd(["events", "--since", &since, "--until", &now(), "--filter", "event=health_status"])
        .arg("--format")
        .arg("{{.Action}} {{.Actor.Attributes.name}}")
        .success();
    assert_eq!(events, "health_status: healthy ok\n");
    ctl.cmd(["stop", "-t", "1", "ok"]).success();
    // docker marks a stopped container's health unhealthy and keeps the log.
    let h = health(&ctl, "ok");
    assert_eq!(h["Status"], "unhealthy");
    assert_eq!(h["Log"].as_array().unwrap().len(), 5);
    ctl.cmd(["rm", "ok"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn unhealthy_after_retries_with_streak_and_log() {
    let ctl = Ctl::new();
    let since = now();
    let args = ["-d", "--name", "bad", "--network", "none", "--health-cmd", "echo no >&2; exit 3"];
    ctl.run(args).args(["--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "300"]).success();
    let h = wait_health(&ctl, "bad", |h| h["Status"] == "unhealthy");
    assert!(h["FailingStreak"].as_i64().unwrap() >= 2, "{h}");
    let log = h["Log"].as_array().unwrap();
    assert!(log.len() >= 2);
    for r in log {
        assert_eq!((r["ExitCode"].as_i64(), r["Output"].as_str()), (Some(3), Some("no\n")), "{h}");
    }
    let ps = ctl.cmd(["ps", "--filter", "health=unhealthy", "--format", "{{.Status}}"]).success();
    assert!(ps.trim().ends_with("(unhealthy)"), "{ps}");
    let events = ctl
        .cmd(["events", "--since", &since, "--until", &now(), "--filter", "container=bad", "--filter"])
        .args(["event=health_status", "--format", "{{.Action}}"])
        .success();
    assert_eq!(events, "health_status: unhealthy\n");
    ctl.cmd(["rm", "-f", "bad"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn a_probe_past_its_timeout_is_killed_and_fails() {
    let ctl = Ctl::new();
    let args = ["-d", "--name", "slow", "--network", "none", "--health-cmd", "sleep 30", "--health-interval", "200ms"];
    ctl.run(args).args(["--health-timeout", "300ms", "--health-retries", "1", "busybox", "sleep", "300"]).success();
    let h = wait_health(&ctl, "slow", |h| h["Status"] == "unhealthy");
    let r = &h["Log"][0];
    assert_eq!(r["ExitCode"], -1);
    assert_eq!(r["Output"], "Health check exceeded timeout (300ms)");
    // The killed probes are gone: only the container's own sleep remains.
    let pid = ctl.inspect("slow", "{{.State.Pid}}");
    let top = ctl.cmd(["top", "slow"]).success();
    assert!(top.lines().filter(|l| l.contains("sleep 30")).count() <= 1, "probes pile up: {top} (pid {pid})");
    ctl.cmd(["rm", "-f", "slow"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn failures_in_the_start_period_do_not_count() {
    let ctl = Ctl::new();
    // Fails until /tmp/ready exists (made 1.5s in), inside a 60s start period.
    let args = ["-d", "--name", "sp", "--network", "none", "--health-cmd", "test -e /tmp/ready"];
    ctl.run(args)
        .args(["--health-interval", "200ms", "--health-retries", "1", "--health-start-period", "60s"])
        .args(["busybox", "sh", "-c", "sleep 1.5; touch /tmp/ready; sleep 300"])
        .success();
    let h = wait_health(&ctl, "sp", |h| h["Status"] == "healthy");
    let log = h["Log"].as_array().unwrap();
    assert!(log.iter().any(|r| r["ExitCode"] == 1), "no failure was seen in the start period: {h}");
    assert_eq!(h["FailingStreak"], 0);
    ctl.cmd(["rm", "-f", "sp"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn kill_9_of_the_supervisor_leaves_no_probe() {
    let ctl = Ctl::new();
    let args = ["-d", "--name", "k9", "--network", "none", "--health-cmd", "sleep 30", "--health-interval", "100ms"];
    ctl.run(args).args(["--health-timeout", "60s", "busybox", "sleep", "300"]).success();
    // Wait for the probe's runtime process (a child of the supervisor).
    let deadline = Instant::now() + Duration::from_secs(20);
    while ctl.cmd(["top", "k9"]).success().lines().filter(|l| l.contains("sleep 30")).count() == 0 {
        assert!(Instant::now() < deadline, "no probe started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let id = ctl.inspect("k9", "{{.Id}}");
    assert!(!probes_of(&id).is_empty(), "no probe runtime process while the probe runs");
    let sup = ctl
        .our_processes()
        .into_iter()
        .find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("berthctl-supervise"))
        })
        .expect("a supervisor");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sup), nix::sys::signal::Signal::SIGKILL).unwrap();
    // The probe's runtime dies with the supervisor (PR_SET_PDEATHSIG).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !probes_of(&id).is_empty() {
        assert!(Instant::now() < deadline, "probe runtime left running: {:?}", probes_of(&id));
        std::thread::sleep(Duration::from_millis(20));
    }
    ctl.cmd(["rm", "-f", "k9"]).success();
    ctl.assert_clean();
}

/// Live processes that run a health probe of container `id` (`<runtime> exec
/// --process …/health-process.json … <id>`).
fn probes_of(id: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let cmdline =
            String::from_utf8_lossy(&std::fs::read(e.path().join("cmdline")).unwrap_or_default()).into_owned();
        let zombie = std::fs::read_to_string(e.path().join("stat")).is_ok_and(|s| s.contains(") Z "));
        if !zombie && cmdline.contains("health-process.json") && cmdline.contains(id) {
            out.push(pid);
        }
    }
    out
}

#[test]
#[ignore = "needs root"]
fn a_restart_resets_to_starting_and_keeps_the_log() {
    let ctl = Ctl::new();
    // The first run is healthy for 2s, then exits 1; the second fails its checks.
    let script = "if [ -e /restarted ]; then sleep 300; else sleep 2; touch /restarted; exit 1; fi";
    let args = ["-d", "--name", "rs", "--network", "none", "--restart", "on-failure:1", "--health-cmd"];
    ctl.run(args)
        .args(["test ! -e /restarted", "--health-interval", "200ms", "--health-retries", "1000"])
        .args(["busybox", "sh", "-c", script])
        .success();
    wait_health(&ctl, "rs", |h| h["Status"] == "healthy");
    let h = wait_health(&ctl, "rs", |h| h["Status"] == "starting" && h["FailingStreak"].as_i64() >= Some(1));
    assert_eq!(ctl.inspect("rs", "{{.RestartCount}} {{.State.Status}}"), "1 running");
    let log = h["Log"].as_array().unwrap();
    assert!(log.iter().any(|r| r["ExitCode"] == 0), "the first run's results are gone: {h}");
    ctl.cmd(["rm", "-f", "rs"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn no_probe_runs_while_paused() {
    let ctl = Ctl::new();
    let args = ["-d", "--name", "pz", "--network", "none", "--health-cmd", "echo hi", "--health-interval", "200ms"];
    ctl.run(args).args(["busybox", "sleep", "300"]).success();
    wait_health(&ctl, "pz", |h| h["Status"] == "healthy");
    ctl.cmd(["pause", "pz"]).success();
    let before = health(&ctl, "pz");
    std::thread::sleep(Duration::from_millis(1000));
    let during = health(&ctl, "pz");
    assert_eq!(before, during, "the checks went on while paused");
    let ps = ctl.cmd(["ps", "--format", "{{.Status}}"]).success();
    assert!(ps.trim().ends_with("(Paused)"), "{ps}");
    ctl.cmd(["unpause", "pz"]).success();
    let last = |h: &serde_json::Value| h["Log"].as_array().and_then(|l| l.last()).map(|r| r["End"].clone());
    let after = wait_health(&ctl, "pz", |h| last(h) != last(&during));
    assert_eq!(after["Status"], "healthy");
    ctl.cmd(["rm", "-f", "pz"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn output_is_cut_at_4096_bytes_as_dockers() {
    let ctl = Ctl::new();
    let args = ["-d", "--name", "big", "--network", "none", "--health-cmd", "yes | head -c 5000; echo err >&2"];
    ctl.run(args).args(["--health-interval", "200ms", "busybox", "sleep", "300"]).success();
    let h = wait_health(&ctl, "big", |h| h["Status"] == "healthy");
    let out = h["Log"][0]["Output"].as_str().unwrap();
    assert_eq!(out.len(), 4096 + 3);
    assert!(out.starts_with("y\ny\n") && out.ends_with("y\n..."), "{out:?}");
    ctl.cmd(["rm", "-f", "big"]).success();
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn before_the_first_probe_it_is_starting() {
    let ctl = Ctl::new();
    let args = ["-d", "--name", "st", "--network", "none", "--health-cmd", "true", "--health-interval", "1h"];
    ctl.run(args).args(["busybox", "sleep", "300"]).success();
    assert_eq!(ctl.inspect("st", "{{json .State.Health}}"), r#"{"Status":"starting","FailingStreak":0,"Log":[]}"#);
    let ps = ctl.cmd(["ps", "--filter", "health=starting", "--format", "{{.Names}} {{.Status}}"]).success();
    assert!(ps.starts_with("st Up ") && ps.trim_end().ends_with(" (health: starting)"), "{ps}");
    ctl.cmd(["rm", "-f", "st"]).success();
    ctl.assert_clean();
}
