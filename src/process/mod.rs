//! The container process's own settings, applied by init inside the container:
//! rlimits, user and groups, umask, cwd, env, and the path of the program to exec.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::resource::{Resource, setrlimit};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{PosixRlimitType, Process};

use crate::sys;

/// personality(2)'s UNAME26 (<linux/personality.h>), which nix defines for
/// glibc targets only.
const UNAME26: nix::sys::personality::Persona = nix::sys::personality::Persona::from_bits_retain(0x0020000);

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("process.rlimits[{index}] ({typ}): set soft {soft} hard {hard}")]
    Rlimit {
        index: usize,
        typ: String,
        soft: u64,
        hard: u64,
        #[source]
        source: sys::Error,
    },
    #[error("process.user: {what}")]
    User {
        what: String,
        #[source]
        source: sys::Error,
    },
    #[error("process.cwd: {path:?}")]
    Cwd {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("process.cwd: {path:?} is not a directory")]
    CwdNotDir { path: PathBuf },
    /// runc's words (and Go's lower-case errno) for a cwd that cannot be
    /// entered: dockerd reads "no such file or directory" in them.
    #[error("process.cwd: chdir to cwd ({path:?}) set in config.json failed: {reason}")]
    Chdir { path: PathBuf, reason: String },
    #[error("exec: {name:?}: executable file not found in $PATH")]
    NotFound { name: String },
    /// A program named by path that is not there: Go's exec.LookPath words,
    /// lower case as Go prints an errno. dockerd reads "no such file or
    /// directory" in them to exit 127, as with runc.
    #[error("exec: {path:?}: stat {}: {reason}", path.display())]
    Stat { path: PathBuf, reason: String },
    #[error("exec: {path:?}: is a directory")]
    IsDir { path: PathBuf },
    #[error("exec: {path:?}: permission denied (not an executable file)")]
    NotExecutable { path: PathBuf },
    /// runc's user.ErrRange: above i32::MAX an id would be taken as -1 ("leave
    /// unchanged") by setresuid and friends, and the process would stay root.
    #[error("process.user.{field}: {id}: uids and gids must be in range 0-2147483647")]
    IdRange { field: &'static str, id: u32 },
    #[error("process.{field}: contains a NUL byte")]
    Nul { field: &'static str },
    #[error("{field}: {value:?} is not valid")]
    Invalid { field: &'static str, value: String },
    #[error("{field}: {value}")]
    Apply {
        field: &'static str,
        value: String,
        #[source]
        source: sys::Error,
    },
}

fn resource(t: PosixRlimitType) -> Option<Resource> {
    use PosixRlimitType as T;
    Some(match t {
        T::RlimitCpu => Resource::RLIMIT_CPU,
        T::RlimitFsize => Resource::RLIMIT_FSIZE,
        T::RlimitData => Resource::RLIMIT_DATA,
        T::RlimitStack => Resource::RLIMIT_STACK,
        T::RlimitCore => Resource::RLIMIT_CORE,
        T::RlimitRss => Resource::RLIMIT_RSS,
        T::RlimitNproc => Resource::RLIMIT_NPROC,
        T::RlimitNofile => Resource::RLIMIT_NOFILE,
        T::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        T::RlimitAs => Resource::RLIMIT_AS,
        T::RlimitLocks => Resource::RLIMIT_LOCKS,
        T::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        T::RlimitNice => Resource::RLIMIT_NICE,
        T::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        T::RlimitRttime => Resource::RLIMIT_RTTIME,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// setrlimit for each `process.rlimits` entry. Raising a hard limit needs
/// CAP_SYS_RESOURCE; without it the error names the entry.
pub fn set_rlimits(process: &Process) -> Result<(), ProcessError> {
    for (index, r) in process.rlimits().as_deref().unwrap_or_default().iter().enumerate() {
        let typ = format!("{:?}", r.typ());
        let Some(res) = resource(r.typ()) else { continue };
        setrlimit(res, r.soft(), r.hard()).map_err(|e| ProcessError::Rlimit {
            index,
            typ: typ.clone(),
            soft: r.soft(),
            hard: r.hard(),
            source: sys::Error::new("setrlimit", e),
        })?;
    }
    Ok(())
}

fn user_err(what: impl Into<String>, call: &'static str) -> impl FnOnce(nix::errno::Errno) -> ProcessError {
    let what = what.into();
    move |e| ProcessError::User { what, source: sys::Error::new(call, e) }
}

/// Supplementary groups, then gid, then uid, as runc orders them. The caller sets
/// PR_SET_KEEPCAPS around this so capabilities survive the uid change.
pub fn switch_user(process: &Process, allow_setgroups: bool) -> Result<(), ProcessError> {
    let user = process.user();
    check_id_range(user)?;
    let uid = Uid::from_raw(user.uid());
    let gid = Gid::from_raw(user.gid());
    if allow_setgroups {
        let groups: Vec<Gid> =
            user.additional_gids().as_deref().unwrap_or_default().iter().map(|g| Gid::from_raw(*g)).collect();
        nix::unistd::setgroups(&groups).map_err(user_err(format!("additionalGids {groups:?}"), "setgroups"))?;
    }
    nix::unistd::setresgid(gid, gid, gid).map_err(user_err(format!("gid {gid}"), "setresgid"))?;
    give_stdio_to(uid);
    nix::unistd::setresuid(uid, uid, uid).map_err(user_err(format!("uid {uid}"), "setresuid"))?;
    if let Some(umask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask as nix::libc::mode_t));
    }
    Ok(())
}

/// Every id of `user` within 0..=i32::MAX, as runc requires.
fn check_id_range(user: &oci_spec::runtime::User) -> Result<(), ProcessError> {
    let extra = user.additional_gids().as_deref().unwrap_or_default().iter().map(|g| ("additionalGids", *g));
    for (field, id) in [("uid", user.uid()), ("gid", user.gid())].into_iter().chain(extra) {
        if id > i32::MAX as u32 {
            return Err(ProcessError::IdRange { field, id });
        }
    }
    Ok(())
}

/// runc's fixStdioPermissions: stdio (a pty slave above all) is made the user's,
/// keeping its group (the pty's is devpts' `gid=`, the tty group), so that the
/// process can use its own terminal. Skipped for /dev/null and for what is
/// already the user's; refusals (an owner not mapped in a user namespace, a
/// read-only /dev) leave it as it is, as in runc.
fn give_stdio_to(uid: Uid) {
    let null = nix::sys::stat::stat("/dev/null").ok().map(|s| s.st_rdev);
    for fd in 0..3 {
        let Ok(st) = nix::sys::stat::fstat(fd) else { continue };
        if st.st_uid == uid.as_raw() || (null == Some(st.st_rdev) && st.st_mode & libc::S_IFMT == libc::S_IFCHR) {
            continue;
        }
        if let Err(e) = nix::unistd::fchown(fd, Some(uid), Some(Gid::from_raw(st.st_gid))) {
            tracing::debug!(fd, error = %e, "stdio left to its owner");
        }
    }
}

/// `process.ioPriority`: ioprio_set for the process (inherited across execve).
pub fn set_io_priority(process: &Process) -> Result<(), ProcessError> {
    use oci_spec::runtime::IOPriorityClass as C;
    let Some(p) = process.io_priority() else { return Ok(()) };
    let class = match p.class() {
        C::IoprioClassRt => 1,
        C::IoprioClassBe => 2,
        C::IoprioClassIdle => 3,
    };
    let level = u32::try_from(p.priority()).ok().filter(|l| *l <= 7).ok_or_else(|| ProcessError::Invalid {
        field: "process.ioPriority.priority",
        value: p.priority().to_string(),
    })?;
    sys::sched::set_io_priority(class, level).map_err(|source| ProcessError::Apply {
        field: "process.ioPriority",
        value: format!("{} {level}", p.class()),
        source,
    })
}

/// `process.scheduler`: sched_setattr for the process (inherited across execve).
pub fn set_scheduler(process: &Process) -> Result<(), ProcessError> {
    use oci_spec::runtime::{LinuxSchedulerFlag as F, LinuxSchedulerPolicy as P};
    let Some(s) = process.scheduler() else { return Ok(()) };
    let policy = match s.policy() {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => 4,
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().as_deref().unwrap_or_default() {
        flags |= match f {
            F::SchedResetOnFork => 0x01,
            F::SchedFlagReclaim => 0x02,
            F::SchedFlagDLOverrun => 0x04,
            F::SchedFlagKeepPolicy => 0x08,
            F::SchedFlagKeepParams => 0x10,
            F::SchedFlagUtilClampMin => 0x20,
            F::SchedFlagUtilClampMax => 0x40,
        };
    }
    let attr = sys::sched::SchedAttr {
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: u32::try_from(s.priority().unwrap_or(0)).map_err(|_| ProcessError::Invalid {
            field: "process.scheduler.priority",
            value: format!("{:?}", s.priority()),
        })?,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
        ..Default::default()
    };
    sys::sched::set_sched_attr(&attr).map_err(|source| ProcessError::Apply {
        field: "process.scheduler",
        value: s.policy().to_string(),
        source,
    })
}

/// `linux.personality`: the execution domain (LINUX or LINUX32) and flags.
pub fn set_personality(linux: &oci_spec::runtime::Linux) -> Result<(), ProcessError> {
    use nix::sys::personality::{self, Persona};
    use oci_spec::runtime::LinuxPersonalityDomain as D;
    let Some(p) = linux.personality() else { return Ok(()) };
    // PER_LINUX is 0 and PER_LINUX32 is 8 (include/uapi/linux/personality.h).
    let mut persona = match p.domain() {
        D::PerLinux => Persona::empty(),
        D::PerLinux32 => Persona::from_bits_retain(0x0008),
    };
    for f in p.flags().as_deref().unwrap_or_default() {
        persona |= match f.as_str() {
            "ADDR_NO_RANDOMIZE" => Persona::ADDR_NO_RANDOMIZE,
            "ADDR_COMPAT_LAYOUT" => Persona::ADDR_COMPAT_LAYOUT,
            "ADDR_LIMIT_32BIT" => Persona::ADDR_LIMIT_32BIT,
            "ADDR_LIMIT_3GB" => Persona::ADDR_LIMIT_3GB,
            "MMAP_PAGE_ZERO" => Persona::MMAP_PAGE_ZERO,
            "READ_IMPLIES_EXEC" => Persona::READ_IMPLIES_EXEC,
            "SHORT_INODE" => Persona::SHORT_INODE,
            "STICKY_TIMEOUTS" => Persona::STICKY_TIMEOUTS,
            "UNAME26" => UNAME26,
            "WHOLE_SECONDS" => Persona::WHOLE_SECONDS,
            _ => return Err(ProcessError::Invalid { field: "linux.personality.flags", value: f.clone() }),
        };
    }
    personality::set(persona).map(|_| ()).map_err(|e| ProcessError::Apply {
        field: "linux.personality",
        value: format!("{:?}", p.domain()),
        source: sys::Error::new("personality", e),
    })
}

/// Parse a cpu list as the kernel prints it ("0-3,7").
fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if a > b {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// `process.execCPUAffinity.initial` (before the process is in the container's
/// cgroup) or `.final` (after): sched_setaffinity for the calling process. An
/// absent or empty list leaves the affinity alone, as the spec asks.
pub fn set_cpu_affinity(process: &Process, initial: bool) -> Result<(), ProcessError> {
    let Some(a) = process.exec_cpu_affinity() else { return Ok(()) };
    let (field, list) = if initial {
        ("process.execCPUAffinity.initial", a.initial())
    } else {
        ("process.execCPUAffinity.final", a.cpu_affinity_final())
    };
    let Some(list) = list.as_deref().filter(|l| !l.trim().is_empty()) else { return Ok(()) };
    let invalid = || ProcessError::Invalid { field, value: list.to_string() };
    let mut set = nix::sched::CpuSet::new();
    for cpu in parse_cpu_list(list).ok_or_else(invalid)? {
        set.set(cpu).map_err(|_| invalid())?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(|e| ProcessError::Apply {
        field,
        value: list.to_string(),
        source: sys::Error::new("sched_setaffinity", e),
    })
}

/// Create the container process's `process.cwd` when it does not exist, mode
/// 0755, as runc's init does (as root, right after pivot_root and before the
/// root is made read-only: docker's `--read-only -w /new` relies on it). A cwd
/// that exists but is not a directory fails. Not for `exec`: runc's exec only
/// changes into it, and fails if it is missing.
pub fn create_cwd(process: &Process) -> Result<(), ProcessError> {
    use std::os::unix::fs::DirBuilderExt;
    let cwd = process.cwd();
    match std::fs::metadata(cwd) {
        Ok(m) if !m.is_dir() => Err(ProcessError::CwdNotDir { path: cwd.clone() }),
        Ok(_) => Ok(()),
        Err(_) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(cwd)
            .map_err(|source| ProcessError::Cwd { path: cwd.clone(), source }),
    }
}

/// chdir to `process.cwd` while still root, as runc does ("create can chdir if
/// runc has access"): a cwd that root may enter and the user may not still
/// works. Ok(false) when root was refused (a directory only the user may enter,
/// on a filesystem root has no override on): [`enter_cwd`] tries again as the user.
pub fn enter_cwd_as_root(process: &Process) -> Result<bool, ProcessError> {
    let cwd = process.cwd();
    match nix::unistd::chdir(cwd.as_path()) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::EACCES | nix::errno::Errno::EPERM) => Ok(false),
        Err(e) => Err(ProcessError::Chdir { path: cwd.clone(), reason: go_errno_text(&e.into()) }),
    }
}

/// chdir to `process.cwd` as the container's user, unless `entered` already
/// (see [`enter_cwd_as_root`]), then check where that is.
pub fn enter_cwd(process: &Process, entered: bool) -> Result<(), ProcessError> {
    let cwd = process.cwd();
    if !entered {
        std::env::set_current_dir(cwd)
            .map_err(|e| ProcessError::Chdir { path: cwd.clone(), reason: go_errno_text(&e) })?;
    }
    // CVE-2024-21626: a cwd reached through an fd of ours (/proc/self/fd/N) may lie
    // outside the root; getcwd(3) then fails ("(unreachable)"), and runc refuses it.
    std::env::current_dir().map(drop).map_err(|_| ProcessError::Cwd {
        path: cwd.clone(),
        source: std::io::Error::other("is outside the container's root"),
    })
}

/// The environment as C strings.
pub fn env(process: &Process) -> Result<Vec<CString>, ProcessError> {
    process
        .env()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|e| CString::new(e.as_str()).map_err(|_| ProcessError::Nul { field: "env" }))
        .collect()
}

pub fn args(process: &Process) -> Result<Vec<CString>, ProcessError> {
    process
        .args()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| ProcessError::Nul { field: "args" }))
        .collect()
}

/// Resolve `args[0]` like exec.LookPath with the container's PATH (runc resolves
/// it before start, so a missing binary fails `create`, not `start`).
pub fn find_executable(name: &str, env: &[CString]) -> Result<PathBuf, ProcessError> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return check_executable(&p).map(|_| p);
    }
    let path = env
        .iter()
        .filter_map(|e| e.to_str().ok())
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(name);
        if check_executable(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(ProcessError::NotFound { name: name.to_string() })
}

