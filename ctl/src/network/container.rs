//! The container side of networking, called by the run path: the request
//! (`--network`, `-p`, `-P`, `--ip`, `--network-alias`, `--dns*`,
//! `--add-host`) turned into leases and host-port rows when the container is
//! written (`allocate`), into a netns, interfaces and rules on each start
//! (`setup`), undone on stop (`teardown`, replayed from the stored driver
//! input) and forgotten on rm (`release`). `connect`/`disconnect` add and
//! remove one network, live when the container runs.
//!
//! Crash safety: the setup record (netns path and the driver input) is
//! written before the netns or any interface exists, and cleared only after
//! teardown succeeded, so a killed berthctl or supervisor leaves a record
//! that `teardown` (from `rm`, the next start or `system check`) replays.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::driver::{Attachment, Netns, NetworkDriver};
use super::etc::{self, DnsConfig};
use super::store::{self, Endpoint, Network, Setup};
use super::{NetworkError, ipam, netns, ports};

/// What a container asked for, kept as JSON with its network rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Request {
    /// `bridge`, `host`, `none`, `container:<id>` or a network's name.
    pub mode: String,
    pub ip: Option<Ipv4Addr>,
    pub aliases: Vec<String>,
    pub publish: Vec<String>,
    pub publish_all: bool,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    pub extra_hosts: Vec<String>,
    /// `--mac-address` (lowercase, colon-separated), for the first network.
    #[serde(default)]
    pub mac: Option<String>,
}

/// Who the container is, for the driver and its /etc files.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Identity<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub hostname: &'a str,
}

/// Where the runtime finds the container's network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Namespace {
    /// `--network host`: no network namespace of its own.
    Host,
    /// Join this file (its own, or another container's for `container:`).
    Path(PathBuf),
}

/// The driver calls made for a container, in order, to be undone in reverse.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Calls(Vec<Call>);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Call {
    networks: Vec<String>,
    input: String,
}

fn wrap(id: &str) -> impl FnOnce(NetworkError) -> NetworkError + '_ {
    move |e| match e {
        e @ (NetworkError::Ports { .. } | NetworkError::NotFound(_) | NetworkError::Conflict(_)) => e,
        e => NetworkError::Container { id: id.to_string(), source: Box::new(e) },
    }
}

fn load_request(c: &Connection, id: &str) -> Result<Request, NetworkError> {
    let text = store::request(c, id)?.unwrap_or_default();
    Ok(serde_json::from_str(&text).unwrap_or(Request { mode: "none".into(), ..Default::default() }))
}

/// In the transaction that writes the container: check the request, lease
/// an address on its network, take its host ports. `exposed` is the
/// container's ExposedPorts (`80/tcp`), for `-P`.
pub(crate) fn allocate(
    c: &Connection,
    who: Identity<'_>,
    req: &Request,
    exposed: &[String],
) -> Result<(), NetworkError> {
    super::ensure_defaults(c)?;
    let mode = if req.mode.is_empty() { super::DEFAULT_NETWORK } else { req.mode.as_str() };
    let publishes = !req.publish.is_empty() || req.publish_all;
    let special = mode == "host" || mode == "none" || mode.starts_with("container:");
    if special {
        // docker: refused with container:X; discarded (host, with a warning
        // from `create`) or ignored (none) otherwise.
        if publishes && mode.starts_with("container:") {
            return Err(NetworkError::Conflict("port publishing and the container type network mode".into()));
        }
        if req.ip.is_some() || !req.aliases.is_empty() {
            return Err(NetworkError::Conflict("networking options and the network mode".into()));
        }
        if req.mac.is_some() {
            return Err(NetworkError::Conflict("mac-address and the network mode".into()));
        }
    } else {
        let n = store::find_network(c, mode)?.ok_or_else(|| NetworkError::NotFound(mode.to_string()))?;
        lease(c, who.id, &n, req.ip, req.mac.as_deref(), &req.aliases)?;
        let mut specs = Vec::new();
        for p in &req.publish {
            specs.extend(ports::parse(p).map_err(port_err(who))?);
        }
        if req.publish_all {
            specs.extend(ports::publish_all(exposed).map_err(port_err(who))?);
        }
        let taken = store::ports(c, None)?;
        for p in ports::assign(who.id, &specs, &taken).map_err(port_err(who))? {
            store::insert_port(c, &p)?;
        }
    }
    let stored = Request { mode: mode.to_string(), ..req.clone() };
    // A request of strings always serializes.
    store::put_request(c, who.id, &serde_json::to_string(&stored).expect("serializable"))?;
    Ok(())
}

