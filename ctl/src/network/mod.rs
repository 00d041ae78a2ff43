//! Networks: the records (`store`), address management (`ipam`), published
//! ports (`ports`), the driver that builds interfaces and firewall rules
//! (`driver`; `native`, the default, or `netavark`), the container's network namespace file
//! (`netns`) and its /etc files (`etc`).
//!
//! Network commands use the functions here; the container's run path calls
//! [`container`]: `allocate` in the transaction that writes the container
//! (leases and host ports are rows), `setup` before `<runtime> create` on
//! each start, `teardown` when the container has stopped (replayed from the
//! stored driver input, so it also works after a crash), `release` in the
//! transaction that removes it.

pub(crate) mod container;
pub(crate) mod driver;
mod etc;
pub(crate) mod inspect;
pub(crate) mod ipam;
mod native;
mod netavark;
pub(crate) mod netns;
pub(crate) mod ports;
pub(crate) mod store;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use rusqlite::Connection;

use ipam::{IpamError, Ipv4Net, Ipv6Net};
use store::Network;

/// The default network's name, bridge interface and subnet (not docker's
/// docker0/172.17.0.0/16 nor podman's podman0/10.88.0.0/16, which may live
/// on the same host).
pub(crate) const DEFAULT_NETWORK: &str = "bridge";
pub(crate) const DEFAULT_BRIDGE: &str = "berth0";
const BRIDGE_PREFIX: &str = "berth";

