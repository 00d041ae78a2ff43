//! Places where the issue asks for runc's behaviour exactly: each test runs the
//! same bundle (or command) under runc 1.1.5 and berth and compares what a user
//! sees.

use std::fs;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{Bundle, LOOP, Runc, berth_spec, cgroup2_unified, runc_msg, runc_run, running, text, wait_until};

/// `berth spec` writes runc's default config: the same document but for the
/// version, the hostname and, as runc 1.2 (not 1.1.5), a cgroup namespace on a
/// pure cgroup v2 host only.
#[test]
fn spec_is_runcs_default_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("runc").arg("spec").current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "runc spec: {}", text(&out.stderr));
    let mut runc: Value = serde_json::from_slice(&fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    let mut berth = berth_spec();
    for v in [&mut runc, &mut berth] {
        let o = v.as_object_mut().unwrap();
        o.remove("ociVersion");
        o.remove("hostname");
    }
    if cgroup2_unified() {
        runc["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "cgroup"}));
    }
    assert_eq!(berth, runc);
}

/// A namespace type listed twice (with or without a path) is refused by both, in
/// runc's words, and nothing is left.
#[test]
#[ignore = "needs root"]
fn duplicate_namespace_is_refused_as_runc_does() {
    for (second, want) in [
        (json!({"type": "ipc"}), r#"duplicated ns {"ipc" ""}"#),
        (json!({"type": "ipc", "path": "/proc/1/ns/ipc"}), r#"duplicated ns {"ipc" "/proc/1/ns/ipc"}"#),
    ] {
        let b = Bundle::with("rc-dupns", &["true"], |c| c["linux"]["namespaces"].as_array_mut().unwrap().push(second));
        let (rc, _, rerr) = runc_run(&b);
        // runc's text log quotes its message: \" for each ".
        assert!(rc != 0 && rerr.replace("\\\"", "\"").contains(want), "runc: {rerr}");
        let (code, _, err) = b.run();
        assert!(code != 0 && err.contains(want), "berth: {err}");
        b.assert_clean();
    }
}

/// `linux.sysctl` `kernel.domainname` with a UTS namespace: set inside, as runc does.
#[test]
#[ignore = "needs root"]
fn kernel_domainname_sysctl_is_applied_as_runc_does() {
    let b = Bundle::with("rc-domain", &["cat", "/proc/sys/kernel/domainname"], |c| {
        c["linux"]["sysctl"] = json!({"kernel.domainname": "sysctl.example"});
    });
    let (rc, rout, rerr) = runc_run(&b);
    assert_eq!((rc, rout.as_str()), (0, "sysctl.example\n"), "runc: {rerr}");
    assert_eq!(b.run_ok(), "sysctl.example\n");
}

/// Strings that are not UTF-8 (a raw byte, an escaped lone surrogate) are read as
/// runc (Go) reads them: each becomes U+FFFD, and the container runs.
#[test]
#[ignore = "needs root"]
fn non_utf8_config_strings_are_read_as_runc_reads_them() {
    let b = Bundle::new("rc-utf8", &["echo", "RAW", "ESCAPED"]);
    let config = fs::read(b.path().join("config.json")).unwrap();
    let config = String::from_utf8(config).unwrap().replace("ESCAPED", r"lone\udc80x");
    let mut bytes = Vec::new();
    let (head, tail) = config.split_once("RAW").unwrap();
    bytes.extend_from_slice(head.as_bytes());
    bytes.extend_from_slice(b"a\xffb");
    bytes.extend_from_slice(tail.as_bytes());
    fs::write(b.path().join("config.json"), bytes).unwrap();
    let (rc, rout, rerr) = runc_run(&b);
    assert_eq!(rc, 0, "runc: {rerr}");
    assert_eq!(rout, "a\u{fffd}b lone\u{fffd}x\n");
    assert_eq!(b.run_ok(), rout);
}

/// `memory.kernelTCP` is written on cgroup v1 (runc 1.1 ignores it with a
/// warning; the spec asks for the limit).
#[test]
#[ignore = "needs root"]
fn kernel_tcp_is_applied_on_cgroup_v1() {
    if crate::common::cgroup2_unified() {
        return;
    }
    let b = Bundle::with("rc-ktcp", crate::common::LOOP, |c| {
        c["linux"]["resources"]["memory"] = json!({"kernelTCP": 8388608});
    });
    b.create_and_start();
    let rel = format!("{}/{}", crate::common::cgroup_parent(), b.id);
    let file = std::path::Path::new("/sys/fs/cgroup/memory").join(rel).join("memory.kmem.tcp.limit_in_bytes");
    assert_eq!(fs::read_to_string(&file).unwrap().trim(), "8388608");
}

/// `unified` keys of controllers the host's cgroup2 mount does not hold fail
/// with runc's "invalid configuration", and no cgroup is made; hugetlb's keys,
/// which this hybrid host's cgroup2 mount holds, are honoured.
#[test]
#[ignore = "needs root"]
fn unified_keys_this_host_cannot_honour_fail_as_runc_does() {
    if crate::common::cgroup2_unified() {
        return;
    }
    let b = Bundle::with("rc-unified", &["true"], |c| {
        c["linux"]["resources"]["unified"] = json!({"memory.max": "1000000"});
    });
    let (rc, _, rerr) = runc_run(&b);
    let want = "invalid configuration: cannot use unified on cgroup v1";
    assert!(rc != 0 && rerr.contains(want), "runc: {rerr}");
    let out = b.create(&[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("linux.resources.unified.memory.max") && err.contains(want), "{err}");
    b.assert_clean();
}

/// A pod-level cgroup made by someone else (plain mkdir: empty cpuset.cpus and
/// cpuset.mems on v1): the container's cgroup below it still takes tasks, its
/// levels get their parent's cpus and mems as runc's do, and `update` works.
#[test]
#[ignore = "needs root"]
fn a_foreign_parent_without_cpus_gets_them_as_runc_does() {
    let cpuset = std::path::Path::new("/sys/fs/cgroup/cpuset");
    if !cpuset.join("cpuset.cpus").exists() {
        return;
    }
    let parent = cpuset.join(crate::common::cgroup_parent());
    let _ = fs::create_dir(&parent);
    let pod = parent.join("rc-pod");
    fs::create_dir(&pod).unwrap();
    assert_eq!(fs::read_to_string(pod.join("cpuset.cpus")).unwrap().trim(), "", "mkdir gives an empty cpuset");
    let b = Bundle::with("rc-podctr", crate::common::LOOP, |c| {
        c["linux"]["cgroupsPath"] = json!(format!("/{}/rc-pod/rc-podctr", crate::common::cgroup_parent()));
    });
    b.create_and_start();
    let ctr = pod.join("rc-podctr");
    assert_ne!(fs::read_to_string(ctr.join("cpuset.cpus")).unwrap().trim(), "");
    assert_ne!(fs::read_to_string(pod.join("cpuset.mems")).unwrap().trim(), "");
    b.ok(&["update", "--cpuset-cpus", "0", &b.id]);
    assert_eq!(fs::read_to_string(ctr.join("cpuset.cpus")).unwrap().trim(), "0");
    b.ok(&["delete", "--force", &b.id]);

    // runc, under a pod of its own made the same way.
    let pod_runc = parent.join("rc-pod-runc");
    fs::create_dir(&pod_runc).unwrap();
    let r = Bundle::with("rc-podrunc", &["true"], |c| {
        c["linux"]["cgroupsPath"] = json!(format!("/{}/rc-pod-runc/rc-podrunc", crate::common::cgroup_parent()));
    });
    let (rc, _, rerr) = runc_run(&r);
    assert_eq!(rc, 0, "runc: {rerr}");
    for h in fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        for p in ["rc-pod/rc-podctr", "rc-pod-runc/rc-podrunc", "rc-pod", "rc-pod-runc"] {
            let _ = fs::remove_dir(h.path().join(crate::common::cgroup_parent()).join(p));
        }
    }
}

/// A default config's device rules are runc's `AllowedDevices`, no more: berth
/// also allowed c 5:1 (the host's /dev/console), which runc 1.1.5 does not.
/// Compared on the v1 devices hierarchy (this host's); the v2 program is built
/// from the same list.
#[test]
#[ignore = "needs root"]
fn default_device_rules_are_runcs() {
    if !std::path::Path::new("/sys/fs/cgroup/devices/devices.list").exists() {
        return;
    }
    let b = crate::common::running("rc-devs", |_| {});
    let r = crate::common::Runc::new("rc-devs-r", crate::common::LOOP);
    r.create_and_start();
    let pid = |state: &[u8]| serde_json::from_slice::<Value>(state).unwrap()["pid"].as_i64().unwrap() as i32;
    let (bpid, rpid) = (b.state()["pid"].as_i64().unwrap() as i32, pid(&r.runc(&["state", &r.bundle.id]).stdout));
    let rules = |pid: i32| {
        let mut v: Vec<String> =
            crate::common::cgroup_file(pid, "devices", "devices.list").lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(rules(bpid), rules(rpid));
    b.ok(&["delete", "--force", &b.id]);
}

/// A command refused for the container's status, in runc's words and with its
/// exit code: pause of a paused container, exec into a paused or a stopped one,
/// start of a stopped one. containerd and podman read some of these texts.
#[test]
#[ignore = "needs root"]
fn status_refusals_are_worded_as_runcs() {
    let runc = Runc::with("rc-st-runc", LOOP, |_| {});
    runc.create_and_start();
    let b = running("rc-st", |_| {});
    let compare = |args: &[&str]| {
        let with =
            |id: &str| args.iter().map(|a| if *a == "ID" { id.to_string() } else { a.to_string() }).collect::<Vec<_>>();
        let r_args = with(&runc.bundle.id);
        let rout = runc.runc(&r_args.iter().map(String::as_str).collect::<Vec<_>>());
        let b_args = with(&b.id);
        let bout = b.berth(&b_args.iter().map(String::as_str).collect::<Vec<_>>());
        // runc's exec prefixes its refusals with "exec failed: ".
        let want = runc_msg(&rout.stderr);
        let want = want.strip_prefix("exec failed: ").unwrap_or(&want).to_string();
        assert!(!want.is_empty(), "{args:?}: runc said nothing: {}", text(&rout.stderr));
        assert_eq!(bout.status.code(), rout.status.code(), "{args:?}: {}", text(&bout.stderr));
        assert!(text(&bout.stderr).contains(&want), "{args:?}: runc {want:?}, berth {}", text(&bout.stderr));
    };
    for id in [&runc.bundle.id, &b.id] {
        let out = if *id == b.id { b.berth(&["pause", id]) } else { runc.runc(&["pause", id]) };
        assert!(out.status.success(), "pause {id}: {}", text(&out.stderr));
    }
    compare(&["pause", "ID"]);
    compare(&["exec", "ID", "true"]);
    for id in [&runc.bundle.id, &b.id] {
        let out = if *id == b.id { b.berth(&["kill", id, "KILL"]) } else { runc.runc(&["kill", id, "KILL"]) };
        assert!(out.status.success(), "kill {id}: {}", text(&out.stderr));
    }
    assert!(wait_until(|| runc.status() == "stopped" && b.state()["status"] == "stopped"));
    compare(&["exec", "ID", "true"]);
    compare(&["start", "ID"]);
    compare(&["pause", "ID"]);
    compare(&["resume", "ID"]);
}

/// A cwd that does not exist, on a read-only root: init makes it (mode 0755)
/// before the root turns read-only, as runc does (docker's `--read-only -w
/// /new`). exec never makes one: a missing `--cwd` fails with 255 in both, and
/// nothing is created.
#[test]
#[ignore = "needs root"]
fn a_missing_cwd_is_made_by_init_not_by_exec_as_runc_does() {
    let b = Bundle::with("rc-cwd", &["sh", "-c", "pwd; stat -c %a /new/sub"], |c| {
        c["root"]["readonly"] = json!(true);
        c["process"]["cwd"] = json!("/new/sub");
    });
    let (rc, rout, rerr) = runc_run(&b);
    assert_eq!((rc, rout.as_str()), (0, "/new/sub\n755\n"), "runc: {rerr}");
    fs::remove_dir_all(b.rootfs().join("new")).unwrap();
    assert_eq!(b.run_ok(), "/new/sub\n755\n");

    let runc = Runc::with("rc-cwdx-runc", LOOP, |_| {});
    runc.create_and_start();
    let b = running("rc-cwdx", |_| {});
    let rout = runc.runc(&["exec", "--cwd", "/missing", &runc.bundle.id, "true"]);
    assert_eq!(rout.status.code(), Some(255), "runc: {}", text(&rout.stderr));
    assert!(!runc.bundle.rootfs().join("missing").exists());
    let out = b.berth(&["exec", "--cwd", "/missing", &b.id, "true"]);
    assert_eq!(out.status.code(), Some(255), "{}", text(&out.stderr));
    // runc's words, lower case as Go's: dockerd reads "no such file or directory".
    let want = r#"chdir to cwd ("/missing") set in config.json failed: no such file or directory"#;
    assert!(text(&rout.stderr).replace("\\\"", "\"").contains(want), "runc: {}", text(&rout.stderr));
    assert!(text(&out.stderr).contains(want), "{}", text(&out.stderr));
    assert!(!b.rootfs().join("missing").exists());
}

/// A program named by a path that is not there: runc's (Go's exec.LookPath)
/// "stat" error, not the $PATH search's.
#[test]
#[ignore = "needs root"]
fn a_missing_program_path_is_reported_as_runc_does() {
    let b = Bundle::new("rc-nopath", &["/no/such/prog"]);
    let (rc, _, rerr) = runc_run(&b);
    assert_ne!(rc, 0);
    assert!(rerr.contains("stat /no/such/prog: no such file or directory"), "runc: {rerr}");
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    // Word for word: dockerd reads "no such file or directory" to exit 127.
    assert!(err.contains("exec: \"/no/such/prog\": stat /no/such/prog: no such file or directory"), "{err}");
    b.assert_clean();
}

/// A uid or gid above 2147483647 would be -1 ("unchanged") to setresuid: the
/// process would stay root. Refused in runc's words, by `run` (nothing left) and
/// by `exec --user`.
#[test]
#[ignore = "needs root"]
fn ids_above_i32_max_are_refused_as_runc_does() {
    let want = "uids and gids must be in range 0-2147483647";
    let b = Bundle::with("rc-bigid", &["id", "-u"], |c| c["process"]["user"]["uid"] = json!(4294967295u32));
    let (rc, _, rerr) = runc_run(&b);
    assert!(rc != 0 && rerr.contains(want), "runc: {rerr}");
    let (code, out, err) = b.run();
    assert!(code != 0 && err.contains(want) && err.contains("process.user.uid"), "berth: {out} {err}");
    b.assert_clean();

    let b = running("rc-bigid-x", |_| {});
    let out = b.berth(&["exec", "--user", "0:4294967295", &b.id, "id"]);
    assert_eq!(out.status.code(), Some(255), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains(want) && text(&out.stderr).contains("process.user.gid"),
        "{}",
        text(&out.stderr)
    );
}

/// Capability names the runtime does not know are dropped with runc's warning,
/// in config.json and in `exec --process`, and the container runs.
#[test]
#[ignore = "needs root"]
fn unknown_capabilities_are_ignored_with_runcs_warning() {
    let want = "ignoring unknown or unavailable capabilities: [CAP_NO_SUCH CAP_ZZZ]";
    let b = Bundle::with("rc-unkcap", &["true"], |c| {
        let caps = &mut c["process"]["capabilities"];
        caps["bounding"].as_array_mut().unwrap().push(json!("CAP_ZZZ"));
        caps["effective"].as_array_mut().unwrap().push(json!("CAP_NO_SUCH"));
    });
    let (rc, _, rerr) = runc_run(&b);
    assert!(rc == 0 && rerr.contains(want), "runc: {rerr}");
    let (code, _, err) = b.run();
    assert!(code == 0 && err.contains(want), "berth: {err}");

    let b = running("rc-unkcap-x", |_| {});
    let process =
        json!({"args": ["true"], "cwd": "/", "capabilities": {"bounding": ["CAP_KILL", "CAP_ZZZ", "CAP_NO_SUCH"]}});
    let file = b.path().join("process.json");
    fs::write(&file, process.to_string()).unwrap();
    let out = b.berth(&["exec", "--process", file.to_str().unwrap(), &b.id]);
    assert!(out.status.success() && text(&out.stderr).contains(want), "{}", text(&out.stderr));
}

/// A config without a `linux` object makes no namespace: the container shares
/// the runtime's (config-linux.md: a type not listed is inherited), and a
/// hostname is refused for want of a UTS namespace, in runc's words.
#[test]
#[ignore = "needs root"]
fn no_linux_object_means_the_hosts_namespaces() {
    let b = Bundle::with("rc-nolinux", &["readlink", "/proc/self/ns/net"], |c| {
        c.as_object_mut().unwrap().remove("linux");
        c["hostname"] = json!("box");
    });
    let (rc, _, rerr) = runc_run(&b);
    assert!(rc != 0 && rerr.contains("unable to set hostname without a private UTS namespace"), "runc: {rerr}");
    let (code, _, err) = b.run();
    assert!(code != 0 && err.contains("unable to set hostname without a private UTS namespace"), "berth: {err}");
    b.assert_clean();

    let args = ["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/uts"];
    let b = Bundle::with("rc-nolinux2", &args, |c| {
        c.as_object_mut().unwrap().remove("linux");
        c.as_object_mut().unwrap().remove("hostname");
        // The host's /proc, /dev and /sys stay as they are: no mount namespace.
        c["mounts"] = json!([]);
    });
    let host = |ns: &str| fs::read_link(format!("/proc/self/ns/{ns}")).unwrap().to_string_lossy().into_owned();
    // The container's /proc is the rootfs's empty directory: bind the host's in
    // for readlink, read-only, as a user of such a config would.
    let proc_dir = b.path().join("rootfs/proc");
    assert!(Command::new("mount").args(["--rbind", "-o", "ro", "/proc"]).arg(&proc_dir).status().unwrap().success());
    let (code, out, err) = b.run();
    let _ = Command::new("umount").arg("-R").arg(&proc_dir).status();
    assert_eq!(code, 0, "berth: {err}");
    assert_eq!(out, format!("{}\n{}\n", host("net"), host("uts")));
    b.assert_clean();
}

/// A relative mount destination is relative to "/" (deprecated; config.md says
/// runtimes MUST take it so): mounted there, with a warning, as runc does.
#[test]
#[ignore = "needs root"]
fn relative_mount_destination_is_taken_from_root_as_runc_does() {
    let b = Bundle::with("rc-reldest", &["sh", "-c", "grep -c ' /scratch ' /proc/self/mountinfo"], |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "scratch", "type": "tmpfs", "source": "tmpfs"}));
        c["root"]["readonly"] = json!(false);
    });
    let (rc, rout, rerr) = runc_run(&b);
    assert_eq!((rc, rout.as_str()), (0, "1\n"), "runc: {rerr}");
    let (code, out, err) = b.run();
    assert_eq!((code, out.as_str()), (0, "1\n"), "berth: {err}");
    assert!(err.contains("\\\"scratch\\\" is not absolute"), "berth: {err}");
}

