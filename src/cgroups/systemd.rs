//! The systemd driver (`--systemd-cgroup`), as runc's libcontainer/cgroups/systemd:
//! `linux.cgroupsPath` is `slice:prefix:name`; the container's init is put in a
//! transient scope `prefix-name.scope` in that slice, created over systemd's
//! D-Bus API (StartTransientUnit, with the limits systemd understands as unit
//! properties and `Delegate=yes`), and everything systemd has no property for is
//! written straight into the scope's cgroup by the cgroupfs driver, which also
//! serves the reading side (pids, stats, freezer). `delete` stops the unit.
//!
//! Our own small blocking D-Bus client (`dbus.rs`) talks to the system bus, first
//! after init is cloned; a host without systemd is refused before that, in
//! `create`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::dbus::{Arg, Bus, DbusError, Value};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;

use super::fs::FsManager;
use super::layout::Layout;
use super::stats::Stats;
use super::{CgroupConfig, CgroupError, CgroupManager, FreezerState, v2};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// `slice:prefix:name` split and checked: the slice, the unit name, and the
/// unit's cgroup path relative to the hierarchy root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unit {
    pub slice: String,
    pub name: String,
    pub cgroup: PathBuf,
}

fn path_error(reason: impl Into<String>) -> CgroupError {
    CgroupError::Invalid { field: "linux.cgroupsPath".into(), reason: reason.into() }
}

impl Unit {
    /// Parse `cgroupsPath` (empty: `system.slice:berth:<id>`, as runc's `:runc:<id>`).
    pub fn parse(path: &str, id: &str) -> Result<Unit, CgroupError> {
        let path = if path.is_empty() { format!("system.slice:berth:{id}") } else { path.to_string() };
        let parts: Vec<&str> = path.split(':').collect();
        let [slice, prefix, name] = parts[..] else {
            return Err(path_error(format!("{path:?}: the systemd driver needs \"slice:prefix:name\"")));
        };
        let slice = if slice.is_empty() { "system.slice" } else { slice };
        if name.is_empty() || name.ends_with(".slice") || name.contains('/') || prefix.contains('/') {
            return Err(path_error(format!("{path:?}: name must be a plain scope name")));
        }
        let name = if prefix.is_empty() { format!("{name}.scope") } else { format!("{prefix}-{name}.scope") };
        let cgroup = expand_slice(slice).map_err(path_error)?.join(&name);
        Ok(Unit { slice: slice.to_string(), name, cgroup })
    }
}

/// `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice` (systemd's slice nesting).
pub(super) fn expand_slice(slice: &str) -> Result<PathBuf, String> {
    let Some(base) = slice.strip_suffix(".slice") else {
        return Err(format!("{slice:?} is not a slice (must end in .slice)"));
    };
    if slice.contains('/') {
        return Err(format!("{slice:?}: a slice name has no '/'"));
    }
    let mut path = PathBuf::from("/");
    if base == "-" {
        return Ok(path);
    }
    let mut prefix = String::new();
    for part in base.split('-') {
        if part.is_empty() {
            return Err(format!("{slice:?}: empty component"));
        }
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
    }
    Ok(path)
}

/// `AllowedCPUs`/`AllowedMemoryNodes` take a bitmask: byte i bit j is CPU 8i+j.
pub(super) fn list_to_bits(list: &str) -> Result<Vec<u8>, String> {
    let mut bits: Vec<u8> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let parse = |s: &str| s.trim().parse::<usize>().map_err(|_| format!("{list:?} is not a CPU list"));
        let (a, b) = (parse(a)?, parse(b)?);
        if a > b || b >= 8192 {
            return Err(format!("{list:?} is not a CPU list"));
        }
        for n in a..=b {
            if bits.len() <= n / 8 {
                bits.resize(n / 8 + 1, 0);
            }
            bits[n / 8] |= 1 << (n % 8);
        }
    }
    Ok(bits)
}

