//! Case tables for the datapath: input frame → verdict, counters and output.
use super::testutil::*;
use super::*;
use crate::config::Ipv4Net;
use crate::frame::{VecAlloc, VecFrame};
use crate::packet::ethernet::{EtherType, MacAddr};
use crate::packet::{arp, checksum, icmp, ipv4};
use std::sync::Arc;

/// The snapshot of config `text` (one worker) and an engine refreshed to it
/// (4096-entry table, seed 7): the rig of the config-driven case tables.
fn engine_for(text: &str) -> (Arc<Snapshot>, Engine<VecFrame>) {
    let m = crate::config::load(text).expect("config");
    let snap = topology::build(
        &m,
        &[],
        1,
        &mut topology::Registry::default(),
        &Default::default(),
    )
    .expect("snapshot");
    let snap = Arc::new(snap);
    let lb = Lb::new(4096, crate::conn::Timeouts::default(), 7).expect("table");
    let mut e = Engine::new(
        neigh::NeighConfig::default(),
        Arc::new(Counters::default()),
        64,
        lb,
    );
    e.refresh(&snap);
    (snap, e)
}

fn snap() -> Snapshot {
    Snapshot {
        generation: 1,
        ports: vec![PortView {
            name: "ext".into(),
            mac: MY_MAC,
            addr: Ipv4Net::new(MY_IP, 24).unwrap(),
            mtu: 1500,
            vips: vec![VIP],
            kernel: None,
            floating: vec![],
        }],
        routes: vec![],
        static_neighbors: vec![],
        vips: vec![VIP],
        ..Default::default()
    }
}

fn engine() -> Engine<VecFrame> {
    let lb = Lb::new(1024, crate::conn::Timeouts::default(), 1).unwrap();
    Engine::new(
        neigh::NeighConfig::default(),
        Arc::new(Counters::default()),
        64,
        lb,
    )
}

fn run(frames: &[Vec<u8>]) -> (Engine<VecFrame>, Vec<Vec<u8>>) {
    let s = Arc::new(snap());
    let mut e = engine();
    e.refresh(&s);
    let mut a = VecAlloc::default();
    for f in frames {
        e.rx(VecFrame::new(f), PortId(0), &s, &mut a, 1000);
    }
    let out = e.out().drain(..).map(|(_, f)| f.to_vec()).collect();
    (e, out)
}

#[test]
fn arp_request_for_own_address_and_vip_is_answered() {
    for target in [MY_IP, VIP] {
        let (e, out) = run(&[arp_frame(
            arp::Operation::REQUEST,
            PEER_IP,
            target,
            MacAddr::BROADCAST,
        )]);
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert_eq!(&f[0..6], &PEER_MAC.0, "unicast back to the asker");
        assert_eq!(&f[6..12], &MY_MAC.0);
        let a = arp::Packet::new_checked(&f[14..]).unwrap();
        assert_eq!(a.oper(), arp::Operation::REPLY);
        assert_eq!(a.sha(), MY_MAC);
        assert_eq!(a.spa(), target);
        assert_eq!(a.tha(), PEER_MAC);
        assert_eq!(a.tpa(), PEER_IP);
        assert_eq!(e.counters.arp_replies_sent.get(), 1);
        // the asker was learned
        assert_eq!(e.neighbors().get(PortId(0), PEER_IP, 1000), Some(PEER_MAC));
    }
}

#[test]
fn echo_request_is_answered_with_valid_checksums() {
    for dst in [MY_IP, VIP] {
        let (e, out) = run(&[ping_frame(dst)]);
        assert_eq!(out.len(), 1, "{dst}");
        let f = &out[0];
        assert_eq!(&f[0..6], &PEER_MAC.0);
        assert_eq!(&f[6..12], &MY_MAC.0);
        let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!((ip.src(), ip.dst()), (dst, PEER_IP));
        let ic = icmp::Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(ic.msg_type(), icmp::Type::ECHO_REPLY);
        assert!(ic.verify_checksum());
        assert_eq!(checksum::checksum(ip.payload()), 0);
        assert_eq!((ic.echo_ident(), ic.echo_seq()), (0x1234, 1));
        assert_eq!(e.counters.icmp_echo_replies.get(), 1);
    }
}

/// Modify a valid ping frame with `f` and expect a drop for `reason`.
fn mangled(f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = ping_frame(MY_IP);
    f(&mut v);
    v
}

