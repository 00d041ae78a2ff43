//! Containers: the record and its store, the bundle built from it, the
//! rootfs, the runtime as a program, and the lifecycle actions the commands
//! share (what state a container is really in, stop, remove).

pub(crate) mod bundle;
pub(crate) mod fsview;
pub(crate) mod health;
pub(crate) mod hostopts;
pub(crate) mod imageconfig;
pub(crate) mod lifecycle;
pub(crate) mod process;
pub(crate) mod record;
pub(crate) mod rootfs;
pub(crate) mod runtime;
pub(crate) mod security;
pub(crate) mod stats;
pub(crate) mod store;
pub(crate) mod update;
pub(crate) mod user;

use std::path::{Path, PathBuf};

use crate::config::Config;

/// Where one container's files are: its data under
/// `<data-root>/containers/<id>/` (bundle, upper/work, logs, etc files) and
/// its run state under `<runroot>/c/<id12>/` (sockets: short, because a unix
/// socket path must fit in 108 bytes).
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub dir: PathBuf,
    pub run: PathBuf,
    id: String,
}

impl Layout {
    pub(crate) fn new(config: &Config, id: &str) -> Layout {
        Layout {
            dir: config.data_root.join("containers").join(id),
            run: config.runroot.join("c").join(&id[..id.len().min(12)]),
            id: id.to_string(),
        }
    }
    pub(crate) fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    pub(crate) fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub(crate) fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub(crate) fn log_file(&self) -> PathBuf {
        self.dir.join(format!("{}-json.log", self.id))
    }
    pub(crate) fn supervisor_log(&self) -> PathBuf {
        self.dir.join("supervisor.log")
    }
    pub(crate) fn attach_socket(&self) -> PathBuf {
        self.run.join("attach")
    }
}

/// The start time of a process (field 22 of /proc/<pid>/stat, in clock
/// ticks since boot), which with the pid identifies it across pid reuse.
pub(crate) fn process_start_time(pid: i32) -> Option<u64> {
    process_stat(pid).map(|(_, start)| start)
}

/// The state letter (field 3) and start time (field 22) of /proc/<pid>/stat.
fn process_stat(pid: i32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    Some((state, fields.nth(18)?.parse().ok()?))
}

/// Whether the process recorded as (pid, start time) is still alive; a
/// zombie (killed, not yet reaped by whoever inherited it) is not.
pub(crate) fn is_alive(p: &record::ProcessId) -> bool {
    p.pid > 0
        && matches!(process_stat(p.pid), Some((state, start)) if start == p.start_time && !matches!(state, 'Z' | 'X'))
}

/// Whether this host mounts the unified hierarchy at /sys/fs/cgroup.
pub(crate) fn is_cgroup_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The current time as docker shows it (RFC 3339, nanoseconds, UTC).
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_readable() {
        let me = std::process::id() as i32;
        let t = process_start_time(me).unwrap();
        assert!(is_alive(&record::ProcessId { pid: me, start_time: t }));
        assert!(!is_alive(&record::ProcessId { pid: me, start_time: t + 1 }));
    }
}
