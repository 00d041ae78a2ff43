//! Fixtures shared by berthctl's tests (everything in `ctl/tests/`):
//!
//! - [`Store`]: a private data root and runroot in a temp dir, and
//!   [`Store::berthctl`], a `berthctl` command with both set. Dropping it
//!   detaches whatever is still mounted under it and removes it.
//! - [`images`]: the test images `integration/registry/images.sh` builds and
//!   caches (busybox, Debian minbase, nginx on Debian, 60 layers, zstd,
//!   uncompressed, a two-platform index, oci- and docker-archives).
//! - [`registry`] / [`auth_registry`]: Debian's docker-registry serving a copy
//!   of those images on a free loopback port, one of each per test binary,
//!   started on first use and stopped (by its pid) when the test process ends;
//!   [`Registry::start`] gives a test one of its own, stopped on drop.
//! - [`Run`]: `.success()` / `.failure()` on a `Command`, with the command line
//!   and both outputs in the panic message.

#![allow(dead_code)] // each test module uses its own part of this

mod outside;

pub use outside::Outside;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The htpasswd user of [`auth_registry`] (the same as `registry.sh start --auth`).
pub const AUTH_USER: &str = "berth-test";
pub const AUTH_PASSWORD: &str = "berth-test-password";

/// The repository's root (the parent of `ctl/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("ctl/ has a parent").to_path_buf()
}

/// The berthctl binary cargo built for this test run.
pub fn berthctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_berthctl"))
}

/// The runtime berthctl is told to drive: `BERTH_TEST_RUNTIME`, else the
/// release `berth` when built (`make test` builds it first), else `runc`.
pub fn runtime() -> String {
    if let Ok(rt) = std::env::var("BERTH_TEST_RUNTIME") {
        return rt;
    }
    let berth = repo_root().join("target/release/berth");
    if berth.is_file() { berth.to_string_lossy().into_owned() } else { "runc".to_string() }
}

// ------------------------------------------------------------------ store

/// A private berthctl store: `<tmp>/root` (data root) and `<tmp>/run` (runroot).
pub struct Store {
    dir: tempfile::TempDir,
    pub root: PathBuf,
    pub runroot: PathBuf,
}

impl Store {
    pub fn new() -> Store {
        let dir = tempfile::Builder::new().prefix("berthctl-test-").tempdir().expect("create the store's temp dir");
        let root = dir.path().join("root");
        let runroot = dir.path().join("run");
        fs::create_dir_all(&root).expect("create the data root");
        fs::create_dir_all(&runroot).expect("create the runroot");
        Store { dir, root, runroot }
    }

    /// The temp dir holding both roots; a place for a test's own files too.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `berthctl --data-root R --runroot RR ARGS…` with the test runtime, none
    /// of the caller's BERTH_* settings, and `DOCKER_CONFIG` set to this
    /// store's own dir (credentials never touch the real `~/.docker`).
    pub fn berthctl<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(berthctl_bin());
        cmd.env_remove("BERTH_ROOT").env_remove("BERTH_RUNROOT");
        cmd.env("DOCKER_CONFIG", self.docker_config_dir());
        cmd.env("BERTH_RUNTIME", runtime());
        // Outside a network sandbox (sandbox.rs) a container must never get
        // a bridge, veth or firewall rule in the host's network namespace.
        cmd.env("BERTH_NETWORK", "none");
        cmd.arg("--data-root").arg(&self.root).arg("--runroot").arg(&self.runroot);
        cmd.args(args);
        cmd
    }
}

impl Store {
    /// The `DOCKER_CONFIG` dir `berthctl(...)` sets; `login` writes
    /// `config.json` in it.
    pub fn docker_config_dir(&self) -> PathBuf {
        self.dir.path().join("docker-config")
    }

    /// The credentials file `login` writes.
    pub fn auth_file(&self) -> PathBuf {
        self.docker_config_dir().join("config.json")
    }