/// cgroup v1 clamps cpu.shares silently; runc reads it back and refuses a value
/// the kernel changed, and so does berth, leaving nothing behind.
#[test]
#[ignore = "needs root"]
fn clamped_cpu_shares_are_refused_as_runc_does() {
    if !std::path::Path::new("/sys/fs/cgroup/cpu/cpu.shares").exists() {
        return; // cgroup v2: shares become a weight, nothing is clamped
    }
    let b = Bundle::with("rc-shares", &["true"], |c| c["linux"]["resources"]["cpu"] = json!({"shares": 1}));
    let want = "the minimum allowed cpu-shares is 2";
    let (rc, _, rerr) = runc_run(&b);
    assert!(rc != 0 && rerr.contains(want), "runc: {rerr}");
    let (code, _, err) = b.run();
    assert!(code != 0 && err.contains(want), "berth: {err}");
    b.assert_clean();
}

/// runc gives every exec'd process the container's `process.oomScoreAdj`
/// (nsexec), whatever an `exec --process` file says; so does berth.
#[test]
#[ignore = "needs root"]
fn exec_gets_the_containers_oom_score_adj_as_runc_does() {
    let edit = |c: &mut Value| c["process"]["oomScoreAdj"] = json!(50);
    let b = running("rc-oomexec", edit);
    let r = Runc::with("rc-oomexec-r", LOOP, edit);
    r.create_and_start();
    let file = b.path().join("process.json");
    let process =
        json!({"args": ["cat", "/proc/self/oom_score_adj"], "cwd": "/", "env": ["PATH=/bin"], "oomScoreAdj": 70});
    fs::write(&file, process.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let cat = ["cat", "/proc/self/oom_score_adj"];
    for (ours, theirs) in [
        (b.berth(&["exec", "--process", file, &b.id]), r.runc(&["exec", "--process", file, &r.bundle.id])),
        (b.berth(&[&["exec", &b.id][..], &cat].concat()), r.runc(&[&["exec", &r.bundle.id][..], &cat].concat())),
    ] {
        assert_eq!(text(&theirs.stdout), "50\n", "runc: {}", text(&theirs.stderr));
        assert_eq!(text(&ours.stdout), "50\n", "berth: {}", text(&ours.stderr));
    }
}
