//! Shared test fixtures: a busybox bundle, a private state root, the berth binary.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

/// The binary under test: cargo's build of this package, or the one
/// `BERTH_TEST_BIN` named when the tests were compiled (`make test` points it
/// at the musl build it ships; see the Makefile).
pub const BERTH: &str = match option_env!("BERTH_TEST_BIN") {
    Some(bin) => bin,
    None => env!("CARGO_BIN_EXE_berth"),
};

/// The busybox-static binary the rootfs is made from.
pub fn busybox() -> &'static Path {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        if Path::new(p).exists() {
            return Path::new(if p == "/bin/busybox" { "/bin/busybox" } else { "/usr/bin/busybox" });
        }
    }
    panic!("busybox-static is not installed (make test installs it)");
}

/// The parent cgroup of this test run, relative to each hierarchy's root.
pub fn cgroup_parent() -> String {
    format!("berth-test-{}", std::process::id())
}

/// Applets of busybox, listed once.
fn applets() -> &'static Vec<String> {
    static APPLETS: OnceLock<Vec<String>> = OnceLock::new();
    APPLETS.get_or_init(|| {
        let out = Command::new(busybox()).arg("--list").output().expect("busybox --list");
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    })
}

/// A bundle in a temp dir: busybox rootfs and runc's default config, edited for
/// tests (no terminal, a cgroup under the run's parent).
pub struct Bundle {
    pub dir: tempfile::TempDir,
    pub root: tempfile::TempDir,
    pub id: String,
}

/// How many `Bundle`s are alive. The run's cgroup parent is removed only when
/// the last one goes: removing it whenever it is empty races with a `create` in
/// another test that is about to make its cgroup below it.
static LIVE_BUNDLES: Mutex<usize> = Mutex::new(0);

impl Bundle {
    pub fn new(id: &str, args: &[&str]) -> Bundle {
        Self::with(id, args, |_| {})
    }

