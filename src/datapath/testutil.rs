//! Test-only frame builders for the datapath case tables.
use crate::packet::ethernet::{self, EtherType, MacAddr};
use crate::packet::{arp, checksum, ipv4};
use std::net::Ipv4Addr;

pub const MY_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
pub const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
pub const MY_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);

/// Ethernet header + `l3`.
pub fn eth(dst: MacAddr, src: MacAddr, ethertype: u16, l3: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 14];
    ethernet::emit_header(&mut v, dst, src, ethertype).unwrap();
    v.extend_from_slice(l3);
    v
}

/// An ARP packet in an Ethernet frame from the peer.
pub fn arp_frame(oper: u16, spa: Ipv4Addr, tpa: Ipv4Addr, dst: MacAddr) -> Vec<u8> {
    let mut a = [0u8; 28];
    arp::emit(&mut a, oper, PEER_MAC, spa, MacAddr::ZERO, tpa).unwrap();
    eth(dst, PEER_MAC, EtherType::ARP, &a)
}

/// An IPv4 packet (checksum filled) with `payload` of protocol `proto`.
pub fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 20];
    let h = ipv4::Header {
        src,
        dst,
        protocol: proto,
        payload_len: payload.len() as u16,
        ttl: 64,
        tos: 0,
        ident: 7,
        dont_frag: true,
    };
    ipv4::emit_header(&mut v, &h).unwrap();
    v.extend_from_slice(payload);
    v
}

/// ICMP echo request body with a valid checksum.
pub fn echo_request(id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut v = vec![8, 0, 0, 0];
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(data);
    let c = checksum::checksum(&v);
    v[2..4].copy_from_slice(&c.to_be_bytes());
    v
}

/// Echo request from the peer to `dst`, in a frame to our MAC.
pub fn ping_frame(dst: Ipv4Addr) -> Vec<u8> {
    eth(
        MY_MAC,
        PEER_MAC,
        EtherType::IPV4,
        &ipv4_packet(PEER_IP, dst, 1, &echo_request(0x1234, 1, b"abcdefgh")),
    )
}
