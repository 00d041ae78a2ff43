//! The OCI bundle of a container: config.json built from its record (the
//! image's config merged with the flags at create time, as docker's daemon
//! merges them) and docker's defaults: namespaces, mounts, capabilities,
//! seccomp, masked and read-only paths, /dev/shm of 64 MiB.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::imageconfig::process_env;
use super::record::{Container, HostConfig};
use super::security::{self, SecurityError};
use super::user::{self, UserError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum BundleError {
    #[error("No command specified")]
    NoCommand,
    #[error("user {0:?}")]
    User(String, #[source] UserError),
    #[error(transparent)]
    Security(#[from] SecurityError),
    #[error(transparent)]
    HostOpt(#[from] super::hostopts::HostOptError),
    /// `--group-add`: a name the container's /etc/group lacks.
    #[error(transparent)]
    GroupAdd(UserError),
    #[error("--init: no tini-static or catatonit found on PATH")]
    NoInit,
    #[error("--security-opt {0:?}: unknown option")]
    SecurityOpt(String),
    #[error("working directory {path:?} in the rootfs")]
    WorkDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("write {path:?}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where a container's files live, for the spec's mounts.
pub(crate) struct BundlePaths<'a> {
    pub rootfs: &'a Path,
    /// Holds hostname, hosts, resolv.conf.
    pub dir: &'a Path,
    pub cgroup_v2: bool,
    /// The network namespace to join (`network::start`'s), if any.
    pub netns: Option<&'a Path>,
    /// The init pids of the containers `--pid container:X` and `--ipc
    /// container:X` name (resolved at start, when they must run).
    pub joins: Joins,
}

/// Init pids of other containers whose namespaces this one joins.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Joins {
    pub pid: Option<i32>,
    pub ipc: Option<i32>,
}

/// The init binary `--init` bind-mounts (docker's docker-init is tini).
pub(crate) fn find_init() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.push(PathBuf::from("/usr/libexec/podman"));
    ["tini-static", "catatonit"].iter().find_map(|name| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()))
}

/// Build config.json for the container whose rootfs is mounted at `paths.rootfs`.
pub(crate) fn spec(c: &Container, paths: &BundlePaths<'_>) -> Result<Value, BundleError> {
    let cfg = &c.config;
    let hc = &c.host_config;
    let user = user::resolve_in(paths.rootfs, &cfg.user).map_err(|e| BundleError::User(cfg.user.clone(), e))?;
    let (mut path, mut args) = (c.path.clone(), c.args.clone());
    let mut mounts = default_mounts(c, paths);
    if hc.init == Some(true) {
        let init = find_init().ok_or(BundleError::NoInit)?;
        mounts.push(
            json!({"destination": "/sbin/docker-init", "type": "bind", "source": init, "options": ["bind", "ro"]}),
        );
        args.insert(0, std::mem::replace(&mut path, "/sbin/docker-init".into()));
        args.insert(0, "--".into());
    }
    let mut argv = vec![path];
    argv.extend(args);
    let gids = all_gids(c, &user, paths.rootfs)?;
    let caps = security::capabilities(&hc.cap_add, &hc.cap_drop, hc.privileged)?;
    let (no_new_privs, seccomp_file, seccomp_off) = security_opts(&hc.security_opt)?;
    let cwd = if cfg.working_dir.is_empty() { "/".to_string() } else { cfg.working_dir.clone() };
    let process = json!({
        "terminal": cfg.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": gids},
        "args": argv,
        "env": process_env(cfg, &user.home),
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": rlimits(c),
        "noNewPrivileges": no_new_privs,
        "oomScoreAdj": hc.oom_score_adj,
    });
    let devices = super::hostopts::devices(&hc.devices)?;
    let mut resources = resources(c);
    if !hc.privileged {
        let rules = resources["devices"].as_array_mut().expect("resources() lists device rules");
        rules.extend(devices.iter().map(|d| d.rule.clone()));
    }
    let mut linux = json!({
        "namespaces": namespaces(c, paths),
        "cgroupsPath": cgroups_path(c),
        "resources": resources,
    });
    if !devices.is_empty() {
        linux["devices"] = devices.iter().map(|d| d.node.clone()).collect();
    }
    if !hc.sysctls.is_empty() {
        linux["sysctl"] = json!(hc.sysctls);
    }
    if !hc.privileged {
        linux["maskedPaths"] = json!(security::MASKED_PATHS);
        linux["readonlyPaths"] = json!(security::READONLY_PATHS);
        if !seccomp_off {
            linux["seccomp"] = security::seccomp(seccomp_file.as_deref(), &caps)?;
        }
    }
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": paths.rootfs, "readonly": hc.readonly_rootfs},
        "mounts": mounts,
        "linux": linux,
        "annotations": {"org.berth.container.name": c.name},
    });
    // The host's UTS namespace keeps the host's names (docker's --uts host).
    if hc.uts_mode != "host" {
        spec["hostname"] = json!(cfg.hostname);
        if !cfg.domainname.is_empty() {
            spec["domainname"] = json!(cfg.domainname);
        }
    }
    Ok(spec)
}

