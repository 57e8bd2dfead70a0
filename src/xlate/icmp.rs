//! ICMP errors the director originates (frag-needed, time-exceeded,
//! port-unreachable) and NAT of connection-related ICMP errors (reference
//! §2.4, `ip_vs_nat_icmp`).
//!
//! Invariants:
//! * Builders allocate through [`FrameAlloc`] only and return a frame of
//!   14-byte Ethernet placeholder (zero MACs, ethertype 0x0800) + IPv4
//!   (TTL 64, DF clear, TOS = `(orig.tos & 0x1e) | 0xc0` as Linux
//!   `icmp_send`, id from the caller) + ICMP. The quote is the original IP
//!   packet from its header on, cut to at most 548 bytes so the whole error
//!   is at most 576 bytes (RFC 1812 §4.3.2.3, what Linux `icmp_send` does;
//!   RFC 792's header + 8 bytes is the minimum and is always included).
//! * Builders refuse (`IcmpSuppressed`) where RFC 1122 §3.2.2 / Linux
//!   `icmp_send` stay silent: about an ICMP error (or an unknown or truncated
//!   ICMP type), a non-first fragment, a packet to a multicast or limited
//!   broadcast address, or from a source that is not a unique host (0/8,
//!   loopback, multicast, 255.255.255.255). Rate limiting is the caller's.
//! * NAT rewrites accept only types 3, 4, 11 quoting TCP/UDP with ports,
//!   verify the ICMP checksum first (`BadChecksum`, as IPVS), decrement the
//!   outer TTL, and recompute the outer IP checksum (incrementally), the
//!   quoted IP header checksum and the whole ICMP checksum (in full). The
//!   quoted L4 checksum is left alone (the quote may be truncated), exactly
//!   as IPVS. On error the frame is unchanged.

use super::{ipv4_total_len, split_l4, Result, XlateError, ETH_LEN, IP_LEN, L4_OFF};
use crate::frame::{Frame, FrameAlloc};
use crate::packet::ethernet::{self, EtherType, MacAddr};
use crate::packet::icmp::{self, Type, CODE_FRAG_NEEDED, CODE_PORT_UNREACH};
use crate::packet::ipv4::{self, Protocol};
use std::net::Ipv4Addr;

/// Largest ICMP error datagram (RFC 1812 §4.3.2.3, Linux `icmp_send`).
pub const MAX_ERROR_LEN: usize = 576;
/// Most bytes of the original packet quoted (576 - 20 - 8).
pub const MAX_QUOTE: usize = MAX_ERROR_LEN - IP_LEN - icmp::HEADER_LEN;
/// TTL of the messages built here.
pub const ICMP_TTL: u8 = 64;
/// Time-exceeded code "TTL exceeded in transit".
pub const CODE_TTL_EXCEEDED: u8 = 0;

/// Highest ICMP type Linux knows (`NR_ICMP_TYPES`); higher ones get no error.
const NR_ICMP_TYPES: u8 = 18;

/// The quoted connection tuple of an ICMP error, as the quoted packet has it
/// (sender's view). For an error from the client side it is
/// `VIP:vport → client:cport`, so reverse it for the inbound lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuotedTuple {
    /// 6 (TCP) or 17 (UDP).
    pub protocol: u8,
    pub src: Ipv4Addr,
    pub src_port: u16,
    pub dst: Ipv4Addr,
    pub dst_port: u16,
}

/// Destination unreachable / fragmentation needed (3/4) with next-hop MTU
/// `mtu`, from `src` to the original packet's source. See module docs for
/// the header fields, quote length and suppression rules.
pub fn frag_needed<A: FrameAlloc, O: Frame + ?Sized>(
    alloc: &mut A,
    original: &O,
    mtu: u16,
    src: Ipv4Addr,
    ident: u16,
) -> Result<A::Frame> {
    icmp_error(
        alloc,
        original,
        Type::DEST_UNREACH,
        CODE_FRAG_NEEDED,
        mtu as u32,
        src,
        ident,
    )
}

