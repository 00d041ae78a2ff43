//! `ps` rows, as docker's `ContainerContext`
//! (cli/command/formatter/container.go): quoted, ellipsized command, one
//! name, familiar image name, "5 minutes ago", the ports column grouped into
//! ranges.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{ellipsis, images::familiar, join_labels, truncate_id, with_labels};
use crate::format::time::{go_time_string, since};
use crate::format::units::human_size;

pub(crate) const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

pub(crate) const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Names", "NAMES"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Networks", "NETWORKS"),
    ("Platform", "PLATFORM"),
];

/// A published or exposed port (docker's `container.Port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortSummary {
    /// The host address of a published port; `None` for an exposed one.
    pub ip: Option<IpAddr>,
    pub private_port: u16,
    pub public_port: u16,
    /// "tcp", "udp" or "sctp".
    pub proto: String,
}

/// A mount as `ps` shows it: a volume's name or a bind's source.
#[derive(Debug, Clone, Default)]
pub(crate) struct MountSummary {
    pub name: String,
    pub source: String,
    /// "local" for local volumes.
    pub driver: String,
}

/// The platform of a container's image, as docker ≥ 28 reports it.
#[derive(Debug, Clone)]
pub(crate) struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// What `ps` knows about one container (docker's `container.Summary`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ContainerSummary {
    pub id: String,
    /// Names without docker's leading slash; the first is the name.
    pub names: Vec<String>,
    /// The image as the user gave it (`busybox`, `nginx:1.25`).
    pub image: String,
    /// `sha256:<hex>` of the image.
    pub image_id: String,
    /// Entrypoint and command joined by spaces.
    pub command: String,
    pub created: DateTime<Utc>,
    pub ports: Vec<PortSummary>,
    /// docker's state word (see `format::time::container_state_word`).
    pub state: String,
    /// docker's status line (see `format::time::container_status`).
    pub status: String,
    /// Bytes written to the container's upper layer, when `-s` asked.
    pub size_rw: Option<u64>,
    /// Image plus upper layer, when `-s` asked.
    pub size_root_fs: Option<u64>,
    pub labels: BTreeMap<String, String>,
    pub mounts: Vec<MountSummary>,
    pub networks: Vec<String>,
    pub platform: Option<Platform>,
}

/// docker's `NewContainerFormat`: the format `ps` renders with.
pub(crate) fn resolve_format(format: Option<&str>, quiet: bool, size: bool) -> String {
    match format {
        _ if quiet => "{{.ID}}".to_string(),
        None | Some("") | Some("table") if size => format!("{DEFAULT_TABLE}\t{{{{.Size}}}}"),
        None | Some("") | Some("table") => DEFAULT_TABLE.to_string(),
        Some(f) => f.to_string(),
    }
}

/// One `ps` row; `trunc` is the opposite of `--no-trunc`.
pub(crate) fn row(c: &ContainerSummary, trunc: bool, now: DateTime<Utc>) -> Value {
    let command = if trunc { ellipsis(&c.command, 20) } else { c.command.clone() };
    let mounts: Vec<String> = c
        .mounts
        .iter()
        .map(|m| if m.name.is_empty() { &m.source } else { &m.name })
        .map(|n| if trunc { ellipsis(n, 15) } else { n.clone() })
        .collect();
    let platform = c.platform.as_ref().map(|p| {
        let mut v = json!({"architecture": p.architecture, "os": p.os});
        if let Some(variant) = &p.variant {
            v["variant"] = json!(variant);
        }
        v
    });
    let row = json!({
        "Command": go_quote(&command),
        "CreatedAt": go_time_string(c.created.timestamp()),
        "ID": if trunc { truncate_id(&c.id) } else { c.id.clone() },
        "Image": image(c, trunc),
        "Labels": join_labels(&c.labels),
        "LocalVolumes": c.mounts.iter().filter(|m| m.driver == "local").count().to_string(),
        "Mounts": mounts.join(","),
        "Names": names(&c.names, trunc),
        "Networks": c.networks.join(","),
        "Platform": platform,
        "Ports": displayable_ports(&c.ports),
        "RunningFor": since(c.created, now),
        "Size": size(c),
        "State": c.state,
        "Status": c.status,
    });
    with_labels(row, &c.labels)
}

fn names(names: &[String], trunc: bool) -> String {
    if trunc {
        // Only the first name that is not a legacy link ("/other/alias").
        return names.iter().find(|n| !n.contains('/')).cloned().unwrap_or_default();
    }
    names.join(",")
}

fn image(c: &ContainerSummary, trunc: bool) -> String {
    if c.image.is_empty() {
        return "<no image>".to_string();
    }
    if !trunc {
        return c.image.clone();
    }
    if truncate_id(&c.image_id) == truncate_id(&c.image) {
        return truncate_id(&c.image);
    }
    // Familiar form, with a digest dropped but its tag kept.
    let without_digest = c.image.split_once('@').map_or(c.image.as_str(), |(n, _)| n);
    familiar(without_digest)
}

fn size(c: &ContainerSummary) -> String {
    let rw = human_size(c.size_rw.unwrap_or(0));
    match c.size_root_fs {
        Some(v) if v > 0 => format!("{rw} (virtual {})", human_size(v)),
        _ => rw,
    }
}

