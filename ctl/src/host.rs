//! Facts about the host and the OCI runtime that `info` and `version`
//! report, read the way docker's daemon reads them: the kernel release and
//! host name from /proc, the OS from os-release, CPUs from the affinity mask
//! (Go's `runtime.NumCPU`), memory from /proc/meminfo, the cgroup version
//! from the type of the filesystem at /sys/fs/cgroup (the hybrid layout is
//! version 1, as docker says), and the runtime's version from `--version`.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub(crate) enum HostError {
    #[error("read {path:?}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path:?}: no {field} line")]
    Missing { path: PathBuf, field: &'static str },
    #[error("statfs {path:?}")]
    Statfs { path: PathBuf, source: nix::Error },
    #[error("sched_getaffinity")]
    Affinity(#[source] nix::Error),
    #[error("run {path:?} --version")]
    RuntimeVersion { path: PathBuf, source: std::io::Error },
    #[error("{path:?} --version exited with {status}: {stderr}")]
    RuntimeFailed { path: PathBuf, status: std::process::ExitStatus, stderr: String },
}

fn read(path: &Path) -> Result<String, HostError> {
    std::fs::read_to_string(path).map_err(|source| HostError::Read { path: path.to_path_buf(), source })
}

/// `uname -r`.
pub(crate) fn kernel_version(proc: &Path) -> Result<String, HostError> {
    Ok(read(&proc.join("sys/kernel/osrelease"))?.trim().to_string())
}

/// `uname -n`.
pub(crate) fn hostname(proc: &Path) -> Result<String, HostError> {
    Ok(read(&proc.join("sys/kernel/hostname"))?.trim().to_string())
}

/// `uname -m` (berthctl runs natively, so its build architecture is the
/// machine's).
pub(crate) fn machine() -> &'static str {
    std::env::consts::ARCH
}

/// os-release's PRETTY_NAME ("Debian GNU/Linux 12 (bookworm)") and
/// VERSION_ID ("12").
pub(crate) fn operating_system(os_release: &Path) -> Result<(String, String), HostError> {
    let text = read(os_release)?;
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
    };
    let pretty =
        field("PRETTY_NAME").ok_or(HostError::Missing { path: os_release.to_path_buf(), field: "PRETTY_NAME" })?;
    Ok((pretty, field("VERSION_ID").unwrap_or_default()))
}

/// MemTotal in bytes.
pub(crate) fn memory_total(proc: &Path) -> Result<u64, HostError> {
    let path = proc.join("meminfo");
    let text = read(&path)?;
    let kib = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or(HostError::Missing { path, field: "MemTotal" })?;
    Ok(kib * 1024)
}

/// CPUs this process may run on.
pub(crate) fn cpus() -> Result<usize, HostError> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).map_err(HostError::Affinity)?;
    Ok((0..nix::sched::CpuSet::count()).filter(|&i| set.is_set(i).unwrap_or(false)).count())
}

/// 2 when /sys/fs/cgroup is cgroup2 (unified), else 1 (v1 or hybrid).
pub(crate) fn cgroup_version(cgroup_root: &Path) -> Result<u32, HostError> {
    let fs = nix::sys::statfs::statfs(cgroup_root)
        .map_err(|source| HostError::Statfs { path: cgroup_root.to_path_buf(), source })?;
    Ok(if fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC { 2 } else { 1 })
}

/// docker's name for the filesystem holding `path` (its "Backing
/// Filesystem"), looked up at the nearest existing ancestor.
pub(crate) fn backing_filesystem(path: &Path) -> Result<&'static str, HostError> {
    let existing = path.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    let fs = nix::sys::statfs::statfs(existing)
        .map_err(|source| HostError::Statfs { path: existing.to_path_buf(), source })?;
    // docker's daemon/graphdriver fsmagic names.
    #[allow(clippy::unnecessary_cast)] // fs_type_t is not i64 on every target
    let name = match fs.filesystem_type().0 as i64 {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        0x6969 => "nfs",
        0x6573_5546 => "fuse",
        0x5346_544E => "ntfs",
        0x7366_7173 => "squashfs",
        _ => "<unknown>",
    };
    Ok(name)
}

/// What the cgroup controllers let a container be limited by: docker's
/// `sysinfo` checks, the fields of `info` (`MemoryLimit`, `SwapLimit`, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CgroupFeatures {
    pub memory_limit: bool,
    pub swap_limit: bool,
    pub kernel_memory: bool,
    pub kernel_memory_tcp: bool,
    pub oom_kill_disable: bool,
    pub cpu_cfs_period: bool,
    pub cpu_cfs_quota: bool,
    pub cpu_shares: bool,
    pub cpuset: bool,
    pub pids_limit: bool,
}