    pub fn with(id: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
        *LIVE_BUNDLES.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let dir = tempfile::Builder::new().prefix("berth-bundle-").tempdir().expect("tempdir");
        let root = tempfile::Builder::new().prefix("berth-root-").tempdir().expect("tempdir");
        let rootfs = dir.path().join("rootfs");
        for d in ["bin", "proc", "sys", "dev", "tmp", "etc", "root", "var", "run"] {
            fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        fs::copy(busybox(), rootfs.join("bin/busybox")).unwrap();
        for a in applets() {
            let name = a.rsplit('/').next().unwrap_or(a);
            if name != "busybox" {
                let _ = symlink("busybox", rootfs.join("bin").join(name));
            }
        }
        fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
            .unwrap();
        fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        let mut config = berth_spec();
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        config["root"]["readonly"] = json!(false);
        config["linux"]["cgroupsPath"] = json!(format!("/{}/{}", cgroup_parent(), id));
        // The tests expect a cgroup namespace of the container's own, which
        // `berth spec` (as runc 1.2's) lists on a pure cgroup v2 host only.
        if let Some(ns) = config["linux"]["namespaces"].as_array_mut()
            && !ns.iter().any(|n| n["type"] == "cgroup")
        {
            ns.push(json!({"type": "cgroup"}));
        }
        edit(&mut config);
        fs::write(dir.path().join("config.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        Bundle { dir, root, id: id.to_string() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    pub fn config(&self) -> Value {
        serde_json::from_slice(&fs::read(self.path().join("config.json")).unwrap()).unwrap()
    }

    pub fn set_config(&self, v: &Value) {
        fs::write(self.path().join("config.json"), serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }

    /// A berth command with `--root` set to this test's state root.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BERTH);
        c.arg("--root").arg(self.root.path()).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Run berth to completion. stdout/stderr go to files, not pipes: a detached
    /// container inherits them and would keep a pipe open forever.
    pub fn berth(&self, args: &[&str]) -> Output {
        output_of(self.cmd(args))
    }

    /// `berth run` to completion: (exit code, stdout, stderr).
    pub fn run(&self) -> (i32, String, String) {
        let out = self.berth(&["run", "--bundle", self.path().to_str().unwrap(), &self.id]);
        (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
    }

    /// `berth run` that must succeed; its stdout.
    pub fn run_ok(&self) -> String {
        let (code, out, err) = self.run();
        assert_eq!(code, 0, "berth run failed: stdout {out:?} stderr {err:?}");
        out
    }

    pub fn create(&self, extra: &[&str]) -> Output {
        let mut args = vec!["create", "--bundle", self.path().to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(&self.id);
        self.berth(&args)
    }

    /// `create` then `start`, both of which must succeed.
    pub fn create_and_start(&self) {
        ok(&self.create(&[]), "create");
        ok(&self.berth(&["start", &self.id]), "start");
    }

    /// `berth <args>`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        ok(&self.berth(args), &format!("berth {args:?}"))
    }

    pub fn state(&self) -> Value {
        let out = self.berth(&["state", &self.id]);
        assert!(out.status.success(), "state: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("state json")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.path().join(&self.id)
    }

    /// Paths of this container's cgroup that exist on any hierarchy.
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let rel = format!("{}/{}", cgroup_parent(), self.id);
        if let Ok(entries) = fs::read_dir("/sys/fs/cgroup") {
            for e in entries.flatten() {
                let p = e.path().join(&rel);
                if p.exists() {
                    found.push(p);
                }
            }
        }
        let p = Path::new("/sys/fs/cgroup").join(&rel);
        if p.exists() && !found.contains(&p) {
            found.push(p);
        }
        found
    }

    /// Assert the container left nothing: no state dir, no cgroup.
    pub fn assert_clean(&self) {
        assert!(!self.state_dir().exists(), "state dir left behind: {:?}", self.state_dir());
        assert!(self.cgroup_dirs().is_empty(), "cgroup left behind: {:?}", self.cgroup_dirs());
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = self.cmd(&["delete", "--force", &self.id]).output();
        // Remove the run's cgroup parent once no test uses it any more.
        let mut live = LIVE_BUNDLES.lock().unwrap_or_else(|e| e.into_inner());
        *live -= 1;
        if *live == 0 {
            if let Ok(entries) = fs::read_dir("/sys/fs/cgroup") {
                for e in entries.flatten() {
                    let _ = fs::remove_dir(e.path().join(cgroup_parent()));
                }
            }
            let _ = fs::remove_dir(Path::new("/sys/fs/cgroup").join(cgroup_parent()));
        }
    }
}

/// Like `Command::output`, with files instead of pipes (see `Bundle::berth`).
pub fn output_of(mut cmd: Command) -> Output {
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    cmd.stdout(out.try_clone().unwrap()).stderr(err.try_clone().unwrap());
    let status = cmd.status().expect("run berth");
    let read = |mut f: fs::File| {
        use std::io::{Read, Seek};
        let mut v = Vec::new();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    };
    Output { status, stdout: read(out), stderr: read(err) }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `berth spec` output, parsed.
pub fn berth_spec() -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BERTH).args(["spec", "--bundle"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "berth spec: {}", text(&out.stderr));
    serde_json::from_slice(&fs::read(dir.path().join("config.json")).unwrap()).unwrap()
}

/// Poll every 10 ms until `f` is true or `timeout` has passed (a hang guard, not
/// a timing check); `f`'s last answer.
pub fn wait_for(timeout: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    f()
}

/// Poll until `f` is true or 20 s have passed: a hang guard, generous because a
/// check may itself take long on a loaded 2-core machine (reading /proc, cgroupfs).
pub fn wait_until(f: impl FnMut() -> bool) -> bool {
    wait_for(std::time::Duration::from_secs(20), f)
}

/// A container process that runs until TERM, then exits 0.
pub const LOOP: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.05; done"];

/// A container running [`LOOP`], created and started; `edit` changes its config first.
pub fn running(id: &str, edit: impl FnOnce(&mut Value)) -> Bundle {
    let b = Bundle::with(id, LOOP, edit);
    b.create_and_start();
    b
}

/// The stdout of a command that must have succeeded; `what` names it in the failure.
pub fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// The value of `key` (`CapEff:`) in a /proc/<pid>/status text, trimmed.
pub fn status_field(status: &str, key: &str) -> String {
    status.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().to_string()).unwrap_or_default()
}

/// Append a mount to a config's `mounts`.
pub fn mount_push(config: &mut Value, mount: Value) {
    config["mounts"].as_array_mut().expect("mounts in the config").push(mount);
}

/// Accept the console socket's connection and take the pty master it carries.
pub fn accept_pty(listener: &std::os::unix::net::UnixListener) -> fs::File {
    use std::os::fd::AsFd;
    let (stream, _) = listener.accept().expect("console socket connection");
    let (master, _) = berth::recv_fd(stream.as_fd()).expect("pty master over SCM_RIGHTS");
    fs::File::from(master)
}

/// Read a terminal until `want` shows up or it closes; everything read.
pub fn read_until(m: &mut fs::File, want: &str) -> String {
    use std::io::Read;
    let mut got = String::new();
    let mut buf = [0u8; 1024];
    while !got.contains(want) {
        match m.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    got
}

/// runc 1.1.5 (Debian's, installed by `make test`) beside berth, for the tests
/// that compare the two: a bundle of its own (its own id, so its own cgroup) and
/// a state root of its own; the container is deleted on drop.
pub struct Runc {
    pub bundle: Bundle,
}

impl Runc {
    pub fn new(id: &str, args: &[&str]) -> Runc {
        Self::with(id, args, |_| {})
    }

    pub fn with(id: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> Runc {
        Runc { bundle: Bundle::with(id, args, edit) }
    }

    pub fn root(&self) -> PathBuf {
        self.bundle.root.path().join("runc")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("runc");
        c.arg("--root").arg(self.root()).args(args);
        c.stdin(Stdio::null());
        c
    }

    pub fn runc(&self, args: &[&str]) -> Output {
        output_of(self.cmd(args))
    }

    pub fn create(&self) -> Output {
        self.runc(&["create", "--bundle", self.bundle.path().to_str().unwrap(), &self.bundle.id])
    }

    pub fn create_and_start(&self) {
        ok(&self.create(), "runc create");
        ok(&self.runc(&["start", &self.bundle.id]), "runc start");
    }

    pub fn status(&self) -> String {
        let out = self.runc(&["state", &self.bundle.id]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        v["status"].as_str().unwrap_or_default().to_string()
    }
}

impl Drop for Runc {
    fn drop(&mut self) {
        let _ = self.cmd(&["delete", "--force", &self.bundle.id]).output();
    }
}

/// The message of runc's last log line (`msg="…"` in its text format).
pub fn runc_msg(stderr: &[u8]) -> String {
    let t = text(stderr);
    let line = t.lines().rev().find(|l| l.contains("msg=")).unwrap_or_default();
    let m = line.split_once("msg=\"").map(|(_, m)| m).unwrap_or_default();
    m.strip_suffix('"').unwrap_or(m).replace("\\\"", "\"")
}

/// A file of a process's cgroup on a v1 hierarchy: `/proc/PID/cgroup` names the
/// path below the controller's mount.
pub fn cgroup_file(pid: i32, controller: &str, file: &str) -> String {
    let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let rel = cg
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            ctrls.split(',').any(|c| c == controller).then(|| path.to_string())
        })
        .unwrap_or_else(|| panic!("pid {pid} has no {controller} cgroup"));
    let dir = fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().split(',').any(|c| c == controller)))
        .unwrap_or_else(|| panic!("no {controller} hierarchy"));
    fs::read_to_string(dir.join(rel.trim_start_matches('/')).join(file)).unwrap_or_default().trim().to_string()
}

/// The bundle under runc 1.1.5 (`runc run`, state in a temp root), for tests that
/// compare berth with it: (exit code, stdout, stderr).
pub fn runc_run(b: &Bundle) -> (i32, String, String) {
    let root = tempfile::tempdir().unwrap();
    let id = format!("{}-runc", b.id);
    let mut cmd = Command::new("runc");
    cmd.arg("--root").arg(root.path()).args(["run", "--bundle"]).arg(b.path()).arg(&id);
    cmd.stdin(Stdio::null());
    let out = output_of(cmd);
    let _ = Command::new("runc").arg("--root").arg(root.path()).args(["delete", "--force", &id]).output();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// Whether the host is pure cgroup v2 (runc's IsCgroup2UnifiedMode).
pub fn cgroup2_unified() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}