#[derive(Debug, thiserror::Error)]
pub(crate) enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network with name {0} already exists")]
    Exists(String),
    #[error("invalid network name {0:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    Name(String),
    #[error("plugin {0:?} not found")]
    Driver(String),
    #[error("network {name}: {message}")]
    Invalid { name: String, message: String },
    #[error("{0} is a pre-defined network and cannot be removed")]
    Predefined(String),
    #[error("error while removing network: network {name} id {id} has active endpoints")]
    InUse { name: String, id: String },
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error("network store")]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("container {id}")]
    Container {
        id: String,
        #[source]
        source: Box<NetworkError>,
    },
    #[error("driver failed programming external connectivity on endpoint {name} ({id})")]
    Ports {
        name: String,
        id: String,
        #[source]
        source: ports::PortError,
    },
    #[error("conflicting options: {0}")]
    Conflict(String),
    #[error("container {container} is already attached to network {network}")]
    Attached { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotAttached { container: String, network: String },
    #[error("cannot join network of a non running container: {0}")]
    JoinStopped(String),
    #[error(transparent)]
    Netns(#[from] netns::NetnsError),
    #[error(transparent)]
    Backend(#[from] driver::DriverError),
    #[error("write {path:?}")]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateOptions {
    pub name: String,
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    /// `--ipv6`: dual stack, with `subnet6` (else the next free /64 of the
    /// pool) and `gateway6` (else the subnet's first address).
    pub ipv6: bool,
    pub subnet6: Option<String>,
    pub gateway6: Option<String>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

/// A new 64-hex id from the kernel's random pool, as docker's ids.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 32];
    // getrandom(2) cannot fail for 32 bytes once the pool is initialised; a
    // short read would leave zeros, which are still a valid id.
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Add docker's three predefined networks if this store lacks them.
pub(crate) fn ensure_defaults(c: &Connection) -> Result<(), NetworkError> {
    let defaults = [(DEFAULT_NETWORK, "bridge"), ("host", "host"), ("none", "null")];
    for (name, driver) in defaults {
        if store::find_network(c, name)?.is_some() {
            continue;
        }
        let bridge = driver == "bridge";
        // The constant parses.
        let subnet: Option<Ipv4Net> = bridge.then(|| ipam::DEFAULT_BRIDGE_SUBNET.parse().expect("a valid CIDR"));
        store::insert_network(
            c,
            &Network {
                id: random_id(),
                name: name.into(),
                driver: driver.into(),
                interface: bridge.then(|| DEFAULT_BRIDGE.to_string()),
                subnet,
                gateway: subnet.map(|s| s.first_host()),
                ip_range: None,
                subnet6: None,
                gateway6: None,
                internal: false,
                dns: false,
                labels: BTreeMap::new(),
                options: BTreeMap::new(),
                created: now(),
            },
        )?;
    }
    Ok(())
}

/// Whether a network is one of docker's three that cannot be removed.
pub(crate) fn is_predefined(n: &Network) -> bool {
    matches!(n.name.as_str(), DEFAULT_NETWORK | "host" | "none")
}

fn invalid(name: &str, message: impl Into<String>) -> NetworkError {
    NetworkError::Invalid { name: name.to_string(), message: message.into() }
}

/// `network create`, in the caller's write transaction.
pub(crate) fn create(c: &Connection, o: &CreateOptions) -> Result<Network, NetworkError> {
    ensure_defaults(c)?;
    if !is_valid_name(&o.name) {
        return Err(NetworkError::Name(o.name.clone()));
    }
    if store::find_network(c, &o.name)?.is_some_and(|n| n.name == o.name) {
        return Err(NetworkError::Exists(o.name.clone()));
    }
    let existing = store::networks(c)?;
    let taken: Vec<Ipv4Net> = existing.iter().filter_map(|n| n.subnet).collect();
    let subnet = match &o.subnet {
        Some(s) => {
            let net: Ipv4Net = s.parse()?;
            if net.to_string() != *s {
                return Err(invalid(&o.name, format!("invalid subnet {s}: it should be {net}")));
            }
            if taken.iter().any(|t| t.overlaps(&net)) {
                return Err(invalid(&o.name, "Pool overlaps with other one on this address space"));
            }
            net
        }
        None => ipam::next_subnet(&taken)?,
    };
    let gateway = match &o.gateway {
        Some(g) => ipam::parse_ip(g)?,
        None => subnet.first_host(),
    };
    if !subnet.contains(gateway) {
        return Err(invalid(&o.name, format!("gateway {gateway} is not in subnet {subnet}")));
    }
    let ip_range = match &o.ip_range {
        Some(r) => {
            let range: Ipv4Net = r.parse()?;
            if !subnet.contains(range.network()) || range.prefix() < subnet.prefix() {
                return Err(invalid(&o.name, format!("ip-range {range} is not in subnet {subnet}")));
            }
            Some(range)
        }
        None => None,
    };
    let (subnet6, gateway6) = ipv6_subnet(o, &existing)?.unzip();
    let interface = interface_for(o, &existing)?;
    let n = Network {
        id: random_id(),
        name: o.name.clone(),
        driver: o.driver.clone(),
        interface: Some(interface),
        subnet: Some(subnet),
        gateway: Some(gateway),
        ip_range,
        subnet6,
        gateway6,
        internal: o.internal,
        dns: o.driver == "bridge",
        labels: o.labels.clone(),
        options: o.options.clone(),
        created: now(),
    };
    store::insert_network(c, &n)?;
    Ok(n)
}

/// A dual-stack network's IPv6 subnet and gateway; none without `--ipv6`.
fn ipv6_subnet(o: &CreateOptions, existing: &[Network]) -> Result<Option<(Ipv6Net, Ipv6Addr)>, NetworkError> {
    if !o.ipv6 {
        if let Some(s) = &o.subnet6 {
            return Err(invalid(&o.name, format!("subnet {s} is IPv6 but IPv6 is not enabled (--ipv6)")));
        }
        return Ok(None);
    }
    let taken: Vec<Ipv6Net> = existing.iter().filter_map(|n| n.subnet6).collect();
    let subnet = match &o.subnet6 {
        Some(s) => {
            let net: Ipv6Net = s.parse()?;
            if net.to_string() != *s {
                return Err(invalid(&o.name, format!("invalid subnet {s}: it should be {net}")));
            }
            if taken.iter().any(|t| t.overlaps(&net)) {
                return Err(invalid(&o.name, "Pool overlaps with other one on this address space"));
            }
            net
        }
        None => ipam::next_subnet6(&taken)?,
    };
    let gateway = match &o.gateway6 {
        Some(g) => g.parse().map_err(|_| IpamError::Address(g.clone()))?,
        None => subnet.first_host(),
    };
    if !subnet.contains(gateway) {
        return Err(invalid(&o.name, format!("gateway {gateway} is not in subnet {subnet}")));
    }
    Ok(Some((subnet, gateway)))
}

/// A bridge's own name (`com.docker.network.bridge.name`, else the first
/// free `berthN`), or a macvlan's `parent`.
fn interface_for(o: &CreateOptions, existing: &[Network]) -> Result<String, NetworkError> {
    let used = |name: &str| existing.iter().any(|n| n.driver == "bridge" && n.interface.as_deref() == Some(name));
    match o.driver.as_str() {
        "bridge" => {
            if let Some(name) = o.options.get("com.docker.network.bridge.name") {
                if used(name) || name.len() > 15 {
                    return Err(invalid(&o.name, format!("bridge name {name:?} is in use or longer than 15 bytes")));
                }
                return Ok(name.clone());
            }
            // The number of networks bounds the search: one of them is free.
            Ok((1..=existing.len() + 1)
                .map(|i| format!("{BRIDGE_PREFIX}{i}"))
                .find(|name| !used(name))
                .expect("one of len+1 names is free"))
        }
        "macvlan" => match o.options.get("parent") {
            Some(p) if has_interface(p) => Ok(p.clone()),
            Some(p) => Err(invalid(&o.name, format!("-o parent={p}: no such interface"))),
            None => Err(invalid(&o.name, "the macvlan driver needs -o parent=<interface>")),
        },
        other => Err(NetworkError::Driver(other.to_string())),
    }
}

/// Whether this network namespace has the interface: /proc/self/net/dev is
/// the caller's namespace's list (/sys/class/net is the one sysfs was
/// mounted in, which a test's namespace may not have remounted).
fn has_interface(name: &str) -> bool {
    let dev = std::fs::read_to_string("/proc/self/net/dev").unwrap_or_default();
    dev.lines().skip(2).filter_map(|l| l.split_once(':')).any(|(n, _)| n.trim() == name)
}

/// `network rm`, in the caller's write transaction (the driver removes the
/// network's bridge and rules; its failure rolls the removal back).
pub(crate) fn remove(c: &Connection, driver: &dyn driver::NetworkDriver, key: &str) -> Result<Network, NetworkError> {
    ensure_defaults(c)?;
    let n = store::find_network(c, key)?.ok_or_else(|| NetworkError::NotFound(key.to_string()))?;
    if is_predefined(&n) {
        return Err(NetworkError::Predefined(n.name));
    }
    if !store::network_endpoints(c, &n.id)?.is_empty() {
        return Err(NetworkError::InUse { name: n.name, id: n.id });
    }
    store::delete_network(c, &n.id)?;
    driver.remove_network(&n)?;
    Ok(n)
}

/// `network prune`: every user network without endpoints; returns their names.
pub(crate) fn prune(
    c: &Connection,
    driver: &dyn driver::NetworkDriver,
    keep: impl Fn(&Network) -> bool,
) -> Result<Vec<String>, NetworkError> {
    ensure_defaults(c)?;
    let mut removed = Vec::new();
    for n in store::networks(c)? {
        if is_predefined(&n) || keep(&n) || !store::network_endpoints(c, &n.id)?.is_empty() {
            continue;
        }
        store::delete_network(c, &n.id)?;
        driver.remove_network(&n)?;
        removed.push(n.name);
    }
    Ok(removed)
}

/// The driver for containers of the store whose run state is `runroot`:
/// the native one (state in `<runroot>/net`), or netavark (state in
/// `<runroot>/netavark`) with `BERTH_NETWORK_BACKEND=netavark`. A stored
/// input is always replayed by the driver that made it.
pub(crate) fn driver(runroot: &Path) -> Result<Box<dyn driver::NetworkDriver>, NetworkError> {
    let netavark = std::env::var("BERTH_NETWORK_BACKEND").is_ok_and(|b| b == "netavark");
    Ok(Box::new(Backends {
        native: native::Native::new(&runroot.join("net")),
        netavark: netavark::Netavark::new(&runroot.join("netavark")),
        prefer_netavark: netavark,
    }))
}

/// Both drivers: new setups go to the preferred one, stored inputs to the
/// one that made them.
struct Backends {
    native: native::Native,
    netavark: netavark::Netavark,
    prefer_netavark: bool,
}

impl Backends {
    fn of(&self, input: &str) -> &dyn driver::NetworkDriver {
        if native::Native::owns(input) { &self.native } else { &self.netavark }
    }
}

impl driver::NetworkDriver for Backends {
    fn input(&self, a: &driver::Attachment<'_>) -> String {
        if self.prefer_netavark { self.netavark.input(a) } else { self.native.input(a) }
    }
    fn setup(&self, netns: &Path, input: &str) -> Result<driver::SetupResult, driver::DriverError> {
        self.of(input).setup(netns, input)
    }
    fn teardown(&self, netns: &Path, input: &str, after: driver::Netns) -> Result<(), driver::DriverError> {
        self.of(input).teardown(netns, input, after)
    }
    fn leftovers(&self, inputs: &[&str], repair: bool) -> Result<Vec<(String, bool)>, driver::DriverError> {
        self.native.leftovers(inputs, repair)
    }
    fn remove_network(&self, n: &Network) -> Result<(), driver::DriverError> {
        // netavark removes its bridge with the network's last container.
        self.native.remove_network(n)
    }
}

fn open_db(config: &crate::config::Config) -> Result<crate::db::Db, NetworkError> {
    Ok(crate::db::Db::open(&config.data_root.join("berth.db"))?)
}

/// Before each `<runtime> create`: set the container's networking up (its
/// own connection, autocommit, so the write-ahead record is on disk before
/// anything it describes exists); writes `hosts` and `resolv.conf` into
/// `etc_dir`.
pub(crate) fn start(
    config: &crate::config::Config,
    who: container::Identity<'_>,
    etc_dir: &Path,
) -> Result<container::Namespace, NetworkError> {
    let db = open_db(config)?;
    if store::request(db.conn(), who.id)?.is_none() {
        // A container made before it had a network record: none, as docker's
        // `--network none`.
        let req = container::Request { mode: "none".into(), ..Default::default() };
        container::allocate(db.conn(), who, &req, &[])?;
    }
    let driver = driver(&config.runroot)?;
    container::setup(db.conn(), &*driver, &config.runroot, who, etc_dir)
}

/// After the container stopped (and in its place after a crash): undo what
/// `start` set up, replayed from the stored record.
pub(crate) fn stop(config: &crate::config::Config, id: &str) -> Result<(), NetworkError> {
    let db = open_db(config)?;
    if store::setup(db.conn(), id)?.is_none() {
        return Ok(());
    }
    let driver = driver(&config.runroot)?;
    container::teardown(db.conn(), &*driver, &config.runroot, id)
}

/// `system check`'s network part (see `container::check`).
pub(crate) fn check(
    config: &crate::config::Config,
    exists: &dyn Fn(&str) -> bool,
    running: &dyn Fn(&str) -> bool,
    repair: bool,
) -> Result<Vec<(String, bool)>, NetworkError> {
    let db = open_db(config)?;
    let driver = driver(&config.runroot)?;
    container::check(db.conn(), &*driver, &config.runroot, exists, running, repair)
}

/// A container's `NetworkSettings` for `inspect`.
pub(crate) fn settings(
    config: &crate::config::Config,
    id: &str,
    exposed: &[String],
) -> Result<serde_json::Value, NetworkError> {
    let db = open_db(config)?;
    inspect::settings(db.conn(), id, exposed)
}

/// The `port` command's lines for a container.
pub(crate) fn port_lines(
    config: &crate::config::Config,
    id: &str,
    filter: Option<&str>,
) -> Result<Vec<String>, NetworkError> {
    let db = open_db(config)?;
    inspect::port_lines(db.conn(), id, filter)
}

/// The address of the host's side on a network (where aardvark-dns answers).
pub(crate) fn dns_address(n: &Network) -> Option<Ipv4Addr> {
    if n.dns && !n.internal { n.gateway } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A driver with nothing to remove.
    struct Nop;
    impl driver::NetworkDriver for Nop {
        fn input(&self, _: &driver::Attachment<'_>) -> String {
            String::new()
        }
        fn setup(&self, _: &Path, _: &str) -> Result<driver::SetupResult, driver::DriverError> {
            Ok(Default::default())
        }
        fn teardown(&self, _: &Path, _: &str, _: driver::Netns) -> Result<(), driver::DriverError> {
            Ok(())
        }
    }

    fn opts(name: &str) -> CreateOptions {
        CreateOptions { name: name.into(), driver: "bridge".into(), ..Default::default() }
    }

    #[test]
    fn ipv6_networks_are_dual_stack() {
        let c = store::test_db();
        let six = CreateOptions { ipv6: true, subnet6: Some("fd00:1::/64".into()), ..opts("six") };
        let n = create(&c, &six).unwrap();
        assert_eq!(n.subnet6.unwrap().to_string(), "fd00:1::/64");
        assert_eq!(n.gateway6.unwrap().to_string(), "fd00:1::1");
        assert!(n.subnet.is_some(), "an IPv4 subnet too");
        let auto = create(&c, &CreateOptions { ipv6: true, ..opts("auto") }).unwrap();
        assert_eq!(auto.subnet6.unwrap().to_string(), "fdbe:7274:6800::/64");
        let clash = create(&c, &CreateOptions { ipv6: true, subnet6: Some("fd00:1::/48".into()), ..opts("x") });
        assert!(clash.unwrap_err().to_string().contains("Pool overlaps"));
        let off = create(&c, &CreateOptions { subnet6: Some("fd00:2::/64".into()), ..opts("y") });
        assert!(off.unwrap_err().to_string().contains("IPv6 is not enabled"));
        assert!(create(&c, &opts("v4")).unwrap().subnet6.is_none());
    }

    #[test]
    fn create_picks_free_subnets_and_bridge_names() {
        let c = store::test_db();
        let a = create(&c, &opts("a")).unwrap();
        let b = create(&c, &opts("b")).unwrap();
        assert_eq!(a.subnet.unwrap().to_string(), "10.78.0.0/24");
        assert_eq!(a.gateway.unwrap().to_string(), "10.78.0.1");
        assert_eq!((a.interface.as_deref(), b.interface.as_deref()), (Some("berth1"), Some("berth2")));
        assert_eq!(b.subnet.unwrap().to_string(), "10.78.1.0/24");
        assert!(a.dns);
        let bridge = store::find_network(&c, "bridge").unwrap().unwrap();
        assert_eq!(bridge.subnet.unwrap().to_string(), "10.77.0.0/16");
        assert!(!bridge.dns);
    }

    #[test]
    fn create_refuses_duplicates_overlaps_and_bad_gateways() {
        let c = store::test_db();
        create(&c, &opts("a")).unwrap();
        assert!(matches!(create(&c, &opts("a")), Err(NetworkError::Exists(_))));
        let overlap = CreateOptions { subnet: Some("10.77.5.0/24".into()), ..opts("b") };
        assert!(create(&c, &overlap).unwrap_err().to_string().contains("Pool overlaps"));
        let host_bits = CreateOptions { subnet: Some("192.168.5.1/24".into()), ..opts("b") };
        assert!(create(&c, &host_bits).unwrap_err().to_string().contains("it should be 192.168.5.0/24"));
        let gw =
            CreateOptions { subnet: Some("192.168.5.0/24".into()), gateway: Some("192.168.6.1".into()), ..opts("b") };
        assert!(create(&c, &gw).unwrap_err().to_string().contains("not in subnet"));
        assert!(matches!(create(&c, &opts("-x")), Err(NetworkError::Name(_))));
        let d = CreateOptions { driver: "overlay".into(), ..opts("b") };
        assert_eq!(create(&c, &d).unwrap_err().to_string(), "plugin \"overlay\" not found");
    }

    #[test]
    fn predefined_and_used_networks_are_not_removed() {
        let c = store::test_db();
        ensure_defaults(&c).unwrap();
        assert_eq!(
            remove(&c, &Nop, "bridge").unwrap_err().to_string(),
            "bridge is a pre-defined network and cannot be removed"
        );
        let n = create(&c, &opts("web")).unwrap();
        let e = store::Endpoint {
            container_id: "c".into(),
            network_id: n.id.clone(),
            ip: "10.78.0.2".parse().unwrap(),
            ip6: None,
            mac: String::new(),
            interface: "eth0".into(),
            aliases: vec![],
            endpoint_id: "e".into(),
        };
        store::insert_endpoint(&c, &e).unwrap();
        assert!(matches!(remove(&c, &Nop, "web"), Err(NetworkError::InUse { .. })));
        assert!(prune(&c, &Nop, |_| false).unwrap().is_empty());
        store::delete_container(&c, "c").unwrap();
        assert_eq!(prune(&c, &Nop, |_| false).unwrap(), vec!["web".to_string()]);
        assert!(matches!(remove(&c, &Nop, "web"), Err(NetworkError::NotFound(_))));
    }
}