/// The features of the cgroup tree at `root` (/sys/fs/cgroup) of `version`:
/// on v1 (and hybrid) the interface files of each controller's mount, as
/// docker's `pkg/sysinfo` reads them; on v2 the root's `cgroup.controllers`.
pub(crate) fn cgroup_features(root: &Path, version: u32) -> CgroupFeatures {
    if version == 2 {
        let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
        return CgroupFeatures {
            memory_limit: has("memory"),
            swap_limit: has("memory"),
            cpu_cfs_period: has("cpu"),
            cpu_cfs_quota: has("cpu"),
            cpu_shares: has("cpu"),
            cpuset: has("cpuset"),
            pids_limit: has("pids"),
            ..CgroupFeatures::default()
        };
    }
    let file = |ctrl: &str, name: &str| root.join(ctrl).join(name).exists();
    CgroupFeatures {
        memory_limit: file("memory", "memory.limit_in_bytes"),
        swap_limit: file("memory", "memory.memsw.limit_in_bytes"),
        kernel_memory: file("memory", "memory.kmem.limit_in_bytes"),
        kernel_memory_tcp: file("memory", "memory.kmem.tcp.limit_in_bytes"),
        oom_kill_disable: file("memory", "memory.oom_control"),
        cpu_cfs_period: file("cpu", "cpu.cfs_period_us"),
        cpu_cfs_quota: file("cpu", "cpu.cfs_quota_us"),
        cpu_shares: file("cpu", "cpu.shares"),
        cpuset: file("cpuset", "cpuset.cpus"),
        pids_limit: root.join("pids").is_dir(),
    }
}

impl CgroupFeatures {
    /// docker's warnings for what is missing (daemon/info_unix.go).
    pub(crate) fn warnings(&self, version: u32) -> Vec<String> {
        let v1 = version == 1;
        [
            (self.memory_limit, true, "No memory limit support"),
            (self.swap_limit, true, "No swap limit support"),
            (self.kernel_memory_tcp, v1, "No kernel memory TCP limit support"),
            (self.oom_kill_disable, v1, "No oom kill disable support"),
            (self.cpu_cfs_quota, true, "No cpu cfs quota support"),
            (self.cpu_cfs_period, true, "No cpu cfs period support"),
            (self.cpu_shares, true, "No cpu shares support"),
            (self.cpuset, true, "No cpuset support"),
        ]
        .into_iter()
        .filter(|(has, applies, _)| !has && *applies)
        .map(|(_, _, w)| format!("WARNING: {w}"))
        .collect()
    }
}

/// Whether the kernel forwards IPv4 (`net.ipv4.ip_forward`).
pub(crate) fn ipv4_forwarding(proc: &Path) -> bool {
    std::fs::read_to_string(proc.join("sys/net/ipv4/ip_forward")).is_ok_and(|v| v.trim() == "1")
}

/// Whether the filesystem holding `path` fills in `d_type` (overlay needs
/// it; docker's "Supports d_type"): an entry of the nearest existing
/// ancestor's listing carries its type without a stat.
pub(crate) fn supports_d_type(path: &Path) -> bool {
    use nix::dir::Dir;
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    let existing = path.ancestors().find(|p| p.is_dir()).unwrap_or(Path::new("/"));
    let Ok(mut dir) = Dir::open(existing, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()) else {
        return false;
    };
    // "." is always listed, so there is at least one entry to look at.
    dir.iter().flatten().next().is_some_and(|e| e.file_type().is_some())
}

/// A stable identifier of this store on this host, in UUID form (docker's
/// `ID`, its engine-id): derived from /etc/machine-id (the host name when
/// there is none) and the data root, so `info` writes nothing.
pub(crate) fn engine_id(machine_id: &Path, proc: &Path, data_root: &Path) -> String {
    use sha2::Digest as _;
    let host = std::fs::read_to_string(machine_id).or_else(|_| hostname(proc)).unwrap_or_default();
    let mut h = sha2::Sha256::new();
    h.update(host.trim().as_bytes());
    h.update([0]);
    h.update(data_root.as_os_str().as_encoded_bytes());
    let hex: String = h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// What a runc-compatible runtime says about itself: its version and the
/// `key: value` lines that follow ("commit", "spec", "go", "libseccomp").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuntimeVersion {
    pub version: String,
    pub details: Vec<(String, String)>,
}

