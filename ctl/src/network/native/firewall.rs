//! The native driver's firewall: NAT, published ports and isolation as
//! iptables rules, applied with ONE `iptables-restore --noflush` per change
//! (and one `ip6tables-restore` when an IPv6 network exists).
//!
//! The rules live in chains of their own, `BERTH-<tag>-DNAT`/`-POST` (nat)
//! and `-FWD`/`-IN` (filter), `<tag>` naming the run root, so two stores in
//! one netns do not share them. Every restore declares those chains (which
//! flushes them) and writes their whole content again from `state.json`: the
//! networks with a bridge and the published ports of each container. So the
//! result never depends on what an earlier, interrupted call left: it is
//! what the state says, atomically (iptables-nft commits a restore as one
//! transaction). The state is written before the restore runs; the text
//! last applied is kept (`applied.v4`), and a change that renders the same
//! rules (a container without published ports) runs no program at all.
//! The jumps from the built-in chains are added with the first restore
//! (when `applied.v4` does not exist yet) and stay, as netavark's and
//! docker's base chains do; the run root is a tmpfs, gone with the rules at
//! a reboot.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::network::driver::{DriverError, pipe_through};

/// What the rules are made from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Bridge networks by bridge name.
    pub networks: BTreeMap<String, NetRules>,
    /// Published ports by `<container id>/<bridge>`.
    pub ports: BTreeMap<String, Vec<PortRule>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NetRules {
    pub subnet: Option<String>,
    pub subnet6: Option<String>,
    pub internal: bool,
    pub dns: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PortRule {
    pub bridge: String,
    pub protocol: String,
    pub host_ip: IpAddr,
    pub host_port: u16,
    pub ip: Ipv4Addr,
    pub ip6: Option<Ipv6Addr>,
    pub port: u16,
}

pub(crate) struct Firewall {
    dir: PathBuf,
    tag: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn program(self) -> &'static str {
        match self {
            Family::V4 => "iptables-restore",
            Family::V6 => "ip6tables-restore",
        }
    }
    fn applied(self) -> &'static str {
        match self {
            Family::V4 => "applied.v4",
            Family::V6 => "applied.v6",
        }
    }
}

