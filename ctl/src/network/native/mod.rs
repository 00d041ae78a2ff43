//! The native network driver: what netavark did, without a program per
//! step. Interfaces, addresses and routes over rtnetlink (`link`), NAT,
//! published ports and isolation in one `iptables-restore` per change
//! (`firewall`), names through aardvark-dns's files and SIGHUP (`dns`).
//!
//! Per network (once, kept until `network rm`): the bridge, up, with the
//! gateway addresses, `route_localnet` (127.0.0.1:PORT reaches a container)
//! and IP forwarding on; its masquerade and isolation rules. Per container:
//! a veth pair made with the container's end (`eth0`, its MAC) already in
//! the container's netns, the host's end on the bridge; the address(es) and
//! default route inside; the published ports' rules; its DNS line. A
//! macvlan network gets a macvlan link made in the container's netns.
//!
//! Teardown drops the container's rules and DNS line and sets the host's
//! end of the veth down; the pair itself goes with the netns when its bind
//! mount, the last reference, is removed (the kernel deletes a veth's peer
//! with it), without waiting for the kernel as a delete does. A
//! `disconnect`, or a netns another container still runs in, deletes the
//! interfaces now. Each step is a no-op when its object is already gone, so
//! a teardown replayed after a crash or a reboot finishes; `system check`
//! finds a veth on our bridges that no container's record names and
//! removes it. Calls are serialized by `lock` in the state directory.

mod dns;
mod firewall;
mod link;

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::driver::{Attachment, DriverError, Netns, NetworkDriver, SetupResult};
use super::store::Network;
use link::{NewLink, Rtnl};

pub(crate) struct Native {
    dir: PathBuf,
}