/// `<cgroup parent>/<id>`, the parent `/berthctl` unless `--cgroup-parent` says.
pub(crate) fn cgroups_path(c: &Container) -> String {
    let parent = c.host_config.cgroup_parent.trim_end_matches('/');
    let parent = if parent.is_empty() { "/berthctl" } else { parent };
    let sep = if parent.starts_with('/') { "" } else { "/" };
    format!("{sep}{parent}/{}", c.id)
}

/// docker's supplementary groups: the primary group first, then the
/// user's groups from /etc/group (moby's getUser, since CVE-2023-25173).
pub(crate) fn additional_gids(u: &user::ExecUser) -> Vec<u32> {
    let mut gids = vec![u.gid];
    gids.extend(u.additional_gids.iter().copied().filter(|g| *g != u.gid));
    gids
}

/// The process's rlimits: `--ulimit`s (an exec's too, as docker's).
pub(crate) fn rlimits(c: &Container) -> Vec<Value> {
    let limit = |u: &super::record::Ulimit| json!({"type": format!("RLIMIT_{}", u.name.to_ascii_uppercase()), "soft": u.soft, "hard": u.hard});
    c.host_config.ulimits.iter().map(limit).collect()
}

/// The user's groups, then `--group-add`'s (an exec's too, as docker's).
pub(crate) fn all_gids(c: &Container, u: &user::ExecUser, rootfs: &Path) -> Result<Vec<u32>, BundleError> {
    let mut gids = additional_gids(u);
    for g in user::group_ids_in(rootfs, &c.host_config.group_add).map_err(BundleError::GroupAdd)? {
        if !gids.contains(&g) {
            gids.push(g);
        }
    }
    Ok(gids)
}

/// `--security-opt`: (no-new-privileges, seccomp profile file, seccomp off).
fn security_opts(opts: &[String]) -> Result<(bool, Option<String>, bool), BundleError> {
    let (mut nnp, mut file, mut off) = (false, None, false);
    for o in opts {
        let (k, v) = o.split_once(['=', ':']).unwrap_or((o.as_str(), ""));
        match (k, v) {
            ("no-new-privileges", "" | "true") => nnp = true,
            ("no-new-privileges", "false") => nnp = false,
            ("seccomp", "unconfined") => off = true,
            ("seccomp", f) if !f.is_empty() => file = Some(f.to_string()),
            ("label", _) | ("apparmor", _) => {}
            _ => return Err(BundleError::SecurityOpt(o.clone())),
        }
    }
    Ok((nnp, file, off))
}

