//! Test-only packet builders (Ethernet + IPv4 + TCP/UDP/ICMP) on top of the
//! packet module's emit functions, and small parsing helpers for asserts.
//!
//! Invariants: every builder returns a complete frame with a fixed non-zero
//! Ethernet header [`ETH_HDR`] (so tests can see it is left alone) and valid
//! IPv4 and L4 checksums (UDP optionally without checksum).

use crate::packet::{checksum, ethernet, icmp, ipv4, tcp, udp};
use std::net::Ipv4Addr;

/// Client.
pub const C: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
/// Virtual IP.
pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// Real server.
pub const RS: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 5);
/// Director's own address towards the real servers (tunnel source).
pub const DIR: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
/// A router on the path.
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

/// dst 02:00:00:00:00:01, src 02:00:00:00:00:02, IPv4.
pub const ETH_HDR: [u8; 14] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];

/// IPv4 header parameters for [`ipv4_frame`].
#[derive(Clone, Copy)]
pub struct Ip {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub dont_frag: bool,
    pub ident: u16,
}

impl Ip {
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, ttl: u8) -> Ip {
        Ip {
            src,
            dst,
            protocol,
            ttl,
            tos: 0,
            dont_frag: true,
            ident: 0x1234,
        }
    }
}

/// Ethernet + IPv4 header + `l4` as given.
pub fn ipv4_frame(h: Ip, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 34 + l4.len()];
    f[..14].copy_from_slice(&ETH_HDR);
    let hdr = ipv4::Header {
        src: h.src,
        dst: h.dst,
        protocol: h.protocol,
        payload_len: l4.len() as u16,
        ttl: h.ttl,
        tos: h.tos,
        ident: h.ident,
        dont_frag: h.dont_frag,
    };
    ipv4::emit_header(&mut f[14..], &hdr).unwrap();
    f[34..].copy_from_slice(l4);
    f
}

/// TCP PSH|ACK segment with `payload`.
pub fn tcp(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    ttl: u8,
    payload: &[u8],
) -> Vec<u8> {
    tcp_ip(Ip::new(src, dst, 6, ttl), sport, dport, payload)
}

/// TCP segment with explicit IP parameters.
pub fn tcp_ip(h: Ip, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut seg = vec![0u8; 20 + payload.len()];
    let mut t = tcp::Packet::new_unchecked(&mut seg[..]);
    t.set_src_port(sport);
    t.set_dst_port(dport);
    t.set_seq(0x0102_0304);
    t.set_ack(0x0a0b_0c0d);
    t.set_header_len(20);
    t.set_flags(tcp::Flags::PSH | tcp::Flags::ACK);
    t.set_window(29200);
    t.payload_mut().copy_from_slice(payload);
    t.fill_checksum_v4(h.src, h.dst);
    ipv4_frame(h, &seg)
}

/// UDP datagram; `csum = false` leaves the checksum 0 ("none").
pub fn udp(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    ttl: u8,
    payload: &[u8],
    csum: bool,
) -> Vec<u8> {
    let mut d = vec![0u8; 8 + payload.len()];
    udp::emit_header(&mut d, sport, dport, payload.len() as u16).unwrap();
    let mut u = udp::Packet::new_checked(&mut d[..]).unwrap();
    u.payload_mut().copy_from_slice(payload);
    if csum {
        u.fill_checksum_v4(src, dst);
    }
    ipv4_frame(Ip::new(src, dst, 17, ttl), &d)
}

/// ICMP echo request id 0x4242 seq 7, payload "ping".
pub fn icmp_echo(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8) -> Vec<u8> {
    let mut m = vec![0u8; 12];
    icmp::emit_header(&mut m, icmp::Type::ECHO_REQUEST, 0, 0x4242_0007).unwrap();
    m[8..].copy_from_slice(b"ping");
    icmp::Packet::new_unchecked(&mut m[..]).fill_checksum();
    ipv4_frame(Ip::new(src, dst, 1, ttl), &m)
}

/// An ICMP error from `from` to `to` (type/code/rest) quoting `quoted`
/// (an IP packet, already cut to the length to quote).
pub fn icmp_err(
    from: Ipv4Addr,
    to: Ipv4Addr,
    ty: u8,
    code: u8,
    rest: u32,
    quoted: &[u8],
) -> Vec<u8> {
    let mut m = vec![0u8; 8 + quoted.len()];
    icmp::emit_header(&mut m, ty, code, rest).unwrap();
    m[8..].copy_from_slice(quoted);
    icmp::Packet::new_unchecked(&mut m[..]).fill_checksum();
    let mut h = Ip::new(from, to, 1, 64);
    h.tos = 0xc0;
    h.dont_frag = false;
    ipv4_frame(h, &m)
}

/// IPv4 header view and L4 bytes (`..total_len`) of a frame.
pub fn parse(f: &[u8]) -> (ipv4::Packet<&[u8]>, &[u8]) {
    let e = ethernet::Frame::new_checked(f).unwrap();
    assert_eq!(e.ethertype(), 0x0800);
    let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
    let l4 = &f[34..14 + ip.total_len() as usize];
    (ip, l4)
}

/// Recompute the IPv4 header checksum of a frame in place.
pub fn fix_ip_checksum(f: &mut [u8]) {
    f[24] = 0;
    f[25] = 0;
    let c = checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
}