    /// `berthctl login -u USER --password-stdin SERVER` with the password
    /// written to its stdin; the whole output, whatever the status.
    pub fn login(&self, server: &str, user: &str, password: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .berthctl(["login", "-u", user, "--password-stdin", server])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn berthctl login");
        writeln!(child.stdin.take().expect("piped stdin"), "{password}").expect("write the password");
        child.wait_with_output().expect("wait for berthctl login")
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        detach_mounts_under(self.dir.path());
    }
}

/// Lazily unmount everything mounted at or below `dir`, deepest first, so
/// that the temp dir can be removed even after a failed test.
pub fn detach_mounts_under(dir: &Path) {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else { return };
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for p in points {
        if let Err(e) = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("support: umount {}: {e}", p.display());
        }
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 4]).ok().and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ------------------------------------------------------------------ running

/// Run a command and check its status; panics show the command line, status,
/// stdout and stderr.
pub trait Run {
    /// Expect exit 0; returns stdout.
    fn success(&mut self) -> String;
    /// Expect a non-zero exit; returns the whole output.
    fn failure(&mut self) -> Output;
    /// Run with stdout and stderr captured, whatever the status.
    fn output_of(&mut self) -> Output;
}

impl Run for Command {
    fn success(&mut self) -> String {
        let out = self.output_of();
        if !out.status.success() {
            panic!("{} failed ({}):\n{}", describe(self), out.status, both(&out));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn failure(&mut self) -> Output {
        let out = self.output_of();
        if out.status.success() {
            panic!("{} succeeded but should have failed:\n{}", describe(self), both(&out));
        }
        out
    }

    fn output_of(&mut self) -> Output {
        self.output().unwrap_or_else(|e| panic!("spawn {}: {e}", describe(self)))
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn both(out: &Output) -> String {
    format!("--- stdout\n{}--- stderr\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

// ------------------------------------------------------------------ images

/// The cached test images (see `integration/registry/README.md`).
pub struct Images {
    pub dir: PathBuf,
    env: HashMap<String, String>,
}

/// Build the test images if missing (`images.sh` is cached and locked, so
/// this is quick after the first time) and return them. `BERTH_TEST_IMAGES`
/// overrides the directory (default `build/images` in the repository).
pub fn images() -> &'static Images {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let dir = std::env::var_os("BERTH_TEST_IMAGES")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("build/images"));
        let script = repo_root().join("integration/registry/images.sh");
        let status = Command::new(&script)
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
        assert!(status.success(), "{} {} failed ({status})", script.display(), dir.display());
        let text = fs::read_to_string(dir.join("images.env")).expect("read images.env");
        let env = text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Images { dir, env }
    })
}

/// The images by name: `busybox`, `busybox-zstd`, `busybox-uncompressed`,
/// `busybox-multi` (index: amd64 + arm64), `debian`, `nginx`, `layers60`.
pub const IMAGE_NAMES: [&str; 7] =
    ["busybox", "busybox-zstd", "busybox-uncompressed", "busybox-multi", "debian", "nginx", "layers60"];

impl Images {
    /// The OCI layout holding every image, one tag per name.
    pub fn layout(&self) -> PathBuf {
        self.dir.join("oci")
    }

    /// `oci:<layout>:<name>` for skopeo.
    pub fn oci_ref(&self, name: &str) -> String {
        format!("oci:{}:{name}", self.layout().display())
    }

    /// `<layout>:<name>` for umoci.
    pub fn umoci_ref(&self, name: &str) -> String {
        format!("{}:{name}", self.layout().display())
    }

    /// The oci-archive of one image (its index names it `name`).
    pub fn oci_archive(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.oci.tar"))
    }

    /// The docker-archive of busybox (`busybox:latest`), as `docker save` writes.
    pub fn busybox_docker_archive(&self) -> PathBuf {
        self.dir.join("busybox.docker.tar")
    }

    /// The manifest (or index) digest of an image, `sha256:…`.
    pub fn digest(&self, name: &str) -> &str {
        let key = format!("{}_digest", name.replace('-', "_"));
        self.env.get(&key).unwrap_or_else(|| panic!("no {key} in images.env"))
    }

    /// A blob of the layout by digest.
    pub fn blob(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.layout().join("blobs/sha256").join(hex)
    }

    /// The parsed manifest (or index) of an image.
    pub fn manifest(&self, name: &str) -> serde_json::Value {
        let bytes = fs::read(self.blob(self.digest(name))).expect("read a manifest blob");
        serde_json::from_slice(&bytes).expect("parse a manifest blob")
    }
}

// ------------------------------------------------------------------ registry

/// A docker-registry on loopback serving the test images as
/// `busybox:{latest,zstd,uncompressed,multi,v2s2}`, `debian:bookworm`,
/// `nginx:latest`, `layers60:latest`.
pub struct Registry {
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// `Some((user, password))` for a registry with htpasswd auth.
    pub auth: Option<(String, String)>,
    pub dir: PathBuf,
    child: Mutex<Option<(Child, ChildStdin)>>,
}

/// This test binary's plain registry (started on first use).
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Registry::start(false))
}

/// This test binary's registry with htpasswd basic auth ([`AUTH_USER`], [`AUTH_PASSWORD`]).
pub fn auth_registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Registry::start(true))
}

