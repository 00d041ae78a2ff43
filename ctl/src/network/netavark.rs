//! The netavark driver: `netavark --config DIR setup NETNS` with the
//! container's network options as JSON on stdin, as podman calls it
//! (netavark 1.4's `NetworkOptions`: `container_id`, `container_name`,
//! `networks` keyed by network name with the interface, static IP and MAC,
//! `network_info` with each network's definition, `port_mappings`). Its
//! answer on stdout is one `StatusBlock` per network. aardvark-dns, started
//! by netavark for networks with DNS, keeps its files under `DIR/aardvark-dns`.
//!
//! Calls are serialized by a lock file in DIR: netavark 1.4 takes no lock of
//! its own for the bridge and firewall chains it shares between containers.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::driver::{Attachment, DriverError, Netns, NetworkDriver, SetupResult, find_helper, pipe_through};
use super::store::Network;

pub(crate) struct Netavark {
    /// netavark and aardvark-dns, looked up on first use: a command with
    /// nothing to set up or tear down (`system check` of a clean store,
    /// `--network none`) works where they are not installed.
    helpers: OnceCell<Helpers>,
    config_dir: PathBuf,
}

struct Helpers {
    netavark: PathBuf,
    aardvark: PathBuf,
}

impl Netavark {
    /// netavark and aardvark-dns where podman's packages put them
    /// (`BERTH_NETAVARK`, `BERTH_AARDVARK_DNS` override), with its state in
    /// `config_dir` (under the run root: it is gone after a reboot, as the
    /// interfaces are).
    pub(crate) fn new(config_dir: &Path) -> Netavark {
        Netavark { helpers: OnceCell::new(), config_dir: config_dir.to_path_buf() }
    }

    fn helpers(&self) -> Result<&Helpers, DriverError> {
        if let Some(h) = self.helpers.get() {
            return Ok(h);
        }
        let found = Helpers {
            netavark: find_helper("netavark", "BERTH_NETAVARK")?,
            aardvark: find_helper("aardvark-dns", "BERTH_AARDVARK_DNS")?,
        };
        Ok(self.helpers.get_or_init(|| found))
    }

    /// The program path for error messages (its name when not found yet).
    fn program(&self) -> PathBuf {
        self.helpers.get().map(|h| h.netavark.clone()).unwrap_or_else(|| "netavark".into())
    }

