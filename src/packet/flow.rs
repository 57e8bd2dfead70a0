//! One-pass classification of an IP packet into a [`Parsed`] summary with
//! its [`FlowTuple`], for connection lookup in the director's fast path.
//!
//! Invariants: [`extract`] never panics, never allocates, and reads every
//! byte at most a constant number of times. It validates lengths through the
//! per-protocol `new_checked` views and returns their `Error` unchanged, so
//! `Err` means "drop, count `e.as_str()`". It does **not** verify checksums
//! (the caller does that, or relies on NIC offload flags).
//!
//! Rules:
//! * IPv4: non-first fragments (offset != 0) carry no L4 header: ports are 0.
//!   For a first fragment (MF set) TCP must have its full header; UDP ports
//!   are read leniently because the UDP length covers the whole datagram.
//! * IPv6: extension headers are not walked; a next header of Hop-by-Hop (0),
//!   Routing (43), Fragment (44), ESP (50), AH (51), Destination Options (60)
//!   or Mobility (135) yields `Error::Unsupported`.
//! * ICMP/ICMPv6 echo: `sport` = identifier, `dport` = 0.
//! * ICMP errors (v4 types 3, 4, 11; v6 types 1-4): `inner` holds the quoted
//!   tuple (as the quoted packet was sent, not reversed). A quote too short
//!   for header + 8 bytes yields the quoted parser's error.
//! * Other protocols (IPIP, GRE, ...): ports 0.

use super::ethernet::EtherType;
use super::icmp;
use super::icmpv6;
use super::ipv4::{self, Protocol};
use super::ipv6;
use super::tcp;
use super::udp;
use super::{be16, Error, Result};
use std::net::{IpAddr, Ipv6Addr};

/// Connection key: protocol, addresses and ports (or ICMP echo id as sport).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowTuple {
    pub proto: u8,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
}

impl FlowTuple {
    /// The tuple of the reply direction.
    pub fn reversed(&self) -> FlowTuple {
        FlowTuple {
            proto: self.proto,
            src: self.dst,
            sport: self.dport,
            dst: self.src,
            dport: self.sport,
        }
    }
}

/// ICMP/ICMPv6 type and code of the outer packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpInfo {
    pub msg_type: u8,
    pub code: u8,
}

/// Result of [`extract`]. All offsets are relative to the start of the L3
/// buffer given to `extract`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// 4 or 6.
    pub ip_version: u8,
    /// IPv4 header length incl. options, or 40 for IPv6.
    pub l3_header_len: usize,
    /// Where the L4 header starts (equal to `l3_header_len`: no IPv6
    /// extension headers are walked).
    pub l4_offset: usize,
    /// L4 bytes per the IP length fields (Ethernet padding excluded).
    pub l4_len: usize,
    /// End of the IP packet (`l4_offset + l4_len`); bytes past it are padding.
    pub l3_total_len: usize,
    /// Flow key; `tuple.proto` is the IP protocol / next header.
    pub tuple: FlowTuple,
    /// IPv4 packet is a fragment (MF set or offset != 0).
    pub fragment: bool,
    /// IPv4 fragment with offset != 0: no L4 header, ports are 0.
    pub non_first_fragment: bool,
    /// IPv4 header carries options (IHL > 5).
    pub has_options: bool,
    /// TCP flag byte (0 for non-TCP or non-first fragments).
    pub tcp_flags: u8,
    /// Outer ICMP/ICMPv6 type and code.
    pub icmp: Option<IcmpInfo>,
    /// For ICMP errors: the quoted packet's tuple.
    pub inner: Option<FlowTuple>,
}

/// Ports from the first 4 bytes of an L4 header that is at least 8 bytes
/// long (UDP header / quoted minimum).
fn lenient_ports(l4: &[u8]) -> Result<(u16, u16)> {
    if l4.len() < 8 {
        return Err(Error::Truncated);
    }
    Ok((be16(l4, 0), be16(l4, 2)))
}

fn is_v6_ext_header(nh: u8) -> bool {
    matches!(nh, 0 | 43 | 44 | 50 | 51 | 60 | 135)
}

/// Ports of a quoted L4 header (exactly the 8 quoted bytes or more).
fn quoted_ports(proto: u8, l4: &[u8]) -> (u16, u16) {
    let get = |o: usize| match l4.get(o..o + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    };
    match proto {
        Protocol::TCP | Protocol::UDP | 132 /* SCTP */ => (get(0), get(2)),
        Protocol::ICMP | Protocol::ICMPV6 => (get(4), 0),
        _ => (0, 0),
    }
}