/// The driver input: what setup needs and teardown replays.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Input {
    id: String,
    networks: Vec<NetInput>,
    ports: Vec<PortInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct NetInput {
    name: String,
    driver: String,
    /// The bridge, or a macvlan's parent.
    interface: String,
    subnet: Option<String>,
    gateway: Option<Ipv4Addr>,
    subnet6: Option<String>,
    gateway6: Option<Ipv6Addr>,
    internal: bool,
    dns: bool,
    ifname: String,
    mac: String,
    ip: Ipv4Addr,
    ip6: Option<Ipv6Addr>,
    /// Names the container answers to on this network (DNS networks).
    names: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PortInput {
    host_ip: IpAddr,
    host_port: u16,
    container_port: u16,
    protocol: String,
}

/// The wrapper that tells a native input from netavark's.
#[derive(Serialize, Deserialize)]
struct Wrapped {
    native: Input,
}

impl Native {
    /// The driver with its state (rules, DNS files, lock) in `dir`, under
    /// the run root: gone at a reboot, as the interfaces and rules are.
    pub(crate) fn new(dir: &Path) -> Native {
        Native { dir: dir.to_path_buf() }
    }

    /// Whether `input` was made by this driver.
    pub(crate) fn owns(input: &str) -> bool {
        serde_json::from_str::<Wrapped>(input).is_ok()
    }

    fn lock(&self) -> Result<nix::fcntl::Flock<File>, DriverError> {
        let path = self.dir.join("lock");
        let err = |source| DriverError::Lock { path: path.clone(), source };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(err)?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| err(std::io::Error::from(e)))
    }

    fn firewall(&self) -> firewall::Firewall {
        firewall::Firewall::new(&self.dir)
    }

    fn dns(&self) -> dns::Dns {
        dns::Dns::new(&self.dir.join("aardvark-dns"))
    }

    fn parse(input: &str) -> Result<Input, DriverError> {
        serde_json::from_str::<Wrapped>(input).map(|w| w.native).map_err(|source| DriverError::Result {
            program: "native".into(),
            verb: "input",
            output: input.to_string(),
            source,
        })
    }

    fn setup_locked(&self, netns: &Path, input: &Input) -> Result<(), DriverError> {
        let ns_file = File::open(netns).map_err(net_err(netns, "open netns"))?;
        let mut host = Rtnl::open().map_err(net_err(netns, "open rtnetlink"))?;
        let mut inside = Rtnl::open_in(&ns_file).map_err(net_err(netns, "open rtnetlink in netns"))?;
        // Write-ahead: a bridge is in the state (so `network rm` removes
        // it) before it exists.
        let bridges: Vec<&NetInput> = input.networks.iter().filter(|n| n.driver == "bridge").collect();
        let fw = self.firewall();
        if bridges.iter().any(|n| !fw.load().networks.contains_key(&n.interface)) {
            fw.record(|s| {
                for n in &bridges {
                    s.networks.insert(n.interface.clone(), net_rules(n));
                }
            })?;
        }
        for n in &input.networks {
            let peer = NewLink { name: &n.ifname, mac: link::parse_mac(&n.mac), netns: Some(&ns_file) };
            if n.driver == "macvlan" {
                let parent = host.index(&n.interface).map_err(net_err(netns, "find macvlan parent"))?;
                let parent = parent.ok_or_else(|| DriverError::Netlink {
                    what: "find macvlan parent",
                    netns: n.interface.clone().into(),
                    source: std::io::Error::from_raw_os_error(libc::ENODEV),
                })?;
                host.add_macvlan(parent, &peer).map_err(net_err(netns, "add macvlan"))?;
            } else {
                let bridge = ensure_bridge(&mut host, n).map_err(net_err(netns, "set up bridge"))?;
                let veth = veth_name(&input.id, &n.ifname);
                match host.add_veth(&veth, bridge, &peer) {
                    // The pair of this container's previous run, its netns
                    // not yet cleaned up by the kernel: remove it now.
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                        host.delete(&veth).map_err(net_err(netns, "delete stale veth pair"))?;
                        host.add_veth(&veth, bridge, &peer)
                    }
                    made => made,
                }
                .map_err(net_err(netns, "add veth pair"))?;
            }
            configure_inside(&mut inside, n).map_err(net_err(netns, "configure the container's interface"))?;
        }
        let ports = self.port_rules(input);
        fw.update(|s| {
            for n in &bridges {
                s.networks.insert(n.interface.clone(), net_rules(n));
            }
            for (key, rules) in ports {
                s.ports.insert(key, rules);
            }
        })?;
        for n in input.networks.iter().filter(|n| n.dns && n.gateway.is_some()) {
            let listen = dns_listen(n);
            let entry = dns::Entry { id: &input.id, ip: n.ip, ip6: n.ip6, names: &n.names };
            self.dns().add(&n.name, &listen, &entry)?;
        }
        Ok(())
    }

    /// The published ports' rules, keyed `<id>/<bridge>` (with the first
    /// network, as docker publishes on the container's first one).
    fn port_rules(&self, input: &Input) -> Vec<(String, Vec<firewall::PortRule>)> {
        let Some(n) = input.networks.first().filter(|n| n.driver == "bridge") else { return Vec::new() };
        if input.ports.is_empty() {
            return Vec::new();
        }
        let rules = input
            .ports
            .iter()
            .map(|p| firewall::PortRule {
                bridge: n.interface.clone(),
                protocol: p.protocol.clone(),
                host_ip: p.host_ip,
                host_port: p.host_port,
                ip: n.ip,
                ip6: n.ip6,
                port: p.container_port,
            })
            .collect();
        vec![(format!("{}/{}", input.id, n.interface), rules)]
    }

    fn teardown_locked(&self, netns: &Path, input: &Input, after: Netns) -> Result<(), DriverError> {
        match after {
            Netns::Kept => self.remove_links(netns, input)?,
            Netns::Released => set_veths_down(netns, input)?,
        }
        let keys: Vec<String> = input.networks.iter().map(|n| format!("{}/{}", input.id, n.interface)).collect();
        self.firewall().update(|s| {
            for k in &keys {
                s.ports.remove(k);
            }
        })?;
        for n in input.networks.iter().filter(|n| n.dns) {
            self.dns().remove(&n.name, &input.id)?;
        }
        Ok(())
    }

    /// Remove the container's interfaces now (the netns stays).
    fn remove_links(&self, netns: &Path, input: &Input) -> Result<(), DriverError> {
        let mut host = Rtnl::open().map_err(net_err(netns, "open rtnetlink"))?;
        for n in &input.networks {
            if n.driver == "macvlan" {
                // It lives in the container's netns: gone with it, or removed
                // now for a disconnect.
                if let Ok(ns_file) = File::open(netns) {
                    let mut inside = Rtnl::open_in(&ns_file).map_err(net_err(netns, "open rtnetlink in netns"))?;
                    inside.delete(&n.ifname).map_err(net_err(netns, "delete macvlan"))?;
                }
            } else {
                host.delete(&veth_name(&input.id, &n.ifname)).map_err(net_err(netns, "delete veth pair"))?;
            }
        }
        Ok(())
    }
}

