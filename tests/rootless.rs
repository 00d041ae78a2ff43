//! berth run by an unprivileged user on a config from `berth spec --rootless`:
//! each test makes a temporary user (and its /etc/subuid, /etc/subgid entries),
//! drives berth as that user with setpriv, and removes the user afterwards.
//! State goes under $XDG_RUNTIME_DIR/berth, as runc's goes under .../runc.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::common::{BERTH, Bundle, output_of, text, wait_until};

/// useradd/userdel lock /etc/passwd and /etc/subuid: one user at a time.
static USERS: Mutex<()> = Mutex::new(());

/// A temporary unprivileged user with a subordinate id range and an
/// XDG_RUNTIME_DIR; removed (with its ranges) on drop.
struct User {
    name: String,
    uid: u32,
    gid: u32,
    sub_start: u32,
    xdg: tempfile::TempDir,
}

const SUB_SIZE: u32 = 65536;

impl User {
    fn new(tag: &str) -> User {
        let _g = USERS.lock().unwrap_or_else(|e| e.into_inner());
        let name = format!("brl{}{tag}", std::process::id() % 100_000);
        let ok = Command::new("useradd").args(["-M", "-s", "/bin/sh", &name]).status().unwrap().success();
        assert!(ok, "useradd {name}");
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, &name]).output().unwrap();
            text(&out.stdout).trim().parse().unwrap()
        };
        let (uid, gid) = (id("-u"), id("-g"));
        // useradd may have granted a range already (SUB_UID_MIN in login.defs);
        // otherwise grant one.
        let sub_start = match sub_range("/etc/subuid", &name) {
            Some(s) => s,
            None => {
                let start = 400_000 + (uid % 1000) * SUB_SIZE;
                let range = format!("{start}-{}", start + SUB_SIZE - 1);
                let ok = Command::new("usermod")
                    .args(["--add-subuids", &range, "--add-subgids", &range, &name])
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "usermod --add-subuids {name}");
                start
            }
        };
        assert_eq!(sub_range("/etc/subgid", &name), Some(sub_start), "subgid range of {name}");
        let xdg = tempfile::Builder::new().prefix("berth-xdg-").tempdir().unwrap();
        std::os::unix::fs::chown(xdg.path(), Some(uid), Some(gid)).unwrap();
        fs::set_permissions(xdg.path(), fs::Permissions::from_mode(0o700)).unwrap();
        User { name, uid, gid, sub_start, xdg }
    }

    /// berth as this user, with its XDG_RUNTIME_DIR and no --root.
    fn berth(&self, dir: &Path, args: &[&str]) -> Output {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", &self.uid.to_string(), "--regid", &self.gid.to_string(), "--init-groups", "--"])
            .arg(BERTH)
            .args(args)
            .env("XDG_RUNTIME_DIR", self.xdg.path())
            .current_dir(dir)
            .stdin(Stdio::null());
        output_of(c)
    }

    fn state_root(&self) -> PathBuf {
        self.xdg.path().join("berth")
    }

    /// Processes running as this user.
    fn processes(&self) -> Vec<i32> {
        let mut found = Vec::new();
        for e in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
            if fs::metadata(e.path()).is_ok_and(|m| m.uid() == self.uid) {
                found.push(pid);
            }
        }
        found
    }
}

impl Drop for User {
    fn drop(&mut self) {
        let _g = USERS.lock().unwrap_or_else(|e| e.into_inner());
        for pid in self.processes() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        let _ = Command::new("userdel").arg(&self.name).status();
        // userdel removes the ranges too; make sure, as the test added them.
        for file in ["/etc/subuid", "/etc/subgid"] {
            if sub_range(file, &self.name).is_some() {
                let kept: String = fs::read_to_string(file)
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.split(':').next() != Some(self.name.as_str()))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let _ = fs::write(file, kept);
            }
        }
    }
}

/// The start of `name`'s range in a subuid/subgid file.
fn sub_range(file: &str, name: &str) -> Option<u32> {
    fs::read_to_string(file).ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(name)).then(|| f.next()?.parse().ok())?
    })
}