/// Classify the IP packet `l3` whose L2 ethertype is `ethertype`.
pub fn extract(ethertype: u16, l3: &[u8]) -> Result<Parsed> {
    match ethertype {
        EtherType::IPV4 => extract_v4(l3),
        EtherType::IPV6 => extract_v6(l3),
        _ => Err(Error::NotIp),
    }
}

fn extract_v4(l3: &[u8]) -> Result<Parsed> {
    extract_v4_checked(&ipv4::Packet::new_checked(l3)?)
}

/// [`extract`] for an IPv4 packet the caller has already validated with
/// `ipv4::Packet::new_checked` (the datapath parses each header once).
pub fn extract_v4_checked(ip: &ipv4::Packet<&[u8]>) -> Result<Parsed> {
    let hl = ip.header_len();
    let proto = ip.protocol();
    let l4 = ip.payload();
    let fragment = ip.is_fragment();
    let non_first = ip.frag_offset() != 0;
    let mut p = Parsed {
        ip_version: 4,
        l3_header_len: hl,
        l4_offset: hl,
        l4_len: l4.len(),
        l3_total_len: ip.total_len() as usize,
        tuple: FlowTuple {
            proto,
            src: IpAddr::V4(ip.src()),
            sport: 0,
            dst: IpAddr::V4(ip.dst()),
            dport: 0,
        },
        fragment,
        non_first_fragment: non_first,
        has_options: hl > ipv4::MIN_HEADER_LEN,
        tcp_flags: 0,
        icmp: None,
        inner: None,
    };
    if non_first {
        return Ok(p);
    }
    match proto {
        Protocol::TCP => {
            let t = tcp::Packet::new_checked(l4)?;
            p.tuple.sport = t.src_port();
            p.tuple.dport = t.dst_port();
            p.tcp_flags = t.flags();
        }
        Protocol::UDP => {
            let (s, d) = if fragment {
                lenient_ports(l4)?
            } else {
                let u = udp::Packet::new_checked(l4)?;
                (u.src_port(), u.dst_port())
            };
            p.tuple.sport = s;
            p.tuple.dport = d;
        }
        Protocol::ICMP => {
            let m = icmp::Packet::new_checked(l4)?;
            p.icmp = Some(IcmpInfo {
                msg_type: m.msg_type(),
                code: m.code(),
            });
            if m.is_echo() {
                p.tuple.sport = m.echo_ident();
            } else if m.is_error() && !fragment {
                let q = m.quoted_ipv4()?;
                let (sport, dport) = if q.frag_offset() != 0 {
                    (0, 0)
                } else {
                    quoted_ports(q.protocol(), q.l4_header())
                };
                p.inner = Some(FlowTuple {
                    proto: q.protocol(),
                    src: IpAddr::V4(q.src()),
                    sport,
                    dst: IpAddr::V4(q.dst()),
                    dport,
                });
            }
        }
        _ => {}
    }
    Ok(p)
}

fn v6_addr(b: &[u8], off: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    if let Some(s) = b.get(off..off + 16) {
        a.copy_from_slice(s);
    }
    Ipv6Addr::from(a)
}

/// Lenient parse of a quoted IPv6 header + 8 bytes (ICMPv6 error body).
fn quoted_v6(q: &[u8]) -> Result<FlowTuple> {
    if q.len() < ipv6::HEADER_LEN + 8 {
        return Err(Error::Truncated);
    }
    if q[0] >> 4 != 6 {
        return Err(Error::BadVersion);
    }
    let nh = q[6];
    if is_v6_ext_header(nh) {
        return Err(Error::Unsupported);
    }
    let (sport, dport) = quoted_ports(nh, q.get(ipv6::HEADER_LEN..).unwrap_or(&[]));
    Ok(FlowTuple {
        proto: nh,
        src: IpAddr::V6(v6_addr(q, 8)),
        sport,
        dst: IpAddr::V6(v6_addr(q, 24)),
        dport,
    })
}

