//! cgroups on this host's layout (hybrid here; v2 and systemd run in the qemu
//! guest, see integration/vm): each resource set, read back from the host's
//! cgroup files and from inside; pause/resume; update; events; OOM; cleanup.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::common::{Bundle, LOOP, cgroup_parent, text, wait_until};

fn host_file(b: &Bundle, hierarchy: &str, file: &str) -> String {
    let p = PathBuf::from("/sys/fs/cgroup").join(hierarchy).join(cgroup_parent()).join(&b.id).join(file);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}")).trim().to_string()
}

/// A block device of this host as "major:minor" (throttle rules need a real one).
fn block_device() -> String {
    let mut devs: Vec<_> = fs::read_dir("/sys/block").unwrap().flatten().map(|e| e.path()).collect();
    devs.sort();
    let dev = devs.iter().find_map(|d| fs::read_to_string(d.join("dev")).ok()).expect("a block device");
    dev.trim().to_string()
}

fn major_minor(dev: &str) -> (u64, u64) {
    let (a, b) = dev.split_once(':').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
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
                "devices": [{"allow": false, "access": "rwm"}]
            });
        },
    );
    assert_eq!(b.run_ok(), "67108864\n20\n50000\n");
    let dev = block_device();
    let (major, minor) = major_minor(&dev);
    let b = Bundle::with("cg-limits2", LOOP, |c| {
        c["linux"]["resources"] = json!({
            "memory": {"limit": 67108864, "reservation": 33554432, "swappiness": 10},
            "pids": {"limit": 20},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
            "blockIO": {"throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]
        });
    });
    b.create_and_start();
    assert_eq!(host_file(&b, "memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(host_file(&b, "memory", "memory.soft_limit_in_bytes"), "33554432");
    assert_eq!(host_file(&b, "memory", "memory.swappiness"), "10");
    assert_eq!(host_file(&b, "pids", "pids.max"), "20");
    assert_eq!(host_file(&b, "cpu", "cpu.shares"), "512");
    assert_eq!(host_file(&b, "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(host_file(&b, "cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(host_file(&b, "cpuset", "cpuset.cpus"), "0");
    assert_eq!(host_file(&b, "blkio", "blkio.throttle.read_bps_device"), format!("{dev} 1048576"));
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
    b.create_and_start();
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
    b.create_and_start();
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

/// Concurrent updates of different fields all stay in the saved state: each one
/// loads, merges and saves under the container's lock (before the fix, the state
/// was loaded before the lock was taken, and one update could save over another).
#[test]
#[ignore = "needs root"]
fn concurrent_updates_of_different_fields_are_all_kept() {
    let b = Bundle::with("cg-upd-race", LOOP, |c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 20}});
    });
    b.create_and_start();
    for round in 1..=8u64 {
        let flags: [(&str, String); 4] = [
            ("--pids-limit", (100 + round).to_string()),
            ("--cpu-share", (1000 + round).to_string()),
            ("--cpu-quota", (20000 + round).to_string()),
            ("--memory", ((64 + round) << 20).to_string()),
        ];
        let outs: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> =
                flags.iter().map(|(flag, value)| s.spawn(|| b.berth(&["update", flag, value, &b.id]))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for out in outs {
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
        let state: serde_json::Value =
            serde_json::from_slice(&fs::read(b.state_dir().join("state.json")).unwrap()).unwrap();
        let r = &state["config"]["linux"]["resources"];
        assert_eq!(r["pids"]["limit"], json!(100 + round), "round {round}: {r}");
        assert_eq!(r["cpu"]["shares"], json!(1000 + round), "round {round}: {r}");
        assert_eq!(r["cpu"]["quota"], json!(20000 + round), "round {round}: {r}");
        assert_eq!(r["memory"]["limit"], json!((64 + round) << 20), "round {round}: {r}");
    }
}

/// As runc: with `-r` the flags are not read (runc's update takes the document
/// or the flags); bad flag values are named in runc's words after the container
/// is found, and nothing is changed.
#[test]
#[ignore = "needs root"]
fn update_reads_the_document_or_the_flags_as_runc() {
    let b = Bundle::with("cg-upd-either", LOOP, |_| {});
    b.create_and_start();
    let pids_before = host_file(&b, "pids", "pids.max");
    let res = b.path().join("res.json");
    fs::write(&res, r#"{"memory": {"limit": 67108864}}"#).unwrap();
    let out = b.berth(&["update", "-r", res.to_str().unwrap(), "--pids-limit", "7", &b.id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(host_file(&b, "memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(host_file(&b, "pids", "pids.max"), pids_before);
    for (args, msg) in [
        (["--memory", "1e3"], "invalid value for memory: invalid size: '1e3'"),
        (["--cpu-share", "-2"], r#"invalid value for cpu-share: strconv.ParseUint: parsing "-2": invalid syntax"#),
    ] {
        let out = b.berth(&["update", args[0], args[1], &b.id]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(msg), "{args:?}: {}", text(&out.stderr));
    }
    // A document of the wrong type is named by field, as runc's unmarshal error
    // is, and changes nothing.
    fs::write(&res, r#"{"pids": {"limit": "many"}}"#).unwrap();
    let out = b.berth(&["update", "-r", res.to_str().unwrap(), &b.id]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(r#"linux.resources.pids.limit: invalid type: string "many", expected i64"#), "{err}");
    assert!(!err.contains("column"), "{err}");
    assert_eq!(host_file(&b, "pids", "pids.max"), pids_before);
    assert_eq!(host_file(&b, "memory", "memory.limit_in_bytes"), "67108864");
}

#[test]
#[ignore = "needs root"]
fn events_stats_reports_runc_fields() {
    let b = Bundle::with("cg-stats", LOOP, |c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 20}});
    });
    b.create_and_start();
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
    b.create_and_start();
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

/// The fields the first test leaves out, each read back from the host's files and
/// (for a few) from inside.
#[test]
#[ignore = "needs root"]
fn every_other_resource_field_is_written() {
    let dev = block_device();
    let (major, minor) = major_minor(&dev);
    let t = |rate: u64| json!([{"major": major, "minor": minor, "rate": rate}]);
    let b = Bundle::with("cg-fields", LOOP, |c| {
        c["linux"]["resources"] = json!({
            "memory": {"limit": 67108864, "swap": 134217728, "disableOOMKiller": true, "useHierarchy": true,
                       "checkBeforeUpdate": true},
            "cpu": {"burst": 10000, "realtimePeriod": 500000, "idle": 1, "mems": "0"},
            "blockIO": {"weight": 300, "throttleWriteBpsDevice": t(2097152),
                        "throttleReadIOPSDevice": t(300), "throttleWriteIOPSDevice": t(400)},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            // On this hybrid host "unified" writes into the cgroup2 mount (hugetlb only).
            "unified": {"hugetlb.2MB.rsvd.max": "2097152"}
        });
    });
    b.create_and_start();
    assert_eq!(host_file(&b, "memory", "memory.memsw.limit_in_bytes"), "134217728");
    assert!(host_file(&b, "memory", "memory.oom_control").contains("oom_kill_disable 1"));
    assert_eq!(host_file(&b, "memory", "memory.use_hierarchy"), "1");
    assert_eq!(host_file(&b, "cpu", "cpu.cfs_burst_us"), "10000");
    assert_eq!(host_file(&b, "cpu", "cpu.rt_period_us"), "500000");
    assert_eq!(host_file(&b, "cpu", "cpu.idle"), "1");
    assert_eq!(host_file(&b, "cpuset", "cpuset.mems"), "0");
    // The BFQ weight file (this kernel has no CFQ blkio.weight).
    let weight = PathBuf::from("/sys/fs/cgroup/blkio").join(cgroup_parent()).join(&b.id).join("blkio.weight");
    let file = if weight.exists() { "blkio.weight" } else { "blkio.bfq.weight" };
    assert!(host_file(&b, "blkio", file).ends_with("300"), "{}", host_file(&b, "blkio", file));
    assert_eq!(host_file(&b, "blkio", "blkio.throttle.write_bps_device"), format!("{dev} 2097152"));
    assert_eq!(host_file(&b, "blkio", "blkio.throttle.read_iops_device"), format!("{dev} 300"));
    assert_eq!(host_file(&b, "blkio", "blkio.throttle.write_iops_device"), format!("{dev} 400"));
    assert_eq!(host_file(&b, "unified", "hugetlb.2MB.max"), "4194304");
    assert_eq!(host_file(&b, "unified", "hugetlb.2MB.rsvd.max"), "2097152");
    // From inside, through the container's cgroup mounts.
    let out = b.berth(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_burst_us \
         /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device",
    ]);
    assert_eq!(text(&out.stdout), format!("134217728\n10000\n{dev} 400\n"), "{}", text(&out.stderr));
    // checkBeforeUpdate: a limit below the current usage is refused, naming the field.
    let res = b.path().join("low.json");
    fs::write(&res, r#"{"memory": {"limit": 4096, "checkBeforeUpdate": true}}"#).unwrap();
    let out = b.berth(&["update", "-r", res.to_str().unwrap(), &b.id]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("linux.resources.memory.limit"), "{}", text(&out.stderr));
    assert_eq!(host_file(&b, "memory", "memory.limit_in_bytes"), "67108864");
    assert!(b.berth(&["delete", "--force", &b.id]).status.success());
    b.assert_clean();
}

/// Values this host cannot apply fail `create` with the field's name, and leave
/// nothing behind.
#[test]
#[ignore = "needs root"]
fn values_the_host_cannot_apply_name_the_field() {
    let cases = [
        (
            json!({"network": {"priorities": [{"name": "eth0", "priority": 1}]}}),
            "linux.resources.network.priorities[0]",
        ),
        (json!({"rdma": {"mlx5_1": {"hcaHandles": 3}}}), "linux.resources.rdma"),
        (json!({"blockIO": {"leafWeight": 300}}), "linux.resources.blockIO.leafWeight"),
        (json!({"cpu": {"realtimeRuntime": 1000}}), "linux.resources.cpu.realtimeRuntime"),
        (json!({"memory": {"swappiness": 200}}), "linux.resources.memory.swappiness"),
        (json!({"unified": {"../escape": "1"}}), "linux.resources.unified.../escape"),
        (json!({"unified": {"memory.max": "1"}}), "linux.resources.unified.memory.max"),
        (json!({"cpu": {"cpus": "4096"}}), "linux.resources.cpu.cpus"),
        (json!({"hugepageLimits": [{"pageSize": "3MB", "limit": 0}]}), "linux.resources.hugepageLimits[0]"),
    ];
    for (i, (resources, field)) in cases.into_iter().enumerate() {
        let b = Bundle::with(&format!("cg-bad{i}"), &["true"], |c| c["linux"]["resources"] = resources.clone());
        let out = b.create(&[]);
        assert!(!out.status.success(), "{resources} was accepted");
        assert!(text(&out.stderr).contains(field), "{resources}: {}", text(&out.stderr));
        b.assert_clean();
    }
}

#[test]
#[ignore = "needs root"]
fn update_flags_change_every_limit_they_name() {
    let b = Bundle::with("cg-update2", LOOP, |c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    });
    b.create_and_start();
    let out = b.berth(&[
        "update",
        "--memory",
        "96m",
        "--memory-swap",
        "192m",
        "--memory-reservation",
        "32m",
        "--cpu-share",
        "256",
        "--cpu-period",
        "200000",
        "--cpu-quota",
        "100000",
        "--cpu-rt-period",
        "400000",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
        "--blkio-weight",
        "200",
        "--pids-limit",
        "50",
        &b.id,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(host_file(&b, "memory", "memory.limit_in_bytes"), "100663296");
    assert_eq!(host_file(&b, "memory", "memory.memsw.limit_in_bytes"), "201326592");
    assert_eq!(host_file(&b, "memory", "memory.soft_limit_in_bytes"), "33554432");
    assert_eq!(host_file(&b, "cpu", "cpu.shares"), "256");
    assert_eq!(host_file(&b, "cpu", "cpu.cfs_period_us"), "200000");
    assert_eq!(host_file(&b, "cpu", "cpu.cfs_quota_us"), "100000");
    assert_eq!(host_file(&b, "cpu", "cpu.rt_period_us"), "400000");
    assert_eq!(host_file(&b, "cpuset", "cpuset.cpus"), "0");
    assert!(host_file(&b, "blkio", "blkio.bfq.weight").ends_with("200"));
    assert_eq!(host_file(&b, "pids", "pids.max"), "50");
    // Shrinking memory below memory+swap works in either order (limit first, then swap).
    let out = b.berth(&["update", "--memory", "48m", "--memory-swap", "64m", &b.id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(host_file(&b, "memory", "memory.limit_in_bytes"), "50331648");
    assert_eq!(host_file(&b, "memory", "memory.memsw.limit_in_bytes"), "67108864");
    // Devices through -r: /dev/null denied from now on.
    let res = b.path().join("dev.json");
    fs::write(&res, r#"{"devices": [{"allow": false, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}"#).unwrap();
    assert!(b.berth(&["update", "-r", res.to_str().unwrap(), &b.id]).status.success());
    let out = b.berth(&["exec", &b.id, "sh", "-c", "echo x > /dev/null && echo written"]);
    assert!(text(&out.stderr).contains("Operation not permitted"), "{} {}", text(&out.stdout), text(&out.stderr));
    assert!(b.berth(&["delete", "--force", &b.id]).status.success());
    b.assert_clean();
}

/// This host has no systemd: `--systemd-cgroup` must say so, before anything is made.
#[test]
#[ignore = "needs root"]
fn systemd_driver_without_systemd_is_a_clear_error() {
    if std::path::Path::new("/run/systemd/system").exists() {
        return; // systemd runs here; integration/vm covers the driver.
    }
    let b = Bundle::with("cg-systemd", &["true"], |c| {
        c["linux"]["cgroupsPath"] = json!("system.slice:berth:cg-systemd");
        c["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    });
    // A global flag: before the command, as runc takes it (runc refuses
    // `create --systemd-cgroup` as an unknown flag of create, and so does berth).
    let out = b.berth(&["--systemd-cgroup", "create", "--bundle", b.path().to_str().unwrap(), &b.id]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("--systemd-cgroup") && err.contains("berth-cg-systemd.scope"), "{err}");
    assert!(err.contains("systemd is not running"), "{err}");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    b.assert_clean();
}

/// A device rule without an access is refused by `create` with runc 1.1.5's
/// words (libcontainer/specconv), before anything is made (issue 11).
#[test]
#[ignore = "needs root"]
fn a_device_rule_without_access_is_refused_as_runc_does() {
    let with_rule = |access: Option<&'static str>| {
        move |c: &mut serde_json::Value| {
            let mut rule = json!({"allow": true, "type": "c", "major": 99, "minor": 1});
            if let Some(a) = access {
                rule["access"] = json!(a);
            }
            let mut devs = c["linux"]["resources"]["devices"].as_array().cloned().unwrap_or_default();
            devs.push(rule);
            c["linux"]["resources"]["devices"] = json!(devs);
        }
    };
    for (n, access) in [Some(""), None].into_iter().enumerate() {
        let b = Bundle::with(&format!("cg-acc-empty{n}"), &["true"], with_rule(access));
        let (code, _, err) = b.run();
        let (runc_code, _, runc_err) = crate::common::runc_run(&b);
        let msg = crate::common::runc_msg(runc_err.as_bytes());
        assert!(runc_code != 0 && msg.contains("field cannot be empty"), "runc: {runc_err}");
        let words = msg.trim_start_matches("runc run failed: ");
        assert_ne!(code, 0, "{access:?}");
        assert!(err.contains(words), "{access:?}: berth said {err}, runc {msg}");
        b.assert_clean();
    }
}

/// A memory limit too low for init to start: the kernel kills it as it joins.
/// The error says how init died and names the limit; nothing is left.
#[test]
#[ignore = "needs root"]
fn a_memory_limit_too_low_for_init_is_named_and_leaves_nothing() {
    let b = Bundle::with("cg-tinymem", &["true"], |c| c["linux"]["resources"] = json!({"memory": {"limit": 4096}}));
    let (code, out, err) = b.run();
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("init: killed by SIGKILL before it was ready"), "{err}");
    assert!(err.contains("linux.resources.memory.limit is 4096 bytes"), "{err}");
    b.assert_clean();
}
