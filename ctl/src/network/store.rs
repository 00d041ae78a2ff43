//! The network rows of the store: networks, endpoints (one container on one
//! network: its lease), host ports (owned by the container's row, so two
//! containers can never hold one port and `rm` always frees it) and, per
//! container, what was asked for and what was set up (the exact JSON given
//! to the driver, so teardown can be replayed after any crash).
//!
//! Every function takes the caller's connection or transaction: a
//! container's leases and ports are written in the transaction that writes
//! the container.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::ipam::{Ipv4Net, Ipv6Net};

/// One network. `host` and `none` (driver `null`) have no subnet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Network {
    pub id: String,
    pub name: String,
    /// bridge, macvlan, host or null
    pub driver: String,
    /// The bridge's name on the host, or a macvlan's parent interface.
    pub interface: Option<String>,
    pub subnet: Option<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<Ipv4Net>,
    /// A dual-stack network's IPv6 subnet and gateway (`--ipv6`).
    pub subnet6: Option<Ipv6Net>,
    pub gateway6: Option<Ipv6Addr>,
    pub internal: bool,
    /// Names resolve through aardvark-dns (user networks; not the default bridge).
    pub dns: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// RFC 3339
    pub created: String,
}

/// One container attached to one network.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Endpoint {
    pub container_id: String,
    pub network_id: String,
    pub ip: Ipv4Addr,
    /// The IPv6 lease on a dual-stack network.
    pub ip6: Option<Ipv6Addr>,
    pub mac: String,
    /// The interface inside the container (eth0, eth1…).
    pub interface: String,
    pub aliases: Vec<String>,
    pub endpoint_id: String,
}

/// One published port: `host_ip` 0.0.0.0 means every address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    /// tcp or udp
    pub protocol: String,
    pub container_id: String,
    pub container_port: u16,
}

/// What a container's networking was while set up: its netns file and the
/// driver's input, kept until teardown has succeeded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Setup {
    pub netns: PathBuf,
    /// The driver's setup input; `None` for `--network none` (a netns, no driver).
    pub driver_input: Option<String>,
}

fn json_map(text: String) -> BTreeMap<String, String> {
    serde_json::from_str(&text).unwrap_or_default()
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Maps of strings and lists of strings always serialize.
    serde_json::to_string(v).expect("string maps serialize")
}

fn network_from_row(r: &Row<'_>) -> rusqlite::Result<Network> {
    let opt_net = |s: Option<String>| s.and_then(|s| s.parse().ok());
    Ok(Network {
        id: r.get(0)?,
        name: r.get(1)?,
        driver: r.get(2)?,
        interface: r.get(3)?,
        subnet: opt_net(r.get(4)?),
        gateway: r.get::<_, Option<String>>(5)?.and_then(|s| s.parse().ok()),
        ip_range: opt_net(r.get(6)?),
        internal: r.get(7)?,
        dns: r.get(8)?,
        labels: json_map(r.get(9)?),
        options: json_map(r.get(10)?),
        created: r.get(11)?,
        subnet6: r.get::<_, Option<String>>(12)?.and_then(|s| s.parse().ok()),
        gateway6: r.get::<_, Option<String>>(13)?.and_then(|s| s.parse().ok()),
    })
}

const NETWORK_COLUMNS: &str = "id, name, driver, interface, subnet, gateway, ip_range, internal, dns, labels, options, created, subnet6, gateway6";

