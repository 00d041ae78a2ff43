//! Published ports: docker's `-p [ip:][host:]container[/proto]` syntax,
//! `-P` over the image's ExposedPorts, and the choice of host ports. A host
//! port is taken by inserting its row in the container's transaction; a port
//! already held by a row, or bound by some other process, is refused with
//! docker's words.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

use super::store::HostPort;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PortError {
    #[error("invalid publish spec {0:?}: expected [ip:][hostPort:]containerPort[/protocol]")]
    Spec(String),
    #[error("invalid containerPort: {0}")]
    ContainerPort(String),
    #[error("invalid hostPort: {0}")]
    HostPort(String),
    #[error("invalid proto: {0}")]
    Protocol(String),
    #[error("invalid IP address: {0}")]
    HostIp(String),
    #[error("Bind for {ip}:{port} failed: port is already allocated")]
    Allocated { ip: Ipv4Addr, port: u16 },
    #[error("Error starting userland proxy: listen {proto}4 {ip}:{port}: bind: address already in use")]
    InUse { proto: String, ip: Ipv4Addr, port: u16 },
    #[error("invalid ranges specified for container and host Ports: {container} and {host}")]
    Ranges { container: String, host: String },
    #[error("no free {proto} host port in {first}-{last} for container port {container}")]
    NoFreePort { proto: String, first: u16, last: u16, container: u16 },
}

/// One `-p` or `-P` request; `host_port` None takes a free port (of the
/// ephemeral range, or of `host_port_end`'s range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortSpec {
    pub host_ip: Ipv4Addr,
    pub host_port: Option<u16>,
    /// `-p 8000-8010:80`: the first free port of `host_port..=host_port_end`.
    pub host_port_end: Option<u16>,
    pub container_port: u16,
    pub protocol: String,
}

fn port(text: &str, err: fn(String) -> PortError) -> Result<u16, PortError> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(err(text.to_string())),
    }
}

/// `80` or `8000-8010` (a single port is a range of one).
fn port_range(text: &str, err: fn(String) -> PortError) -> Result<(u16, u16), PortError> {
    match text.split_once('-') {
        None => port(text, err).map(|p| (p, p)),
        Some((a, b)) => {
            let (a, b) = (port(a, err)?, port(b, err)?);
            if b < a { Err(err(text.to_string())) } else { Ok((a, b)) }
        }
    }
}

/// Parse `-p` as docker does: `80`, `8080:80`, `127.0.0.1:8080:80`,
/// `127.0.0.1::80`, with `/tcp` or `/udp`; ranges `8000-8010:80-90` give one
/// spec per port, and a host range for one container port (`8000-8010:80`)
/// takes the first free port of it.
pub(crate) fn parse(spec: &str) -> Result<Vec<PortSpec>, PortError> {
    let (addr, proto) = spec.rsplit_once('/').unwrap_or((spec, "tcp"));
    if proto != "tcp" && proto != "udp" {
        return Err(PortError::Protocol(proto.to_string()));
    }
    let parts: Vec<&str> = addr.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [c] => ("", "", *c),
        [h, c] => ("", *h, *c),
        [i, h, c] => (*i, *h, *c),
        _ => return Err(PortError::Spec(spec.to_string())),
    };
    let host_ip = match ip {
        "" => Ipv4Addr::UNSPECIFIED,
        i => i.parse().map_err(|_| PortError::HostIp(i.to_string()))?,
    };
    let (c_first, c_last) = port_range(container, PortError::ContainerPort)?;
    let host_range = if host.is_empty() { None } else { Some(port_range(host, PortError::HostPort)?) };
    let one = |host_port, host_port_end, container_port| PortSpec {
        host_ip,
        host_port,
        host_port_end,
        container_port,
        protocol: proto.into(),
    };
    match host_range {
        None => Ok((c_first..=c_last).map(|c| one(None, None, c)).collect()),
        Some((h_first, h_last)) if h_last - h_first == c_last - c_first => {
            Ok((c_first..=c_last).zip(h_first..=h_last).map(|(c, h)| one(Some(h), None, c)).collect())
        }
        Some((h_first, h_last)) if c_first == c_last => Ok(vec![one(Some(h_first), Some(h_last), c_first)]),
        Some(_) => Err(PortError::Ranges { container: container.into(), host: host.into() }),
    }
}

