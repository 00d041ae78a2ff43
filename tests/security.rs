//! Escapes and the protections against them, each test named for the CVE it
//! guards: the host binary behind /proc/<pid>/exe (CVE-2019-5736), host fds and a
//! cwd through /proc/self/fd (CVE-2024-21626), inheritable capabilities
//! (CVE-2022-29162), ptrace of the setup process, and seccomp with podman's and
//! docker's default profiles in init and in exec.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{Bundle, output_of, running, status_field, text};

const PODMAN: &str = include_str!("testdata/seccomp/podman-default.json");
const DOCKER: &str = include_str!("testdata/seccomp/docker-default.json");

/// `berth exec [flags] <id> cmd…` to completion: (exit code, stdout and stderr).
fn exec(b: &Bundle, flags: &[&str], cmd: &[&str]) -> (i32, String) {
    let mut all = vec!["exec"];
    all.extend_from_slice(flags);
    all.push(&b.id);
    all.extend_from_slice(cmd);
    let out = b.berth(&all);
    (out.status.code().unwrap_or(-1), text(&out.stdout) + &text(&out.stderr))
}

/// Grant CAP_SYS_ADMIN, so that a call the profile denies would otherwise succeed
/// (or fail differently): only seccomp can explain EPERM.
fn with_sys_admin(c: &mut Value) {
    for set in ["bounding", "effective", "permitted"] {
        c["process"]["capabilities"][set]
            .as_array_mut()
            .expect("caps in the default spec")
            .push(json!("CAP_SYS_ADMIN"));
    }
}

/// A copy of the berth binary in a temp dir, so a test that a vulnerable build
/// would let overwrite it cannot damage the binary the other tests run.
fn berth_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("berth-bin-").tempdir().expect("tempdir");
    let path = dir.path().join("berth");
    fs::copy(crate::common::BERTH, &path).expect("copy berth");
    (dir, path)
}