/// A netns about to be released: its pairs go with it, in the kernel's own
/// time (its cleanup worker, after RCU grace periods: the ~18 ms a delete
/// here would wait for). Until then the host's ends are down, so the
/// bridge forgets their MACs and sends them nothing: the addresses, freed
/// now, may already be someone else's.
fn set_veths_down(netns: &Path, input: &Input) -> Result<(), DriverError> {
    let mut host = Rtnl::open().map_err(net_err(netns, "open rtnetlink"))?;
    for n in input.networks.iter().filter(|n| n.driver != "macvlan") {
        host.set_down(&veth_name(&input.id, &n.ifname)).map_err(net_err(netns, "set veth down"))?;
    }
    Ok(())
}

/// A netlink failure of step `what` for the container whose netns is `netns`.
fn net_err<'a>(netns: &'a Path, what: &'static str) -> impl Fn(std::io::Error) -> DriverError + 'a {
    move |source| DriverError::Netlink { what, netns: netns.to_path_buf(), source }
}

/// The bridge of `n`, made if missing, with its addresses and sysctls
/// (each step a no-op when already done, so an interrupted one completes).
fn ensure_bridge(host: &mut Rtnl, n: &NetInput) -> std::io::Result<u32> {
    let index = match host.index(&n.interface)? {
        Some(i) => i,
        None => host.add_bridge(&n.interface)?,
    };
    if let (Some(gw), Some(prefix)) = (n.gateway, prefix_of(n.subnet.as_deref())) {
        host.add_address(index, gw.into(), prefix)?;
    }
    if let (Some(gw), Some(prefix)) = (n.gateway6, prefix_of(n.subnet6.as_deref())) {
        host.add_address(index, gw.into(), prefix)?;
        sysctl("/proc/sys/net/ipv6/conf/all/forwarding")?;
    }
    sysctl(&format!("/proc/sys/net/ipv4/conf/{}/route_localnet", n.interface))?;
    if !n.internal {
        sysctl("/proc/sys/net/ipv4/ip_forward")?;
    }
    Ok(index)
}

/// The container's interface: its addresses and default routes.
fn configure_inside(inside: &mut Rtnl, n: &NetInput) -> std::io::Result<()> {
    let index = inside.index(&n.ifname)?.ok_or_else(|| std::io::Error::from_raw_os_error(libc::ENODEV))?;
    inside.set_up(index)?;
    if let Some(prefix) = prefix_of(n.subnet.as_deref()) {
        inside.add_address(index, n.ip.into(), prefix)?;
        if let Some(gw) = n.gateway.filter(|_| !n.internal) {
            inside.add_default_route(index, gw.into())?;
        }
    }
    if let (Some(ip6), Some(prefix)) = (n.ip6, prefix_of(n.subnet6.as_deref())) {
        inside.add_address(index, ip6.into(), prefix)?;
        if let Some(gw) = n.gateway6.filter(|_| !n.internal) {
            inside.add_default_route(index, gw.into())?;
        }
    }
    Ok(())
}

/// Write "1" to a sysctl file unless it already says so.
fn sysctl(path: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1") {
        return Ok(());
    }
    std::fs::write(path, "1")
}

fn prefix_of(subnet: Option<&str>) -> Option<u8> {
    subnet?.split_once('/')?.1.parse().ok()
}

fn net_rules(n: &NetInput) -> firewall::NetRules {
    firewall::NetRules { subnet: n.subnet.clone(), subnet6: n.subnet6.clone(), internal: n.internal, dns: n.dns }
}

fn dns_listen(n: &NetInput) -> String {
    let mut listen: Vec<String> = n.gateway.iter().map(|g| g.to_string()).collect();
    listen.extend(n.gateway6.iter().map(|g| g.to_string()));
    listen.join(",")
}

/// The host's end of a container's veth: `vb` + 10 hex digits of the id +
/// the interface's number (`eth0` → 0), at most 15 bytes.
fn veth_name(id: &str, ifname: &str) -> String {
    let n = ifname.trim_start_matches("eth");
    format!("vb{}{}", &id[..10.min(id.len())], &n[..3.min(n.len())])
}

