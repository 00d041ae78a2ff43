//! runtime-spec v1.2 config.md, config-linux.md and runtime-linux.md: each field's
//! MUST/SHOULD checked from inside the container (tests/SPEC-COVERAGE.md maps
//! each sentence to its test; process.rs, cgroups.rs and hostile.rs hold more).

use std::fs;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{Bundle, output_of, text};

/// Run a container with `args` and config edits; its stdout.
fn run(id: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> String {
    Bundle::with(id, args, edit).run_ok()
}

/// A create that must fail and leave nothing behind; its stderr.
fn create_fails(id: &str, edit: impl FnOnce(&mut Value)) -> String {
    let b = Bundle::with(id, &["true"], edit);
    let out = b.create(&[]);
    assert!(!out.status.success(), "{id}: create should fail");
    b.assert_clean();
    text(&out.stderr)
}

fn ns_mut(c: &mut Value) -> &mut Vec<Value> {
    c["linux"]["namespaces"].as_array_mut().unwrap()
}

#[test]
#[ignore = "needs root"]
fn unknown_properties_and_annotations_are_ignored() {
    // "Runtimes ... MUST NOT generate an error if they encounter an unknown property"
    // and "MUST NOT generate an error if they encounter an unknown annotation key".
    let out = run("sc-unknown", &["echo", "ok"], |c| {
        c["someFutureField"] = json!({"x": 1});
        c["process"]["someFutureField"] = json!(true);
        c["linux"]["someFutureField"] = json!([1, 2]);
        c["annotations"] = json!({"org.example.unknown": "v", "io.other/key": ""});
    });
    assert_eq!(out, "ok\n");
}

#[test]
#[ignore = "needs root"]
fn invalid_values_are_errors_naming_the_field() {
    // "MUST generate an error when invalid or unsupported values are encountered".
    let err = create_fails("sc-badver", |c| c["ociVersion"] = json!("not-a-version"));
    assert!(err.contains("ociVersion"), "{err}");
    let err = create_fails("sc-dupns", |c| ns_mut(c).push(json!({"type": "pid"})));
    assert!(err.contains("linux.namespaces"), "{err}");
    let err = create_fails("sc-duprlimit", |c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 10},
            {"type": "RLIMIT_NOFILE", "soft": 20, "hard": 20}
        ]);
    });
    assert!(err.contains("process.rlimits[1]"), "{err}");
    let err = create_fails("sc-badrlimit", |c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOTHING", "soft": 1, "hard": 1}]);
    });
    assert!(err.contains("rlimits"), "{err}");
    let err = create_fails("sc-badcwd", |c| c["process"]["cwd"] = json!("rel/dir"));
    assert!(err.contains("process.cwd"), "{err}");
    let err = create_fails("sc-rdt", |c| c["linux"]["intelRdt"] = json!({"closID": "berth-test"}));
    assert!(err.contains("linux.intelRdt"), "{err}");
    let err = create_fails("sc-badprio", |c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 9});
    });
    assert!(err.contains("process.ioPriority"), "{err}");
    let err = create_fails("sc-badpers", |c| {
        c["linux"]["personality"] = json!({"domain": "LINUX", "flags": ["NOT_A_FLAG"]});
    });
    assert!(err.contains("linux.personality"), "{err}");
}

#[test]
#[ignore = "needs root"]
fn root_path_may_be_absolute_and_readonly_is_enforced() {
    let b = Bundle::new("sc-rootabs", &["sh", "-c", "touch /x 2>/dev/null; echo rc=$?"]);
    let mut c = b.config();
    c["root"] = json!({"path": b.rootfs(), "readonly": true});
    b.set_config(&c);
    assert_eq!(b.run_ok(), "rc=1\n");
}

