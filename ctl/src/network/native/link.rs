//! rtnetlink over a `NETLINK_ROUTE` socket, synchronously: each request is
//! sent with `NLM_F_ACK` and read back until the kernel's ack (or error).
//! What `ip link add … type bridge|veth|macvlan`, `ip addr add`, `ip route
//! add default` and `ip link del` do, without a process per step.
//!
//! A socket talks to the network namespace it was made in: [`Rtnl::open_in`]
//! makes one from a short-lived thread that joined the container's netns, so
//! the caller never leaves its own.

use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteType};
use netlink_packet_route::{AddressFamily, address::AddressHeaderFlags};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// One rtnetlink socket, bound to the netns it was opened in.
pub(crate) struct Rtnl {
    socket: Socket,
    seq: u32,
}

/// An interface as `links` lists it.
pub(crate) struct Link {
    pub index: u32,
    pub name: String,
    /// The bridge it is a port of.
    pub master: Option<u32>,
}

/// A new interface: its name, MAC (`02:42:…`) and where it goes.
pub(crate) struct NewLink<'a> {
    pub name: &'a str,
    pub mac: Option<[u8; 6]>,
    /// The network namespace to create it in (the container's).
    pub netns: Option<&'a File>,
}

impl Rtnl {
    /// A socket in the caller's network namespace.
    pub(crate) fn open() -> io::Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl { socket, seq: 0 })
    }

    /// A socket in the network namespace `netns` (an open nsfs file).
    pub(crate) fn open_in(netns: &File) -> io::Result<Rtnl> {
        // setns(CLONE_NEWNET) moves only the calling thread: a scoped thread
        // joins, opens the socket (which stays bound to that netns) and ends.
        let joined = std::thread::scope(|s| {
            s.spawn(|| {
                nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
                Rtnl::open()
            })
            .join()
        });
        joined.unwrap_or_else(|_| Err(io::Error::other("netns thread panicked")))
    }

    /// Send `message`, wait for the ack; returns the replies before it.
    fn request(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        let mut replies = Vec::new();
        loop {
            let (data, _) = self.socket.recv_from_full()?;
            let mut offset = 0;
            while offset < data.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[offset..])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = reply.header.length as usize;
                if len == 0 {
                    break;
                }
                offset += len;
                if reply.header.sequence_number != self.seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Error(e) if e.code.is_none() => return Ok(replies),
                    NetlinkPayload::Error(e) => return Err(e.to_io()),
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::InnerMessage(m) => replies.push(m),
                    _ => {}
                }
            }
        }
    }

    /// The index of interface `name`, if it exists.
    pub(crate) fn index(&mut self, name: &str) -> io::Result<Option<u32>> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(RouteNetlinkMessage::GetLink(m), 0) {
            Ok(replies) => Ok(replies.iter().find_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l.header.index),
                _ => None,
            })),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `ip link add NAME up type bridge`; an existing one is kept.
    pub(crate) fn add_bridge(&mut self, name: &str) -> io::Result<u32> {
        let mut m = up_link(&NewLink { name, mac: None, netns: None });
        m.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]));
        ignore(self.request(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL), libc::EEXIST)?;
        self.index(name)?.ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))
    }

    /// `ip link add HOST up master BRIDGE type veth peer PEER netns NS`: the
    /// pair made with the container's end already in its netns and up.
    pub(crate) fn add_veth(&mut self, host: &str, bridge: u32, peer: &NewLink<'_>) -> io::Result<()> {
        let mut m = up_link(&NewLink { name: host, mac: None, netns: None });
        m.attributes.push(LinkAttribute::Controller(bridge));
        // The peer cannot come up while made into another netns (the
        // kernel answers ENOTCONN): `set_up` from inside does it.
        let mut peer = up_link(peer);
        peer.header.flags = LinkFlags::empty();
        peer.header.change_mask = LinkFlags::empty();
        let info = InfoData::Veth(InfoVeth::Peer(peer));
        m.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Veth), LinkInfo::Data(info)]));
        self.request(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL).map(drop)
    }

    /// `ip link add link PARENT NAME netns NS type macvlan mode bridge`.
    pub(crate) fn add_macvlan(&mut self, parent: u32, link: &NewLink<'_>) -> io::Result<()> {
        let mut m = up_link(link);
        m.header.flags = LinkFlags::empty();
        m.header.change_mask = LinkFlags::empty();
        m.attributes.push(LinkAttribute::Link(parent));
        let data = InfoData::MacVlan(vec![InfoMacVlan::Mode(MacVlanMode::Bridge)]);
        m.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::MacVlan), LinkInfo::Data(data)]));
        self.request(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL).map(drop)
    }

    /// `ip link set INDEX up`.
    pub(crate) fn set_up(&mut self, index: u32) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(m), 0).map(drop)
    }

    /// `ip link set NAME down`; one already gone is fine.
    pub(crate) fn set_down(&mut self, name: &str) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.change_mask = LinkFlags::Up;
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        ignore(self.request(RouteNetlinkMessage::SetLink(m), 0), libc::ENODEV)
    }

    /// Every interface: `ip -o link` (name, index, master).
    pub(crate) fn links(&mut self) -> io::Result<Vec<Link>> {
        let replies = self.request(RouteNetlinkMessage::GetLink(LinkMessage::default()), NLM_F_DUMP)?;
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .map(|l| Link {
                index: l.header.index,
                name: l
                    .attributes
                    .iter()
                    .find_map(|a| match a {
                        LinkAttribute::IfName(n) => Some(n.clone()),
                        _ => None,
                    })
                    .unwrap_or_default(),
                master: l.attributes.iter().find_map(|a| match a {
                    LinkAttribute::Controller(m) => Some(*m),
                    _ => None,
                }),
            })
            .collect())
    }

    /// `ip link del NAME`; one already gone is fine.
    pub(crate) fn delete(&mut self, name: &str) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        ignore(self.request(RouteNetlinkMessage::DelLink(m), 0), libc::ENODEV)
    }

    /// `ip addr add IP/PREFIX dev INDEX` (IPv6 without duplicate address
    /// detection, usable at once); one already there is fine.
    pub(crate) fn add_address(&mut self, index: u32, ip: IpAddr, prefix: u8) -> io::Result<()> {
        let mut m = AddressMessage::default();
        m.header.index = index;
        m.header.prefix_len = prefix;
        match ip {
            IpAddr::V4(v4) => {
                m.header.family = AddressFamily::Inet;
                m.attributes.push(AddressAttribute::Local(ip));
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                m.attributes.push(AddressAttribute::Broadcast((u32::from(v4) | !mask).into()));
            }
            IpAddr::V6(_) => {
                m.header.family = AddressFamily::Inet6;
                m.header.flags = AddressHeaderFlags::Nodad;
                m.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        m.attributes.push(AddressAttribute::Address(ip));
        ignore(self.request(RouteNetlinkMessage::NewAddress(m), NLM_F_CREATE | NLM_F_EXCL), libc::EEXIST)
    }

    /// `ip route add default via GATEWAY dev INDEX`.
    pub(crate) fn add_default_route(&mut self, index: u32, gateway: IpAddr) -> io::Result<()> {
        let mut m = RouteMessage::default();
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Boot;
        m.header.kind = RouteType::Unicast;
        let via = match gateway {
            IpAddr::V4(g) => {
                m.header.address_family = AddressFamily::Inet;
                RouteAddress::Inet(g)
            }
            IpAddr::V6(g) => {
                m.header.address_family = AddressFamily::Inet6;
                RouteAddress::Inet6(g)
            }
        };
        m.attributes.push(RouteAttribute::Gateway(via));
        m.attributes.push(RouteAttribute::Oif(index));
        ignore(self.request(RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | NLM_F_EXCL), libc::EEXIST)
    }
}

/// A link message for a new interface that comes up when made.
fn up_link(link: &NewLink<'_>) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes.push(LinkAttribute::IfName(link.name.to_string()));
    if let Some(mac) = link.mac {
        m.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(ns) = link.netns {
        m.attributes.push(LinkAttribute::NetNsFd(ns.as_raw_fd()));
    }
    m
}

/// `result`, with the errno `ok` (already there, already gone) as success.
fn ignore<T>(result: io::Result<T>, ok: i32) -> io::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(ok) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `02:42:0a:4e:00:02` as bytes.
pub(crate) fn parse_mac(mac: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = mac.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse() {
        assert_eq!(parse_mac("02:42:0a:4e:00:02"), Some([2, 0x42, 10, 0x4e, 0, 2]));
        assert_eq!(parse_mac("02:42:0a:4e:00"), None);
        assert_eq!(parse_mac("02:42:0a:4e:00:02:03"), None);
        assert_eq!(parse_mac("zz:42:0a:4e:00:02"), None);
    }
}