/// Time exceeded in transit (11/0), for [`XlateError::TtlExceeded`].
pub fn time_exceeded<A: FrameAlloc, O: Frame + ?Sized>(
    alloc: &mut A,
    original: &O,
    src: Ipv4Addr,
    ident: u16,
) -> Result<A::Frame> {
    icmp_error(
        alloc,
        original,
        Type::TIME_EXCEEDED,
        CODE_TTL_EXCEEDED,
        0,
        src,
        ident,
    )
}

/// Destination unreachable / port unreachable (3/3): no real server
/// available (IPVS `ip_vs_leave`: "no destination", for TCP too).
pub fn port_unreachable<A: FrameAlloc, O: Frame + ?Sized>(
    alloc: &mut A,
    original: &O,
    src: Ipv4Addr,
    ident: u16,
) -> Result<A::Frame> {
    icmp_error(
        alloc,
        original,
        Type::DEST_UNREACH,
        CODE_PORT_UNREACH,
        0,
        src,
        ident,
    )
}

/// Any ICMP error `icmp_type`/`code` with header bytes 4..8 = `rest` (e.g. to
/// relay a tunnel path error to the client, as `ip_vs_tunnel_xmit` does). Errors:
/// `NotIpv4`/`Truncated` (original breaks the input contract),
/// `IcmpSuppressed`, `AllocFailed`.
pub fn icmp_error<A: FrameAlloc, O: Frame + ?Sized>(
    alloc: &mut A,
    original: &O,
    icmp_type: u8,
    code: u8,
    rest: u32,
    src: Ipv4Addr,
    ident: u16,
) -> Result<A::Frame> {
    let od = original.data();
    let tl = ipv4_total_len(od)?;
    let orig_ip = od.get(ETH_LEN..ETH_LEN + tl).ok_or(XlateError::Truncated)?;
    let oip = ipv4::Packet::new_unchecked(orig_ip);
    if suppressed(&oip) {
        return Err(XlateError::IcmpSuppressed);
    }
    let quote = orig_ip.get(..tl.min(MAX_QUOTE)).unwrap_or(&[]);
    let icmp_len = icmp::HEADER_LEN + quote.len();
    let mut out = alloc.alloc().ok_or(XlateError::AllocFailed)?;
    out.truncate(0);
    if !out.append(L4_OFF + icmp_len) {
        return Err(XlateError::AllocFailed);
    }
    let d = out.data_mut();
    let hdr = ipv4::Header {
        src,
        dst: oip.src(),
        protocol: Protocol::ICMP,
        payload_len: icmp_len as u16,
        ttl: ICMP_TTL,
        tos: (oip.tos() & 0x1e) | 0xc0,
        ident,
        dont_frag: false,
    };
    let written = ethernet::emit_header(d, MacAddr::ZERO, MacAddr::ZERO, EtherType::IPV4)
        .and_then(|_| ipv4::emit_header(d.get_mut(ETH_LEN..).unwrap_or(&mut []), &hdr));
    let msg = d
        .get_mut(L4_OFF..L4_OFF + icmp_len)
        .ok_or(XlateError::AllocFailed)?;
    written
        .and_then(|_| icmp::emit_header(msg, icmp_type, code, rest))
        .map_err(|_| XlateError::AllocFailed)?;
    let mut p = icmp::Packet::new_unchecked(msg);
    p.payload_mut().copy_from_slice(quote);
    p.fill_checksum();
    Ok(out)
}

/// RFC 1122 §3.2.2 / Linux `icmp_send` silence rules (see module docs).
fn suppressed(ip: &ipv4::Packet<&[u8]>) -> bool {
    if ip.frag_offset() != 0 {
        return true;
    }
    let (s, d) = (ip.src(), ip.dst());
    if d.is_multicast() || d.is_broadcast() {
        return true;
    }
    if s.octets()[0] == 0 || s.is_loopback() || s.is_multicast() || s.is_broadcast() {
        return true;
    }
    if ip.protocol() == Protocol::ICMP {
        return match ip.payload().first() {
            Some(&t) => {
                t > NR_ICMP_TYPES
                    || matches!(
                        t,
                        Type::DEST_UNREACH
                            | Type::SOURCE_QUENCH
                            | Type::REDIRECT
                            | Type::TIME_EXCEEDED
                            | Type::PARAM_PROBLEM
                    )
            }
            None => true,
        };
    }
    false
}

