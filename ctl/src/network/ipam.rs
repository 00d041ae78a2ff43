//! Address management over the rows in the store: subnets in CIDR form,
//! the next free subnet for a new network, the next free address in a
//! network for a container — IPv4, and IPv6 for dual-stack networks
//! (`network create --ipv6`). What is taken is decided by the caller's
//! transaction (leases are rows); this file only does the arithmetic.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 subnet, host bits cleared (`10.77.0.0/16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ipv4Net {
    addr: Ipv4Addr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IpamError {
    #[error("invalid CIDR address: {0}")]
    Cidr(String),
    #[error("invalid IP address: {0}")]
    Address(String),
    #[error("no IPv4 address pool left for a new network (all of {0} is in use)")]
    NoSubnet(String),
    #[error("no available IPv4 addresses on network {0}")]
    Exhausted(String),
    #[error("address {ip} is not in subnet {subnet} of network {network}")]
    OutOfSubnet { ip: Ipv4Addr, subnet: Ipv4Net, network: String },
    #[error("no IPv6 address pool left for a new network (all of {0} is in use)")]
    NoSubnet6(String),
}

impl Ipv4Net {
    pub(crate) fn new(addr: Ipv4Addr, prefix: u8) -> Ipv4Net {
        let prefix = prefix.min(32);
        Ipv4Net { addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)), prefix }
    }
    pub(crate) fn network(&self) -> Ipv4Addr {
        self.addr
    }
    pub(crate) fn prefix(&self) -> u8 {
        self.prefix
    }
    pub(crate) fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !mask(self.prefix))
    }
    pub(crate) fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.addr)
    }
    pub(crate) fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }
    /// The first usable host: docker's default gateway.
    pub(crate) fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr).saturating_add(1))
    }
    /// Usable host addresses (not the network or broadcast address), in order.
    pub(crate) fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        let (first, last) = (u32::from(self.addr) + 1, u32::from(self.broadcast()));
        (first..last).map(Ipv4Addr::from)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) }
}