    fn run(&self, verb: &'static str, netns: &Path, input: &str) -> Result<String, DriverError> {
        let helpers = self.helpers()?;
        let lock_path = self.config_dir.join("berth.lock");
        let lock_err = |source| DriverError::Lock { path: lock_path.clone(), source };
        std::fs::create_dir_all(&self.config_dir).map_err(lock_err)?;
        let file = File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(lock_err)?;
        let _lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| lock_err(std::io::Error::from(e)))?;
        let spawn_err =
            |source| DriverError::Spawn { program: helpers.netavark.clone(), verb, netns: netns.into(), source };
        let mut cmd = Command::new(&helpers.netavark);
        cmd.arg("--config").arg(&self.config_dir).arg("--aardvark-binary").arg(&helpers.aardvark);
        let out = pipe_through(cmd.arg(verb).arg(netns).stdout(Stdio::piped()), input).map_err(spawn_err)?;
        if !out.status.success() {
            return Err(DriverError::Failed {
                program: helpers.netavark.clone(),
                verb,
                netns: netns.into(),
                message: error_message(&out.stderr, &out.stdout, out.status),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// netavark prints `{"error": "..."}` on stdout or a message on stderr;
/// its "failed to connect to syslog" noise is dropped.
fn error_message(stderr: &[u8], stdout: &[u8], status: std::process::ExitStatus) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(stdout)
        && let Some(e) = v.get("error").and_then(Value::as_str)
    {
        return e.to_string();
    }
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> =
        text.lines().filter(|l| !l.contains("failed to connect to syslog") && !l.trim().is_empty()).collect();
    if lines.is_empty() { format!("exited with {status}") } else { lines.join("; ") }
}

/// Whether every error of a teardown is about something already removed:
/// the container's veth (its netns was never set up, or died with the
/// container) or aardvark-dns's entry (an earlier teardown got that far).
/// netavark lists several as "multiple errors:\n\t- a\n\t- b".
fn is_already_gone(message: &str) -> bool {
    let errors: Vec<&str> =
        message.split("\n\t- ").map(str::trim).filter(|e| !e.is_empty() && !e.ends_with("multiple errors:")).collect();
    !errors.is_empty()
        && errors
            .iter()
            .all(|e| e.contains("No such device (os error 19)") || e.contains("No such file or directory (os error 2)"))
}

fn network_info(n: &Network) -> Value {
    let mut subnet = json!({"subnet": n.subnet.map(|s| s.to_string())});
    if let Some(g) = n.gateway {
        subnet["gateway"] = json!(g.to_string());
    }
    let mut subnets = vec![subnet];
    if let Some(s6) = n.subnet6 {
        let mut subnet6 = json!({"subnet": s6.to_string()});
        if let Some(g) = n.gateway6 {
            subnet6["gateway"] = json!(g.to_string());
        }
        subnets.push(subnet6);
    }
    let mut options: BTreeMap<String, String> = n.options.clone();
    options.remove("parent");
    options.remove("com.docker.network.bridge.name");
    if n.driver == "bridge" {
        // docker's bridges cannot reach each other (its DOCKER-ISOLATION
        // chains); netavark's are routed unless asked to isolate.
        options.entry("isolate".into()).or_insert_with(|| "true".into());
    }
    json!({
        "name": n.name,
        "id": n.id,
        "driver": n.driver,
        "network_interface": n.interface,
        "subnets": subnets,
        "ipv6_enabled": n.subnet6.is_some(),
        "internal": n.internal,
        "dns_enabled": n.dns,
        "options": options,
        "ipam_options": {"driver": "host-local"},
    })
}

impl NetworkDriver for Netavark {
    fn input(&self, a: &Attachment<'_>) -> String {
        let mut networks = serde_json::Map::new();
        let mut info = serde_json::Map::new();
        for (n, e) in &a.networks {
            let mut ips = vec![e.ip.to_string()];
            ips.extend(e.ip6.map(|ip| ip.to_string()));
            let mut opts = json!({
                "interface_name": e.interface,
                "static_ips": ips,
                "static_mac": e.mac,
            });
            if n.dns {
                let mut aliases = vec![a.container_name.to_string()];
                aliases.extend(e.aliases.iter().cloned());
                aliases.push(a.container_id[..12.min(a.container_id.len())].to_string());
                opts["aliases"] = json!(aliases);
            }
            networks.insert(n.name.clone(), opts);
            info.insert(n.name.clone(), network_info(n));
        }
        let ports: Vec<Value> = a
            .ports
            .iter()
            .map(|p| {
                let host_ip = if p.host_ip.is_unspecified() { String::new() } else { p.host_ip.to_string() };
                json!({"host_ip": host_ip, "host_port": p.host_port, "container_port": p.container_port, "protocol": p.protocol, "range": 1})
            })
            .collect();
        let v = json!({
            "container_id": a.container_id,
            "container_name": a.container_name,
            "container_hostname": a.hostname,
            "networks": networks,
            "network_info": info,
            "port_mappings": ports,
        });
        v.to_string()
    }

    fn setup(&self, netns: &Path, input: &str) -> Result<SetupResult, DriverError> {
        let out = self.run("setup", netns, input)?;
        serde_json::from_str(&out).map_err(|source| DriverError::Result {
            program: self.program(),
            verb: "setup",
            output: out.clone(),
            source,
        })
    }

    fn teardown(&self, netns: &Path, input: &str, _after: Netns) -> Result<(), DriverError> {
        match self.run("teardown", netns, input) {
            Err(DriverError::Failed { message, .. }) if is_already_gone(&message) => Ok(()),
            other => other.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::store::{Endpoint, HostPort};

    #[test]
    fn input_has_netavark_shape() {
        let n = Network {
            id: "n".repeat(64),
            name: "mynet".into(),
            driver: "bridge".into(),
            interface: Some("berth1".into()),
            subnet: Some("10.78.0.0/24".parse().unwrap()),
            gateway: Some("10.78.0.1".parse().unwrap()),
            ip_range: None,
            subnet6: None,
            gateway6: None,
            internal: false,
            dns: true,
            labels: Default::default(),
            options: Default::default(),
            created: String::new(),
        };
        let e = Endpoint {
            container_id: "c".repeat(64),
            network_id: n.id.clone(),
            ip: "10.78.0.2".parse().unwrap(),
            ip6: None,
            mac: "02:42:0a:4e:00:02".into(),
            interface: "eth0".into(),
            aliases: vec!["db".into()],
            endpoint_id: String::new(),
        };
        let p = HostPort {
            host_ip: "127.0.0.1".parse().unwrap(),
            host_port: 8080,
            protocol: "udp".into(),
            container_id: e.container_id.clone(),
            container_port: 53,
        };
        let id = e.container_id.clone();
        let a = Attachment {
            container_id: &id,
            container_name: "web",
            hostname: "h",
            networks: vec![(&n, &e)],
            ports: std::slice::from_ref(&p),
        };
        let nv = Netavark::new(Path::new("/x"));
        let v: Value = serde_json::from_str(&nv.input(&a)).unwrap();
        assert_eq!(v["networks"]["mynet"]["static_ips"], json!(["10.78.0.2"]));
        assert_eq!(v["networks"]["mynet"]["aliases"], json!(["web", "db", "cccccccccccc"]));
        assert_eq!(v["network_info"]["mynet"]["network_interface"], "berth1");
        assert_eq!(v["network_info"]["mynet"]["subnets"][0], json!({"subnet": "10.78.0.0/24", "gateway": "10.78.0.1"}));
        assert_eq!(
            v["port_mappings"][0],
            json!({"host_ip": "127.0.0.1", "host_port": 8080, "container_port": 53, "protocol": "udp", "range": 1})
        );
    }

    #[test]
    fn teardown_of_what_is_gone_is_not_an_error() {
        let both = "netavark encountered multiple errors:\n\t- IO error: No such file or directory (os error 2)\n\t- failed to delete container veth eth0: Netlink error: No such device (os error 19)";
        assert!(is_already_gone(both));
        assert!(is_already_gone("failed to delete container veth eth0: Netlink error: No such device (os error 19)"));
        assert!(!is_already_gone(
            "netavark encountered multiple errors:\n\t- IO error: No such device (os error 19)\n\t- iptables: permission denied"
        ));
        assert!(!is_already_gone(""));
    }

    #[test]
    fn error_message_prefers_json_and_drops_syslog_noise() {
        let status = std::process::Command::new("false").status().unwrap();
        assert_eq!(error_message(b"", br#"{"error": "boom"}"#, status), "boom");
        assert_eq!(error_message(b"failed to connect to syslog: x\nreal problem\n", b"", status), "real problem");
    }
}