#[test]
#[ignore = "needs root"]
fn mounts_are_made_in_the_listed_order() {
    // The bind mount lands inside the second tmpfs, which lands inside the first:
    // only the listed order makes the file visible.
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("keep"), "in order\n").unwrap();
    let out = run("sc-order", &["sh", "-c", "cat /m/a/b/keep; grep -o ' /m[^ ]* ' /proc/self/mountinfo"], |c| {
        let m = c["mounts"].as_array_mut().unwrap();
        m.push(json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs"}));
        m.push(json!({"destination": "/m/a", "type": "tmpfs", "source": "tmpfs"}));
        m.push(json!({"destination": "/m/a/b", "type": "bind", "source": src.path(), "options": ["bind", "ro"]}));
    });
    assert_eq!(out, "in order\n /m \n /m/a \n /m/a/b \n");
}

#[test]
#[ignore = "needs root"]
fn mount_options_and_data_are_applied() {
    let out = run("sc-mopts", &["grep", " /opts ", "/proc/self/mountinfo"], |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/opts", "type": "tmpfs", "source": "tmpfs",
            "options": ["ro", "nosuid", "nodev", "noexec", "noatime", "size=1m", "mode=750"]
        }));
    });
    let fields: Vec<&str> = out.split(' ').collect();
    let flags = fields[5];
    for f in ["ro", "nosuid", "nodev", "noexec", "noatime"] {
        assert!(flags.split(',').any(|x| x == f), "{f} missing: {out}");
    }
    assert!(out.contains("size=1024k") && out.contains("mode=750"), "{out}");
}

#[test]
#[ignore = "needs root"]
fn umask_is_applied() {
    let out = run("sc-umask", &["sh", "-c", "umask"], |c| {
        c["process"]["user"] = json!({"uid": 0, "gid": 0, "umask": 0o027});
    });
    assert_eq!(out, "0027\n");
}

#[test]
#[ignore = "needs root"]
fn no_new_privileges_false_leaves_the_bit_clear() {
    let out = run("sc-nnp", &["grep", "NoNewPrivs", "/proc/self/status"], |c| {
        c["process"]["noNewPrivileges"] = json!(false);
    });
    assert_eq!(out.split_whitespace().nth(1), Some("0"), "{out}");
}

#[test]
#[ignore = "needs root"]
fn oom_score_adj_is_set_when_given_and_inherited_otherwise() {
    let out = run("sc-oom", &["cat", "/proc/self/oom_score_adj"], |c| c["process"]["oomScoreAdj"] = json!(456));
    assert_eq!(out, "456\n");
    // "If oomScoreAdj is not set, the runtime MUST NOT change the value": the
    // process keeps what berth itself had.
    let b = Bundle::with("sc-oominh", &["cat", "/proc/self/oom_score_adj"], |c| {
        c["process"].as_object_mut().unwrap().remove("oomScoreAdj");
    });
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(format!(
        "echo 123 > /proc/self/oom_score_adj && exec {} --root {} run --bundle {} sc-oominh",
        crate::common::BERTH,
        b.root.path().display(),
        b.path().display()
    ));
    let out = output_of(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "123\n");
}

#[test]
#[ignore = "needs root"]
fn a_namespace_left_out_is_inherited_from_the_runtime() {
    let out = run("sc-inherit", &["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc"], |c| {
        ns_mut(c).retain(|n| n["type"] != "network" && n["type"] != "ipc");
    });
    let host: Vec<String> = ["net", "ipc"]
        .iter()
        .map(|n| fs::read_link(format!("/proc/self/ns/{n}")).unwrap().display().to_string())
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), host);
}

#[test]
#[ignore = "needs root"]
fn a_namespace_path_of_the_wrong_type_or_not_a_namespace_is_an_error() {
    let uts = "/proc/self/ns/uts".to_string();
    let err = create_fails("sc-wrongns", |c| {
        for n in ns_mut(c) {
            if n["type"] == "network" {
                n["path"] = json!(uts);
            }
        }
    });
    assert!(err.contains("setns") || err.contains("namespace"), "{err}");
    let err = create_fails("sc-notns", |c| {
        for n in ns_mut(c) {
            if n["type"] == "ipc" {
                n["path"] = json!("/etc/hostname");
            }
        }
    });
    assert!(err.contains("/etc/hostname"), "{err}");
}

