//! The network driver: what turns a container's leases and ports into
//! interfaces, routes and firewall rules inside and outside its netns. One
//! small trait, so that a native rtnetlink/nftables driver can replace
//! netavark later; the input is kept by the caller as text, so teardown can
//! be replayed exactly as setup was given.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::{Deserialize, Serialize};

use super::store::{Endpoint, HostPort, Network};

#[derive(Debug, thiserror::Error)]
pub(crate) enum DriverError {
    #[error("network driver {program:?} not found (looked in {looked})")]
    NotFound { program: &'static str, looked: String },
    #[error("run {program:?} {verb} for netns {netns:?}")]
    Spawn {
        program: PathBuf,
        verb: &'static str,
        netns: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{program:?} {verb} for netns {netns:?} failed: {message}")]
    Failed { program: PathBuf, verb: &'static str, netns: PathBuf, message: String },
    #[error("{program:?} {verb}: unreadable result {output:?}")]
    Result {
        program: PathBuf,
        verb: &'static str,
        output: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what} (netns {netns:?})")]
    Netlink {
        what: &'static str,
        netns: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("network state {path:?}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("lock {path:?}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One container's networking, as the driver is asked to set it up.
#[derive(Debug, Clone)]
pub(crate) struct Attachment<'a> {
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub hostname: &'a str,
    /// Each network with this container's endpoint on it, eth0 first.
    pub networks: Vec<(&'a Network, &'a Endpoint)>,
    pub ports: &'a [HostPort],
}

/// What the driver reports per network, by network name.
pub(crate) type SetupResult = BTreeMap<String, NetworkStatus>;

/// netavark's StatusBlock: the interfaces made and the DNS servers to use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct NetworkStatus {
    #[serde(default)]
    pub dns_search_domains: Option<Vec<String>>,
    #[serde(default)]
    pub dns_server_ips: Option<Vec<String>>,
    #[serde(default)]
    pub interfaces: Option<BTreeMap<String, InterfaceStatus>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct InterfaceStatus {
    pub mac_address: String,
    #[serde(default)]
    pub subnets: Option<Vec<InterfaceAddress>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct InterfaceAddress {
    #[serde(default)]
    pub gateway: Option<IpAddr>,
    /// The address with the subnet's prefix (`10.78.0.2/24`).
    pub ipnet: String,
}

/// What becomes of the container's network namespace after a teardown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Netns {
    /// It stays in use (a `network disconnect`, or a `container:` mode
    /// container still in it).
    Kept,
    /// Its bind mount, the last reference, goes right after.
    Released,
}

pub(crate) trait NetworkDriver {
    /// The input to give `setup` and, later, `teardown` (kept by the caller).
    fn input(&self, attachment: &Attachment<'_>) -> String;
    /// Create the interfaces and rules for `input` in and around `netns`.
    fn setup(&self, netns: &Path, input: &str) -> Result<SetupResult, DriverError>;
    /// Undo `setup` of the same input. With [`Netns::Released`] the caller
    /// drops the namespace's last reference right after, and the kernel
    /// removes what lives in it (and the host's end of a veth pair with
    /// its peer) on its own; with [`Netns::Kept`] (a disconnect, or another
    /// container still in the namespace) every interface is removed now.
    fn teardown(&self, netns: &Path, input: &str, after: Netns) -> Result<(), DriverError>;
    /// `system check`: what the driver finds left behind by containers
    /// whose recorded inputs are not in `inputs` (removed with `repair`);
    /// one line per finding and whether it was repaired.
    fn leftovers(&self, _inputs: &[&str], _repair: bool) -> Result<Vec<(String, bool)>, DriverError> {
        Ok(Vec::new())
    }
    /// `network rm`: remove what the network itself had (its bridge and
    /// rules), once no container is on it.
    fn remove_network(&self, _network: &Network) -> Result<(), DriverError> {
        Ok(())
    }
}

/// Find a helper program: `$env` if set, else the first of `dirs` that has
/// it, else PATH (Debian and Fedora keep podman's helpers out of PATH).
pub(crate) fn find_helper(program: &'static str, env: &str) -> Result<PathBuf, DriverError> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(PathBuf::from(p));
    }
    let dirs = ["/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    let candidates: Vec<PathBuf> =
        dirs.iter().map(PathBuf::from).chain(std::env::split_paths(&path)).map(|d| d.join(program)).collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| DriverError::NotFound { program, looked: format!("${env}, {} and PATH", dirs.join(", ")) })
}

/// Run `cmd` with `input` on its stdin and its stdout and stderr captured. A
/// failed write (the program exited without reading) is reported only once the
/// program has been waited for, so that it never outlives us as a zombie.
pub(crate) fn pipe_through(cmd: &mut Command, input: &str) -> std::io::Result<Output> {
    let mut child = cmd.stdin(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    // The pipe is ours until dropped; stdin was requested piped above.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let written = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child.wait_with_output()?;
    written?;
    Ok(out)
}