/// docker's namespaces: each private unless its mode says host (left out:
/// the runtime's) or container:X (that container's, by /proc/<pid>/ns).
fn namespaces(c: &Container, paths: &BundlePaths<'_>) -> Vec<Value> {
    let hc = &c.host_config;
    let joined = |typ: &str, pid: Option<i32>| match pid {
        Some(p) => json!({"type": typ, "path": format!("/proc/{p}/ns/{}", if typ == "network" { "net" } else { typ })}),
        None => json!({"type": typ}),
    };
    let mut ns = vec![json!({"type": "mount"})];
    if hc.pid_mode != "host" {
        ns.push(joined("pid", paths.joins.pid));
    }
    if hc.ipc_mode != "host" {
        ns.push(joined("ipc", paths.joins.ipc));
    }
    if hc.uts_mode != "host" {
        ns.push(json!({"type": "uts"}));
    }
    match paths.netns {
        Some(path) => ns.push(json!({"type": "network", "path": path})),
        None if hc.network_mode != "host" => ns.push(json!({"type": "network"})),
        None => {}
    }
    // docker's default cgroupns mode: private on cgroup v2, host on v1 and hybrid.
    let private = match hc.cgroupns_mode.as_str() {
        "" => paths.cgroup_v2,
        mode => mode == "private",
    };
    if private {
        ns.push(json!({"type": "cgroup"}));
    }
    ns
}

fn resources(c: &Container) -> Value {
    let hc = &c.host_config;
    let mut r = limits(hc);
    r["devices"] = json!([{"allow": false, "access": "rwm"}]);
    if hc.privileged {
        r["devices"] = json!([{"allow": true, "access": "rwm"}]);
    }
    r
}

/// The `linux.resources` limits of a HostConfig (no device rules): what a
/// start writes, and what `update` hands a running container's runtime.
pub(crate) fn limits(hc: &HostConfig) -> Value {
    let mut r = json!({});
    let mut memory = serde_json::Map::new();
    if hc.memory > 0 {
        memory.insert("limit".into(), json!(hc.memory));
        memory.insert("swap".into(), json!(super::record::swap_in_force(hc.memory, hc.memory_swap)));
    }
    if hc.memory_reservation > 0 {
        memory.insert("reservation".into(), json!(hc.memory_reservation));
    }
    if let Some(s) = hc.memory_swappiness {
        memory.insert("swappiness".into(), json!(s));
    }
    if hc.oom_kill_disable == Some(true) {
        memory.insert("disableOOMKiller".into(), json!(true));
    }
    if !memory.is_empty() {
        r["memory"] = Value::Object(memory);
    }
    if hc.blkio_weight > 0 {
        r["blockIO"] = json!({"weight": hc.blkio_weight});
    }
    let mut cpu = serde_json::Map::new();
    if hc.nano_cpus > 0 {
        cpu.insert("period".into(), json!(100_000));
        cpu.insert("quota".into(), json!(hc.nano_cpus / 10_000));
    } else {
        // docker: --cpu-period/--cpu-quota only without --cpus.
        if hc.cpu_period > 0 {
            cpu.insert("period".into(), json!(hc.cpu_period));
        }
        if hc.cpu_quota != 0 {
            cpu.insert("quota".into(), json!(hc.cpu_quota));
        }
    }
    if hc.cpu_realtime_period > 0 {
        cpu.insert("realtimePeriod".into(), json!(hc.cpu_realtime_period));
    }
    if hc.cpu_realtime_runtime != 0 {
        cpu.insert("realtimeRuntime".into(), json!(hc.cpu_realtime_runtime));
    }
    if !hc.cpuset_mems.is_empty() {
        cpu.insert("mems".into(), json!(hc.cpuset_mems));
    }
    if hc.cpu_shares > 0 {
        cpu.insert("shares".into(), json!(hc.cpu_shares));
    }
    if !hc.cpuset_cpus.is_empty() {
        cpu.insert("cpus".into(), json!(hc.cpuset_cpus));
    }
    if !cpu.is_empty() {
        r["cpu"] = Value::Object(cpu);
    }
    if let Some(limit) = hc.pids_limit.filter(|l| *l != 0) {
        r["pids"] = json!({"limit": limit});
    }
    r
}

