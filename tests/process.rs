//! What the container's process sees: hostname, ids, env, cwd, capabilities,
//! rlimits, namespaces, mounts, devices, sysctl, seccomp, console, fds.

use std::fs;
use std::io::Write;
use std::os::unix::net::UnixListener;
use std::process::Command;

use serde_json::json;

use crate::common::{Bundle, output_of, status_field, text};

#[test]
#[ignore = "needs root"]
fn hostname_and_domainname_are_set() {
    let b = Bundle::with("pr-host", &["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"], |c| {
        c["hostname"] = json!("box1");
        c["domainname"] = json!("example.org");
    });
    assert_eq!(b.run_ok(), "box1\nexample.org\n");
}

#[test]
#[ignore = "needs root"]
fn user_uid_gid_and_additional_gids() {
    let b = Bundle::with("pr-user", &["sh", "-c", "id -u; id -g; id -G"], |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1001, "additionalGids": [1002, 1003]});
    });
    assert_eq!(b.run_ok(), "1000\n1001\n1001 1002 1003\n");
}

#[test]
#[ignore = "needs root"]
fn env_and_cwd_are_applied_and_missing_cwd_is_created() {
    let b = Bundle::with("pr-env", &["sh", "-c", "echo $FOO; pwd"], |c| {
        c["process"]["env"] = json!(["PATH=/bin", "FOO=bar baz"]);
        c["process"]["cwd"] = json!("/work/dir");
    });
    assert_eq!(b.run_ok(), "bar baz\n/work/dir\n");
}

#[test]
#[ignore = "needs root"]
fn cwd_that_is_a_file_fails_create() {
    let b = Bundle::with("pr-cwdfile", &["true"], |c| c["process"]["cwd"] = json!("/etc/passwd"));
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(err.contains("process.cwd"), "{err}");
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn capability_sets_match_the_config() {
    // runc's default: AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10).
    let b = Bundle::new("pr-caps", &["cat", "/proc/self/status"]);
    let out = b.run_ok();
    let want = format!("{:016x}", (1u64 << 29) | (1 << 5) | (1 << 10));
    assert_eq!(status_field(&out, "CapEff:"), want);
    assert_eq!(status_field(&out, "CapPrm:"), want);
    assert_eq!(status_field(&out, "CapBnd:"), want);
    // Ambient needs the capability in inheritable too, which the default leaves
    // empty: runc warns and raises none, and so do we.
    assert_eq!(status_field(&out, "CapAmb:"), "0000000000000000");
    // CVE-2022-29162: inheritable stays empty unless asked for.
    assert_eq!(status_field(&out, "CapInh:"), "0000000000000000");
    assert_eq!(status_field(&out, "NoNewPrivs:"), "1");
}

#[test]
#[ignore = "needs root"]
fn capabilities_survive_a_non_root_user() {
    let b = Bundle::with("pr-capuser", &["cat", "/proc/self/status"], |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_NET_RAW", "CAP_CHOWN"], "effective": ["CAP_NET_RAW"],
            "permitted": ["CAP_NET_RAW"], "inheritable": ["CAP_NET_RAW"], "ambient": ["CAP_NET_RAW"]
        });
    });
    let out = b.run_ok();
    let raw = format!("{:016x}", 1u64 << 13);
    assert_eq!(status_field(&out, "CapEff:"), raw);
    assert_eq!(status_field(&out, "CapAmb:"), raw);
    assert_eq!(status_field(&out, "CapBnd:"), format!("{:016x}", (1u64 << 13) | 1));
}

#[test]
#[ignore = "needs root"]
fn rlimits_are_set() {
    let b = Bundle::with("pr-rlimit", &["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"], |c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}
        ]);
    });
    assert_eq!(b.run_ok(), "512\n768\n0\n");
}

#[test]
#[ignore = "needs root"]
fn rlimit_above_the_hard_limit_fails_with_the_field() {
    let b = Bundle::with("pr-rlimitbig", &["true"], |c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": u64::MAX, "hard": u64::MAX}]);
    });
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(err.contains("process.rlimits[0]"), "{err}");
    b.assert_clean();
}