/// A busybox bundle owned by `user`, its config from `berth spec --rootless` run
/// as that user, with `args` and `edit` applied.
fn rootless_bundle(user: &User, id: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
    let b = Bundle::new(id, args);
    fs::remove_file(b.path().join("config.json")).unwrap();
    fs::set_permissions(b.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let ok = Command::new("chown").arg("-R").arg(format!("{}:{}", user.uid, user.gid)).arg(b.path()).status();
    assert!(ok.unwrap().success());
    let out = user.berth(b.path(), &["spec", "--rootless"]);
    assert!(out.status.success(), "spec --rootless: {}", text(&out.stderr));
    let mut c = b.config();
    c["process"]["terminal"] = json!(false);
    c["process"]["args"] = json!(args);
    edit(&mut c);
    b.set_config(&c);
    b
}

#[test]
#[ignore = "needs root"]
fn rootless_lifecycle_under_xdg_runtime_dir() {
    let user = User::new("a");
    let b = rootless_bundle(&user, "rl-life", &["sleep", "1000"], |_| {});
    let dir = b.path();
    let out = user.berth(dir, &["create", "--bundle", dir.to_str().unwrap(), "rl-life"]);
    assert!(out.status.success(), "create: {}", text(&out.stderr));
    let state_dir = user.state_root().join("rl-life");
    assert!(state_dir.is_dir(), "no state under $XDG_RUNTIME_DIR/berth");
    assert_eq!(fs::metadata(&state_dir).unwrap().uid(), user.uid);
    assert!(!Path::new("/run/berth/rl-life").exists());
    let state = |u: &User| -> Value {
        let out = u.berth(dir, &["state", "rl-life"]);
        assert!(out.status.success(), "state: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(state(&user)["status"], "created");
    let pid = state(&user)["pid"].as_i64().unwrap();
    // The container's init runs as the caller on the host.
    assert_eq!(fs::metadata(format!("/proc/{pid}")).unwrap().uid(), user.uid);
    assert!(user.berth(dir, &["start", "rl-life"]).status.success());
    assert_eq!(state(&user)["status"], "running");
    // exec joins the user namespace first, then the pid namespace (with a fork).
    let out = user.berth(dir, &["exec", "rl-life", "sh", "-c", "id -u; echo $$; readlink /proc/self/ns/pid"]);
    assert!(out.status.success(), "exec: {}", text(&out.stderr));
    let init_ns = fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    let seen = text(&out.stdout);
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!((lines.len(), lines[0], lines[2]), (3, "0", init_ns.to_str().unwrap()), "{seen}");
    assert!(lines[1].parse::<i32>().is_ok_and(|p| p > 1), "{seen}");
    let out = user.berth(dir, &["kill", "rl-life", "KILL"]);
    assert!(out.status.success(), "kill: {}", text(&out.stderr));
    assert!(wait_until(|| state(&user)["status"] == "stopped"));
    let out = user.berth(dir, &["delete", "rl-life"]);
    assert!(out.status.success(), "delete: {}", text(&out.stderr));
    assert!(!state_dir.exists(), "state dir left behind");
    // The killed init is reaped by the host's init, which may take a moment.
    assert!(wait_until(|| user.processes().is_empty()), "processes left behind: {:?}", user.processes());
}

#[test]
#[ignore = "needs root"]
fn rootless_sees_its_mapping_no_host_network_and_cannot_write_host_files() {
    let user = User::new("b");
    // A root-owned host directory, bound read-write: root inside is the caller
    // outside, who may not write there.
    let host = tempfile::tempdir().unwrap();
    fs::set_permissions(host.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(host.path().join("f"), "host\n").unwrap();
    let h = host.path().to_str().unwrap().to_string();
    // Only the container's own loopback, in /proc and in its own sysfs.
    let script = "id -u; cat /proc/self/uid_map /proc/self/gid_map; ls /sys/class/net; \
                  tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; \
                  echo x > /h/f 2>/dev/null && echo wrote-f; touch /h/new 2>/dev/null && echo wrote-dir; \
                  stat -c %u /h/f";
    let b = rootless_bundle(&user, "rl-map", &["sh", "-c", script], |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/h", "type": "bind", "source": h,
                                                        "options": ["rbind", "rw"]}));
    });
    let dir = b.path();
    let out = user.berth(dir, &["run", "--bundle", dir.to_str().unwrap(), "rl-map"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "run: {} {stdout}", text(&out.stderr));
    let want =
        format!("0\n{:>10} {:>10} {:>10}\n{:>10} {:>10} {:>10}\nlo\nlo\n65534\n", 0, user.uid, 1, 0, user.gid, 1);
    assert_eq!(stdout, want);
    assert_eq!(fs::read_to_string(host.path().join("f")).unwrap(), "host\n");
    assert!(!host.path().join("new").exists());
    assert!(!user.state_root().join("rl-map").exists(), "state dir left behind");
    assert!(wait_until(|| user.processes().is_empty()), "processes left behind: {:?}", user.processes());
}

/// More than the caller's own id: newuidmap/newgidmap write the ranges that
/// /etc/subuid and /etc/subgid grant.
#[test]
#[ignore = "needs root"]
fn rootless_maps_subordinate_ranges_through_newuidmap() {
    let user = User::new("c");
    let s = user.sub_start;
    // uid 1000 exists in the container only through the subordinate range.
    let script = "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/x; stat -c '%u %g' /tmp/x";
    let b = rootless_bundle(&user, "rl-sub", &["sh", "-c", script], |c| {
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": user.uid, "size": 1},
                                           {"containerID": 1, "hostID": s, "size": SUB_SIZE}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": user.gid, "size": 1},
                                           {"containerID": 1, "hostID": s, "size": SUB_SIZE}]);
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    let dir = b.path();
    let out = user.berth(dir, &["run", "--bundle", dir.to_str().unwrap(), "rl-sub"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "run: {} {stdout}", text(&out.stderr));
    let line = |a: u32, b: u32, c: u32| format!("{a:>10} {b:>10} {c:>10}\n");
    let want = format!(
        "{}{}{}{}1000\n1000 1000\n",
        line(0, user.uid, 1),
        line(1, s, SUB_SIZE),
        line(0, user.gid, 1),
        line(1, s, SUB_SIZE)
    );
    assert_eq!(stdout, want);
    assert!(!user.state_root().join("rl-sub").exists(), "state dir left behind");
}

/// A failed rootless create leaves nothing either: no state dir, no process.
#[test]
#[ignore = "needs root"]
fn rootless_failed_create_leaves_nothing() {
    let user = User::new("d");
    let b = rootless_bundle(&user, "rl-fail", &["/no/such/binary"], |_| {});
    let dir = b.path();
    let out = user.berth(dir, &["create", "--bundle", dir.to_str().unwrap(), "rl-fail"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("/no/such/binary"), "{}", text(&out.stderr));
    assert!(!user.state_root().join("rl-fail").exists(), "state dir left behind");
    assert!(wait_until(|| user.processes().is_empty()), "processes left behind: {:?}", user.processes());
}
