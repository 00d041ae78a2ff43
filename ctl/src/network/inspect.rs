//! docker's JSON for networks and for a container's NetworkSettings
//! (moby api/types/network.Inspect and container.NetworkSettings), and the
//! `port` command's lines.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde_json::{Value, json};

use super::NetworkError;
use super::store::{self, HostPort, Network};

/// docker's scope for every network here.
const SCOPE: &str = "local";

/// `network inspect`: `names` maps container ids to their names.
pub(crate) fn network(c: &Connection, n: &Network, names: &dyn Fn(&str) -> String) -> Result<Value, NetworkError> {
    let mut containers = serde_json::Map::new();
    if let Some(subnet) = n.subnet {
        for e in store::network_endpoints(c, &n.id)? {
            containers.insert(
                e.container_id.clone(),
                json!({
                    "Name": names(&e.container_id),
                    "EndpointID": e.endpoint_id,
                    "MacAddress": e.mac,
                    "IPv4Address": format!("{}/{}", e.ip, subnet.prefix()),
                    "IPv6Address": match (e.ip6, n.subnet6) {
                        (Some(ip), Some(s6)) => format!("{ip}/{}", s6.prefix()),
                        _ => String::new(),
                    },
                }),
            );
        }
    }
    let mut config: Vec<Value> = n
        .subnet
        .map(|s| {
            let mut cfg = json!({"Subnet": s.to_string()});
            if let Some(g) = n.gateway {
                cfg["Gateway"] = json!(g.to_string());
            }
            if let Some(r) = n.ip_range {
                cfg["IPRange"] = json!(r.to_string());
            }
            cfg
        })
        .into_iter()
        .collect();
    if let Some(s6) = n.subnet6 {
        let mut cfg = json!({"Subnet": s6.to_string()});
        if let Some(g) = n.gateway6 {
            cfg["Gateway"] = json!(g.to_string());
        }
        config.push(cfg);
    }
    let mut options: BTreeMap<String, String> = n.options.clone();
    if n.name == super::DEFAULT_NETWORK {
        options.insert("com.docker.network.bridge.default_bridge".into(), "true".into());
        options.insert("com.docker.network.bridge.enable_ip_masquerade".into(), "true".into());
        options.insert("com.docker.network.bridge.name".into(), super::DEFAULT_BRIDGE.into());
    }
    Ok(json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": SCOPE,
        "Driver": n.driver,
        "EnableIPv6": n.subnet6.is_some(),
        "IPAM": {"Driver": "default", "Options": if n.subnet.is_some() { json!({}) } else { Value::Null }, "Config": config},
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": n.labels,
    }))
}

fn port_key(p: &HostPort) -> String {
    format!("{}/{}", p.container_port, p.protocol)
}