/// runc's CPUQuotaPerSecUSec: quota per period scaled to one second, rounded up
/// to systemd's 10 ms granularity; no quota is "infinity".
pub(super) fn quota_per_sec(quota: i64, period: u64) -> u64 {
    if quota <= 0 {
        return u64::MAX;
    }
    let period = if period == 0 { 100_000 } else { period };
    let per_sec = (quota as u64).saturating_mul(1_000_000) / period;
    per_sec.div_ceil(10_000) * 10_000
}

/// The unit properties for `r` that systemd understands; the rest is written
/// directly into the cgroup.
pub(super) fn properties(r: &LinuxResources) -> Result<Vec<(&'static str, Value)>, CgroupError> {
    let mut p: Vec<(&'static str, Value)> = Vec::new();
    let bad = |field: &str, reason: String| CgroupError::Invalid { field: field.into(), reason };
    if let Some(mem) = r.memory() {
        if let Some(l) = mem.limit() {
            p.push(("MemoryMax", Value::U64(if l > 0 { l as u64 } else { u64::MAX })));
        }
        if let Some(l) = mem.reservation().filter(|l| *l > 0) {
            p.push(("MemoryLow", Value::U64(l as u64)));
        }
        if let Some(s) = mem.swap() {
            let v = v2::swap_max(s, mem.limit()).map_err(|e| bad("linux.resources.memory.swap", e))?;
            p.push(("MemorySwapMax", Value::U64(v.parse().unwrap_or(u64::MAX))));
        }
    }
    if let Some(cpu) = r.cpu() {
        if let Some(s) = cpu.shares().filter(|s| *s > 0) {
            p.push(("CPUWeight", Value::U64(v2::shares_to_weight(s))));
        }
        if let Some(q) = cpu.quota() {
            p.push(("CPUQuotaPerSecUSec", Value::U64(quota_per_sec(q, cpu.period().unwrap_or(0)))));
        }
        if let Some(per) = cpu.period().filter(|p| *p > 0) {
            p.push(("CPUQuotaPeriodUSec", Value::U64(per)));
        }
        if let Some(c) = cpu.cpus().as_deref().filter(|s| !s.is_empty()) {
            p.push(("AllowedCPUs", Value::Bytes(list_to_bits(c).map_err(|e| bad("linux.resources.cpu.cpus", e))?)));
        }
        if let Some(m) = cpu.mems().as_deref().filter(|s| !s.is_empty()) {
            let bits = list_to_bits(m).map_err(|e| bad("linux.resources.cpu.mems", e))?;
            p.push(("AllowedMemoryNodes", Value::Bytes(bits)));
        }
    }
    if let Some(pids) = r.pids() {
        p.push(("TasksMax", Value::U64(if pids.limit() > 0 { pids.limit() as u64 } else { u64::MAX })));
    }
    if let Some(w) = r.block_io().as_ref().and_then(|b| b.weight()) {
        p.push(("IOWeight", Value::U64(v2::blkio_weight_to_io(w))));
    }
    Ok(p)
}

pub struct SystemdManager {
    unit: Unit,
    fs: FsManager,
    conn: RefCell<Option<Bus>>,
    /// Limits given before the scope exists (create sets them before init is
    /// cloned; systemd needs init's pid to make the scope).
    pending: RefCell<Option<LinuxResources>>,
}

fn dbus(what: &'static str, unit: &str) -> impl FnOnce(DbusError) -> CgroupError {
    let unit = unit.to_string();
    move |source| CgroupError::Systemd { what, unit, source }
}

impl SystemdManager {
    pub fn new(layout: &Layout, config: &CgroupConfig) -> Result<SystemdManager, CgroupError> {
        if config.rootless {
            return Err(CgroupError::Unsupported {
                field: "--systemd-cgroup".into(),
                reason: "the systemd driver for rootless containers (the user's systemd) is not supported".into(),
            });
        }
        let unit = Unit::parse(&config.path.to_string_lossy(), &config.id)?;
        let fs_config = CgroupConfig { path: unit.cgroup.clone(), systemd: false, ..config.clone() };
        let fs = FsManager::new(layout, &BTreeMap::new(), &fs_config)?;
        Ok(SystemdManager { unit, fs, conn: RefCell::new(None), pending: RefCell::new(None) })
    }

    /// Call a method of systemd's manager, connecting on first use.
    fn call(&self, member: &str, args: &[Arg<'_>]) -> Result<Option<String>, DbusError> {
        let mut conn = self.conn.borrow_mut();
        if conn.is_none() {
            *conn = Some(Bus::system()?);
        }
        let bus = conn.as_mut().expect("set just above");
        Ok(bus.call(DEST, PATH, MANAGER, member, args)?.first)
    }

    /// The unit's ActiveState, or None when systemd does not know it.
    fn active_state(&self) -> Option<String> {
        let path = self.call("GetUnit", &[Arg::Str(&self.unit.name)]).ok()??;
        let mut conn = self.conn.borrow_mut();
        let props = "org.freedesktop.DBus.Properties";
        let args = [Arg::Str("org.freedesktop.systemd1.Unit"), Arg::Str("ActiveState")];
        conn.as_mut()?.call(DEST, &path, props, "Get", &args).ok()?.first
    }

    fn is_started(&self) -> bool {
        self.fs.paths().iter().any(|p| p.join("cgroup.procs").exists())
    }

    /// Start the transient scope with `pid` in it, then apply what is pending.
    fn start(&self, pid: Pid) -> Result<(), CgroupError> {
        let pending = self.pending.borrow_mut().take().unwrap_or_default();
        let mut props: Vec<(&str, Value)> = vec![
            ("Description", Value::Str(format!("berth container {}", self.unit.name))),
            ("Slice", Value::Str(self.unit.slice.clone())),
            ("Delegate", Value::Bool(true)),
            ("PIDs", Value::U32s(vec![pid.as_raw() as u32])),
            ("DefaultDependencies", Value::Bool(false)),
            ("MemoryAccounting", Value::Bool(true)),
            ("CPUAccounting", Value::Bool(true)),
            ("IOAccounting", Value::Bool(true)),
            ("TasksAccounting", Value::Bool(true)),
        ];
        props.extend(properties(&pending)?);
        let args = [Arg::Str(&self.unit.name), Arg::Str("replace"), Arg::Props(&props), Arg::NoAux];
        self.call("StartTransientUnit", &args).map_err(dbus("start transient unit", &self.unit.name))?;
        // The job is done once the scope is active (systemd moved the pid).
        let mut state = None;
        for _ in 0..1000 {
            state = self.active_state();
            match state.as_deref() {
                Some("active") => break,
                Some("failed") => break,
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        if state.as_deref() != Some("active") {
            return Err(CgroupError::Unsupported {
                field: "--systemd-cgroup".into(),
                reason: format!("unit {} is {} instead of active", self.unit.name, state.as_deref().unwrap_or("gone")),
            });
        }
        // Enable controllers down to the scope (runc's fs2 CreateCgroupPath), then
        // write every field directly: what systemd has no property for, and the
        // same values again for those it has, so the files match at once.
        self.fs.create()?;
        self.fs.set(&pending)
    }
}

impl CgroupManager for SystemdManager {
    fn create(&self) -> Result<(), CgroupError> {
        // Fail before init exists when systemd is not running (runc's
        // IsRunningSystemd, sd_booted(3)). The bus itself is not contacted yet:
        // only once init's pid exists can the scope be made.
        if !Path::new("/run/systemd/system").is_dir() {
            return Err(CgroupError::Unsupported {
                field: "--systemd-cgroup".into(),
                reason: format!(
                    "cannot create {}: systemd is not running on this host (no /run/systemd/system)",
                    self.unit.name
                ),
            });
        }
        Ok(())
    }

    fn check(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        self.fs.check(resources)
    }

    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        if !self.is_started() {
            *self.pending.borrow_mut() = Some(resources.clone());
            // Values systemd would reject are still reported before clone.
            properties(resources)?;
            return Ok(());
        }
        let props = properties(resources)?;
        if !props.is_empty() {
            self.call("SetUnitProperties", &[Arg::Str(&self.unit.name), Arg::Bool(true), Arg::Props(&props)])
                .map_err(dbus("set properties of", &self.unit.name))?;
        }
        self.fs.set(resources)
    }

    fn add_task(&self, pid: Pid) -> Result<(), CgroupError> {
        if self.is_started() {
            // exec: join the scope's cgroup directly, as runc does.
            return self.fs.add_task(pid);
        }
        self.start(pid)
    }

    fn pids(&self) -> Result<Vec<Pid>, CgroupError> {
        self.fs.pids()
    }

    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError> {
        self.fs.freeze(state)
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        self.fs.is_frozen()
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        match self.call("StopUnit", &[Arg::Str(&self.unit.name), Arg::Str("replace")]) {
            Ok(_) => {
                for _ in 0..1000 {
                    if !matches!(self.active_state().as_deref(), Some("active") | Some("deactivating")) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            // Already gone (the scope ends by itself once its last process exits).
            Err(DbusError::Method { name, .. }) if name.ends_with("NoSuchUnit") => {}
            Err(e) => return Err(dbus("stop unit", &self.unit.name)(e)),
        }
        let _ = self.call("ResetFailedUnit", &[Arg::Str(&self.unit.name)]);
        // Sub-cgroups the container made itself are ours to remove.
        self.fs.destroy()
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.fs.paths()
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        self.fs.stats()
    }

    fn oom_kills(&self) -> u64 {
        self.fs.oom_kills()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_path_names_a_scope_in_a_slice() {
        let u = Unit::parse("machine-web.slice:berth:c1", "c1").unwrap();
        assert_eq!(u.name, "berth-c1.scope");
        assert_eq!(u.cgroup, PathBuf::from("/machine.slice/machine-web.slice/berth-c1.scope"));
        let u = Unit::parse("", "c2").unwrap();
        assert_eq!(u.cgroup, PathBuf::from("/system.slice/berth-c2.scope"));
        let u = Unit::parse(":p:c3", "c3").unwrap();
        assert_eq!(u.slice, "system.slice");
        assert!(Unit::parse("/abs/path", "c").unwrap_err().to_string().starts_with("linux.cgroupsPath"));
        assert!(Unit::parse("a.slice:p:", "c").is_err());
        assert_eq!(expand_slice("-.slice").unwrap(), PathBuf::from("/"));
        assert!(expand_slice("a--b.slice").is_err());
    }

    #[test]
    fn cpu_lists_become_bitmasks() {
        assert_eq!(list_to_bits("0").unwrap(), vec![1]);
        assert_eq!(list_to_bits("0-1,3").unwrap(), vec![0b1011]);
        assert_eq!(list_to_bits("9").unwrap(), vec![0, 0b10]);
        assert!(list_to_bits("3-1").is_err());
    }

    #[test]
    fn quota_rounds_up_to_ten_ms_like_runc() {
        assert_eq!(quota_per_sec(50_000, 100_000), 500_000);
        assert_eq!(quota_per_sec(1_234, 100_000), 20_000);
        assert_eq!(quota_per_sec(-1, 100_000), u64::MAX);
    }

    #[test]
    fn properties_cover_what_systemd_understands() {
        let r: LinuxResources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 67108864},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0"},
            "pids": {"limit": 20}
        }))
        .unwrap();
        let p = properties(&r).unwrap();
        let get = |k: &str| p.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("MemoryMax"), Some(Value::U64(67_108_864)));
        assert_eq!(get("CPUWeight"), Some(Value::U64(39)));
        assert_eq!(get("CPUQuotaPerSecUSec"), Some(Value::U64(500_000)));
        assert_eq!(get("TasksMax"), Some(Value::U64(20)));
        assert_eq!(get("AllowedCPUs"), Some(Value::Bytes(vec![1u8])));
    }
}