impl Firewall {
    /// The firewall of the store whose state directory is `dir`.
    pub(crate) fn new(dir: &Path) -> Firewall {
        Firewall { dir: dir.to_path_buf(), tag: tag(dir) }
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The state; none yet is empty.
    pub(crate) fn load(&self) -> State {
        std::fs::read(self.state_path()).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Change the state with `change` without applying it yet (the next
    /// `update` does). The caller holds the driver's lock.
    pub(crate) fn record(&self, change: impl FnOnce(&mut State)) -> Result<State, DriverError> {
        let mut state = self.load();
        change(&mut state);
        // A map of strings and numbers always serializes.
        let text = serde_json::to_vec(&state).expect("serializable");
        write_atomic(&self.state_path(), &text)?;
        Ok(state)
    }

    /// Change the state with `change` and make the rules say it. The caller
    /// holds the driver's lock.
    pub(crate) fn update(&self, change: impl FnOnce(&mut State)) -> Result<(), DriverError> {
        let state = self.record(change)?;
        let has_v6 = state.networks.values().any(|n| n.subnet6.is_some());
        for family in [Family::V4, Family::V6] {
            let applied_path = self.dir.join(family.applied());
            let applied = std::fs::read_to_string(&applied_path).ok();
            if family == Family::V6 && !has_v6 && applied.is_none() {
                continue;
            }
            let body = self.render(&state, family);
            if applied.as_deref() == Some(body.as_str()) {
                continue;
            }
            let jumps = if applied.is_none() { self.jumps() } else { Default::default() };
            restore(family, &self.with_jumps(&body, &jumps))?;
            write_atomic(&applied_path, body.as_bytes())?;
        }
        Ok(())
    }

    fn chain(&self, name: &str) -> String {
        format!("BERTH-{}-{name}", self.tag)
    }

    /// The jumps from the built-in chains: (nat lines, filter lines).
    fn jumps(&self) -> (String, String) {
        let (dnat, post, fwd, input) = (self.chain("DNAT"), self.chain("POST"), self.chain("FWD"), self.chain("IN"));
        (
            format!(
                "-A PREROUTING -m addrtype --dst-type LOCAL -j {dnat}\n-A OUTPUT -m addrtype --dst-type LOCAL -j {dnat}\n-A POSTROUTING -j {post}\n"
            ),
            format!("-I FORWARD -j {fwd}\n-I INPUT -j {input}\n"),
        )
    }

    fn with_jumps(&self, body: &str, jumps: &(String, String)) -> String {
        body.replacen("#JUMPS-NAT\n", &jumps.0, 1).replacen("#JUMPS-FILTER\n", &jumps.1, 1)
    }

    /// The restore input for `state` (jump placeholders left in).
    fn render(&self, state: &State, family: Family) -> String {
        let (dnat, post, fwd, input) = (self.chain("DNAT"), self.chain("POST"), self.chain("FWD"), self.chain("IN"));
        let mut nat = format!("*nat\n:{dnat} - [0:0]\n:{post} - [0:0]\n#JUMPS-NAT\n");
        let mut filter = format!("*filter\n:{fwd} - [0:0]\n:{input} - [0:0]\n#JUMPS-FILTER\n");
        let subnet = |n: &NetRules| match family {
            Family::V4 => n.subnet.clone(),
            Family::V6 => n.subnet6.clone(),
        };
        for (br, n) in &state.networks {
            let Some(subnet) = subnet(n) else { continue };
            if !n.internal {
                nat += &format!("-A {post} -s {subnet} ! -o {br} -j MASQUERADE\n");
            }
            if family == Family::V4 {
                // 127.0.0.1:PORT reaches a container (route_localnet on the bridge).
                nat += &format!("-A {post} -s 127.0.0.0/8 -o {br} -j MASQUERADE\n");
            }
            // Hairpin: a container reaching a published port of its own network.
            nat += &format!("-A {post} -s {subnet} -o {br} -m conntrack --ctstate DNAT -j MASQUERADE\n");
        }
        // docker's isolation: no traffic from one bridge network to another.
        let bridges: Vec<&String> =
            state.networks.iter().filter(|(_, n)| subnet(n).is_some()).map(|(b, _)| b).collect();
        for a in &bridges {
            for b in bridges.iter().filter(|b| b != &a) {
                filter += &format!("-A {fwd} -i {a} -o {b} -j DROP\n");
            }
        }
        for (br, _) in state.networks.iter().filter(|(_, n)| n.internal && subnet(n).is_some()) {
            filter += &format!("-A {fwd} -i {br} ! -o {br} -j DROP\n-A {fwd} ! -i {br} -o {br} -j DROP\n");
        }
        for rule in state.ports.values().flatten() {
            self.port_rules(rule, family, &mut nat, &mut filter);
        }
        for (br, n) in &state.networks {
            if subnet(n).is_none() {
                continue;
            }
            filter += &format!("-A {fwd} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
            filter += &format!("-A {fwd} -i {br} -j ACCEPT\n");
            if n.dns {
                filter += &format!("-A {input} -i {br} -p udp -m udp --dport 53 -j ACCEPT\n");
                filter += &format!("-A {input} -i {br} -p tcp -m tcp --dport 53 -j ACCEPT\n");
            }
        }
        format!("{nat}COMMIT\n{filter}COMMIT\n")
    }

    fn port_rules(&self, r: &PortRule, family: Family, nat: &mut String, filter: &mut String) {
        let (dnat, fwd) = (self.chain("DNAT"), self.chain("FWD"));
        let (ip, dest, host) = match family {
            Family::V4 if r.host_ip.is_ipv4() || r.host_ip.is_unspecified() => {
                let host =
                    (!r.host_ip.is_unspecified() && r.host_ip.is_ipv4()).then(|| format!("-d {}/32 ", r.host_ip));
                (r.ip.to_string(), format!("{}:{}", r.ip, r.port), host)
            }
            Family::V6 if r.host_ip.is_ipv6() || r.host_ip.is_unspecified() => {
                let Some(ip6) = r.ip6 else { return };
                let host =
                    (!r.host_ip.is_unspecified() && r.host_ip.is_ipv6()).then(|| format!("-d {}/128 ", r.host_ip));
                (ip6.to_string(), format!("[{ip6}]:{}", r.port), host)
            }
            _ => return,
        };
        let (p, hp, br) = (&r.protocol, r.host_port, &r.bridge);
        let host = host.unwrap_or_default();
        *nat += &format!("-A {dnat} {host}-p {p} -m {p} --dport {hp} -j DNAT --to-destination {dest}\n");
        *filter += &format!("-A {fwd} -d {ip} ! -i {br} -o {br} -p {p} -m {p} --dport {} -j ACCEPT\n", r.port);
    }
}

/// Eight hex digits naming the store (FNV-1a of its state directory).
fn tag(dir: &Path) -> String {
    let hash = dir
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3));
    format!("{:08x}", hash as u32)
}

/// Write `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), DriverError> {
    let err = |source| DriverError::State { path: path.to_path_buf(), source };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

fn restore(family: Family, input: &str) -> Result<(), DriverError> {
    let program = family.program();
    let spawn_err = |source| DriverError::Spawn {
        program: program.into(),
        verb: "--noflush",
        netns: PathBuf::from("(host)"),
        source,
    };
    let out = pipe_through(Command::new(program).args(["--noflush", "-w"]).stdout(Stdio::null()), input)
        .map_err(spawn_err)?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(DriverError::Failed {
            program: program.into(),
            verb: "--noflush",
            netns: PathBuf::from("(host)"),
            message: if message.is_empty() { format!("exited with {}", out.status) } else { message },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut s = State::default();
        s.networks.insert(
            "berth0".into(),
            NetRules { subnet: Some("10.77.0.0/16".into()), subnet6: None, internal: false, dns: false },
        );
        s.networks.insert(
            "berth1".into(),
            NetRules {
                subnet: Some("10.78.0.0/24".into()),
                subnet6: Some("fd00::/64".into()),
                internal: false,
                dns: true,
            },
        );
        s.ports.insert(
            "c1/berth0".into(),
            vec![PortRule {
                bridge: "berth0".into(),
                protocol: "tcp".into(),
                host_ip: "0.0.0.0".parse().unwrap(),
                host_port: 8080,
                ip: "10.77.0.2".parse().unwrap(),
                ip6: None,
                port: 80,
            }],
        );
        s
    }

    #[test]
    fn rules_publish_masquerade_and_isolate() {
        let fw = Firewall { dir: "/x".into(), tag: "t".into() };
        let v4 = fw.render(&state(), Family::V4);
        for line in [
            ":BERTH-t-DNAT - [0:0]",
            "-A BERTH-t-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.77.0.2:80",
            "-A BERTH-t-POST -s 10.77.0.0/16 ! -o berth0 -j MASQUERADE",
            "-A BERTH-t-POST -s 127.0.0.0/8 -o berth0 -j MASQUERADE",
            "-A BERTH-t-FWD -i berth0 -o berth1 -j DROP",
            "-A BERTH-t-FWD -i berth1 -o berth0 -j DROP",
            "-A BERTH-t-FWD -d 10.77.0.2 ! -i berth0 -o berth0 -p tcp -m tcp --dport 80 -j ACCEPT",
            "-A BERTH-t-IN -i berth1 -p udp -m udp --dport 53 -j ACCEPT",
        ] {
            assert!(v4.lines().any(|l| l == line), "{line} in\n{v4}");
        }
        let v6 = fw.render(&state(), Family::V6);
        assert!(v6.contains("-A BERTH-t-POST -s fd00::/64 ! -o berth1 -j MASQUERADE"), "{v6}");
        assert!(!v6.contains("berth0"), "the IPv4-only network has no IPv6 rules: {v6}");
        let jumps = fw.jumps();
        let full = fw.with_jumps(&v4, &jumps);
        assert!(full.contains("-A PREROUTING -m addrtype --dst-type LOCAL -j BERTH-t-DNAT\n"), "{full}");
        assert!(!full.contains("#JUMPS"));
    }

    #[test]
    fn tags_differ_per_store() {
        assert_ne!(tag(Path::new("/run/a/net")), tag(Path::new("/run/b/net")));
        assert_eq!(tag(Path::new("/run/a/net")).len(), 8);
    }
}
