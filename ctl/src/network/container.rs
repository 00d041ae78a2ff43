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
mod tests;