impl NetworkDriver for Native {
    fn input(&self, a: &Attachment<'_>) -> String {
        let networks = a
            .networks
            .iter()
            .map(|(n, e)| {
                let mut names = Vec::new();
                if n.dns {
                    names.push(a.container_name.to_string());
                    names.extend(e.aliases.iter().cloned());
                    names.push(a.container_id[..12.min(a.container_id.len())].to_string());
                }
                NetInput {
                    name: n.name.clone(),
                    driver: n.driver.clone(),
                    interface: n.interface.clone().unwrap_or_default(),
                    subnet: n.subnet.map(|s| s.to_string()),
                    gateway: n.gateway,
                    subnet6: n.subnet6.map(|s| s.to_string()),
                    gateway6: n.gateway6,
                    internal: n.internal,
                    dns: n.dns && !n.internal && n.driver == "bridge",
                    ifname: e.interface.clone(),
                    mac: e.mac.clone(),
                    ip: e.ip,
                    ip6: e.ip6,
                    names,
                }
            })
            .collect();
        let ports = a
            .ports
            .iter()
            .map(|p| PortInput {
                host_ip: IpAddr::V4(p.host_ip),
                host_port: p.host_port,
                container_port: p.container_port,
                protocol: p.protocol.clone(),
            })
            .collect();
        let input = Input { id: a.container_id.to_string(), networks, ports };
        // Strings, numbers and addresses always serialize.
        serde_json::to_string(&Wrapped { native: input }).expect("serializable")
    }

    fn setup(&self, netns: &Path, input: &str) -> Result<SetupResult, DriverError> {
        let input = Self::parse(input)?;
        let _lock = self.lock()?;
        self.setup_locked(netns, &input)?;
        Ok(SetupResult::new())
    }

    fn teardown(&self, netns: &Path, input: &str, after: Netns) -> Result<(), DriverError> {
        let input = Self::parse(input)?;
        let _lock = self.lock()?;
        self.teardown_locked(netns, &input, after)
    }

    fn leftovers(&self, inputs: &[&str], repair: bool) -> Result<Vec<(String, bool)>, DriverError> {
        let bridges: Vec<String> = self.firewall().load().networks.into_keys().collect();
        if bridges.is_empty() {
            return Ok(Vec::new());
        }
        let mut expected = Vec::new();
        for input in inputs.iter().filter(|i| Self::owns(i)) {
            let input = Self::parse(input)?;
            expected.extend(input.networks.iter().map(|n| veth_name(&input.id, &n.ifname)));
        }
        let net_err = |source| DriverError::Netlink { what: "list links", netns: "(host)".into(), source };
        let mut host = Rtnl::open().map_err(net_err)?;
        let strays = |host: &mut Rtnl| -> std::io::Result<Vec<String>> {
            let links = host.links()?;
            let ours: Vec<u32> = links.iter().filter(|l| bridges.contains(&l.name)).map(|l| l.index).collect();
            Ok(links
                .into_iter()
                .filter(|l| l.master.is_some_and(|m| ours.contains(&m)) && l.name.starts_with("vb"))
                .filter(|l| !expected.contains(&l.name))
                .map(|l| l.name)
                .collect())
        };
        // A container's pair outlives its teardown until the kernel cleans
        // its netns up (milliseconds, more under load): what is still there
        // after a while is left behind.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut left = strays(&mut host).map_err(net_err)?;
        while !left.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            left = strays(&mut host).map_err(net_err)?;
        }
        let mut found = Vec::new();
        for name in left {
            if repair {
                let _lock = self.lock()?;
                host.delete(&name).map_err(net_err)?;
            }
            found.push((format!("veth {name}: no container uses it"), repair));
        }
        Ok(found)
    }

    fn remove_network(&self, n: &Network) -> Result<(), DriverError> {
        if n.driver != "bridge" {
            return Ok(());
        }
        let _lock = self.lock()?;
        // Only a bridge this store set up (a store's tests in the host's
        // namespace never touch a bridge of the same name they did not make).
        if let Some(bridge) = n.interface.as_ref().filter(|b| self.firewall().load().networks.contains_key(*b)) {
            let net_err = |source| DriverError::Netlink { what: "delete bridge", netns: PathBuf::from(bridge), source };
            Rtnl::open().and_then(|mut h| h.delete(bridge)).map_err(net_err)?;
            self.firewall().update(|s| {
                s.networks.remove(bridge);
                s.ports.retain(|k, _| !k.ends_with(&format!("/{bridge}")));
            })?;
        }
        self.dns().forget(&n.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_fit_and_differ_per_interface() {
        let id = "0123456789abcdef";
        assert_eq!(veth_name(id, "eth0"), "vb01234567890");
        assert_eq!(veth_name(id, "eth12"), "vb012345678912");
        assert!(veth_name(id, "eth999").len() <= 15);
        assert_eq!(prefix_of(Some("10.78.0.0/24")), Some(24));
    }
}