/// `-P`: every ExposedPort (`80/tcp`, `53/udp`, `8080`) to a free host port.
pub(crate) fn publish_all<'a>(exposed: impl IntoIterator<Item = &'a String>) -> Result<Vec<PortSpec>, PortError> {
    exposed
        .into_iter()
        .map(|e| {
            let (p, proto) = e.split_once('/').unwrap_or((e, "tcp"));
            if proto != "tcp" && proto != "udp" {
                return Err(PortError::Protocol(proto.to_string()));
            }
            let container_port = port(p, PortError::ContainerPort)?;
            Ok(PortSpec {
                host_ip: Ipv4Addr::UNSPECIFIED,
                host_port: None,
                host_port_end: None,
                container_port,
                protocol: proto.into(),
            })
        })
        .collect()
}

fn clashes(a: Ipv4Addr, b: Ipv4Addr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

/// Whether some process other than ours holds the port (the check docker's
/// userland proxy makes by binding it).
fn is_bindable(ip: Ipv4Addr, port: u16, proto: &str) -> bool {
    let addr = SocketAddrV4::new(ip, port);
    if proto == "udp" { UdpSocket::bind(addr).is_ok() } else { TcpListener::bind(addr).is_ok() }
}

/// The kernel's ephemeral range, where docker takes `-p 80`'s host port.
fn ephemeral_range() -> (u16, u16) {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text.split_whitespace().filter_map(|w| w.parse().ok());
    match (it.next(), it.next()) {
        (Some(a), Some(b)) if a <= b => (a, b),
        _ => (32768, 60999),
    }
}

/// Turn the requests into owned ports: check each fixed one against `taken`
/// (the rows) and the host, and give the others the first free port of the
/// ephemeral range, starting at a point that moves with the container.
pub(crate) fn assign(container_id: &str, specs: &[PortSpec], taken: &[HostPort]) -> Result<Vec<HostPort>, PortError> {
    let mut out: Vec<HostPort> = Vec::new();
    let (first, last) = ephemeral_range();
    let held = |ip: Ipv4Addr, port: u16, proto: &str, out: &[HostPort]| {
        taken.iter().chain(out).any(|t| t.host_port == port && t.protocol == proto && clashes(t.host_ip, ip))
    };
    let span = u32::from(last - first) + 1;
    let start = container_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % span;
    for s in specs {
        let host_port = match (s.host_port, s.host_port_end) {
            (Some(p), Some(end)) => (p..=end)
                .find(|p| !held(s.host_ip, *p, &s.protocol, &out) && is_bindable(s.host_ip, *p, &s.protocol))
                .ok_or(PortError::Allocated { ip: s.host_ip, port: p })?,
            (Some(p), None) => {
                if held(s.host_ip, p, &s.protocol, &out) {
                    return Err(PortError::Allocated { ip: s.host_ip, port: p });
                }
                if !is_bindable(s.host_ip, p, &s.protocol) {
                    return Err(PortError::InUse { proto: s.protocol.clone(), ip: s.host_ip, port: p });
                }
                p
            }
            (None, _) => (0..span)
                .map(|i| first + ((start + i) % span) as u16)
                .find(|p| !held(s.host_ip, *p, &s.protocol, &out) && is_bindable(s.host_ip, *p, &s.protocol))
                .ok_or_else(|| PortError::NoFreePort {
                    proto: s.protocol.clone(),
                    first,
                    last,
                    container: s.container_port,
                })?,
        };
        out.push(HostPort {
            host_ip: s.host_ip,
            host_port,
            protocol: s.protocol.clone(),
            container_id: container_id.to_string(),
            container_port: s.container_port,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_specs_parse_as_docker() {
        let any = Ipv4Addr::UNSPECIFIED;
        let spec = |ip, host, c, proto: &str| {
            vec![PortSpec {
                host_ip: ip,
                host_port: host,
                host_port_end: None,
                container_port: c,
                protocol: proto.into(),
            }]
        };
        assert_eq!(parse("80").unwrap(), spec(any, None, 80, "tcp"));
        assert_eq!(parse("8080:80").unwrap(), spec(any, Some(8080), 80, "tcp"));
        assert_eq!(parse("127.0.0.1:8080:80/udp").unwrap(), spec(Ipv4Addr::LOCALHOST, Some(8080), 80, "udp"));
        assert_eq!(parse("127.0.0.1::80").unwrap(), spec(Ipv4Addr::LOCALHOST, None, 80, "tcp"));
        assert_eq!(parse("80/sctp"), Err(PortError::Protocol("sctp".into())));
        assert_eq!(parse("0:80"), Err(PortError::HostPort("0".into())));
        assert_eq!(parse("a:b:c:d"), Err(PortError::Spec("a:b:c:d".into())));
        assert_eq!(parse("x"), Err(PortError::ContainerPort("x".into())));
    }

    #[test]
    fn port_ranges_expand_as_docker() {
        let got = parse("8000-8002:80-82/udp").unwrap();
        let pairs: Vec<(Option<u16>, u16)> = got.iter().map(|s| (s.host_port, s.container_port)).collect();
        assert_eq!(pairs, [(Some(8000), 80), (Some(8001), 81), (Some(8002), 82)]);
        assert!(got.iter().all(|s| s.protocol == "udp" && s.host_port_end.is_none()));
        let any = parse("127.0.0.1::80-81").unwrap();
        assert_eq!(any.iter().map(|s| (s.host_port, s.container_port)).collect::<Vec<_>>(), [(None, 80), (None, 81)]);
        let pick = parse("8000-8010:80").unwrap();
        assert_eq!((pick[0].host_port, pick[0].host_port_end), (Some(8000), Some(8010)));
        assert_eq!(
            parse("8000-8001:80-82").unwrap_err().to_string(),
            "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"
        );
        assert_eq!(parse("90-80"), Err(PortError::ContainerPort("90-80".into())));
    }

    #[test]
    fn a_host_range_takes_its_first_free_port() {
        let taken = [HostPort {
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_port: 18000,
            protocol: "tcp".into(),
            container_id: "other".into(),
            container_port: 80,
        }];
        let got = assign("c", &parse("127.0.0.1:18000-18010:80").unwrap(), &taken).unwrap();
        assert!((18001..=18010).contains(&got[0].host_port), "{got:?}");
        let full = assign("c", &parse("127.0.0.1:18000-18000:80").unwrap(), &taken).unwrap_err();
        assert_eq!(full.to_string(), "Bind for 127.0.0.1:18000 failed: port is already allocated");
    }

    #[test]
    fn a_port_held_by_a_row_is_refused_with_dockers_message() {
        let taken = [HostPort {
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_port: 8080,
            protocol: "tcp".into(),
            container_id: "other".into(),
            container_port: 80,
        }];
        let err = assign("c", &parse("127.0.0.1:8080:80").unwrap(), &taken).unwrap_err();
        assert_eq!(err.to_string(), "Bind for 127.0.0.1:8080 failed: port is already allocated");
        // Another protocol on the same number is free.
        assert_eq!(assign("c", &parse("127.0.0.1:8080:80/udp").unwrap(), &taken).unwrap().len(), 1);
    }

    #[test]
    fn random_ports_differ_within_one_container() {
        let specs = [parse("80").unwrap(), parse("81").unwrap()].concat();
        let got = assign("c", &specs, &[]).unwrap();
        assert_ne!(got[0].host_port, got[1].host_port);
        let (first, last) = ephemeral_range();
        assert!(got.iter().all(|p| (first..=last).contains(&p.host_port)));
    }

    #[test]
    fn expose_list_becomes_random_ports() {
        let exposed = ["80/tcp".to_string(), "53/udp".to_string()];
        let got = publish_all(&exposed).unwrap();
        assert_eq!(
            got[1],
            PortSpec {
                host_ip: Ipv4Addr::UNSPECIFIED,
                host_port: None,
                host_port_end: None,
                container_port: 53,
                protocol: "udp".into()
            }
        );
    }
}