#[test]
#[ignore = "needs root"]
fn namespaces_differ_from_the_host() {
    let b =
        Bundle::new("pr-ns", &["sh", "-c", "for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done"]);
    let out = b.run_ok();
    for (line, n) in out.lines().zip(["pid", "net", "ipc", "uts", "mnt", "cgroup"]) {
        let host = fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
        assert_ne!(line, host.to_str().unwrap(), "{n} namespace is the host's");
    }
    assert_eq!(out.lines().count(), 6);
}

#[test]
#[ignore = "needs root"]
fn pid_namespace_makes_the_process_pid_1() {
    let b = Bundle::new("pr-pid1", &["sh", "-c", "echo $$"]);
    assert_eq!(b.run_ok(), "1\n");
}

#[test]
#[ignore = "needs root"]
fn joins_an_existing_network_namespace_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let ns = dir.path().join("netns");
    fs::write(&ns, "").unwrap();
    let made = Command::new("unshare").arg(format!("--net={}", ns.display())).arg("true").status().unwrap();
    assert!(made.success(), "unshare --net");
    let ino = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&ns).unwrap());
    let b = Bundle::with("pr-netns", &["readlink", "/proc/self/ns/net"], |c| {
        for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "network" {
                n["path"] = json!(ns);
            }
        }
    });
    let out = b.run_ok();
    assert_eq!(out.trim(), format!("net:[{ino}]"));
    let _ = Command::new("umount").arg(&ns).status();
}