/// Run `<runtime> --version` and read it.
pub(crate) fn runtime_version(path: &Path) -> Result<RuntimeVersion, HostError> {
    let out = Command::new(path)
        .arg("--version")
        .output()
        .map_err(|source| HostError::RuntimeVersion { path: path.to_path_buf(), source })?;
    if !out.status.success() {
        return Err(HostError::RuntimeFailed {
            path: path.to_path_buf(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(parse_runtime_version(&String::from_utf8_lossy(&out.stdout)))
}

/// "runc version 1.1.5+ds1\ncommit: …\nspec: 1.0.2-dev" or clap's "berth 0.1.0".
fn parse_runtime_version(text: &str) -> RuntimeVersion {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").trim();
    let version = match first.split_once(" version ") {
        Some((_, v)) => v.trim().to_string(),
        None => first.rsplit(' ').next().unwrap_or("").to_string(),
    };
    let details =
        lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    RuntimeVersion { version, details }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_features_of_v1_and_v2() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = dir.path().join("v1");
        for f in ["memory/memory.limit_in_bytes", "memory/memory.oom_control", "cpu/cpu.shares", "pids/x"] {
            std::fs::create_dir_all(v1.join(f).parent().unwrap()).unwrap();
            std::fs::write(v1.join(f), "").unwrap();
        }
        let f = cgroup_features(&v1, 1);
        assert!(f.memory_limit && f.oom_kill_disable && f.cpu_shares && f.pids_limit);
        assert!(!f.swap_limit && !f.cpu_cfs_quota && !f.cpuset);
        assert_eq!(f.warnings(1)[0], "WARNING: No swap limit support");
        let v2 = dir.path().join("v2");
        std::fs::create_dir_all(&v2).unwrap();
        std::fs::write(v2.join("cgroup.controllers"), "cpuset cpu io memory pids\n").unwrap();
        let f = cgroup_features(&v2, 2);
        assert!(f.memory_limit && f.swap_limit && f.cpu_cfs_quota && f.cpuset && f.pids_limit);
        assert!(!f.kernel_memory && !f.oom_kill_disable);
        assert!(f.warnings(2).is_empty());
    }

    #[test]
    fn engine_id_is_a_stable_uuid_per_store() {
        let dir = tempfile::tempdir().unwrap();
        let mid = dir.path().join("machine-id");
        std::fs::write(&mid, "3d1219c7c4c5404aaa1f6d2a48adfda4\n").unwrap();
        let a = engine_id(&mid, dir.path(), Path::new("/var/lib/berth"));
        assert_eq!(a, engine_id(&mid, dir.path(), Path::new("/var/lib/berth")));
        assert_ne!(a, engine_id(&mid, dir.path(), Path::new("/srv/berth")));
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
    }

    #[test]
    fn runtime_versions_of_runc_crun_and_berth() {
        let runc = parse_runtime_version("runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n");
        assert_eq!(runc.version, "1.1.5+ds1");
        assert_eq!(runc.details[0], ("commit".to_string(), "1.1.5+ds1-1+deb12u1".to_string()));
        let crun = parse_runtime_version(
            "crun version 1.8.1\ncommit: f8a0\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SECCOMP\n",
        );
        assert_eq!(crun.version, "1.8.1");
        assert_eq!(crun.details.len(), 3);
        assert_eq!(parse_runtime_version("berth 0.1.0\n").version, "0.1.0");
    }

    #[test]
    fn os_release_and_meminfo_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let os = dir.path().join("os-release");
        std::fs::write(
            &os,
            "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n",
        )
        .unwrap();
        assert_eq!(operating_system(&os).unwrap(), ("Debian GNU/Linux 12 (bookworm)".into(), "12".into()));
        std::fs::write(dir.path().join("meminfo"), "MemTotal:       24576000 kB\nMemFree: 1 kB\n").unwrap();
        assert_eq!(memory_total(dir.path()).unwrap(), 24_576_000 * 1024);
        let err = memory_total(&dir.path().join("nope")).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn live_host_facts_are_sane() {
        assert!(cpus().unwrap() >= 1);
        assert!(!kernel_version(Path::new("/proc")).unwrap().is_empty());
        assert!(matches!(cgroup_version(Path::new("/sys/fs/cgroup")).unwrap(), 1 | 2));
        assert_ne!(backing_filesystem(Path::new("/nonexistent/dir")).unwrap(), "");
    }
}
