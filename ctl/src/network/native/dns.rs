//! Names on user networks: aardvark-dns (podman's resolver), kept off the
//! per-container path. Its config directory holds one file per network —
//! the first line the addresses it listens on (the bridge's gateways), then
//! one line per container: `<id> <ipv4> <ipv6> <name>,<alias>,…` — and it
//! reloads them on SIGHUP. A container's setup or teardown rewrites its
//! line and signals the running resolver; only the first container of the
//! first DNS network starts it (`aardvark-dns --config DIR -p 53 run`
//! forks into the background and writes `aardvark.pid`). A network's file
//! stays while the network exists; `network rm` removes it, and aardvark-dns
//! exits on the SIGHUP that leaves it no file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::firewall::write_atomic;
use crate::network::driver::{DriverError, find_helper};

pub(crate) struct Dns {
    dir: PathBuf,
}

/// A container's line in a network's file.
pub(crate) struct Entry<'a> {
    pub id: &'a str,
    pub ip: std::net::Ipv4Addr,
    pub ip6: Option<std::net::Ipv6Addr>,
    pub names: &'a [String],
}

impl Dns {
    pub(crate) fn new(dir: &Path) -> Dns {
        Dns { dir: dir.to_path_buf() }
    }

    fn file(&self, network: &str) -> PathBuf {
        self.dir.join(network)
    }

    /// Add (or replace) the container's line on `network`, whose resolver
    /// listens on `listen` (`10.78.0.1` or `10.78.0.1,fd00::1`).
    pub(crate) fn add(&self, network: &str, listen: &str, e: &Entry<'_>) -> Result<(), DriverError> {
        let err = |source| DriverError::State { path: self.dir.clone(), source };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let path = self.file(network);
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let mut text = format!("{listen}\n");
        text.extend(old.lines().skip(1).filter(|l| !is_of(l, e.id)).map(|l| format!("{l}\n")));
        let ip6 = e.ip6.map(|ip| ip.to_string()).unwrap_or_default();
        text += &format!("{} {} {} {}\n", e.id, e.ip, ip6, e.names.join(","));
        write_atomic(&path, text.as_bytes())?;
        self.reload(true)
    }

    /// Remove the container's line from `network`'s file, if it is there.
    pub(crate) fn remove(&self, network: &str, id: &str) -> Result<(), DriverError> {
        let path = self.file(network);
        let Ok(old) = std::fs::read_to_string(&path) else { return Ok(()) };
        if !old.lines().skip(1).any(|l| is_of(l, id)) {
            return Ok(());
        }
        let text: String =
            old.lines().enumerate().filter(|(i, l)| *i == 0 || !is_of(l, id)).map(|(_, l)| format!("{l}\n")).collect();
        write_atomic(&path, text.as_bytes())?;
        self.reload(false)
    }

    /// `network rm`: the network's file goes; the resolver exits when it
    /// was the last.
    pub(crate) fn forget(&self, network: &str) -> Result<(), DriverError> {
        match std::fs::remove_file(self.file(network)) {
            Ok(()) => self.reload(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(DriverError::State { path: self.file(network), source }),
        }
    }

    /// SIGHUP the running resolver; start one if `start` and none runs.
    fn reload(&self, start: bool) -> Result<(), DriverError> {
        if let Some(pid) = self.running()
            && kill(pid, Signal::SIGHUP).is_ok()
        {
            return Ok(());
        }
        if !start {
            return Ok(());
        }
        let program = find_helper("aardvark-dns", "BERTH_AARDVARK_DNS")?;
        let spawn_err =
            |source| DriverError::Spawn { program: program.clone(), verb: "run", netns: "(host)".into(), source };
        let out = Command::new(&program)
            .arg("--config")
            .arg(&self.dir)
            .args(["-p", "53", "run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(spawn_err)?;
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = text.lines().filter(|l| !l.contains("failed to connect to syslog")).collect();
            return Err(DriverError::Failed {
                program,
                verb: "run",
                netns: "(host)".into(),
                message: if lines.is_empty() { format!("exited with {}", out.status) } else { lines.join("; ") },
            });
        }
        Ok(())
    }

    /// The resolver's pid, if its pid file names a live aardvark-dns.
    fn running(&self) -> Option<Pid> {
        let pid: i32 = std::fs::read_to_string(self.dir.join("aardvark.pid")).ok()?.trim().parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) S …`: a zombie (Z) or another program is not ours.
        let (comm, rest) = stat.split_once(") ")?;
        (comm.ends_with("(aardvark-dns") && !rest.starts_with('Z')).then(|| Pid::from_raw(pid))
    }
}

fn is_of(line: &str, id: &str) -> bool {
    line.split(' ').next() == Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dns = Dns::new(dir.path());
        // No resolver runs and none is started for a removal.
        std::fs::write(dir.path().join("n"), "10.78.0.1\nc1 10.78.0.2  web,c1\nc2 10.78.0.3  db\n").unwrap();
        dns.remove("n", "c1").unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("n")).unwrap(), "10.78.0.1\nc2 10.78.0.3  db\n");
        dns.remove("n", "c9").unwrap();
        dns.forget("n").unwrap();
        assert!(!dir.path().join("n").exists());
        dns.forget("n").unwrap();
    }
}