#[test]
#[ignore = "needs root"]
fn console_socket_receives_a_working_pty() {
    let b = Bundle::with("pr-tty", &["sh", "-c", "tty; test -t 0 && echo isatty; read x; echo got $x"], |c| {
        c["process"]["terminal"] = json!(true);
    });
    let sock = b.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let out = b.create(&["--console-socket", sock.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut m = crate::common::accept_pty(&listener);
    assert!(b.berth(&["start", "pr-tty"]).status.success());
    m.write_all(b"hello\n").unwrap();
    let got = crate::common::read_until(&mut m, "got hello");
    assert!(got.contains("/dev/pts/0"), "{got:?}");
    assert!(got.contains("isatty"), "{got:?}");
    assert!(got.contains("got hello"), "{got:?}");
}

#[test]
#[ignore = "needs root"]
fn preserve_fds_passes_extra_fds_and_closes_the_rest() {
    let b = Bundle::new("pr-fds", &["sh", "-c", "cat <&3; ls /proc/self/fd | wc -l"]);
    let data = b.path().join("data");
    fs::write(&data, "preserved\n").unwrap();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(format!(
        "exec 3<{} 4<{}; exec {} --root {} run --preserve-fds 1 --bundle {} pr-fds",
        data.display(),
        data.display(),
        crate::common::BERTH,
        b.root.path().display(),
        b.path().display()
    ));
    let out = output_of(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let mut lines = s.lines();
    assert_eq!(lines.next(), Some("preserved"));
    // ls itself opens one fd for the directory: 0, 1, 2, 3 and that one.
    assert_eq!(lines.next().map(str::trim), Some("5"), "{s}");
}

#[test]
#[ignore = "needs root"]
fn no_host_fd_reaches_the_container() {
    // CVE-2024-21626: only stdio (and maybe ls's own dir fd, 3) are open.
    let b = Bundle::new("pr-nofd", &["sh", "-c", "ls -l /proc/self/fd"]);
    let out = b.run_ok();
    let fds: Vec<u32> = out
        .lines()
        .filter(|l| l.contains("->"))
        .filter_map(|l| l.split(" -> ").next()?.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(fds.len() >= 3 && fds.iter().all(|fd| *fd <= 3), "{out}");
    assert!(!out.contains("/run/berth") && !out.contains("berth-root") && !out.contains("cgroup"), "{out}");
}

#[test]
#[ignore = "needs root"]
fn sysctl_is_set_in_the_container_network_namespace() {
    let b = Bundle::with("pr-sysctl", &["cat", "/proc/sys/net/ipv4/ip_forward"], |c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        c["linux"]["readonlyPaths"] = json!([]);
    });
    assert_eq!(b.run_ok(), "1\n");
}

#[test]
#[ignore = "needs root"]
fn seccomp_blocks_a_syscall_with_the_configured_errno() {
    let b = Bundle::with("pr-seccomp", &["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"], |c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
        });
    });
    let out = b.run_ok();
    assert!(out.contains("Function not implemented"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
}

#[test]
#[ignore = "needs root"]
fn masked_and_readonly_paths() {
    let b = Bundle::new(
        "pr-mask",
        &[
            "sh",
            "-c",
            "wc -c < /proc/keys; wc -c < /proc/timer_list; ls /sys/firmware /proc/acpi | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null; echo rc=$?",
        ],
    );
    let out = b.run_ok();
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    // /proc/keys and /proc/timer_list read as /dev/null; /sys/firmware and
    // /proc/acpi are empty tmpfs (ls prints only the two headers and a blank line).
    assert_eq!(lines, ["0", "0", "3", "rc=1"], "{out}");
}

#[test]
#[ignore = "needs root"]
fn mounts_carry_their_flags() {
    let b = Bundle::new("pr-mounts", &["cat", "/proc/self/mountinfo"]);
    let out = b.run_ok();
    let line = |dst: &str| {
        out.lines().find(|l| l.split(' ').nth(4) == Some(dst)).unwrap_or_else(|| panic!("{dst} not mounted:\n{out}"))
    };
    let shm = line("/dev/shm");
    for flag in ["nosuid", "nodev", "noexec"] {
        assert!(shm.split(' ').nth(5).unwrap().contains(flag), "{shm}");
    }
    assert!(line("/sys").split(' ').nth(5).unwrap().starts_with("ro"), "{}", line("/sys"));
    assert!(line("/proc").contains(" - proc "));
    assert!(line("/dev/pts").contains(" - devpts "));
    assert!(line("/dev/mqueue").contains(" - mqueue "));
}

#[test]
#[ignore = "needs root"]
fn default_and_configured_devices_exist() {
    let b = Bundle::with(
        "pr-dev",
        &["sh", "-c", "for d in null zero full random urandom tty fuse; do stat -c '%n %F %t:%T' /dev/$d; done"],
        |c| {
            c["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}]);
        },
    );
    let out = b.run_ok();
    let want = [
        "/dev/null character special file 1:3",
        "/dev/zero character special file 1:5",
        "/dev/full character special file 1:7",
        "/dev/random character special file 1:8",
        "/dev/urandom character special file 1:9",
        "/dev/tty character special file 5:0",
        "/dev/fuse character special file a:e5",
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
}

#[test]
#[ignore = "needs root"]
fn readonly_root_refuses_writes() {
    let b = Bundle::with(
        "pr-roroot",
        &["sh", "-c", "touch /x 2>/dev/null; echo rc=$?; touch /tmp/y && echo tmp-ok"],
        |c| {
            c["root"]["readonly"] = json!(true);
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}));
        },
    );
    assert_eq!(b.run_ok(), "rc=1\ntmp-ok\n");
}

#[test]
#[ignore = "needs root"]
fn bind_mount_target_symlink_stays_inside_rootfs() {
    // CVE-2021-30465 family: a symlink in the rootfs pointing at a host path must
    // not make a mount land outside the rootfs.
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("marker"), "inside").unwrap();
    let host_target = format!("/tmp/berth-escape-{}", std::process::id());
    let b = Bundle::with("pr-symlink", &["cat", "/escape/marker"], |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/escape", "type": "bind", "source": src.path(), "options": ["rbind", "ro"]
        }));
    });
    std::os::unix::fs::symlink(&host_target, b.rootfs().join("escape")).unwrap();
    let out = b.run_ok();
    assert_eq!(out, "inside");
    // The mount point was made inside the rootfs, never on the host.
    assert!(!std::path::Path::new(&host_target).exists());
    assert!(b.rootfs().join(host_target.trim_start_matches('/')).is_dir());
}