/// Validate a related ICMP error (see module docs) and return its quoted
/// tuple. Errors: `NotIpv4`/`Truncated`, `Fragment` (outer, or quoted with a
/// non-zero offset: no ports), `UnsupportedProtocol` (outer not ICMP or
/// quoted not TCP/UDP), `NotIcmpError`, `BadChecksum`.
pub fn quoted_tuple<F: Frame + ?Sized>(frame: &F) -> Result<QuotedTuple> {
    let d = frame.data();
    let tl = ipv4_total_len(d)?;
    let msg = d.get(L4_OFF..ETH_LEN + tl).ok_or(XlateError::Truncated)?;
    let ip = ipv4::Packet::new_unchecked(d.get(ETH_LEN..L4_OFF).unwrap_or(&[]));
    check_error(&ip, msg)
}

fn check_error(ip: &ipv4::Packet<&[u8]>, msg: &[u8]) -> Result<QuotedTuple> {
    if ip.protocol() != Protocol::ICMP {
        return Err(XlateError::UnsupportedProtocol);
    }
    if ip.is_fragment() {
        return Err(XlateError::Fragment);
    }
    let p = icmp::Packet::new_checked(msg)?;
    if !p.is_error() {
        return Err(XlateError::NotIcmpError);
    }
    if !p.verify_checksum() {
        return Err(XlateError::BadChecksum);
    }
    let q = p.quoted_ipv4()?;
    if q.frag_offset() != 0 {
        return Err(XlateError::Fragment);
    }
    match q.protocol() {
        Protocol::TCP | Protocol::UDP => Ok(QuotedTuple {
            protocol: q.protocol(),
            src: q.src(),
            src_port: q.src_port(),
            dst: q.dst(),
            dst_port: q.dst_port(),
        }),
        _ => Err(XlateError::UnsupportedProtocol),
    }
}

/// Which side of the connection the error came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// From the client side, quoting `VIP:vport → client`.
    In,
    /// From the real-server side, quoting `client → RS:rport`.
    Out,
}

/// ICMP error from the client side quoting `VIP:vport → client:cport`
/// (NAT conn found by the reversed [`quoted_tuple`]): outer `daddr := real`,
/// quoted `saddr := real`, quoted `sport := real_port`, outer TTL - 1,
/// checksums per module docs. Errors as [`quoted_tuple`] plus `TtlExceeded`
/// (drop it: no ICMP error about an ICMP error).
pub fn nat_icmp_in<F: Frame + ?Sized>(
    frame: &mut F,
    real_addr: Ipv4Addr,
    real_port: u16,
) -> Result<()> {
    nat_icmp(frame.data_mut(), Dir::In, real_addr, real_port)
}

/// ICMP error from the real-server side quoting `client → RS:rport`:
/// outer `saddr := vip`, quoted `daddr := vip`, quoted `dport := vport`,
/// outer TTL - 1, checksums per module docs. Errors as [`nat_icmp_in`].
pub fn nat_icmp_out<F: Frame + ?Sized>(frame: &mut F, vip: Ipv4Addr, vport: u16) -> Result<()> {
    nat_icmp(frame.data_mut(), Dir::Out, vip, vport)
}

fn nat_icmp(data: &mut [u8], dir: Dir, addr: Ipv4Addr, port: u16) -> Result<()> {
    let tl = ipv4_total_len(data)?;
    let (mut ip, msg) = split_l4(data, tl)?;
    check_error(&ipv4::Packet::new_unchecked(ip.header()), msg)?;
    if ip.ttl() <= 1 {
        return Err(XlateError::TtlExceeded);
    }
    // All checks done; nothing below can fail.
    ip.decrement_ttl();
    match dir {
        Dir::In => ip.rewrite_dst(addr),
        Dir::Out => ip.rewrite_src(addr),
    };
    let mut p = icmp::Packet::new_unchecked(msg);
    if let Ok(mut q) = p.quoted_ipv4_mut() {
        match dir {
            Dir::In => {
                q.set_src(addr);
                q.set_src_port(port);
            }
            Dir::Out => {
                q.set_dst(addr);
                q.set_dst_port(port);
            }
        }
        q.fill_checksum();
    }
    p.fill_checksum();
    Ok(())
}