pub(crate) fn insert_network(c: &Connection, n: &Network) -> rusqlite::Result<()> {
    c.execute(
        &format!("INSERT INTO networks ({NETWORK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
        params![
            n.id,
            n.name,
            n.driver,
            n.interface,
            n.subnet.map(|s| s.to_string()),
            n.gateway.map(|g| g.to_string()),
            n.ip_range.map(|s| s.to_string()),
            n.internal,
            n.dns,
            to_json(&n.labels),
            to_json(&n.options),
            n.created,
            n.subnet6.map(|s| s.to_string()),
            n.gateway6.map(|g| g.to_string())
        ],
    )?;
    Ok(())
}

pub(crate) fn networks(c: &Connection) -> rusqlite::Result<Vec<Network>> {
    let mut st = c.prepare(&format!("SELECT {NETWORK_COLUMNS} FROM networks ORDER BY name"))?;
    st.query_map([], network_from_row)?.collect()
}

/// A network by exact name, full id, or unique id prefix (docker's lookup order).
pub(crate) fn find_network(c: &Connection, key: &str) -> rusqlite::Result<Option<Network>> {
    let by = |sql: &str, arg: &str| -> rusqlite::Result<Vec<Network>> {
        let mut st = c.prepare(&format!("SELECT {NETWORK_COLUMNS} FROM networks WHERE {sql}"))?;
        st.query_map([arg], network_from_row)?.collect()
    };
    if let Some(n) = by("name = ?1", key)?.pop() {
        return Ok(Some(n));
    }
    if key.is_empty() || !key.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut found = by("substr(id, 1, length(?1)) = ?1", key)?;
    Ok(if found.len() == 1 { found.pop() } else { None })
}

pub(crate) fn delete_network(c: &Connection, id: &str) -> rusqlite::Result<()> {
    c.execute("DELETE FROM networks WHERE id = ?1", [id])?;
    Ok(())
}

fn endpoint_from_row(r: &Row<'_>) -> rusqlite::Result<Endpoint> {
    let ip: String = r.get(2)?;
    Ok(Endpoint {
        container_id: r.get(0)?,
        network_id: r.get(1)?,
        ip: ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        mac: r.get(3)?,
        interface: r.get(4)?,
        aliases: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
        endpoint_id: r.get(6)?,
        ip6: r.get::<_, Option<String>>(7)?.and_then(|s| s.parse().ok()),
    })
}

const ENDPOINT_COLUMNS: &str = "container_id, network_id, ip, mac, interface, aliases, endpoint_id, ip6";

pub(crate) fn insert_endpoint(c: &Connection, e: &Endpoint) -> rusqlite::Result<()> {
    c.execute(
        &format!("INSERT INTO endpoints ({ENDPOINT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            e.container_id,
            e.network_id,
            e.ip.to_string(),
            e.mac,
            e.interface,
            to_json(&e.aliases),
            e.endpoint_id,
            e.ip6.map(|ip| ip.to_string())
        ],
    )?;
    Ok(())
}

/// A container's endpoints in the order they were attached (eth0 first).
pub(crate) fn container_endpoints(c: &Connection, container_id: &str) -> rusqlite::Result<Vec<Endpoint>> {
    let mut st =
        c.prepare(&format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE container_id = ?1 ORDER BY rowid"))?;
    st.query_map([container_id], endpoint_from_row)?.collect()
}

pub(crate) fn network_endpoints(c: &Connection, network_id: &str) -> rusqlite::Result<Vec<Endpoint>> {
    let mut st =
        c.prepare(&format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE network_id = ?1 ORDER BY rowid"))?;
    st.query_map([network_id], endpoint_from_row)?.collect()
}

pub(crate) fn delete_endpoint(c: &Connection, container_id: &str, network_id: &str) -> rusqlite::Result<()> {
    c.execute("DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2", [container_id, network_id])?;
    Ok(())
}

pub(crate) fn insert_port(c: &Connection, p: &HostPort) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO host_ports (host_ip, host_port, protocol, container_id, container_port) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![p.host_ip.to_string(), p.host_port, p.protocol, p.container_id, p.container_port],
    )?;
    Ok(())
}

fn port_from_row(r: &Row<'_>) -> rusqlite::Result<HostPort> {
    let ip: String = r.get(0)?;
    Ok(HostPort {
        host_ip: ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        host_port: r.get(1)?,
        protocol: r.get(2)?,
        container_id: r.get(3)?,
        container_port: r.get(4)?,
    })
}

/// Every published port (for conflict checks and `port`).
pub(crate) fn ports(c: &Connection, container_id: Option<&str>) -> rusqlite::Result<Vec<HostPort>> {
    let sql = "SELECT host_ip, host_port, protocol, container_id, container_port FROM host_ports \
               WHERE ?1 IS NULL OR container_id = ?1 ORDER BY rowid";
    let mut st = c.prepare(sql)?;
    st.query_map([container_id], port_from_row)?.collect()
}

/// Store a container's request; replaces an earlier one.
pub(crate) fn put_request(c: &Connection, container_id: &str, request: &str) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO container_networks (container_id, request) VALUES (?1, ?2) \
         ON CONFLICT(container_id) DO UPDATE SET request = excluded.request",
        [container_id, request],
    )?;
    Ok(())
}

pub(crate) fn request(c: &Connection, container_id: &str) -> rusqlite::Result<Option<String>> {
    c.query_row("SELECT request FROM container_networks WHERE container_id = ?1", [container_id], |r| r.get(0))
        .optional()
}

/// Record (or clear, with `None`) what is set up for a container.
pub(crate) fn put_setup(c: &Connection, container_id: &str, setup: Option<&Setup>) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE container_networks SET netns = ?2, driver_input = ?3 WHERE container_id = ?1",
        params![
            container_id,
            setup.map(|s| s.netns.to_string_lossy().into_owned()),
            setup.and_then(|s| s.driver_input.clone())
        ],
    )?;
    Ok(())
}