/// Go's `strconv.Quote`: double quotes, Go escapes for quotes, backslashes
/// and non-printable characters.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_control() => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// docker's `DisplayablePorts`: "0.0.0.0:8080->80/tcp, 443/tcp", with runs
/// of consecutive ports grouped ("8000-8002/tcp").
pub(crate) fn displayable_ports(ports: &[PortSummary]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_by(|a, b| {
        (a.private_port, a.ip, a.public_port, &a.proto).cmp(&(b.private_port, b.ip, b.public_port, &b.proto))
    });
    // (key, first, last) in the order the keys appear.
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    for p in &ports {
        let mut key = p.proto.clone();
        if let Some(ip) = p.ip {
            if p.public_port != p.private_port {
                host_mappings.push(format!("{}->{}/{}", join_host_port(ip, p.public_port), p.private_port, p.proto));
                continue;
            }
            key = format!("{ip}/{}", p.proto);
        }
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            None => groups.push((key, p.private_port, p.private_port)),
            Some(g) if p.private_port == g.2.wrapping_add(1) => g.2 = p.private_port,
            Some(g) => {
                result.push(form_group(&g.0, g.1, g.2));
                *g = (key, p.private_port, p.private_port);
            }
        }
    }
    result.extend(groups.iter().map(|(k, first, last)| form_group(k, *first, *last)));
    result.extend(host_mappings);
    result.join(", ")
}

fn join_host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

fn form_group(key: &str, first: u16, last: u16) -> String {
    let (ip, proto) = key.rsplit_once('/').map_or((None, key), |(ip, proto)| (Some(ip), proto));
    let mut group = first.to_string();
    if first != last {
        group = format!("{group}-{last}");
    }
    if let Some(ip) = ip {
        let host = if ip.contains(':') { format!("[{ip}]:{group}") } else { format!("{ip}:{group}") };
        group = format!("{host}->{group}");
    }
    format!("{group}/{proto}")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::format::print_list;

    fn port(ip: Option<&str>, private: u16, public: u16) -> PortSummary {
        PortSummary {
            ip: ip.map(|i| i.parse().unwrap()),
            private_port: private,
            public_port: public,
            proto: "tcp".into(),
        }
    }

    fn web() -> ContainerSummary {
        ContainerSummary {
            id: "4c01db0b339c2f1d7c4c1a2e5d1f0b3a4c01db0b339c2f1d7c4c1a2e5d1f0b3a".into(),
            names: vec!["web".into()],
            image: "docker.io/library/nginx:latest".into(),
            image_id: "sha256:ffff".into(),
            command: "/docker-entrypoint.sh nginx -g 'daemon off;'".into(),
            created: Utc.with_ymd_and_hms(2024, 5, 1, 11, 55, 0).unwrap(),
            ports: vec![port(Some("0.0.0.0"), 80, 8080)],
            state: "running".into(),
            status: "Up 5 minutes".into(),
            ..Default::default()
        }
    }

    #[test]
    fn ps_table_matches_docker() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let mut out = Vec::new();
        let fmt = resolve_format(None, false, false);
        print_list(&mut out, Some(&fmt), DEFAULT_TABLE, HEADERS, &[row(&web(), true, now)]).unwrap();
        let want = "\
CONTAINER ID   IMAGE          COMMAND                  CREATED         STATUS         PORTS                  NAMES
4c01db0b339c   nginx:latest   \"/docker-entrypoint.…\"   5 minutes ago   Up 5 minutes   0.0.0.0:8080->80/tcp   web
";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn ports_group_like_docker() {
        let ports = [
            port(None, 443, 0),
            port(None, 8000, 0),
            port(None, 8001, 0),
            port(None, 8002, 0),
            port(Some("0.0.0.0"), 9000, 9000),
            port(Some("::"), 80, 8080),
        ];
        assert_eq!(displayable_ports(&ports), "443/tcp, 8000-8002/tcp, 0.0.0.0:9000->9000/tcp, [::]:8080->80/tcp");
        assert_eq!(displayable_ports(&[]), "");
    }

    #[test]
    fn no_trunc_keeps_ids_commands_and_image() {
        let r = row(&web(), false, Utc::now());
        assert_eq!(r["ID"].as_str().unwrap().len(), 64);
        assert_eq!(r["Command"], "\"/docker-entrypoint.sh nginx -g 'daemon off;'\"");
        assert_eq!(r["Image"], "docker.io/library/nginx:latest");
        assert_eq!(r["Size"], "0B");
        assert_eq!(r["Platform"], Value::Null);
    }

    #[test]
    fn quiet_and_size_formats() {
        assert_eq!(resolve_format(Some("{{.Names}}"), true, false), "{{.ID}}");
        assert!(resolve_format(None, false, true).ends_with("\t{{.Size}}"));
        let mut c = web();
        c.size_rw = Some(2);
        c.size_root_fs = Some(21_500_000);
        assert_eq!(row(&c, true, Utc::now())["Size"], "2B (virtual 21.5MB)");
    }

    #[test]
    fn label_column_reads_the_containers_labels() {
        let mut c = web();
        c.labels.insert("com.example.tier".into(), "front".into());
        let mut out = Vec::new();
        let fmt = r#"table {{.Names}}\t{{.Label "com.example.tier"}}"#;
        print_list(&mut out, Some(fmt), DEFAULT_TABLE, HEADERS, &[row(&c, true, Utc::now())]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "NAMES     tier\nweb       front\n");
    }

    #[test]
    fn go_quote_escapes_like_strconv() {
        assert_eq!(go_quote("sh -c \"x\"\n"), r#""sh -c \"x\"\n""#);
        assert_eq!(go_quote("a\u{1}"), r#""a\x01""#);
    }
}