fn port_err(who: Identity<'_>) -> impl Fn(ports::PortError) -> NetworkError + '_ {
    move |source| NetworkError::Ports { name: who.name.to_string(), id: who.id.to_string(), source }
}

/// Lease an address (the one asked for, or the next free one) on `n`.
fn lease(
    c: &Connection,
    id: &str,
    n: &Network,
    ip: Option<Ipv4Addr>,
    mac: Option<&str>,
    aliases: &[String],
) -> Result<Endpoint, NetworkError> {
    let Some(subnet) = n.subnet else {
        return Err(NetworkError::Conflict(format!("container cannot be connected to network {}", n.name)));
    };
    if n.name == super::DEFAULT_NETWORK && ip.is_some() {
        return Err(NetworkError::Conflict(
            "user specified IP address is supported on user defined networks only".into(),
        ));
    }
    if n.name == super::DEFAULT_NETWORK && !aliases.is_empty() {
        return Err(NetworkError::Conflict(
            "network-scoped alias is supported only for containers in user defined networks".into(),
        ));
    }
    let existing = store::container_endpoints(c, id)?;
    if existing.iter().any(|e| e.network_id == n.id) {
        return Err(NetworkError::Attached { container: id.to_string(), network: n.name.clone() });
    }
    let leased: Vec<Ipv4Addr> = store::network_endpoints(c, &n.id)?.iter().map(|e| e.ip).collect();
    let ip = match ip {
        Some(ip) if !subnet.contains(ip) => {
            return Err(ipam::IpamError::OutOfSubnet { ip, subnet, network: n.name.clone() }.into());
        }
        Some(ip) if leased.contains(&ip) || Some(ip) == n.gateway => {
            return Err(NetworkError::Conflict(format!("Address already in use: {ip} on network {}", n.name)));
        }
        Some(ip) => ip,
        None => ipam::next_address(&n.name, subnet, n.ip_range, n.gateway, &leased)?,
    };
    let ip6 = match n.subnet6 {
        Some(subnet6) => {
            let leased6: Vec<Ipv6Addr> = store::network_endpoints(c, &n.id)?.iter().filter_map(|e| e.ip6).collect();
            Some(ipam::next_address6(&n.name, subnet6, n.gateway6, &leased6)?)
        }
        None => None,
    };
    let interface = (0..).map(|i| format!("eth{i}")).find(|name| !existing.iter().any(|e| &e.interface == name));
    let e = Endpoint {
        container_id: id.to_string(),
        network_id: n.id.clone(),
        ip,
        ip6,
        mac: mac.map_or_else(|| ipam::mac_for(ip), str::to_string),
        // `(0..)` is endless: some name is free.
        interface: interface.expect("a free ethN"),
        aliases: aliases.to_vec(),
        endpoint_id: super::random_id(),
    };
    store::insert_endpoint(c, &e)?;
    Ok(e)
}

/// In the transaction that removes the container: free its leases and ports.
pub(crate) fn release(c: &Connection, id: &str) -> Result<(), NetworkError> {
    Ok(store::delete_container(c, id)?)
}

fn endpoints_with_networks(c: &Connection, id: &str) -> Result<Vec<(Network, Endpoint)>, NetworkError> {
    let mut out = Vec::new();
    for e in store::container_endpoints(c, id)? {
        let n = store::networks(c)?.into_iter().find(|n| n.id == e.network_id);
        if let Some(n) = n {
            out.push((n, e));
        }
    }
    Ok(out)
}

/// Set the container's networking up before `<runtime> create`, writing
/// `hosts` and `resolv.conf` into `etc_dir`. `runroot` holds the netns file.
pub(crate) fn setup(
    c: &Connection,
    driver: &dyn NetworkDriver,
    runroot: &Path,
    who: Identity<'_>,
    etc_dir: &Path,
) -> Result<Namespace, NetworkError> {
    teardown(c, driver, runroot, who.id).map_err(wrap(who.id))?;
    let req = load_request(c, who.id)?;
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let dns = DnsConfig { servers: &req.dns, search: &req.dns_search, options: &req.dns_options };
    if req.mode == "host" {
        let mut hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        hosts.extend(req.extra_hosts.iter().filter_map(|e| etc::extra_host_line(e)));
        write_etc(etc_dir, &hosts, &etc::resolv_conf(&host_resolv, &dns, None))?;
        return Ok(Namespace::Host);
    }
    if let Some(other) = req.mode.strip_prefix("container:") {
        let setup = store::setup(c, other)?.ok_or_else(|| NetworkError::JoinStopped(other.to_string()))?;
        let own = endpoints_with_networks(c, other)?.first().map(|(_, e)| (e.ip, who.hostname));
        write_etc(etc_dir, &etc::hosts(&req.extra_hosts, own), &etc::resolv_conf(&host_resolv, &dns, None))?;
        return Ok(Namespace::Path(setup.netns));
    }
    let attached = endpoints_with_networks(c, who.id)?;
    let path = netns::path(runroot, who.id);
    let host_ports = store::ports(c, Some(who.id))?;
    let calls = Calls(
        attached
            .iter()
            .enumerate()
            .map(|(i, (n, e))| call(driver, who, n, e, if i == 0 { &host_ports } else { &[] }))
            .collect(),
    );
    // Write-ahead: the record exists before anything it describes.
    record(c, who.id, &path, &calls)?;
    let made = netns::create(&path).map_err(NetworkError::from).and_then(|()| {
        calls.0.iter().try_for_each(|call| driver.setup(&path, &call.input).map(drop).map_err(NetworkError::from))
    });
    if let Err(e) = made {
        if let Err(undo) = teardown(c, driver, runroot, who.id) {
            tracing::warn!(id = who.id, error = %undo, "undo a failed network setup");
        }
        return Err(wrap(who.id)(e));
    }
    crate::testhook::fault("network:setup");
    let own = attached.first().map(|(_, e)| (e.ip, who.hostname));
    let network_dns = attached.iter().find_map(|(n, _)| super::dns_address(n));
    write_etc(etc_dir, &etc::hosts(&req.extra_hosts, own), &etc::resolv_conf(&host_resolv, &dns, network_dns))?;
    Ok(Namespace::Path(path))
}

/// One driver call for one network: published ports go with the first.
fn call(
    driver: &dyn NetworkDriver,
    who: Identity<'_>,
    n: &Network,
    e: &Endpoint,
    host_ports: &[store::HostPort],
) -> Call {
    let a = Attachment {
        container_id: who.id,
        container_name: who.name,
        hostname: who.hostname,
        networks: vec![(n, e)],
        ports: host_ports,
    };
    Call { networks: vec![n.name.clone()], input: driver.input(&a) }
}

fn record(c: &Connection, id: &str, path: &Path, calls: &Calls) -> Result<(), NetworkError> {
    // A list of strings always serializes.
    let input = serde_json::to_string(calls).expect("serializable");
    Ok(store::put_setup(c, id, Some(&Setup { netns: path.to_path_buf(), driver_input: Some(input) }))?)
}

fn write_etc(dir: &Path, hosts: &str, resolv: &str) -> Result<(), NetworkError> {
    for (name, text) in [("hosts", hosts), ("resolv.conf", resolv)] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| NetworkError::Write { path, source })?;
    }
    Ok(())
}

