//! cgroups on this host's layout (hybrid here; v2 and systemd run in the qemu
//! guest, see integration/vm): each resource set, read back from the host's
//! cgroup files and from inside; pause/resume; update; events; OOM; cleanup.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::common::{Bundle, cgroup_parent, text, wait_until};

const LOOP: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.05; done"];

fn host_file(b: &Bundle, hierarchy: &str, file: &str) -> String {
    let p = PathBuf::from("/sys/fs/cgroup").join(hierarchy).join(cgroup_parent()).join(&b.id).join(file);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}")).trim().to_string()
}

fn started(b: &Bundle) {
    let out = b.create(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(b.berth(&["start", &b.id]).status.success());
}

#[test]
#[ignore = "needs root"]
fn limits_are_written_and_visible_inside() {
    let b = Bundle::with(
        "cg-limits",
        &[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        ],
        |c| {
            c["linux"]["resources"] = json!({
                "memory": {"limit": 67108864, "reservation": 33554432, "swappiness": 10},
                "pids": {"limit": 20},
                "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
                "blockIO": {"throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}]},
                "devices": [{"allow": false, "access": "rwm"}]
            });
        },
    );
    assert_eq!(b.run_ok(), "67108864\n20\n50000\n");
    let b = Bundle::with("cg-limits2", LOOP, |c| {
        c["linux"]["resources"] = json!({
            "memory": {"limit": 67108864, "reservation": 33554432, "swappiness": 10},
            "pids": {"limit": 20},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
            "blockIO": {"throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]
        });
    });
    started(&b);
    assert_eq!(host_file(&b, "memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(host_file(&b, "memory", "memory.soft_limit_in_bytes"), "33554432");
    assert_eq!(host_file(&b, "memory", "memory.swappiness"), "10");
    assert_eq!(host_file(&b, "pids", "pids.max"), "20");
    assert_eq!(host_file(&b, "cpu", "cpu.shares"), "512");
    assert_eq!(host_file(&b, "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(host_file(&b, "cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(host_file(&b, "cpuset", "cpuset.cpus"), "0");
    assert_eq!(host_file(&b, "blkio", "blkio.throttle.read_bps_device"), "254:0 1048576");
    // hugetlb lives in the cgroup2 mount on this hybrid host.
    assert_eq!(host_file(&b, "unified", "hugetlb.2MB.max"), "0");
    let pid = b.state()["pid"].as_i64().unwrap();
    let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = format!("/{}/cg-limits2", cgroup_parent());
    for ctl in ["memory", "pids", "cpu", "freezer", "devices"] {
        assert!(
            cg.lines()
                .any(|l| l.split(':').nth(1).is_some_and(|c| c.split(',').any(|x| x == ctl)) && l.ends_with(&rel)),
            "{ctl} not joined:\n{cg}"
        );
    }
    assert!(cg.lines().any(|l| l.starts_with("0::") && l.ends_with(&rel)), "unified not joined:\n{cg}");
    assert!(b.berth(&["delete", "--force", "cg-limits2"]).status.success());
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn device_cgroup_denies_unlisted_devices() {
    let b = Bundle::with(
        "cg-devices",
        &["sh", "-c", "head -c 1 /dev/zero | wc -c; head -c 1 /dev/fuse 2>&1; echo rc=$?"],
        |c| {
            c["linux"]["devices"] =
                json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}]);
            c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
        },
    );
    let out = b.run_ok();
    assert!(out.starts_with("1\n"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
}

#[test]
#[ignore = "needs root"]
fn a_missing_controller_is_an_error_naming_the_field() {
    // net_cls is not mounted on this host.
    let b =
        Bundle::with("cg-netcls", &["true"], |c| c["linux"]["resources"] = json!({"network": {"classID": 1048577}}));
    let out = b.create(&[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("linux.resources.network.classID"), "{}", text(&out.stderr));
    b.assert_clean();
}

fn cpu_usage(b: &Bundle) -> u64 {
    host_file(b, "cpuacct", "cpuacct.usage").parse().unwrap()
}

#[test]
#[ignore = "needs root"]
fn pause_stops_cpu_use_and_resume_restores_it() {
    let b = Bundle::new("cg-pause", &["sh", "-c", "while true; do :; done"]);
    started(&b);
    std::thread::sleep(Duration::from_millis(200));
    let out = b.berth(&["pause", "cg-pause"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(b.state()["status"], "paused");
    assert_eq!(host_file(&b, "freezer", "freezer.state"), "FROZEN");
    let before = cpu_usage(&b);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_usage(&b), before, "a paused container used CPU");
    let again = b.berth(&["pause", "cg-pause"]);
    assert!(!again.status.success());
    assert!(b.berth(&["resume", "cg-pause"]).status.success());
    assert_eq!(b.state()["status"], "running");
    std::thread::sleep(Duration::from_millis(300));
    assert!(cpu_usage(&b) > before, "a resumed container used no CPU");
    assert!(!b.berth(&["resume", "cg-pause"]).status.success(), "resume of a running container must fail");
    // Exec into a paused container needs --ignore-paused.
    assert!(b.berth(&["pause", "cg-pause"]).status.success());
    let ex = b.berth(&["exec", "cg-pause", "true"]);
    assert_eq!(ex.status.code(), Some(255));
    assert!(text(&ex.stderr).contains("paused"), "{}", text(&ex.stderr));
    // delete --force of a paused container works.
    assert!(b.berth(&["delete", "--force", "cg-pause"]).status.success());
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn update_changes_live_limits() {
    let b = Bundle::with("cg-update", LOOP, |c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 20}});
    });
    started(&b);
    let out = b.berth(&["update", "--memory", "128m", "--pids-limit", "30", "--cpu-quota", "20000", "cg-update"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(host_file(&b, "memory", "memory.limit_in_bytes"), "134217728");
    assert_eq!(host_file(&b, "pids", "pids.max"), "30");
    assert_eq!(host_file(&b, "cpu", "cpu.cfs_quota_us"), "20000");
    let res = b.path().join("res.json");
    fs::write(&res, r#"{"pids": {"limit": 40}}"#).unwrap();
    assert!(b.berth(&["update", "-r", res.to_str().unwrap(), "cg-update"]).status.success());
    assert_eq!(host_file(&b, "pids", "pids.max"), "40");
    // The memory limit set before stays.
    assert_eq!(host_file(&b, "memory", "memory.limit_in_bytes"), "134217728");
}

#[test]
#[ignore = "needs root"]
fn events_stats_reports_runc_fields() {
    let b = Bundle::with("cg-stats", LOOP, |c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 20}});
    });
    started(&b);
    let out = b.berth(&["events", "--stats", "cg-stats"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], "cg-stats");
    assert_eq!(v["data"]["memory"]["usage"]["limit"], 67108864);
    assert!(v["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
    assert!(v["data"]["pids"]["current"].as_u64().unwrap() >= 1);
    assert_eq!(v["data"]["pids"]["limit"], 20);
    assert!(v["data"]["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
    // ps shows the container's processes.
    let ps = b.berth(&["ps", "--format", "json", "cg-stats"]);
    let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).unwrap();
    assert!(pids.contains(&b.state()["pid"].as_i64().unwrap()));
}

#[test]
#[ignore = "needs root"]
fn oom_kill_produces_an_oom_event() {
    let b = Bundle::with("cg-oom", &["sh", "-c", "sleep 0.5; tail /dev/zero; sleep 5"], |c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 16777216, "swap": 16777216}});
    });
    started(&b);
    let mut cmd = b.cmd(&["events", "--interval", "1s", "cg-oom"]);
    cmd.stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let oom = line.contains("\"type\":\"oom\"");
            lines.push(line);
            if oom {
                break;
            }
        }
        lines
    });
    let got_oom = wait_until(|| reader.is_finished());
    let _ = child.kill();
    let _ = child.wait();
    assert!(got_oom, "no oom event within 5 s");
    let lines = reader.join().unwrap();
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last, json!({"type": "oom", "id": "cg-oom"}));
}
