//! What every frame the datapath emits must satisfy, and how its counters
//! must add up.
use lvsd::datapath::{Counters, DropReason, Engine};
use lvsd::frame::{Frame, VecFrame};
use lvsd::packet::ethernet::{self, EtherType};
use lvsd::packet::{arp, icmp, ipv4, tcp, udp};
use lvsd::types::PortId;

use crate::traffic::{EXT_MAC, INT_MAC, MTUS};

/// Real ids the fuzz configurations use (ids are given out from 0).
pub const REALS_USED: usize = 64;

/// Every counter of an engine, but the fast-path count and per-real
/// counters beyond [`REALS_USED`], as one list (comparing the whole
/// `Debug` text of 16,384 reals per run would cost more than the run).
pub fn summary(c: &Counters) -> Vec<u64> {
    let mut v = vec![
        c.rx_packets.get(),
        c.rx_bytes.get(),
        c.tx_packets.get(),
        c.tx_bytes.get(),
        c.arp_replies_sent.get(),
        c.arp_replies_received.get(),
        c.arp_requests_sent.get(),
        c.icmp_echo_replies.get(),
        c.redirected.get(),
        c.conns_created.get(),
        c.conns_expired.get(),
        c.conn_table_len.get(),
        c.conn_table_capacity.get(),
        c.sync_records.get(),
        c.sync_dropped.get(),
        c.sync_installed.get(),
    ];
    v.extend(DropReason::ALL.iter().map(|r| c.drops(*r)));
    for r in &c.reals[..REALS_USED] {
        v.extend([
            r.conns.get(),
            r.in_pkts.get(),
            r.out_pkts.get(),
            r.in_bytes.get(),
            r.out_bytes.get(),
            r.active.get(),
            r.inactive.get(),
        ]);
    }
    v
}

/// Is every checksum in this IPv4 packet (header, and TCP/UDP/ICMP of an
/// unfragmented one) right? `None` when it does not parse as IPv4.
pub fn ipv4_checksums_ok(l3: &[u8]) -> Option<bool> {
    let p = ipv4::Packet::new_checked(l3).ok()?;
    if !p.verify_checksum() {
        return Some(false);
    }
    if p.is_fragment() {
        return Some(true);
    }
    let (src, dst, body) = (p.src(), p.dst(), p.payload());
    Some(match p.protocol() {
        ipv4::Protocol::TCP => {
            tcp::Packet::new_checked(body).is_ok_and(|t| t.verify_checksum_v4(src, dst))
        }
        ipv4::Protocol::UDP => {
            udp::Packet::new_checked(body).is_ok_and(|u| u.verify_checksum_v4(src, dst))
        }
        ipv4::Protocol::ICMP => icmp::Packet::new_checked(body).is_ok_and(|i| i.verify_checksum()),
        4 => ipv4_checksums_ok(body).unwrap_or(false),
        _ => true,
    })
}

/// Check one emitted frame: it parses, leaves from our MAC, fits the
/// port's MTU, and (when the frame that caused it was intact) carries
/// valid checksums.
pub fn emitted(port: PortId, f: &[u8], input_intact: bool) {
    if usize::from(port.0) >= MTUS.len() {
        // A port's kernel exception path: the frame goes up as received.
        return;
    }
    let eth = ethernet::Frame::new_checked(f).expect("emitted frame: Ethernet header");
    let mac = [EXT_MAC, INT_MAC][usize::from(port.0)];
    assert_eq!(eth.src(), mac, "emitted frame leaves from the port's MAC");
    let l3 = &f[14..];
    match eth.ethertype() {
        EtherType::ARP => {
            arp::Packet::new_checked(l3).expect("emitted ARP parses");
        }
        EtherType::IPV4 => {
            let p = ipv4::Packet::new_checked(l3).expect("emitted IPv4 parses");
            assert!(p.verify_checksum(), "emitted IPv4 header checksum");
            assert!(
                usize::from(p.total_len()) <= MTUS[usize::from(port.0)],
                "emitted {} bytes on a port of MTU {}",
                p.total_len(),
                MTUS[usize::from(port.0)]
            );
            if input_intact {
                assert_eq!(
                    ipv4_checksums_ok(l3),
                    Some(true),
                    "emitted checksums: {f:02x?}"
                );
            }
        }
        other => panic!("emitted ethertype {other:#06x}"),
    }
}

/// Drain `e`'s TX list, checking every frame; returns the frames.
pub fn drain(e: &mut Engine<VecFrame>, input_intact: bool) -> Vec<(PortId, Vec<u8>)> {
    let out: Vec<(PortId, Vec<u8>)> = e
        .out()
        .drain(..)
        .map(|(p, f)| (p, f.data().to_vec()))
        .collect();
    for (p, f) in &out {
        emitted(*p, f, input_intact);
    }
    out
}

/// Counters add up: every frame fed was counted with its bytes, the live
/// connection gauge matches the table, and no real carries more active and
/// inactive connections than the table holds.
pub fn counters(e: &Engine<VecFrame>, fed: u64, fed_bytes: u64) {
    let c = &e.counters;
    assert_eq!(c.rx_packets.get(), fed, "rx_packets");
    assert_eq!(c.rx_bytes.get(), fed_bytes, "rx_bytes");
    let mut live = 0u64;
    e.lb.for_each_conn(|_, _| live += 1);
    assert_eq!(
        c.conn_table_len.get(),
        live,
        "conn_table_len against the table"
    );
    let in_reals: u64 = c.reals[..REALS_USED]
        .iter()
        .map(|r| r.active.get() + r.inactive.get())
        .sum();
    assert!(
        in_reals <= live,
        "reals hold {in_reals} connections, the table {live}"
    );
    assert!(
        c.conns_created.get() >= c.conns_expired.get(),
        "more connections expired than created"
    );
}