fn berth_at(bin: &Path, b: &Bundle, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(bin);
    c.arg("--root").arg(b.root.path()).args(args).stdin(std::process::Stdio::null());
    let out = output_of(c);
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[test]
#[ignore = "needs root"]
fn cve_2019_5736_host_binary_is_not_reachable_from_a_created_container() {
    // Between create and start, the container's init is still the berth binary
    // (it execs the user process only on start). A process in the container must
    // not be able to open /proc/1/exe: with that handle, CVE-2019-5736 rewrote the
    // host's runc once it had exited.
    let (_bin_dir, bin) = berth_copy();
    let before = fs::read(&bin).unwrap();
    let b = Bundle::new("sec-5736-create", &["true"]);
    let bundle = b.path().to_str().unwrap().to_string();
    let (code, _, err) = berth_at(&bin, &b, &["create", "--bundle", &bundle, &b.id]);
    assert_eq!(code, 0, "create: {err}");
    // (A failed redirection on `exec` would end the shell: each probe is a subshell.)
    let probe = "(exec 3</proc/1/exe) 2>/dev/null && echo OPENED-EXE; \
                 cat /proc/1/environ >/dev/null && echo READ-ENVIRON; \
                 readlink /proc/1/exe && echo READLINK-EXE; \
                 dd if=/proc/1/mem of=/dev/null bs=1 count=1 2>/dev/null && echo OPENED-MEM; echo done";
    let (code, out, err) = berth_at(&bin, &b, &["exec", &b.id, "sh", "-c", probe]);
    assert_eq!(code, 0, "exec: {out} {err}");
    assert!(out.ends_with("done\n"), "{out} {err}");
    for bad in ["OPENED-EXE", "READ-ENVIRON", "READLINK-EXE", "OPENED-MEM"] {
        assert!(!out.contains(bad), "init before exec is reachable: {out}");
    }
    let (code, _, err) = berth_at(&bin, &b, &["start", &b.id]);
    assert_eq!(code, 0, "start: {err}");
    assert!(fs::read(&bin).unwrap() == before, "the berth binary changed");
}

#[test]
#[ignore = "needs root"]
fn cve_2019_5736_exec_setup_process_is_not_reachable() {
    // While `berth exec` sets a process up inside the container, a spinner in
    // there tries every pid's /proc/<pid>/exe; the setup process must never be
    // openable (it is non-dumpable until execve). Hits are recorded for the check.
    let (_bin_dir, bin) = berth_copy();
    let before = fs::read(&bin).unwrap();
    // `command exec` keeps a failed redirection from ending the shell; the link
    // is read through our own fd, so a process that exits meanwhile is no hit.
    let spin = r#"trap 'exit 0' TERM
exec 2>/dev/null
while true; do
  for p in /proc/[0-9]*; do
    [ "$p" = /proc/$$ ] && continue
    if command exec 3<"$p/exe"; then
      l=$(readlink /proc/self/fd/3)
      exec 3<&-
      case "$l" in /bin/*) ;; *) echo "$p $l" >> /tmp/hits ;; esac
    fi
  done
done"#;
    let b = Bundle::new("sec-5736-exec", &["sh", "-c", spin]);
    let bundle = b.path().to_str().unwrap().to_string();
    let (code, _, err) = berth_at(&bin, &b, &["create", "--bundle", &bundle, &b.id]);
    assert_eq!(code, 0, "create: {err}");
    let (code, _, err) = berth_at(&bin, &b, &["start", &b.id]);
    assert_eq!(code, 0, "start: {err}");
    for i in 0..30 {
        let (code, out, err) = berth_at(&bin, &b, &["exec", &b.id, "true"]);
        assert_eq!(code, 0, "exec {i}: {out} {err}");
    }
    let (_, out, _) = berth_at(&bin, &b, &["exec", &b.id, "sh", "-c", "cat /tmp/hits 2>/dev/null; echo end"]);
    assert_eq!(out, "end\n", "a berth process in the container was reachable through /proc/<pid>/exe");
    assert!(fs::read(&bin).unwrap() == before, "the berth binary changed");
}

/// fds open in a process, from `ls -l /proc/self/fd` (ls's own directory fd is 3).
fn open_fds(out: &str) -> Vec<u32> {
    out.lines()
        .filter(|l| l.contains("->"))
        .filter_map(|l| l.split(" -> ").next()?.rsplit(' ').next()?.parse().ok())
        .collect()
}

#[test]
#[ignore = "needs root"]
fn cve_2024_21626_no_host_fd_in_init_or_exec() {
    let b = running("sec-21626-fds", |_| {});
    let (code, out) = exec(&b, &[], &["sh", "-c", "ls -l /proc/self/fd"]);
    assert_eq!(code, 0, "{out}");
    let fds = open_fds(&out);
    assert!(fds.len() >= 3 && fds.iter().all(|fd| *fd <= 3), "exec: {out}");
    assert!(!out.contains("berth-root") && !out.contains("cgroup") && !out.contains("berth-bundle"), "{out}");
    let init = Bundle::new("sec-21626-fds-init", &["ls", "-l", "/proc/self/fd"]);
    let out = init.run_ok();
    let fds = open_fds(&out);
    assert!(fds.len() >= 3 && fds.iter().all(|fd| *fd <= 3), "init: {out}");
    assert!(!out.contains("berth-root") && !out.contains("cgroup") && !out.contains("berth-bundle"), "{out}");
}

/// `ls -a` of `../` many times over from the cwd, then of `/`: equal when the
/// cwd is inside the container (`..` stops at its root), different when the
/// cwd was on the host (the walk ends at the host's root).
const ROOT_WALK: &str = "ls -a ../../../../../../../../../../../../../../..; echo ---; ls -a /";

fn walk_stays_inside(out: &str) -> bool {
    match out.split_once("---\n") {
        Some((up, root)) => up == root,
        None => false,
    }
}

#[test]
#[ignore = "needs root"]
fn cve_2024_21626_cwd_through_proc_self_fd_stays_inside() {
    // runc 1.1.11 leaked a host cgroup directory fd into init; a cwd of
    // /proc/self/fd/7 then put the process on the host. Every low fd number must
    // either fail the container or leave the cwd inside it.
    for n in 3..=12 {
        let cwd = format!("/proc/self/fd/{n}");
        let id = format!("sec-21626-cwd{n}");
        let b = Bundle::with(&id, &["sh", "-c", ROOT_WALK], |c| c["process"]["cwd"] = json!(cwd));
        let (code, out, err) = b.run();
        if code == 0 {
            assert!(walk_stays_inside(&out), "init cwd {cwd} reached the host: {out}");
        } else {
            assert!(err.contains("cwd"), "init cwd {cwd}: failed without naming the cwd: {err}");
        }
        b.assert_clean();
    }
    let b = running("sec-21626-cwd-exec", |_| {});
    for n in 3..=12 {
        let cwd = format!("/proc/self/fd/{n}");
        let (code, out) = exec(&b, &["--cwd", &cwd], &["sh", "-c", ROOT_WALK]);
        if code == 0 {
            assert!(walk_stays_inside(&out), "exec cwd {cwd} reached the host: {out}");
        } else {
            assert!(out.contains("cwd"), "exec cwd {cwd}: failed without naming the cwd: {out}");
        }
    }
}

#[test]
#[ignore = "needs root"]
fn cve_2022_29162_inheritable_caps_empty_unless_asked() {
    let b = running("sec-29162", |_| {});
    let (code, out) = exec(&b, &[], &["cat", "/proc/self/status"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(status_field(&out, "CapInh:"), "0000000000000000", "exec: {out}");
    // `exec --cap` adds to bounding, effective, permitted and ambient, never to
    // inheritable (runc's fix).
    let (code, out) = exec(&b, &["--cap", "CAP_SYS_ADMIN"], &["cat", "/proc/self/status"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(status_field(&out, "CapInh:"), "0000000000000000", "exec --cap: {out}");
    assert_eq!(status_field(&out, "CapEff:").len(), 16);
    let init = Bundle::new("sec-29162-init", &["cat", "/proc/self/status"]);
    assert_eq!(status_field(&init.run_ok(), "CapInh:"), "0000000000000000", "init");
    // Asked for, it is set.
    let asked = Bundle::with("sec-29162-asked", &["cat", "/proc/self/status"], |c| {
        c["process"]["capabilities"]["inheritable"] = json!(["CAP_NET_RAW"]);
        c["process"]["capabilities"]["bounding"].as_array_mut().unwrap().push(json!("CAP_NET_RAW"));
    });
    assert_eq!(status_field(&asked.run_ok(), "CapInh:"), format!("{:016x}", 1u64 << 13));
}

#[test]
#[ignore = "needs root"]
fn seccomp_profile_errno_in_init_and_exec() {
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    });
    let b = running("sec-seccomp-errno", |c| c["linux"]["seccomp"] = profile);
    let (code, out) = exec(&b, &[], &["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Function not implemented") && out.contains("rc=1"), "exec: {out}");
}

/// `probe` run under `profile` (with CAP_SYS_ADMIN, so only the filter can deny)
/// as init of one container and by exec into another: (init's output, exec's exit
/// code, exec's output).
fn under_profile(name: &str, profile: &Value, probe: &str) -> (String, i32, String) {
    let init = Bundle::with(&format!("{name}-init"), &["sh", "-c", probe], |c| {
        with_sys_admin(c);
        c["linux"]["seccomp"] = profile.clone();
    });
    let init_out = init.run_ok();
    let b = running(&format!("{name}-exec"), |c| {
        with_sys_admin(c);
        c["linux"]["seccomp"] = profile.clone();
    });
    let (code, out) = exec(&b, &[], &["sh", "-c", probe]);
    (init_out, code, out)
}

#[test]
#[ignore = "needs root"]
fn seccomp_podman_default_profile_runs_and_denies_with_its_errno() {
    // swapon is in the profile's EPERM list; with CAP_SYS_ADMIN and no filter it
    // would fail with EINVAL (busybox is no swap file).
    let probe = "echo up; swapon /bin/busybox 2>&1; echo rc=$?";
    let (out, code, exec_out) = under_profile("sec-podman", &serde_json::from_str(PODMAN).unwrap(), probe);
    assert!(out.starts_with("up\n") && out.contains("Operation not permitted"), "init: {out}");
    assert_eq!(code, 0, "{exec_out}");
    assert!(exec_out.starts_with("up\n") && exec_out.contains("Operation not permitted"), "exec: {exec_out}");
}

#[test]
#[ignore = "needs root"]
fn seccomp_docker_default_profile_runs_and_denies_with_its_errno() {
    // unshare is not in the profile made for docker's default capabilities: with
    // CAP_SYS_ADMIN granted, only the filter makes `unshare -m` fail.
    let probe = "echo up; unshare -m true 2>&1; echo rc=$?";
    let (out, code, exec_out) = under_profile("sec-docker", &serde_json::from_str(DOCKER).unwrap(), probe);
    assert!(out.starts_with("up\n") && out.contains("Operation not permitted") && out.contains("rc=1"), "init: {out}");
    assert_eq!(code, 0, "{exec_out}");
    assert!(exec_out.starts_with("up\n") && exec_out.contains("Operation not permitted"), "exec: {exec_out}");
    // And without the filter the same container setup can unshare.
    let free = Bundle::with("sec-docker-free", &["sh", "-c", probe], with_sys_admin);
    let out = free.run_ok();
    assert!(out.contains("rc=0"), "without seccomp: {out}");
}