fn default_mounts(c: &Container, paths: &BundlePaths<'_>) -> Vec<Value> {
    let hc = &c.host_config;
    let shm = if hc.shm_size > 0 { hc.shm_size } else { 64 * 1024 * 1024 };
    let sys_opt = if hc.privileged { "rw" } else { "ro" };
    let mut m = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", sys_opt]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", sys_opt]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
    ];
    // docker's /dev/shm by IPC mode: none has none; host shares the host's;
    // the others get their own. With container:X the IPC namespace (SysV
    // IPC, message queues) is X's, but X's /dev/shm lives in X's mount
    // namespace, which a bind mount cannot reach: docker keeps it on the
    // host for that; berthctl does not yet, so /dev/shm files are not shared.
    match hc.ipc_mode.as_str() {
        "none" => {}
        "host" => m.push(json!({"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind", "rprivate"]})),
        _ => m.push(json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={shm}")]})),
    }
    // docker mounts these read-only when the rootfs is read-only.
    let rw = if hc.readonly_rootfs { "ro" } else { "rw" };
    for file in ["resolv.conf", "hostname", "hosts"] {
        m.push(json!({"destination": format!("/etc/{file}"), "type": "bind", "source": paths.dir.join(file), "options": ["rbind", "rprivate", rw]}));
    }
    for (dst, opts) in &hc.tmpfs {
        let mut o = vec!["nosuid".to_string(), "nodev".to_string(), "noexec".to_string()];
        o.extend(opts.split(',').filter(|s| !s.is_empty()).map(str::to_string));
        m.push(json!({"destination": dst, "type": "tmpfs", "source": "tmpfs", "options": o}));
    }
    m
}

/// Create the working directory inside the mounted rootfs when the image
/// lacks it (docker does at start), never following a symlink out of it.
pub(crate) fn ensure_workdir(rootfs: &Path, workdir: &str) -> Result<(), BundleError> {
    if workdir.is_empty() || workdir == "/" {
        return Ok(());
    }
    crate::container::rootfs::mkdir_in_root(rootfs, workdir)
        .map_err(|source| BundleError::WorkDir { path: workdir.to_string(), source })
}

/// /etc/hostname, /etc/hosts and /etc/resolv.conf for the container, as
/// docker writes them (no network: localhost entries only; resolv.conf
/// from the host without loopback name servers).
pub(crate) fn write_etc_files(dir: &Path, hostname: &str, host_network: bool) -> Result<(), BundleError> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| BundleError::Write { path, source })
    };
    write("hostname", format!("{hostname}\n"))?;
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if host_network {
        write("hosts", std::fs::read_to_string("/etc/hosts").unwrap_or_default())?;
        write("resolv.conf", host_resolv)?;
        return Ok(());
    }
    write(
        "hosts",
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n".to_string(),
    )?;
    write("resolv.conf", container_resolv_conf(&host_resolv))
}