fn extract_v6(l3: &[u8]) -> Result<Parsed> {
    let ip = ipv6::Packet::new_checked(l3)?;
    let nh = ip.next_header();
    if is_v6_ext_header(nh) {
        return Err(Error::Unsupported);
    }
    let l4 = ip.payload();
    let hl = ipv6::HEADER_LEN;
    let mut p = Parsed {
        ip_version: 6,
        l3_header_len: hl,
        l4_offset: hl,
        l4_len: l4.len(),
        l3_total_len: hl + l4.len(),
        tuple: FlowTuple {
            proto: nh,
            src: IpAddr::V6(ip.src()),
            sport: 0,
            dst: IpAddr::V6(ip.dst()),
            dport: 0,
        },
        fragment: false,
        non_first_fragment: false,
        has_options: false,
        tcp_flags: 0,
        icmp: None,
        inner: None,
    };
    match nh {
        Protocol::TCP => {
            let t = tcp::Packet::new_checked(l4)?;
            p.tuple.sport = t.src_port();
            p.tuple.dport = t.dst_port();
            p.tcp_flags = t.flags();
        }
        Protocol::UDP => {
            let u = udp::Packet::new_checked(l4)?;
            p.tuple.sport = u.src_port();
            p.tuple.dport = u.dst_port();
        }
        Protocol::ICMPV6 => {
            let m = icmpv6::Packet::new_checked(l4)?;
            p.icmp = Some(IcmpInfo {
                msg_type: m.msg_type(),
                code: m.code(),
            });
            if m.is_echo() {
                p.tuple.sport = m.echo_ident();
            } else if matches!(m.msg_type(), 1..=4) {
                p.inner = Some(quoted_v6(m.payload())?);
            }
        }
        _ => {}
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::testdata::*;
    use std::net::Ipv4Addr;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }
    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    #[test]
    fn tcp_syn_v4() {
        let p = extract(EtherType::IPV4, &TCP_SYN_V4).unwrap();
        assert_eq!(
            (p.ip_version, p.l3_header_len, p.l4_offset, p.l4_len),
            (4, 20, 20, 40)
        );
        assert_eq!(
            p.tuple,
            FlowTuple {
                proto: 6,
                src: v4(192, 168, 1, 10),
                sport: 40000,
                dst: v4(192, 168, 1, 100),
                dport: 80
            }
        );
        assert_eq!(p.tcp_flags, tcp::Flags::SYN);
        assert!(!p.fragment && !p.has_options && p.icmp.is_none() && p.inner.is_none());
        assert_eq!(p.tuple.reversed().reversed(), p.tuple);
        assert_eq!(p.tuple.reversed().sport, 80);
    }

    #[test]
    fn udp_padded_and_options() {
        let p = extract(EtherType::IPV4, &UDP_V4_PADDED).unwrap();
        assert_eq!((p.l4_len, p.l3_total_len), (12, 32));
        assert_eq!(
            (p.tuple.sport, p.tuple.dport, p.tuple.proto),
            (12345, 53, 17)
        );
        let o = extract(EtherType::IPV4, &UDP_V4_OPTIONS).unwrap();
        assert!(o.has_options);
        assert_eq!((o.l4_offset, o.tuple.sport, o.tuple.dport), (24, 1, 2));
    }

    #[test]
    fn icmp_echo_and_error() {
        let p = extract(EtherType::IPV4, &ICMP_ECHO_V4).unwrap();
        assert_eq!(
            (p.tuple.proto, p.tuple.sport, p.tuple.dport),
            (1, 0x1234, 0)
        );
        assert_eq!(
            p.icmp,
            Some(IcmpInfo {
                msg_type: 8,
                code: 0
            })
        );
        let e = extract(EtherType::IPV4, &ICMP_PORT_UNREACH_V4).unwrap();
        assert_eq!(
            e.icmp,
            Some(IcmpInfo {
                msg_type: 3,
                code: 3
            })
        );
        assert_eq!(
            e.inner,
            Some(FlowTuple {
                proto: 17,
                src: v4(10, 0, 0, 1),
                sport: 12345,
                dst: v4(10, 0, 0, 2),
                dport: 53
            })
        );
        assert_eq!(e.tuple.src, v4(10, 0, 0, 2));
    }

    #[test]
    fn fragments() {
        let mut b = UDP_V4_PADDED;
        b[6] = 0x20; // MF, offset 0: first fragment, UDP length may exceed
        b[25] = 200;
        let p = extract(EtherType::IPV4, &b).unwrap();
        assert!(p.fragment && !p.non_first_fragment);
        assert_eq!((p.tuple.sport, p.tuple.dport), (12345, 53));
        b[7] = 0x10; // offset 128
        let p = extract(EtherType::IPV4, &b).unwrap();
        assert!(p.fragment && p.non_first_fragment);
        assert_eq!((p.tuple.sport, p.tuple.dport), (0, 0));
    }

    #[test]
    fn ipv6() {
        let p = extract(EtherType::IPV6, &TCP_SYN_V6).unwrap();
        assert_eq!((p.ip_version, p.l4_offset, p.l4_len), (6, 40, 20));
        assert_eq!(
            p.tuple,
            FlowTuple {
                proto: 6,
                src: v6("2001:db8::1"),
                sport: 40000,
                dst: v6("2001:db8::2"),
                dport: 443
            }
        );
        let u = extract(EtherType::IPV6, &UDP_V6).unwrap();
        assert_eq!((u.tuple.sport, u.tuple.dport), (5353, 5353));
        let e = extract(EtherType::IPV6, &ICMPV6_ECHO).unwrap();
        assert_eq!((e.tuple.proto, e.tuple.sport), (58, 0x1234));
        let n = extract(EtherType::IPV6, &ICMPV6_NS).unwrap();
        assert_eq!(
            n.icmp,
            Some(IcmpInfo {
                msg_type: 135,
                code: 0
            })
        );
        assert!(n.inner.is_none());
        let mut x = TCP_SYN_V6;
        x[6] = 0; // hop-by-hop
        assert_eq!(extract(EtherType::IPV6, &x), Err(Error::Unsupported));
    }

    #[test]
    fn icmpv6_error_quote() {
        // Packet Too Big quoting TCP_SYN_V6's header + 8 bytes.
        let mut b = [0u8; 40 + 8 + 48];
        b[..40].copy_from_slice(&TCP_SYN_V6[..40]);
        b[5] = 56;
        b[6] = 58;
        b[40] = icmpv6::Type::PACKET_TOO_BIG;
        b[48..].copy_from_slice(&TCP_SYN_V6[..48]);
        let p = extract(EtherType::IPV6, &b).unwrap();
        let i = p.inner.unwrap();
        assert_eq!((i.proto, i.sport, i.dport), (6, 40000, 443));
        assert_eq!(i.dst, v6("2001:db8::2"));
        b[48] = 0x45;
        assert_eq!(extract(EtherType::IPV6, &b), Err(Error::BadVersion));
        b[5] = 55;
        assert_eq!(extract(EtherType::IPV6, &b[..95]), Err(Error::Truncated));
    }

    #[test]
    fn malformed_never_panic() {
        assert_eq!(extract(EtherType::ARP, &TCP_SYN_V4), Err(Error::NotIp));
        let pkts: [(u16, &[u8]); 9] = [
            (EtherType::IPV4, &TCP_SYN_V4),
            (EtherType::IPV4, &UDP_V4_PADDED[..32]),
            (EtherType::IPV4, &ICMP_ECHO_V4),
            (EtherType::IPV4, &ICMP_PORT_UNREACH_V4),
            (EtherType::IPV4, &UDP_V4_OPTIONS),
            (EtherType::IPV6, &TCP_SYN_V6),
            (EtherType::IPV6, &UDP_V6),
            (EtherType::IPV6, &ICMPV6_ECHO),
            (EtherType::IPV6, &ICMPV6_NS),
        ];
        for (et, pkt) in pkts {
            assert!(extract(et, pkt).is_ok());
            for n in 0..pkt.len() {
                assert!(extract(et, &pkt[..n]).is_err(), "{et:x} len {n}");
            }
            // Every single-byte corruption must not panic.
            let mut buf = [0u8; 128];
            for i in 0..pkt.len() {
                for v in [0u8, 0x01, 0x45, 0x60, 0x7f, 0xff] {
                    buf[..pkt.len()].copy_from_slice(pkt);
                    buf[i] = v;
                    let _ = extract(et, &buf[..pkt.len()]);
                }
            }
        }
        // Truncated inner IPv4 header length inside the port-unreachable quote.
        let mut b = ICMP_PORT_UNREACH_V4;
        b[28] = 0x4f;
        assert_eq!(extract(EtherType::IPV4, &b), Err(Error::Truncated));
    }
}