impl Registry {
    /// A registry of the caller's own, on a free loopback port, with a copy
    /// of the test images; stopped and removed when dropped or when this
    /// process ends (the serving script waits for EOF on a pipe we hold).
    pub fn start(with_auth: bool) -> Registry {
        let images = images();
        let mut last_log = String::new();
        for _ in 0..5 {
            let dir =
                tempfile::Builder::new().prefix("berthctl-registry-").tempdir().expect("create a registry dir").keep();
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let mut cmd = Command::new(repo_root().join("integration/registry/registry.sh"));
            cmd.args(["serve", "--until-eof", "--remove", "--addr", &addr, "--dir"]).arg(&dir);
            cmd.arg("--from").arg(images.dir.join("registry"));
            let auth = with_auth.then(|| (AUTH_USER.to_string(), AUTH_PASSWORD.to_string()));
            if with_auth {
                let hp = dir.join("htpasswd");
                Command::new("htpasswd").arg("-Bbc").arg(&hp).args([AUTH_USER, AUTH_PASSWORD]).success();
                cmd.arg("--htpasswd").arg(&hp);
            }
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn integration/registry/registry.sh");
            let stdin = child.stdin.take().expect("piped stdin");
            match wait_listening(&mut child, &dir, &addr) {
                Ok(()) => return Registry { addr, auth, dir, child: Mutex::new(Some((child, stdin))) },
                Err(log) => {
                    last_log = log;
                    drop(stdin);
                    let _ = child.wait();
                }
            }
        }
        panic!("docker-registry did not start; its last log:\n{last_log}");
    }

    /// `127.0.0.1:PORT/<name>`, e.g. `reference("busybox:latest")`.
    pub fn reference(&self, name: &str) -> String {
        format!("{}/{name}", self.addr)
    }