/// moby libnetwork/resolvconf FilterResolvDNS: drop loopback name servers
/// (they mean nothing in another network namespace); with none left, use
/// docker's defaults.
fn container_resolv_conf(host: &str) -> String {
    let mut out = String::new();
    let mut servers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let addr = words.next().unwrap_or("");
            if addr.starts_with("127.") || addr == "::1" {
                continue;
            }
            servers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if servers == 0 {
        out.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_servers() {
        assert_eq!(
            container_resolv_conf("nameserver 127.0.0.53\nsearch x\n"),
            "search x\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        assert_eq!(container_resolv_conf("nameserver 10.0.0.1\n"), "nameserver 10.0.0.1\n");
    }

    #[test]
    fn resources_follow_docker_rules() {
        let mut c = Container::default();
        c.host_config.memory = 64 << 20;
        c.host_config.nano_cpus = 1_500_000_000;
        c.host_config.pids_limit = Some(100);
        let r = resources(&c);
        assert_eq!(r["memory"]["swap"], json!(128 << 20));
        assert_eq!(r["cpu"]["quota"], json!(150_000));
        assert_eq!(r["pids"]["limit"], json!(100));
    }

    #[test]
    fn spec_has_docker_defaults() {
        let s = spec_of(|_| {}, Joins::default());
        assert_eq!(s["process"]["capabilities"]["bounding"].as_array().unwrap().len(), 14);
        assert!(s["linux"]["maskedPaths"].as_array().unwrap().iter().any(|p| p == "/proc/kcore"));
        let shm = s["mounts"].as_array().unwrap().iter().find(|m| m["destination"] == "/dev/shm").unwrap();
        assert!(shm["options"].as_array().unwrap().iter().any(|o| o == "size=67108864"));
        assert_eq!(s["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(s["process"]["noNewPrivileges"], false);
    }

    fn spec_of(edit: impl FnOnce(&mut Container), joins: Joins) -> Value {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Container { id: "abc".into(), path: "sh".into(), ..Default::default() };
        c.host_config.ipc_mode = "private".into();
        edit(&mut c);
        spec(&c, &BundlePaths { rootfs: dir.path(), dir: dir.path(), cgroup_v2: false, netns: None, joins }).unwrap()
    }

    fn ns_types(s: &Value) -> Vec<String> {
        let list = s["linux"]["namespaces"].as_array().unwrap();
        list.iter().map(|n| format!("{}{}", n["type"].as_str().unwrap(), n["path"].as_str().unwrap_or(""))).collect()
    }

    fn shm(s: &Value) -> Option<Value> {
        s["mounts"].as_array().unwrap().iter().find(|m| m["destination"] == "/dev/shm").cloned()
    }

    #[test]
    fn namespace_modes_choose_private_host_or_joined() {
        let s = spec_of(|_| {}, Joins::default());
        assert_eq!(ns_types(&s), ["mount", "pid", "ipc", "uts", "network"]);
        assert_eq!(shm(&s).unwrap()["type"], "tmpfs");
        let s = spec_of(
            |c| {
                let hc = &mut c.host_config;
                (hc.pid_mode, hc.ipc_mode, hc.uts_mode, hc.cgroupns_mode) =
                    ("host".into(), "host".into(), "host".into(), "private".into());
            },
            Joins::default(),
        );
        assert_eq!(ns_types(&s), ["mount", "network", "cgroup"]);
        assert_eq!(shm(&s).unwrap()["source"], "/dev/shm");
        assert!(s.get("hostname").is_none(), "the host's UTS namespace keeps its name");
        let s = spec_of(
            |c| (c.host_config.pid_mode, c.host_config.ipc_mode) = ("container:x".into(), "container:x".into()),
            Joins { pid: Some(42), ipc: Some(42) },
        );
        assert_eq!(ns_types(&s), ["mount", "pid/proc/42/ns/pid", "ipc/proc/42/ns/ipc", "uts", "network"]);
        assert_eq!(shm(&s).unwrap()["type"], "tmpfs");
        assert!(shm(&spec_of(|c| c.host_config.ipc_mode = "none".into(), Joins::default())).is_none());
    }

    #[test]
    fn host_options_reach_the_spec() {
        let s = spec_of(
            |c| {
                let hc = &mut c.host_config;
                hc.devices = vec![crate::container::record::DeviceMapping {
                    path_on_host: "/dev/null".into(),
                    path_in_container: "/dev/n".into(),
                    cgroup_permissions: "r".into(),
                }];
                hc.sysctls.insert("kernel.shmmax".into(), "1".into());
                (hc.oom_score_adj, hc.memory_reservation, hc.memory_swappiness) = (5, 10 << 20, Some(7));
                (hc.oom_kill_disable, hc.blkio_weight) = (Some(true), 300);
                c.config.domainname = "d.example".into();
            },
            Joins::default(),
        );
        assert_eq!(s["linux"]["devices"][0]["path"], "/dev/n");
        let rules = s["linux"]["resources"]["devices"].as_array().unwrap();
        assert_eq!(rules.last().unwrap(), &json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "r"}));
        assert_eq!(s["linux"]["sysctl"]["kernel.shmmax"], "1");
        assert_eq!(s["process"]["oomScoreAdj"], 5);
        let mem = &s["linux"]["resources"]["memory"];
        assert_eq!((mem["reservation"].as_i64(), mem["swappiness"].as_i64()), (Some(10 << 20), Some(7)));
        assert_eq!(mem["disableOOMKiller"], true);
        assert_eq!(s["linux"]["resources"]["blockIO"]["weight"], 300);
        assert_eq!(s["domainname"], "d.example");
    }

    #[test]
    fn privileged_has_no_seccomp_and_no_masks() {
        let s = spec_of(|c| c.host_config.privileged = true, Joins::default());
        assert!(s["linux"].get("seccomp").is_none());
        assert!(s["linux"].get("maskedPaths").is_none());
    }
}
