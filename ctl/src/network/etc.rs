//! `/etc/hosts` and `/etc/resolv.conf` of a container on a network, as
//! docker writes them (moby libnetwork/etchosts and resolvconf): the
//! localhost block, `--add-host` lines, then the container's own address
//! and hostname; the host's resolv.conf without loopback name servers
//! (meaningless in another namespace, docker's FilterResolvDNS), with
//! `--dns`, `--dns-search`, `--dns-option` replacing their kind of line. On a
//! network with DNS the first name server is aardvark-dns at the gateway
//! (docker's embedded 127.0.0.11 plays that part).

use std::net::Ipv4Addr;

const LOCALHOST_BLOCK: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// docker's fallback when the host has no usable name server.
const DEFAULT_SERVERS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// `--add-host name:ip` (docker also takes `name=ip`) as a hosts line.
pub(crate) fn extra_host_line(spec: &str) -> Option<String> {
    let (name, ip) = spec.split_once('=').or_else(|| spec.split_once(':'))?;
    if name.is_empty() || ip.is_empty() {
        return None;
    }
    let ip = if ip == "host-gateway" { "host-gateway" } else { ip.trim_matches(['[', ']']) };
    Some(format!("{ip}\t{name}\n"))
}

/// The container's /etc/hosts; `own` is its address with hostname (none
/// for `--network none`).
pub(crate) fn hosts(extra: &[String], own: Option<(Ipv4Addr, &str)>) -> String {
    let mut out = LOCALHOST_BLOCK.to_string();
    out.extend(extra.iter().filter_map(|e| extra_host_line(e)));
    if let Some((ip, name)) = own {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    out
}

/// What a container asked for its resolver.
#[derive(Debug, Clone, Default)]
pub(crate) struct DnsConfig<'a> {
    pub servers: &'a [String],
    pub search: &'a [String],
    pub options: &'a [String],
}

/// The container's /etc/resolv.conf from the host's text; `network_dns` is
/// aardvark-dns's address on a network that resolves names.
pub(crate) fn resolv_conf(host: &str, dns: &DnsConfig<'_>, network_dns: Option<Ipv4Addr>) -> String {
    let mut servers: Vec<String> = Vec::new();
    let (mut search, mut options) = (Vec::new(), Vec::new());
    let mut other = String::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(a) = words.next().filter(|a| !a.starts_with("127.") && *a != "::1") {
                    servers.push(a.to_string());
                }
            }
            Some("search") | Some("domain") => search = words.map(str::to_string).collect(),
            Some("options") => options.extend(words.map(str::to_string)),
            _ => {
                other.push_str(line);
                other.push('\n');
            }
        }
    }
    if !dns.servers.is_empty() {
        servers = dns.servers.to_vec();
    }
    if servers.is_empty() && network_dns.is_none() {
        servers = DEFAULT_SERVERS.iter().map(|s| s.to_string()).collect();
    }
    if let Some(gw) = network_dns {
        servers.insert(0, gw.to_string());
    }
    if !dns.search.is_empty() {
        search = dns.search.iter().filter(|s| s.as_str() != ".").cloned().collect();
    }
    if !dns.options.is_empty() {
        options = dns.options.to_vec();
    }
    let mut out = other;
    out.extend(servers.iter().map(|s| format!("nameserver {s}\n")));
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_has_localhost_extra_and_own_line() {
        let h = hosts(&["db:10.0.0.5".into(), "api=10.0.0.6".into()], Some(("10.77.0.2".parse().unwrap(), "abc123")));
        assert!(h.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
        assert!(h.ends_with("10.0.0.5\tdb\n10.0.0.6\tapi\n10.77.0.2\tabc123\n"), "{h}");
        assert_eq!(hosts(&[], None), LOCALHOST_BLOCK);
    }

    #[test]
    fn loopback_servers_are_dropped_and_defaults_used() {
        let got = resolv_conf("# hi\nnameserver 127.0.0.53\noptions edns0\nsearch lan\n", &DnsConfig::default(), None);
        assert_eq!(got, "# hi\nnameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch lan\noptions edns0\n");
    }

    #[test]
    fn flags_replace_their_lines_and_network_dns_comes_first() {
        let servers = ["1.1.1.1".to_string()];
        let search = ["example.com".to_string()];
        let dns = DnsConfig { servers: &servers, search: &search, options: &[] };
        let got = resolv_conf("nameserver 9.9.9.9\nsearch lan\n", &dns, Some("10.78.0.1".parse().unwrap()));
        assert_eq!(got, "nameserver 10.78.0.1\nnameserver 1.1.1.1\nsearch example.com\n");
    }
}
