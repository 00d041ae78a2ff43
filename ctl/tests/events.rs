//! `berthctl events` as a docker user reads it: the actions of a
//! container's life in docker's order and line shape, `--filter`,
//! `--format` (with `{{json .}}` in docker's key order), `--since` and
//! `--until` over the journal, and following new events live.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::containers::Ctl;
use crate::support::Run;

/// `events --since <start> --until <now> ARGS…`, one line per event.
fn history(ctl: &Ctl, since: &str, args: &[&str]) -> Vec<String> {
    let until = format!("{:.9}", now());
    let mut cmd = ctl.cmd(["events", "--since", since, "--until", &until]);
    cmd.args(args);
    cmd.success().lines().map(str::to_string).collect()
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// docker's line: `2026-12-02T10:00:00.000000000Z container create <id> (k=v, …)`.
fn assert_docker_line(line: &str, rest: &str) {
    let (time, tail) = line.split_once(' ').unwrap_or_else(|| panic!("no time in {line:?}"));
    let b = time.as_bytes();
    let fixed = time.len() >= 30
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && time[20..29].bytes().all(|c| c.is_ascii_digit())
        && (&time[29..] == "Z" || (time.len() == 35 && matches!(b[29], b'+' | b'-')));
    assert!(fixed, "time not in Go's RFC3339NanoFixed: {time:?}");
    assert_eq!(tail, rest);
}

#[test]
#[ignore = "needs root"]
fn a_containers_life_in_dockers_events() {
    let ctl = Ctl::new();
    let t0 = format!("{:.9}", now());
    let id = ctl
        .run([
            "-d",
            "--name",
            "e1",
            "-l",
            "tier=front",
            "busybox",
            "sh",
            "-c",
            "trap 'exit 0' TERM; while :; do sleep 0.1; done",
        ])
        .success()
        .trim()
        .to_string();
    ctl.wait_for("e1", "{{.State.Status}}", "running");
    ctl.cmd(["exec", "e1", "true"]).success();
    ctl.cmd(["pause", "e1"]).success();
    ctl.cmd(["unpause", "e1"]).success();
    ctl.cmd(["stop", "e1"]).success();
    ctl.cmd(["rename", "e1", "e2"]).success();
    ctl.cmd(["rm", "e2"]).success();

    let actions = history(&ctl, &t0, &["--filter", &format!("container={id}"), "--format", "{{.Action}}"]);
    let want = [
        "create",
        "start",
        "exec_create: true",
        "exec_start: true",
        "exec_die",
        "pause",
        "unpause",
        "kill",
        "die",
        "stop",
        "rename",
        "destroy",
    ];
    assert_eq!(actions, want);

    let lines = history(&ctl, &t0, &["--filter", "event=create"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_docker_line(&lines[0], &format!("container create {id} (image=busybox, name=e1, tier=front)"));
    let die = history(
        &ctl,
        &t0,
        &["-f", "event=die", "-f", "label=tier=front", "--format", "{{.Actor.Attributes.exitCode}}"],
    );
    assert_eq!(die, ["0"]);
    let kill = history(&ctl, &t0, &["-f", "event=kill", "--format", "{{.Actor.Attributes.signal}}"]);
    assert_eq!(kill, ["15"]);
    let renamed = history(
        &ctl,
        &t0,
        &["-f", "event=rename", "--format", "{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}"],
    );
    assert_eq!(renamed, ["/e1 e2"]);
    assert!(history(&ctl, &t0, &["-f", "container=nosuch"]).is_empty());
    assert!(history(&ctl, &t0, &["-f", "type=image"]).is_empty());

    let json = history(&ctl, &t0, &["-f", "event=start", "--format", "{{json .}}"]);
    assert_eq!(json.len(), 1);
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&json[0])
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    // serde_json sorts keys unless told otherwise: check the text instead.
    assert!(json[0].starts_with(&format!(r#"{{"status":"start","id":"{id}","from":"busybox","Type":"container","Action":"start","Actor":{{"ID":"{id}","Attributes":{{"#)), "{}", json[0]);
    assert_eq!(keys.len(), 9, "{}", json[0]);
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn events_follow_new_ones_until_stopped() {
    let ctl = Ctl::new();
    ctl.cmd(["tag", "busybox", "busybox:old"]).success();
    let mut follower = ctl
        .cmd(["events", "--filter", "type=container", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // The follower starts at the journal's end: the tag above is not shown.
    std::thread::sleep(Duration::from_millis(500));
    ctl.run(["--rm", "--name", "f1", "busybox", "true"]).success();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.iter().any(|l: &String| l.contains("destroy")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => break,
        }
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(follower.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let _ = follower.wait();
    let want = [
        "container create f1",
        "container attach f1",
        "container start f1",
        "container die f1",
        "container destroy f1",
    ];
    assert_eq!(seen, want);
    ctl.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn image_events_and_bad_input() {
    let ctl = Ctl::new();
    let t0 = format!("{:.9}", now());
    ctl.cmd(["tag", "busybox", "busybox:two"]).success();
    ctl.cmd(["rmi", "busybox:two"]).success();
    let lines = history(&ctl, &t0, &["--filter", "type=image", "--format", "{{.Action}} {{.Actor.Attributes.name}}"]);
    assert_eq!(lines, ["tag busybox:two", "untag busybox:two"]);
    let out = ctl.cmd(["events", "--filter", "nokey"]).output_of();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad format of filter (expected name=value)"));
    let out = ctl.cmd(["events", "--since", "0", "--until", "1", "--format", "{{.Nope"]).output_of();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Error parsing format: "), "{out:?}");
    let out = ctl.cmd(["events", "--since", "10", "--until", "5"]).output_of();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be after `until` time"), "{out:?}");
}

/// The volume events docker's daemon logs (seen from dockerd 20.10 with
/// the same command lines): `create` on each create call, `mount` at each
/// start with the destination, mode and propagation, `unmount` when the
/// container stops, `destroy` on `rm -v` and `volume rm`; bind mounts none.
#[test]
#[ignore = "needs root"]
fn volume_events_as_docker() {
    let ctl = Ctl::new();
    let t0 = format!("{:.9}", now());
    ctl.cmd(["volume", "create", "v1"]).success();
    // In the foreground: run returns once the supervisor's exit hook has
    // finished (volumes unmounted), so the journal's order is fixed.
    ctl.run(["--name", "c1", "-v", "v1:/data", "-v", "/anon", "-v", "/tmp:/h:ro", "busybox", "true"]).success();
    let id = ctl.inspect("c1", "{{.Id}}");
    ctl.run(["--rm", "-v", "v1:/data:ro", "busybox", "true"]).success();
    let anon = ctl.inspect("c1", "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}");
    assert_eq!(anon.len(), 64, "{anon}");
    ctl.cmd(["rm", "-v", "c1"]).success();
    ctl.cmd(["volume", "rm", "v1"]).success();
    let lines = history(&ctl, &t0, &["--filter", "type=volume"]);
    let rest: Vec<&str> = lines.iter().map(|l| l.split_once(' ').unwrap().1).collect();
    let second = rest
        .iter()
        .find_map(|l| l.strip_prefix("volume mount v1 (container=").filter(|l| !l.starts_with(&id)))
        .and_then(|l| l.split_once(','))
        .map(|(c, _)| c.to_string())
        .expect("the --rm container mounts v1");
    let want = [
        "volume create v1 (driver=local)".to_string(),
        "volume create v1 (driver=local)".to_string(),
        format!("volume create {anon} (driver=local)"),
        format!("volume mount v1 (container={id}, destination=/data, driver=local, propagation=, read/write=true)"),
        format!("volume mount {anon} (container={id}, destination=/anon, driver=local, propagation=, read/write=true)"),
        format!("volume unmount v1 (container={id}, driver=local)"),
        format!("volume unmount {anon} (container={id}, driver=local)"),
        "volume create v1 (driver=local)".to_string(),
        format!(
            "volume mount v1 (container={second}, destination=/data, driver=local, propagation=, read/write=false)"
        ),
        format!("volume unmount v1 (container={second}, driver=local)"),
        format!("volume destroy {anon} (driver=local)"),
        "volume destroy v1 (driver=local)".to_string(),
    ];
    assert_eq!(rest, want.iter().map(String::as_str).collect::<Vec<_>>());
    for l in &lines {
        assert_docker_line(l, l.split_once(' ').unwrap().1);
    }
    // volume= matches the volume's name; the JSON carries docker's Actor.
    let json = history(&ctl, &t0, &["--filter", "volume=v1", "--filter", "event=mount", "--format", "{{json .}}"]);
    assert_eq!(json.len(), 2, "{json:?}");
    let v: serde_json::Value = serde_json::from_str(&json[0]).unwrap();
    assert_eq!(
        (v["Type"].as_str(), v["Action"].as_str(), v["Actor"]["ID"].as_str()),
        (Some("volume"), Some("mount"), Some("v1"))
    );
    assert_eq!(v["Actor"]["Attributes"]["destination"], "/data");
    assert!(v.get("status").is_none(), "volume events have no deprecated status: {v}");
    ctl.assert_clean();
}