pub(crate) fn setup(c: &Connection, container_id: &str) -> rusqlite::Result<Option<Setup>> {
    let row: Option<(Option<String>, Option<String>)> = c
        .query_row("SELECT netns, driver_input FROM container_networks WHERE container_id = ?1", [container_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(row.and_then(|(netns, driver_input)| netns.map(|n| Setup { netns: PathBuf::from(n), driver_input })))
}

/// Whether another container asked for `--network container:<id>` (and so
/// may still run in this container's netns).
pub(crate) fn is_joined(c: &Connection, container_id: &str) -> rusqlite::Result<bool> {
    // The request is serde_json's compact text: `"mode":"container:<id>"`.
    let needle = format!("\"mode\":\"container:{container_id}\"");
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM container_networks WHERE container_id != ?1 AND instr(request, ?2) > 0)",
        [container_id, &needle],
        |r| r.get(0),
    )
}

/// Every container with a network record (for `system check`).
pub(crate) fn containers(c: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare(
        "SELECT container_id FROM container_networks UNION SELECT container_id FROM endpoints \
         UNION SELECT container_id FROM host_ports",
    )?;
    st.query_map([], |r| r.get(0))?.collect()
}

/// Forget everything of a container: leases, ports, request, setup record.
pub(crate) fn delete_container(c: &Connection, container_id: &str) -> rusqlite::Result<()> {
    for table in ["endpoints", "host_ports", "container_networks"] {
        c.execute(&format!("DELETE FROM {table} WHERE container_id = ?1"), [container_id])?;
    }
    Ok(())
}

/// A store in a temp dir with every migration applied, for unit tests.
#[cfg(test)]
pub(crate) struct TestDb {
    _dir: tempfile::TempDir,
    db: crate::db::Db,
}

#[cfg(test)]
impl std::ops::Deref for TestDb {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.db.conn()
    }
}

#[cfg(test)]
pub(crate) fn test_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::db::Db::open(&dir.path().join("berth.db")).unwrap();
    TestDb { _dir: dir, db }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(name: &str, id: &str) -> Network {
        Network {
            id: id.into(),
            name: name.into(),
            driver: "bridge".into(),
            interface: Some("berth1".into()),
            subnet: Some("10.78.0.0/24".parse().unwrap()),
            gateway: Some("10.78.0.1".parse().unwrap()),
            ip_range: None,
            subnet6: Some("fd00:1::/64".parse().unwrap()),
            gateway6: Some("fd00:1::1".parse().unwrap()),
            internal: false,
            dns: true,
            labels: BTreeMap::from([("a".into(), "b".into())]),
            options: BTreeMap::new(),
            created: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn network_round_trips_and_is_found_by_name_or_prefix() {
        let c = test_db();
        insert_network(&c, &net("mynet", "abcdef0123")).unwrap();
        // A second network of the same name is refused by the schema.
        assert!(insert_network(&c, &net("mynet", "abd0000000")).is_err());
        insert_network(&c, &net("other", "abd0000000")).unwrap();
        let got = find_network(&c, "mynet").unwrap().unwrap();
        assert_eq!(got, net("mynet", "abcdef0123"));
        assert_eq!(find_network(&c, "abcd").unwrap().unwrap().name, "mynet");
        // An ambiguous prefix finds nothing.
        assert!(find_network(&c, "ab").unwrap().is_none());
        assert!(find_network(&c, "zz").unwrap().is_none());
    }

    #[test]
    fn deleting_a_container_frees_its_lease_and_port() {
        let c = test_db();
        insert_network(&c, &net("mynet", "n1")).unwrap();
        let e = Endpoint {
            container_id: "c1".into(),
            network_id: "n1".into(),
            ip: "10.78.0.2".parse().unwrap(),
            ip6: Some("fd00:1::2".parse().unwrap()),
            mac: "02:42:0a:4e:00:02".into(),
            interface: "eth0".into(),
            aliases: vec!["web".into()],
            endpoint_id: "e1".into(),
        };
        insert_endpoint(&c, &e).unwrap();
        // The same address twice on one network is refused by the schema.
        let twin = Endpoint { container_id: "c2".into(), ..e.clone() };
        assert!(insert_endpoint(&c, &twin).is_err());
        let p = HostPort {
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_port: 8080,
            protocol: "tcp".into(),
            container_id: "c1".into(),
            container_port: 80,
        };
        insert_port(&c, &p).unwrap();
        put_request(&c, "c1", "{}").unwrap();
        put_setup(&c, "c1", Some(&Setup { netns: "/run/x/netns/c1".into(), driver_input: Some("{}".into()) })).unwrap();
        assert_eq!(container_endpoints(&c, "c1").unwrap(), vec![e]);
        assert_eq!(ports(&c, Some("c1")).unwrap(), vec![p]);
        assert_eq!(containers(&c).unwrap(), vec!["c1".to_string()]);
        delete_container(&c, "c1").unwrap();
        assert!(container_endpoints(&c, "c1").unwrap().is_empty());
        assert!(ports(&c, None).unwrap().is_empty());
        assert!(setup(&c, "c1").unwrap().is_none());
    }
}