#[test]
#[ignore = "needs root"]
fn joins_existing_uts_and_ipc_namespaces_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let (uts, ipc) = (dir.path().join("uts"), dir.path().join("ipc"));
    fs::write(&uts, "").unwrap();
    fs::write(&ipc, "").unwrap();
    let made = Command::new("unshare")
        .arg(format!("--uts={}", uts.display()))
        .arg(format!("--ipc={}", ipc.display()))
        .args(["hostname", "joined-host"])
        .status()
        .unwrap();
    assert!(made.success());
    let out = run("sc-joinuts", &["sh", "-c", "hostname; readlink /proc/self/ns/ipc"], |c| {
        for n in ns_mut(c) {
            if n["type"] == "uts" {
                n["path"] = json!(uts);
            }
            if n["type"] == "ipc" {
                n["path"] = json!(ipc);
            }
        }
        c.as_object_mut().unwrap().remove("hostname");
    });
    let ino = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&ipc).unwrap());
    assert_eq!(out, format!("joined-host\nipc:[{ino}]\n"));
    for p in [&uts, &ipc] {
        let _ = Command::new("umount").arg(p).status();
    }
}

#[test]
#[ignore = "needs root"]
fn user_namespace_with_uid_and_gid_mappings() {
    let out = run("sc-userns", &["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g"], |c| {
        ns_mut(c).push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    });
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words, ["0", "200000", "65536", "0", "200000", "65536", "0", "0"], "{out}");
}

#[test]
#[ignore = "needs root"]
fn time_namespace_applies_the_offsets() {
    let year = 365 * 24 * 3600u64;
    // The host's uptime before the container reads its own: read after, it may
    // have ticked past the container's by a second.
    let host: u64 = fs::read_to_string("/proc/uptime").unwrap().split('.').next().unwrap().parse().unwrap();
    let out = run("sc-timens", &["cut", "-d.", "-f1", "/proc/uptime"], |c| {
        ns_mut(c).push(json!({"type": "time"}));
        c["linux"]["timeOffsets"] = json!({"boottime": {"secs": year, "nanosecs": 0}});
    });
    let inside: u64 = out.trim().parse().unwrap();
    assert!(inside >= year + host, "uptime inside {inside}, host {host}");
}

#[test]
#[ignore = "needs root"]
fn default_devices_have_mode_0666_and_configured_ones_their_owner_and_mode() {
    let out = run(
        "sc-devmode",
        &[
            "sh",
            "-c",
            "for d in null zero full random urandom tty fuse loopx pipe; do stat -c '%n %a %u %g %F' /dev/$d; done",
        ],
        |c| {
            c["linux"]["devices"] = json!([
                {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 7, "gid": 8},
                {"path": "/dev/loopx", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 6},
                {"path": "/dev/pipe", "type": "p", "fileMode": 0o644}
            ]);
        },
    );
    let want = [
        "/dev/null 666 0 0 character special file",
        "/dev/zero 666 0 0 character special file",
        "/dev/full 666 0 0 character special file",
        "/dev/random 666 0 0 character special file",
        "/dev/urandom 666 0 0 character special file",
        "/dev/tty 666 0 0 character special file",
        "/dev/fuse 640 7 8 character special file",
        "/dev/loopx 600 0 6 block special file",
        "/dev/pipe 644 0 0 fifo",
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
}

#[test]
#[ignore = "needs root"]
fn dev_symlinks_and_ptmx_exist() {
    let out =
        run("sc-devlinks", &["sh", "-c", "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done"], |_| {});
    assert_eq!(out, "/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\n");
}

#[test]
#[ignore = "needs root"]
fn rootfs_propagation_is_applied() {
    let prop = |id: &str, p: &str| {
        run(id, &["sh", "-c", "awk '$5 == \"/\" {print $7}' /proc/self/mountinfo"], |c| {
            c["linux"]["rootfsPropagation"] = json!(p);
        })
    };
    assert!(prop("sc-propshared", "shared").starts_with("shared:"));
    assert!(!prop("sc-propprivate", "private").contains("shared:"));
    // slave and unbindable are accepted (a private host root has no master to show).
    prop("sc-propslave", "slave");
    prop("sc-propunbind", "unbindable");
    let err = create_fails("sc-propbad", |c| c["linux"]["rootfsPropagation"] = json!("sideways"));
    assert!(err.contains("rootfsPropagation"), "{err}");
}

#[test]
#[ignore = "needs root"]
fn personality_linux32_changes_the_machine() {
    let out = run("sc-pers", &["uname", "-m"], |c| c["linux"]["personality"] = json!({"domain": "LINUX32"}));
    assert_eq!(out, "i686\n");
    let out = run("sc-pers64", &["uname", "-m"], |c| c["linux"]["personality"] = json!({"domain": "LINUX"}));
    assert_eq!(out, "x86_64\n");
}

#[test]
#[ignore = "needs root"]
fn io_priority_is_applied() {
    let out = run("sc-ioprio", &["ionice"], |c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    });
    assert_eq!(out, "best-effort: prio 6\n");
    let out = run("sc-ioidle", &["ionice"], |c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    });
    assert_eq!(out, "idle\n");
}