/// An errno as Go's syscall.Errno prints it: the C library's text, lower case
/// first ("no such file or directory").
fn go_errno_text(e: &std::io::Error) -> String {
    let text = match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    };
    let mut chars = text.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

/// Go's findExecutable, which runc's LookPath uses: a directory, or a file
/// without an execute bit, is refused.
fn check_executable(p: &Path) -> Result<(), ProcessError> {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => Err(ProcessError::IsDir { path: p.to_path_buf() }),
        Ok(m) if m.permissions().mode() & 0o111 != 0 => Ok(()),
        Ok(_) => Err(ProcessError::NotExecutable { path: p.to_path_buf() }),
        Err(e) => Err(ProcessError::Stat { path: p.to_path_buf(), reason: go_errno_text(&e) }),
    }
}

pub fn path_cstring(p: &Path) -> Result<CString, ProcessError> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| ProcessError::Nul { field: "args" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_like_the_kernel_prints_them() {
        assert_eq!(parse_cpu_list("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(parse_cpu_list("1"), Some(vec![1]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn a_program_named_by_path_fails_as_go_lookpath_does() {
        let err = |name: &str| crate::error_chain(&find_executable(name, &[]).unwrap_err());
        // dockerd reads "no such file or directory" here to exit 127, as with runc.
        assert_eq!(err("/no/such/prog"), "exec: \"/no/such/prog\": stat /no/such/prog: no such file or directory");
        assert_eq!(err("/etc"), "exec: \"/etc\": is a directory");
        assert!(err("/etc/passwd").starts_with("exec: \"/etc/passwd\": permission denied"));
        assert_eq!(err("no-such-prog-xyz"), "exec: \"no-such-prog-xyz\": executable file not found in $PATH");
    }

    #[test]
    fn ids_above_i32_max_are_refused_as_runc_does() {
        use oci_spec::runtime::UserBuilder;
        let user = |uid: u32, gid: u32, extra: Vec<u32>| {
            UserBuilder::default().uid(uid).gid(gid).additional_gids(extra).build().unwrap()
        };
        assert!(check_id_range(&user(2147483647, 0, vec![5])).is_ok());
        let e = check_id_range(&user(4294967295, 0, vec![])).unwrap_err().to_string();
        assert_eq!(e, "process.user.uid: 4294967295: uids and gids must be in range 0-2147483647");
        assert!(check_id_range(&user(0, 2147483648, vec![])).unwrap_err().to_string().starts_with("process.user.gid"));
        assert!(
            check_id_range(&user(0, 0, vec![1, u32::MAX]))
                .unwrap_err()
                .to_string()
                .starts_with("process.user.additionalGids")
        );
    }

    #[test]
    fn find_executable_uses_container_path() {
        let env = vec![CString::new("PATH=/nonexistent:/bin").unwrap()];
        assert_eq!(find_executable("sh", &env).unwrap(), PathBuf::from("/bin/sh"));
    }

    #[test]
    fn missing_executable_is_named() {
        let e = find_executable("no-such-binary-xyz", &[]).unwrap_err().to_string();
        assert_eq!(e, "exec: \"no-such-binary-xyz\": executable file not found in $PATH");
    }

    #[test]
    fn non_executable_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("data");
        std::fs::write(&f, "x").unwrap();
        assert!(matches!(find_executable(f.to_str().unwrap(), &[]), Err(ProcessError::NotExecutable { .. })));
    }
}