impl FromStr for Ipv4Net {
    type Err = IpamError;
    /// `a.b.c.d/n`; host bits must be zero, as docker checks
    /// ("invalid subnet 10.1.0.1/16: it should be 10.1.0.0/16").
    fn from_str(s: &str) -> Result<Ipv4Net, IpamError> {
        let bad = || IpamError::Cidr(s.to_string());
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        Ok(Ipv4Net::new(addr, prefix))
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl serde::Serialize for Ipv4Net {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An IPv6 subnet, host bits cleared (`fd00:1::/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ipv6Net {
    addr: Ipv6Addr,
    prefix: u8,
}

fn mask6(prefix: u8) -> u128 {
    if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) }
}

impl Ipv6Net {
    pub(crate) fn new(addr: Ipv6Addr, prefix: u8) -> Ipv6Net {
        let prefix = prefix.min(128);
        Ipv6Net { addr: Ipv6Addr::from(u128::from(addr) & mask6(prefix)), prefix }
    }
    pub(crate) fn prefix(&self) -> u8 {
        self.prefix
    }
    pub(crate) fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & mask6(self.prefix) == u128::from(self.addr)
    }
    pub(crate) fn overlaps(&self, other: &Ipv6Net) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }
    /// The first address after the subnet-router anycast one: the gateway.
    pub(crate) fn first_host(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr).saturating_add(1))
    }
    /// Host addresses after the subnet-router anycast address, in order
    /// (at most 2^32 of them: a /64 is never walked to its end).
    pub(crate) fn hosts(&self) -> impl Iterator<Item = Ipv6Addr> + use<> {
        let first = u128::from(self.addr) + 1;
        let count = (!mask6(self.prefix)).min(u128::from(u32::MAX));
        (0..count).map(move |i| Ipv6Addr::from(first + i))
    }
}

impl FromStr for Ipv6Net {
    type Err = IpamError;
    fn from_str(s: &str) -> Result<Ipv6Net, IpamError> {
        let bad = || IpamError::Cidr(s.to_string());
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv6Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if prefix > 128 {
            return Err(bad());
        }
        Ok(Ipv6Net::new(addr, prefix))
    }
}

impl fmt::Display for Ipv6Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The unique local /48 `--ipv6` networks without a `--subnet` take their
/// /64s from (fd + "berth"-ish bits; RFC 4193 space, so it clashes with no
/// public address).
const USER_POOL6: &str = "fdbe:7274:6800::/48";

/// The first /64 of the IPv6 pool that overlaps none of `taken`.
pub(crate) fn next_subnet6(taken: &[Ipv6Net]) -> Result<Ipv6Net, IpamError> {
    // The pool is a constant that parses.
    let pool: Ipv6Net = USER_POOL6.parse().expect("USER_POOL6 is a valid CIDR");
    (0..1u128 << 16)
        .map(|i| Ipv6Net::new(Ipv6Addr::from(u128::from(pool.addr) + (i << 64)), 64))
        .find(|candidate| !taken.iter().any(|t| t.overlaps(candidate)))
        .ok_or_else(|| IpamError::NoSubnet6(USER_POOL6.to_string()))
}

/// The first IPv6 address of `subnet` that is not the gateway and not leased.
pub(crate) fn next_address6(
    network: &str,
    subnet: Ipv6Net,
    gateway: Option<Ipv6Addr>,
    leased: &[Ipv6Addr],
) -> Result<Ipv6Addr, IpamError> {
    subnet
        .hosts()
        .find(|ip| Some(*ip) != gateway && !leased.contains(ip))
        .ok_or_else(|| IpamError::Exhausted(network.to_string()))
}

/// `--mac-address`: six hex octets joined by `:` or `-`, as Go's
/// `net.ParseMAC` takes an EUI-48; returned lowercase with colons.
pub(crate) fn parse_mac(s: &str) -> Option<String> {
    let octets: Vec<&str> = s.split([':', '-']).collect();
    let valid = octets.len() == 6 && octets.iter().all(|o| o.len() == 2 && u8::from_str_radix(o, 16).is_ok());
    valid.then(|| octets.join(":").to_ascii_lowercase())
}

pub(crate) fn parse_ip(s: &str) -> Result<Ipv4Addr, IpamError> {
    s.parse().map_err(|_| IpamError::Address(s.to_string()))
}

/// The pool user networks take their /24s from, as docker's default pools
/// (172.17-31/16, 192.168/20) and podman's (10.89.0.0/24 upward) but
/// clashing with neither: the default bridge has 10.77.0.0/16 (docker's is
/// 172.17.0.0/16, podman's 10.88.0.0/16), user networks 10.78.0.0/16 and
/// up in /24 steps.
pub(crate) const DEFAULT_BRIDGE_SUBNET: &str = "10.77.0.0/16";
const USER_POOL: &str = "10.78.0.0/15";
const USER_PREFIX: u8 = 24;

/// The first /24 of the pool that overlaps none of `taken`.
pub(crate) fn next_subnet(taken: &[Ipv4Net]) -> Result<Ipv4Net, IpamError> {
    // The pool is a constant that parses.
    let pool: Ipv4Net = USER_POOL.parse().expect("USER_POOL is a valid CIDR");
    let step = 1u32 << (32 - USER_PREFIX);
    let count = 1u32 << (USER_PREFIX - pool.prefix);
    (0..count)
        .map(|i| Ipv4Net::new(Ipv4Addr::from(u32::from(pool.addr) + i * step), USER_PREFIX))
        .find(|candidate| !taken.iter().any(|t| t.overlaps(candidate)))
        .ok_or_else(|| IpamError::NoSubnet(USER_POOL.to_string()))
}

/// The first address of `range` (or the subnet) that is not the gateway
/// and not leased.
pub(crate) fn next_address(
    network: &str,
    subnet: Ipv4Net,
    range: Option<Ipv4Net>,
    gateway: Option<Ipv4Addr>,
    leased: &[Ipv4Addr],
) -> Result<Ipv4Addr, IpamError> {
    range
        .unwrap_or(subnet)
        .hosts()
        .filter(|ip| subnet.contains(*ip) && *ip != subnet.broadcast() && *ip != subnet.network())
        .find(|ip| Some(*ip) != gateway && !leased.contains(ip))
        .ok_or_else(|| IpamError::Exhausted(network.to_string()))
}

/// docker's MAC for an address before it randomised them: 02:42 and the
/// four bytes of the IPv4 address, so the same lease gives the same MAC.
pub(crate) fn mac_for(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_subnets_and_addresses() {
        let n: Ipv6Net = "fd00:1::5/64".parse().unwrap();
        assert_eq!(n.to_string(), "fd00:1::/64");
        assert_eq!(n.first_host().to_string(), "fd00:1::1");
        assert!(n.contains("fd00:1::ffff".parse().unwrap()) && !n.contains("fd00:2::1".parse().unwrap()));
        let gw = Some(n.first_host());
        assert_eq!(next_address6("n", n, gw, &[]).unwrap().to_string(), "fd00:1::2");
        assert_eq!(next_address6("n", n, gw, &["fd00:1::2".parse().unwrap()]).unwrap().to_string(), "fd00:1::3");
        assert_eq!(next_subnet6(&[]).unwrap().to_string(), "fdbe:7274:6800::/64");
        let taken = [next_subnet6(&[]).unwrap()];
        assert_eq!(next_subnet6(&taken).unwrap().to_string(), "fdbe:7274:6800:1::/64");
        assert!(matches!("fd00::/129".parse::<Ipv6Net>(), Err(IpamError::Cidr(_))));
        let tiny: Ipv6Net = "fd00::/127".parse().unwrap();
        assert!(next_address6("n", tiny, Some(tiny.first_host()), &[]).is_err());
    }

    #[test]
    fn mac_addresses_parse_as_go() {
        assert_eq!(parse_mac("92:D0:C6:0A:29:33").as_deref(), Some("92:d0:c6:0a:29:33"));
        assert_eq!(parse_mac("92-d0-c6-0a-29-33").as_deref(), Some("92:d0:c6:0a:29:33"));
        for bad in ["92:d0:c6:0a:29", "92:d0:c6:0a:29:3g", "92d0c60a2933", "", "92:d0:c6:0a:29:333"] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidr_clears_host_bits_and_round_trips() {
        assert_eq!(net("10.1.2.3/16").to_string(), "10.1.0.0/16");
        assert!(net("10.1.0.0/16").contains("10.1.255.7".parse().unwrap()));
        assert!(!net("10.1.0.0/16").contains("10.2.0.1".parse().unwrap()));
        assert!(matches!("10.1.0.0".parse::<Ipv4Net>(), Err(IpamError::Cidr(_))));
        assert!(matches!("10.1.0.0/33".parse::<Ipv4Net>(), Err(IpamError::Cidr(_))));
    }

    #[test]
    fn next_subnet_skips_overlapping_ones() {
        assert_eq!(next_subnet(&[]).unwrap(), net("10.78.0.0/24"));
        let taken = [net("10.78.0.0/24"), net("10.78.1.0/25"), net("10.77.0.0/16")];
        assert_eq!(next_subnet(&taken).unwrap(), net("10.78.2.0/24"));
        assert!(matches!(next_subnet(&[net("10.78.0.0/15")]), Err(IpamError::NoSubnet(_))));
    }

    #[test]
    fn next_address_skips_gateway_and_leases() {
        let s = net("10.78.0.0/24");
        let gw = Some("10.78.0.1".parse().unwrap());
        assert_eq!(next_address("n", s, None, gw, &[]).unwrap().to_string(), "10.78.0.2");
        let leased = ["10.78.0.2".parse().unwrap(), "10.78.0.3".parse().unwrap()];
        assert_eq!(next_address("n", s, None, gw, &leased).unwrap().to_string(), "10.78.0.4");
        let range = Some(net("10.78.0.128/25"));
        assert_eq!(next_address("n", s, range, gw, &[]).unwrap().to_string(), "10.78.0.129");
    }

    #[test]
    fn a_full_subnet_is_exhausted() {
        let s = net("10.78.0.0/30");
        let gw = Some("10.78.0.1".parse().unwrap());
        let leased = ["10.78.0.2".parse().unwrap()];
        assert_eq!(next_address("tiny", s, None, gw, &leased), Err(IpamError::Exhausted("tiny".into())));
    }

    #[test]
    fn mac_follows_the_address() {
        assert_eq!(mac_for("10.77.0.2".parse().unwrap()), "02:42:0a:4d:00:02");
    }
}