#[test]
#[ignore = "needs root"]
fn scheduler_policy_and_nice_are_applied() {
    // /proc/<pid>/stat: field 19 is nice, field 41 the policy (SCHED_BATCH = 3).
    let out = run("sc-sched", &["sh", "-c", "cut -d' ' -f19,41 /proc/self/stat"], |c| {
        c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5});
    });
    assert_eq!(out, "5 3\n");
    // Real-time policies would also need cpu.rt_runtime_us in the container's
    // cgroup on this RT_GROUP_SCHED host; SCHED_IDLE (5) needs nothing.
    let out = run("sc-schedidle", &["sh", "-c", "cut -d' ' -f41 /proc/self/stat"], |c| {
        c["process"]["scheduler"] = json!({"policy": "SCHED_IDLE"});
    });
    assert_eq!(out, "5\n");
}

#[test]
#[ignore = "needs root"]
fn exec_cpu_affinity_final_is_applied() {
    let out = run("sc-affinity", &["grep", "Cpus_allowed_list", "/proc/self/status"], |c| {
        c["process"]["execCPUAffinity"] = json!({"initial": "0", "final": "0"});
    });
    assert_eq!(out.split_whitespace().nth(1), Some("0"), "{out}");
}

#[test]
#[ignore = "needs root"]
fn rlimits_match_exactly_what_getrlimit_reports() {
    let out = run("sc-rlimits", &["sh", "-c", "grep -E 'open files|processes|core file' /proc/self/limits"], |c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
            {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 1024}
        ]);
    });
    let row = |name: &str| -> Vec<String> {
        let l = out.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {out}"));
        l[name.len()..].split_whitespace().take(2).map(str::to_string).collect()
    };
    assert_eq!(row("Max core file size"), ["0", "1024"]);
    assert_eq!(row("Max processes"), ["300", "400"]);
    assert_eq!(row("Max open files"), ["100", "200"]);
}

#[test]
#[ignore = "needs root"]
fn console_is_the_pty_when_terminal_is_set() {
    let b = Bundle::with("sc-console", &["sh", "-c", "stat -c '%F %t' /dev/console; readlink /proc/self/fd/0"], |c| {
        c["process"]["terminal"] = json!(true);
    });
    let sock = b.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let out = b.create(&["--console-socket", sock.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut m = crate::common::accept_pty(&listener);
    assert!(b.berth(&["start", "sc-console"]).status.success());
    let got = crate::common::read_until(&mut m, "/dev/pts/");
    // /dev/console is a bind mount of the pty (major 136 = 0x88).
    assert!(got.contains("character special file 88"), "{got:?}");
    assert!(got.contains("/dev/pts/0"), "{got:?}");
}
