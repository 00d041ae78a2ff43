//! A network sandbox for berthctl's network tests: a holder process made by
//! `unshare --net --mount` (loopback up, a private tmpfs on /run) and every
//! command of the test run inside its namespaces through `nsenter`. Bridges,
//! veths, firewall rules, netavark and aardvark-dns exist only in there;
//! the host's network namespace is never touched. The holder is stopped by
//! its pid on drop, which ends both namespaces once the test has removed
//! its containers.

#![allow(dead_code)] // each network test uses its own part of this

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::{Run, Store};

pub struct Sandbox {
    holder: Child,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let mut holder = Command::new("unshare")
            .args(["--net", "--mount", "--propagation", "private", "sh", "-c"])
            .arg("ip link set lo up && mount -t tmpfs tmpfs /run && echo ready && exec sleep infinity")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn unshare --net --mount");
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("holder stdout is piped");
        BufReader::new(stdout).read_line(&mut line).expect("read the holder's ready line");
        assert_eq!(line.trim(), "ready", "the sandbox holder did not start");
        Sandbox { holder }
    }

    fn enter(&self) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t").arg(self.holder.id().to_string()).args(["--net", "--mount", "--"]);
        cmd
    }

    /// `program args…` inside the sandbox.
    pub fn cmd<I, S>(&self, program: &str, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.enter();
        cmd.arg(program).args(args);
        cmd
    }

    /// `sh -c script` inside the sandbox; returns stdout, panics on failure.
    pub fn sh(&self, script: &str) -> String {
        self.cmd("sh", ["-c", script]).success()
    }

    /// The store's berthctl command, run inside the sandbox.
    pub fn berthctl<I, S>(&self, store: &Store, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let inner = store.berthctl(args);
        let mut cmd = self.enter();
        cmd.arg(inner.get_program()).args(inner.get_args());
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        // In here containers get docker's default network (the store's
        // commands default to none outside a sandbox).
        cmd.env_remove("BERTH_NETWORK");
        cmd
    }

    /// What must be exactly as before after a test: links, firewall rules
    /// (nftables, which iptables-nft also writes), and the netns files.
    pub fn snapshot(&self, store: &Store) -> String {
        // A bridge's carrier and operstate (UNKNOWN when new, UP or
        // NO-CARRIER once it had a port) are the kernel's, not something left
        // behind.
        let links = self
            .sh("ip -o link show | sed 's/^[0-9]*: //; s/ link\\/.*//; s/ state [A-Z]* / /; s/NO-CARRIER,//' | sort");
        // Packet counters move with traffic; the rules themselves must not.
        let rules = self.sh("nft list ruleset | sed -E 's/packets [0-9]+ bytes [0-9]+//'");
        let netns = self.sh(&format!("ls -A {}/netns 2>/dev/null || true", store.runroot.display()));
        format!("--- links\n{links}--- nft\n{rules}--- netns\n{netns}")
    }

    /// The snapshot once no container runs and the kernel has removed the
    /// veth pairs of the netns that were released (a removed container's
    /// host end, `vb…`, goes with its netns in the kernel's own time):
    /// waits for that, boundedly, and returns what is there then.
    pub fn settled(&self, store: &Store) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let snap = self.snapshot(store);
            let links = snap.split("--- nft").next().unwrap_or_default();
            if !links.lines().any(|l| l.starts_with("vb")) || std::time::Instant::now() > deadline {
                return snap;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.holder.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.holder.wait();
    }
}