/// A container's `NetworkSettings`; `exposed` are its ExposedPorts, shown
/// with `null` bindings when not published. The top-level address fields
/// are those of the default bridge, as docker fills them.
pub(crate) fn settings(c: &Connection, id: &str, exposed: &[String]) -> Result<Value, NetworkError> {
    let mut ports = serde_json::Map::new();
    for e in exposed {
        let key = if e.contains('/') { e.clone() } else { format!("{e}/tcp") };
        ports.insert(key, Value::Null);
    }
    let all = store::networks(c)?;
    let dual_stack = is_dual_stack(c, id, &all)?;
    for p in store::ports(c, Some(id))? {
        let entry = ports.entry(port_key(&p)).or_insert(Value::Null);
        if entry.is_null() {
            *entry = json!([]);
        }
        if let Value::Array(list) = entry {
            for ip in host_ips(&p, dual_stack) {
                list.push(json!({"HostIp": ip, "HostPort": p.host_port.to_string()}));
            }
        }
    }
    let mut networks = serde_json::Map::new();
    let mut top = json!({"EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""});
    for e in store::container_endpoints(c, id)? {
        let Some(n) = all.iter().find(|n| n.id == e.network_id) else { continue };
        let prefix = n.subnet.map_or(0, |s| s.prefix());
        let gateway = n.gateway.map(|g| g.to_string()).unwrap_or_default();
        let fields = json!({
            "EndpointID": e.endpoint_id,
            "Gateway": gateway,
            "IPAddress": e.ip.to_string(),
            "IPPrefixLen": prefix,
            "IPv6Gateway": n.gateway6.filter(|_| e.ip6.is_some()).map(|g| g.to_string()).unwrap_or_default(),
            "GlobalIPv6Address": e.ip6.map(|ip| ip.to_string()).unwrap_or_default(),
            "GlobalIPv6PrefixLen": n.subnet6.filter(|_| e.ip6.is_some()).map_or(0, |s| s.prefix()),
            "MacAddress": e.mac,
        });
        if n.name == super::DEFAULT_NETWORK {
            top = fields.clone();
        }
        let aliases = if n.dns { json!(e.aliases) } else { Value::Null };
        let mut entry = json!({"IPAMConfig": null, "Links": null, "Aliases": aliases, "NetworkID": n.id});
        if let Some(o) = entry.as_object_mut() {
            o.extend(fields.as_object().cloned().unwrap_or_default());
            o.insert("DriverOpts".into(), Value::Null);
        }
        networks.insert(n.name.clone(), entry);
    }
    if let Some(mode) = store::request(c, id)?.and_then(|r| serde_json::from_str::<Value>(&r).ok())
        && let Some(m) = mode["mode"].as_str()
        && (m == "host" || m == "none")
        && let Some(n) = all.iter().find(|n| n.name == m)
    {
        let entry = json!({"IPAMConfig": null, "Links": null, "Aliases": null, "NetworkID": n.id, "EndpointID": "",
            "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": null});
        networks.insert(m.to_string(), entry);
    }
    let sandbox = store::setup(c, id)?.map(|s| s.netns.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out = json!({
        "Bridge": "", "SandboxID": "", "SandboxKey": sandbox, "Ports": ports, "HairpinMode": false,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null, "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPv6Gateway": "",
        "Networks": networks,
    });
    if let (Some(o), Some(t)) = (out.as_object_mut(), top.as_object()) {
        o.extend(t.clone());
    }
    Ok(out)
}

/// Whether the container's first network (the one its ports go with) has IPv6.
fn is_dual_stack(c: &Connection, id: &str, all: &[Network]) -> Result<bool, NetworkError> {
    let first = store::container_endpoints(c, id)?.into_iter().next();
    Ok(first.is_some_and(|e| e.ip6.is_some() && all.iter().any(|n| n.id == e.network_id && n.subnet6.is_some())))
}

/// The host addresses a port is published on: on a dual-stack network a
/// port on every address is on `::` too, as docker shows it.
fn host_ips(p: &HostPort, dual_stack: bool) -> Vec<String> {
    let mut ips = vec![p.host_ip.to_string()];
    if dual_stack && p.host_ip.is_unspecified() {
        ips.push("::".into());
    }
    ips
}

/// `port CONTAINER [PRIVATE_PORT[/PROTO]]`: docker's lines,
/// `80/tcp -> 0.0.0.0:8080` (or just `0.0.0.0:8080` for one private port).
pub(crate) fn port_lines(c: &Connection, id: &str, filter: Option<&str>) -> Result<Vec<String>, NetworkError> {
    let want = filter.map(|f| if f.contains('/') { f.to_string() } else { format!("{f}/tcp") });
    let dual_stack = is_dual_stack(c, id, &store::networks(c)?)?;
    let mut out = Vec::new();
    for p in store::ports(c, Some(id))? {
        for ip in host_ips(&p, dual_stack) {
            let addr =
                if ip.contains(':') { format!("[{ip}]:{}", p.host_port) } else { format!("{ip}:{}", p.host_port) };
            match &want {
                Some(w) if *w == port_key(&p) => out.push(addr),
                Some(_) => {}
                None => out.push(format!("{} -> {addr}", port_key(&p))),
            }
        }
    }
    Ok(out)
}