fn refill_ip_checksum(v: &mut [u8]) {
    v[24] = 0;
    v[25] = 0;
    let hl = usize::from(v[14] & 0xf) * 4;
    let end = (14 + hl).min(v.len());
    let c = checksum::checksum(&v[14..end]);
    v[24..26].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn malformed_frames_are_counted_by_reason() {
    let good = ping_frame(MY_IP);
    let mut cases: Vec<(String, Vec<u8>, DropReason)> = vec![
        ("empty".into(), vec![], DropReason::Runt),
        ("runt".into(), good[..10].to_vec(), DropReason::Runt),
        (
            "vlan".into(),
            {
                let mut v = good[..12].to_vec();
                v.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
                v.extend_from_slice(&good[12..]);
                v
            },
            DropReason::Vlan,
        ),
        (
            "foreign mac".into(),
            mangled(|v| v[0..6].copy_from_slice(&[2, 9, 9, 9, 9, 9])),
            DropReason::NotOurMac,
        ),
        (
            "multicast".into(),
            mangled(|v| v[0..6].copy_from_slice(&[1, 0, 0x5e, 0, 0, 1])),
            DropReason::Multicast,
        ),
        (
            "looped".into(),
            mangled(|v| v[6..12].copy_from_slice(&MY_MAC.0)),
            DropReason::Loop,
        ),
        (
            "unknown ethertype".into(),
            mangled(|v| v[12..14].copy_from_slice(&[0x88, 0xcc])),
            DropReason::UnknownEthertype,
        ),
        (
            "ipv6".into(),
            mangled(|v| v[12..14].copy_from_slice(&EtherType::IPV6.to_be_bytes())),
            DropReason::Ipv6,
        ),
        (
            "bad ip version".into(),
            mangled(|v| v[14] = 0x65),
            DropReason::IpBadVersion,
        ),
        (
            "ihl 4".into(),
            mangled(|v| v[14] = 0x44),
            DropReason::IpBadHeaderLen,
        ),
        (
            "ihl beyond frame".into(),
            mangled(|v| v[14] = 0x4f),
            DropReason::IpTruncated,
        ),
        (
            "total length beyond buffer".into(),
            mangled(|v| v[16..18].copy_from_slice(&1500u16.to_be_bytes())),
            DropReason::IpTruncated,
        ),
        (
            "total length below header".into(),
            mangled(|v| v[16..18].copy_from_slice(&10u16.to_be_bytes())),
            DropReason::IpBadTotalLen,
        ),
        (
            "bad ip checksum".into(),
            mangled(|v| v[24] ^= 0xff),
            DropReason::IpBadChecksum,
        ),
        (
            "ip options".into(),
            mangled(|v| {
                // IHL 6 with one NOP-padded option word, lengths and checksum consistent.
                v.splice(34..34, [1, 1, 1, 0]);
                v[14] = 0x46;
                let tl = u16::from_be_bytes([v[16], v[17]]) + 4;
                v[16..18].copy_from_slice(&tl.to_be_bytes());
                refill_ip_checksum(v);
            }),
            DropReason::IpOptions,
        ),
        (
            "fragment".into(),
            mangled(|v| {
                v[20] = 0x20; // MF
                refill_ip_checksum(v);
            }),
            DropReason::IpFragment,
        ),
        (
            "martian source".into(),
            mangled(|v| {
                v[26..30].copy_from_slice(&[127, 0, 0, 1]);
                refill_ip_checksum(v);
            }),
            DropReason::IpMartian,
        ),
        (
            "to a foreign address".into(),
            mangled(|v| {
                v[30..34].copy_from_slice(&[198, 18, 0, 77]);
                refill_ip_checksum(v);
            }),
            DropReason::NotLocal,
        ),
        (
            "tcp to own address".into(),
            mangled(|v| {
                v[23] = 6;
                refill_ip_checksum(v);
            }),
            DropReason::NoService,
        ),
        (
            "bad icmp checksum".into(),
            mangled(|v| v[36] ^= 0xff),
            DropReason::L4BadChecksum,
        ),
        (
            "icmp truncated".into(),
            {
                let mut v = eth(
                    MY_MAC,
                    PEER_MAC,
                    EtherType::IPV4,
                    &ipv4_packet(PEER_IP, MY_IP, 1, &[8, 0, 0]),
                );
                v.truncate(14 + 23);
                v
            },
            DropReason::L4Malformed,
        ),
        (
            "icmp timestamp".into(),
            eth(
                MY_MAC,
                PEER_MAC,
                EtherType::IPV4,
                &ipv4_packet(PEER_IP, MY_IP, 1, &{
                    let mut b = echo_request(1, 1, b"");
                    b[0] = 13;
                    b[2] = 0;
                    b[3] = 0;
                    let c = checksum::checksum(&b);
                    b[2..4].copy_from_slice(&c.to_be_bytes());
                    b
                }),
            ),
            DropReason::IcmpUnhandled,
        ),
        (
            "arp for a foreign address".into(),
            arp_frame(
                arp::Operation::REQUEST,
                PEER_IP,
                Ipv4Addr::new(198, 18, 0, 50),
                MacAddr::BROADCAST,
            ),
            DropReason::ArpNotForUs,
        ),
        (
            "arp truncated".into(),
            arp_frame(arp::Operation::REQUEST, PEER_IP, MY_IP, MacAddr::BROADCAST)[..30].to_vec(),
            DropReason::ArpMalformed,
        ),
        (
            "arp non-ethernet".into(),
            {
                let mut v = arp_frame(arp::Operation::REQUEST, PEER_IP, MY_IP, MacAddr::BROADCAST);
                v[15] = 6; // htype 6 (IEEE 802)
                v
            },
            DropReason::ArpMalformed,
        ),
    ];
    // Truncation at every length of a valid IPv4 frame past the Ethernet header.
    for len in 14..good.len() {
        cases.push((
            format!("ip truncated at {len}"),
            good[..len].to_vec(),
            DropReason::IpTruncated,
        ));
    }
    for (name, frame, reason) in &cases {
        let (e, out) = run(std::slice::from_ref(frame));
        assert!(out.is_empty(), "{name}: nothing goes out");
        assert_eq!(
            e.counters.drops(*reason),
            1,
            "{name}: expected {}",
            reason.as_str()
        );
        assert_eq!(e.counters.total_drops(), 1, "{name}: exactly one drop");
    }
}

#[test]
fn unresolved_next_hop_holds_then_releases() {
    let s = snap();
    let mut e = engine();
    let mut a = VecAlloc::default();
    // A routed packet towards PEER_IP: we have no MAC yet.
    let frame = ping_frame(MY_IP);
    e.rx(VecFrame::new(&frame), PortId(0), &s, &mut a, 0);
    e.out().clear();
    let pkt = VecFrame::new(&frame);
    e.rx_routed_for_test(pkt, PortId(0), PEER_IP, &s, &mut a, 10);
    let out: Vec<Vec<u8>> = e.out().drain(..).map(|(_, f)| f.to_vec()).collect();
    assert_eq!(out.len(), 1, "an ARP request went out");
    let req = arp::Packet::new_checked(&out[0][14..]).unwrap();
    assert_eq!(
        (req.oper(), req.tpa(), req.spa()),
        (arp::Operation::REQUEST, PEER_IP, MY_IP)
    );
    assert_eq!(&out[0][0..6], &MacAddr::BROADCAST.0);
    assert_eq!(e.neighbors().held_len(), 1);
    // The reply releases the held packet with the learned MAC.
    let mut reply = [0u8; 28];
    arp::emit_reply(&mut reply, PEER_MAC, PEER_IP, MY_MAC, MY_IP).unwrap();
    e.rx(
        VecFrame::new(&eth(MY_MAC, PEER_MAC, EtherType::ARP, &reply)),
        PortId(0),
        &s,
        &mut a,
        20,
    );
    let out: Vec<Vec<u8>> = e.out().drain(..).map(|(_, f)| f.to_vec()).collect();
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0][0..6], &PEER_MAC.0);
    assert_eq!(&out[0][6..12], &MY_MAC.0);
    assert_eq!(e.counters.arp_replies_received.get(), 1);
}

#[test]
fn random_bytes_never_panic() {
    let s = snap();
    let mut e = engine();
    let mut a = VecAlloc::default();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let good = ping_frame(MY_IP);
    for i in 0..20_000 {
        let mut v = good.clone();
        let n = (i % 7) + 1;
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pos = (x as usize) % v.len();
            v[pos] = (x >> 32) as u8;
        }
        v.truncate(((x >> 40) as usize) % (good.len() + 1));
        e.rx(VecFrame::new(&v), PortId(0), &s, &mut a, i as u64);
        e.out().clear();
    }
}

mod fast;
mod lb;
mod limits;