/// Undo what `setup` recorded for the container, if anything: each driver
/// call in reverse with its stored input, then the netns file. A netns file
/// gone (reboot) is recreated empty for the replay, so the host side (rules,
/// the bridge) is still removed. The record is cleared only on success.
pub(crate) fn teardown(
    c: &Connection,
    driver: &dyn NetworkDriver,
    runroot: &Path,
    id: &str,
) -> Result<(), NetworkError> {
    let Some(setup) = store::setup(c, id)? else {
        return Ok(());
    };
    let calls: Calls = setup.driver_input.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
    let own = setup.netns == netns::path(runroot, id);
    if !calls.0.is_empty() && !netns::is_mounted(&setup.netns) {
        netns::create(&setup.netns)?;
    }
    // The netns dies with its bind mount unless a `container:` container
    // still runs in it: then its interfaces must go now, as docker's do.
    let after = if own && !store::is_joined(c, id)? { Netns::Released } else { Netns::Kept };
    let mut first_err = None;
    for call in calls.0.iter().rev() {
        if let Err(e) = driver.teardown(&setup.netns, &call.input, after) {
            first_err.get_or_insert(NetworkError::from(e));
        }
    }
    if own {
        netns::remove(&setup.netns)?;
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    Ok(store::put_setup(c, id, None)?)
}

/// `network connect`: lease an address on `network` and, when the container
/// runs (its netns is set up), add the interface now. In the caller's write
/// transaction, so a failed driver call leaves no lease.
pub(crate) fn connect(
    c: &Connection,
    driver: &dyn NetworkDriver,
    runroot: &Path,
    who: Identity<'_>,
    network: &str,
    ip: Option<Ipv4Addr>,
    aliases: &[String],
) -> Result<Endpoint, NetworkError> {
    super::ensure_defaults(c)?;
    let n = store::find_network(c, network)?.ok_or_else(|| NetworkError::NotFound(network.to_string()))?;
    let req = load_request(c, who.id)?;
    if req.mode == "host" || req.mode.starts_with("container:") || n.subnet.is_none() {
        return Err(NetworkError::Conflict(format!(
            "container sharing network namespace with another container or host cannot be connected to any other network ({})",
            n.name
        )));
    }
    let e = lease(c, who.id, &n, ip, None, aliases)?;
    if let Some(setup) = store::setup(c, who.id)?.filter(|s| s.netns == netns::path(runroot, who.id)) {
        let new = call(driver, who, &n, &e, &[]);
        let mut calls: Calls =
            setup.driver_input.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
        driver.setup(&setup.netns, &new.input)?;
        calls.0.push(new);
        record(c, who.id, &setup.netns, &calls)?;
    }
    Ok(e)
}

/// `network disconnect`: remove the interface if the container runs, then
/// the lease (and the published ports with its first network).
pub(crate) fn disconnect(
    c: &Connection,
    driver: &dyn NetworkDriver,
    runroot: &Path,
    id: &str,
    network: &str,
) -> Result<(), NetworkError> {
    let n = store::find_network(c, network)?.ok_or_else(|| NetworkError::NotFound(network.to_string()))?;
    let endpoints = store::container_endpoints(c, id)?;
    let Some(first) = endpoints.first() else {
        return Err(NetworkError::NotAttached { container: id.to_string(), network: n.name });
    };
    if !endpoints.iter().any(|e| e.network_id == n.id) {
        return Err(NetworkError::NotAttached { container: id.to_string(), network: n.name });
    }
    if let Some(setup) = store::setup(c, id)?.filter(|s| s.netns == netns::path(runroot, id)) {
        let mut calls: Calls =
            setup.driver_input.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
        if let Some(pos) = calls.0.iter().position(|call| call.networks == [n.name.clone()]) {
            driver.teardown(&setup.netns, &calls.0[pos].input, Netns::Kept)?;
            calls.0.remove(pos);
        }
        record(c, id, &setup.netns, &calls)?;
    }
    if first.network_id == n.id {
        c.execute("DELETE FROM host_ports WHERE container_id = ?1", [id])?;
    }
    store::delete_endpoint(c, id, &n.id)?;
    Ok(())
}

/// `system check`: the teardown of every container whose networking is
/// still recorded as set up but that no longer runs (`running`), the rows of
/// containers that no longer exist (`exists`), what the driver finds left
/// that no record names (a veth), and netns files under `<runroot>/netns`
/// that no record names. Each is done only with `repair`;
/// returns one line per finding and whether it was repaired.
pub(crate) fn check(
    c: &Connection,
    driver: &dyn NetworkDriver,
    runroot: &Path,
    exists: &dyn Fn(&str) -> bool,
    running: &dyn Fn(&str) -> bool,
    repair: bool,
) -> Result<Vec<(String, bool)>, NetworkError> {
    let mut found = Vec::new();
    for id in store::containers(c)? {
        if store::setup(c, &id)?.is_some() && !running(&id) {
            if repair {
                teardown(c, driver, runroot, &id).map_err(wrap(&id))?;
            }
            found.push((format!("container {id}: network set up but the container is not running"), repair));
        }
        if !exists(&id) {
            if repair {
                release(c, &id)?;
            }
            found.push((format!("container {id}: address leases and host ports of a removed container"), repair));
        }
    }
    let mut inputs = Vec::new();
    for id in store::containers(c)? {
        let calls: Calls = store::setup(c, &id)?
            .and_then(|s| s.driver_input)
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        inputs.extend(calls.0.into_iter().map(|call| call.input));
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    found.extend(driver.leftovers(&inputs, repair)?);
    let dir = runroot.join("netns");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(source) => return Err(NetworkError::Write { path: dir, source }),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if store::setup(c, &name)?.is_none() {
            if repair {
                netns::remove(&entry.path())?;
            }
            found.push((format!("netns {:?}: no container uses it", entry.path()), repair));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::network::driver::{DriverError, SetupResult};
    use crate::network::{CreateOptions, create};

    /// Records every call; fails setup when asked to.
    #[derive(Default)]
    struct Recorder {
        calls: RefCell<Vec<(String, String)>>,
        fail_setup: bool,
    }

    impl NetworkDriver for Recorder {
        fn input(&self, a: &Attachment<'_>) -> String {
            let nets: Vec<String> = a.networks.iter().map(|(n, e)| format!("{}={}", n.name, e.ip)).collect();
            format!("{} {} ports={}", a.container_name, nets.join(","), a.ports.len())
        }
        fn setup(&self, netns: &Path, input: &str) -> Result<SetupResult, DriverError> {
            self.calls.borrow_mut().push(("setup".into(), input.into()));
            if self.fail_setup {
                return Err(DriverError::Failed {
                    program: "fake".into(),
                    verb: "setup",
                    netns: netns.into(),
                    message: "boom".into(),
                });
            }
            Ok(SetupResult::new())
        }
        fn teardown(&self, _netns: &Path, input: &str, _after: Netns) -> Result<(), DriverError> {
            self.calls.borrow_mut().push(("teardown".into(), input.into()));
            Ok(())
        }
    }

    fn who(id: &str) -> Identity<'_> {
        Identity { id, name: id, hostname: id }
    }

    /// `allocate` in a transaction committed only on success, as the run path does.
    fn alloc(c: &Connection, id: &str, r: &Request, exposed: &[String]) -> Result<(), NetworkError> {
        let tx = c.unchecked_transaction().unwrap();
        allocate(&tx, who(id), r, exposed)?;
        tx.commit().unwrap();
        Ok(())
    }

    fn req(mode: &str) -> Request {
        Request { mode: mode.into(), ..Default::default() }
    }

    #[test]
    fn allocate_leases_in_order_and_frees_on_release() {
        let c = store::test_db();
        alloc(&c, "c1", &req(""), &[]).unwrap();
        alloc(&c, "c2", &req("bridge"), &[]).unwrap();
        let ip = |id| store::container_endpoints(&c, id).unwrap()[0].ip.to_string();
        assert_eq!((ip("c1"), ip("c2")), ("10.77.0.2".to_string(), "10.77.0.3".to_string()));
        release(&c, "c1").unwrap();
        alloc(&c, "c3", &req("bridge"), &[]).unwrap();
        assert_eq!(ip("c3"), "10.77.0.2");
    }

    #[test]
    fn allocate_checks_docker_rules() {
        let c = store::test_db();
        create(&c, &CreateOptions { name: "web".into(), driver: "bridge".into(), ..Default::default() }).unwrap();
        let fixed = Request { ip: Some("10.78.0.9".parse().unwrap()), aliases: vec!["db".into()], ..req("web") };
        alloc(&c, "c1", &fixed, &[]).unwrap();
        assert_eq!(store::container_endpoints(&c, "c1").unwrap()[0].aliases, ["db"]);
        let err = alloc(&c, "c2", &fixed, &[]).unwrap_err().to_string();
        assert!(err.contains("Address already in use"), "{err}");
        let on_bridge = Request { ip: Some("10.77.0.9".parse().unwrap()), ..req("bridge") };
        assert!(alloc(&c, "c3", &on_bridge, &[]).unwrap_err().to_string().contains("user defined networks only"));
        // docker ignores ports with `none` and refuses them with `container:`.
        let none = Request { publish: vec!["80".into()], ..req("none") };
        alloc(&c, "c4", &none, &[]).unwrap();
        let joined = Request { publish: vec!["80".into()], ..req("container:c4") };
        assert!(alloc(&c, "c6", &joined, &[]).unwrap_err().to_string().contains("conflicting options"));
        assert!(matches!(alloc(&c, "c5", &req("nope"), &[]), Err(NetworkError::NotFound(_))));
    }

    #[test]
    fn a_port_is_owned_by_one_container_until_release() {
        let c = store::test_db();
        let p = Request { publish: vec!["127.0.0.1:18080:80".into()], ..req("bridge") };
        alloc(&c, "c1", &p, &[]).unwrap();
        let err = alloc(&c, "c2", &p, &[]).unwrap_err();
        let chain: Vec<String> = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            chain.join(": "),
            "driver failed programming external connectivity on endpoint c2 (c2): Bind for 127.0.0.1:18080 failed: port is already allocated"
        );
        release(&c, "c1").unwrap();
        alloc(&c, "c2", &p, &[]).unwrap();
        let all = Request { publish_all: true, ..req("bridge") };
        alloc(&c, "c3", &all, &["80/tcp".into(), "53/udp".into()]).unwrap();
        assert_eq!(store::ports(&c, Some("c3")).unwrap().len(), 2);
    }

    #[test]
    fn check_releases_rows_of_gone_containers_and_stray_netns_files() {
        let c = store::test_db();
        let run = tempfile::tempdir().unwrap();
        alloc(&c, "gone", &Request { publish: vec!["80".into()], ..req("bridge") }, &[]).unwrap();
        alloc(&c, "kept", &req("bridge"), &[]).unwrap();
        std::fs::create_dir_all(run.path().join("netns")).unwrap();
        std::fs::write(run.path().join("netns/stray"), "").unwrap();
        let d = Recorder::default();
        let seen = check(&c, &d, run.path(), &|id| id == "kept", &|_| false, false).unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(run.path().join("netns/stray").exists(), "nothing is changed without repair");
        let fixed = check(&c, &d, run.path(), &|id| id == "kept", &|_| false, true).unwrap();
        assert_eq!(fixed.len(), 2, "{fixed:?}");
        assert!(fixed.iter().all(|(_, repaired)| *repaired));
        assert!(store::container_endpoints(&c, "gone").unwrap().is_empty());
        assert!(store::ports(&c, None).unwrap().is_empty());
        assert_eq!(store::container_endpoints(&c, "kept").unwrap().len(), 1);
        assert!(!run.path().join("netns/stray").exists());
        assert!(d.calls.borrow().is_empty());
    }

    #[test]
    #[ignore = "needs root"]
    fn failed_setup_leaves_no_netns_and_no_record() {
        let c = store::test_db();
        let run = tempfile::tempdir().unwrap();
        let etc = tempfile::tempdir().unwrap();
        alloc(&c, "c1", &Request { publish: vec!["80".into()], ..req("bridge") }, &[]).unwrap();
        let failing = Recorder { fail_setup: true, ..Default::default() };
        assert!(setup(&c, &failing, run.path(), who("c1"), etc.path()).is_err());
        assert_eq!(failing.calls.borrow().iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(), ["setup", "teardown"]);
        assert!(!netns::path(run.path(), "c1").exists());
        assert!(store::setup(&c, "c1").unwrap().is_none());

        let ok = Recorder::default();
        let ns = setup(&c, &ok, run.path(), who("c1"), etc.path()).unwrap();
        assert_eq!(ns, Namespace::Path(netns::path(run.path(), "c1")));
        assert!(netns::is_mounted(&netns::path(run.path(), "c1")));
        assert_eq!(ok.calls.borrow()[0].1, "c1 bridge=10.77.0.2 ports=1");
        let hosts = std::fs::read_to_string(etc.path().join("hosts")).unwrap();
        assert!(hosts.ends_with("10.77.0.2\tc1\n"), "{hosts}");
        teardown(&c, &ok, run.path(), "c1").unwrap();
        assert_eq!(ok.calls.borrow()[1], ("teardown".to_string(), "c1 bridge=10.77.0.2 ports=1".to_string()));
        assert!(!netns::path(run.path(), "c1").exists());
        assert!(store::setup(&c, "c1").unwrap().is_none());
    }
}