    /// The registry's log so far (requests with their paths, for
    /// "which blobs were fetched / pushed" checks).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    /// `skopeo inspect --raw` digest of a reference in this registry, the
    /// oracle for berthctl's push and pull digests.
    pub fn skopeo_digest(&self, name: &str) -> String {
        let mut cmd = Command::new("skopeo");
        cmd.args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]);
        if let Some((u, p)) = &self.auth {
            cmd.arg("--creds").arg(format!("{u}:{p}"));
        }
        cmd.arg(format!("docker://{}", self.reference(name)));
        cmd.success().trim().to_string()
    }

    /// Stop now: close the pipe, wait for the script (it stops the registry
    /// by pid and removes the dir).
    pub fn stop(&self) {
        let taken = self.child.lock().map(|mut c| c.take()).unwrap_or(None);
        if let Some((mut child, stdin)) = taken {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr of a bound socket").port()
}

/// Until the registry logs that it listens on `addr`; `Err(log)` if the
/// script exits first (port taken) or 30 s pass.
fn wait_listening(child: &mut Child, dir: &Path, addr: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let needle = format!("listening on {addr}");
    loop {
        let log = fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
        if log.contains(&needle) {
            return Ok(());
        }
        if matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
            return Err(log);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Read a whole file or panic naming it.
pub fn read(path: &Path) -> String {
    let mut s = String::new();
    fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    s
}

// ------------------------------------------------------------------ dockerd

/// A private dockerd (Debian's docker.io) as an oracle: its own data root,
/// exec root, pid file, socket and client config in a temp dir, no bridge,
/// no iptables. Stopped by its pid and removed on drop.
pub struct Dockerd {
    dir: tempfile::TempDir,
    child: Child,
}

impl Dockerd {
    pub fn start() -> Dockerd {
        let dir = tempfile::Builder::new().prefix("berthctl-dockerd-").tempdir().expect("create the dockerd dir");
        let d = dir.path();
        fs::write(d.join("daemon.json"), "{}").expect("write daemon.json");
        let log = fs::File::create(d.join("dockerd.log")).expect("create dockerd.log");
        let child = Command::new("dockerd")
            .arg("--config-file")
            .arg(d.join("daemon.json"))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", d.join("docker.sock").display()))
            .args([
                "--bridge",
                "none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
            ])
            .args(["--exec-opt", "native.cgroupdriver=cgroupfs"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup the log fd"))
            .stderr(log)
            .spawn()
            .expect("spawn dockerd");
        let mut daemon = Dockerd { dir, child };
        let deadline = Instant::now() + Duration::from_secs(90);
        while !daemon.docker(["version"]).output_of().status.success() {
            if Instant::now() > deadline || matches!(daemon.child.try_wait(), Ok(Some(_))) {
                panic!("dockerd did not come up:\n{}", read(&daemon.dir.path().join("dockerd.log")));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        daemon
    }

    /// `docker -H unix://<our socket> ARGS…` with a client config of its own.
    pub fn docker<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_CONFIG", self.dir.path().join("client"));
        cmd.arg("-H").arg(format!("unix://{}", self.dir.path().join("docker.sock").display()));
        cmd.args(args);
        cmd
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        detach_mounts_under(self.dir.path());
    }
}

// ------------------------------------------------------------------ trees

/// One line per file under `root`, sorted: path, type, mode, owner, size,
/// sha256 of a regular file's content, a symlink's target, a device's
/// numbers and every xattr — what two unpackers must agree on (times are
/// left out: unpackers set directory times differently).
pub fn tree_manifest(root: &Path) -> String {
    const SCRIPT: &str = r#"
import hashlib, os, stat, sys
root = sys.argv[1]
out = []
for d, dirs, files in os.walk(root):
    for n in sorted(dirs + files) + ([""] if d == root else []):
        p = os.path.join(d, n) if n else d
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        extra = ""
        if stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            extra = "%d %s" % (st.st_size, h.hexdigest())
        elif stat.S_ISLNK(st.st_mode):
            extra = "-> " + os.readlink(p)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            extra = "dev %d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        xs = []
        for x in sorted(os.listxattr(p, follow_symlinks=False)):
            xs.append("%s=%s" % (x, os.getxattr(p, x, follow_symlinks=False).hex()))
        out.append("%s %o %d:%d %s %s" % (rel, st.st_mode, st.st_uid, st.st_gid, extra, ",".join(xs)))
print("\n".join(sorted(out)))
"#;
    Command::new("python3").args(["-c", SCRIPT]).arg(root).success()
}
