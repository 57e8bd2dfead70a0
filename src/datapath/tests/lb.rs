//! Load-balancing case tables through the whole pure datapath
//! (`Engine::rx` on `VecFrame`s, snapshot built from a TOML configuration
//! by the real management code): input packet → output packet, counters and
//! connection state, re-verified field by field with full checksums.
use crate::datapath::*;
use crate::frame::{VecAlloc, VecFrame};
use crate::packet::ethernet::{EtherType, MacAddr};
use crate::packet::{checksum, icmp, ipv4, tcp, udp};
use std::net::Ipv4Addr;
use std::sync::Arc;

const EXT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const INT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 1]);
const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const REAL_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 0x0b]);
const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
const REAL: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 11);

const CONFIG: &str = r#"
[dpdk]
lcores = "0-1"
[[port]]
name = "ext"
device = "net_null0"
address = "198.18.0.1/24"
mac = "02:00:00:00:00:01"
[[port]]
name = "int"
device = "net_null1"
address = "198.18.1.1/24"
mac = "02:00:00:00:01:01"
[[neighbor]]
port = "ext"
address = "198.18.0.2"
mac = "02:00:00:00:00:02"
[[neighbor]]
port = "int"
address = "198.18.1.11"
mac = "02:00:00:00:01:0b"
[[neighbor]]
port = "ext"
address = "198.18.0.11"
mac = "02:00:00:00:01:0b"
[[service]]
protocol = "tcp"
vip = "198.18.0.100"
port = 80
scheduler = "rr"
method = "nat"
  [[service.real]]
  address = "198.18.1.11"
  port = 8080
[[service]]
protocol = "udp"
vip = "198.18.0.100"
port = 53
method = "nat"
  [[service.real]]
  address = "198.18.1.11"
  port = 5353
[[service]]
protocol = "tcp"
vip = "198.18.0.100"
port = 81
method = "dr"
  [[service.real]]
  address = "198.18.0.11"
[[service]]
protocol = "tcp"
vip = "198.18.0.100"
port = 82
method = "tun"
  [[service.real]]
  address = "198.18.1.11"
[[service]]
protocol = "tcp"
vip = "198.18.0.100"
port = 83
method = "nat"
  [[service.real]]
  address = "198.18.1.11"
  weight = 0
"#;

struct Rig {
    snap: Arc<Snapshot>,
    e: Engine<VecFrame>,
    a: VecAlloc,
    now: u64,
}

impl Rig {
    fn new() -> Rig {
        Rig::with_config(CONFIG)
    }

    fn with_config(text: &str) -> Rig {
        let (snap, e) = super::engine_for(text);
        Rig {
            snap,
            e,
            a: VecAlloc::default(),
            now: 1000,
        }
    }

    /// Feed one frame on `port`; the frames that went out, with their port.
    fn rx(&mut self, port: u16, frame: Vec<u8>) -> Vec<(PortId, Vec<u8>)> {
        self.now += 10;
        self.e.rx(
            VecFrame::new(&frame),
            PortId(port),
            &self.snap,
            &mut self.a,
            self.now,
        );
        self.e
            .out()
            .drain(..)
            .map(|(p, f)| (p, f.to_vec()))
            .collect()
    }

    fn states(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        self.e.lb.for_each_conn(|_, c| {
            if !c.is_template() {
                v.push(c.state_name())
            }
        });
        v
    }
}

fn eth(dst: MacAddr, src: MacAddr, l3: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 14];
    crate::packet::ethernet::emit_header(&mut v, dst, src, EtherType::IPV4).unwrap();
    v.extend_from_slice(l3);
    v
}

fn ip(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, df: bool, l4: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 20];
    let h = ipv4::Header {
        src,
        dst,
        protocol: proto,
        payload_len: l4.len() as u16,
        ttl,
        tos: 0,
        ident: 9,
        dont_frag: df,
    };
    ipv4::emit_header(&mut v, &h).unwrap();
    v.extend_from_slice(l4);
    v
}

fn tcp_seg(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&1000u32.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&65535u16.to_be_bytes());
    t.extend_from_slice(payload);
    let ph = checksum::ipv4_pseudo_header(src, dst, 6, t.len() as u16);
    let c = !checksum::combine(&[ph, checksum::data(&t)]);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

fn client_tcp(dport: u16, flags: u8) -> Vec<u8> {
    eth(
        EXT_MAC,
        CLIENT_MAC,
        &ip(
            CLIENT,
            VIP,
            6,
            64,
            true,
            &tcp_seg(CLIENT, VIP, 40000, dport, flags, b""),
        ),
    )
}

/// Full re-verification of an output IPv4/TCP frame; (ip src, dst, sport, dport, ttl).
fn check_tcp(f: &[u8]) -> (Ipv4Addr, Ipv4Addr, u16, u16, u8) {
    let p = ipv4::Packet::new_checked(&f[14..]).expect("ipv4");
    assert!(p.verify_checksum(), "IPv4 header checksum");
    let t = tcp::Packet::new_checked(p.payload()).expect("tcp");
    assert!(
        t.verify_checksum_v4(p.src(), p.dst()),
        "TCP checksum (full recompute)"
    );
    (p.src(), p.dst(), t.src_port(), t.dst_port(), p.ttl())
}

const SYN: u8 = tcp::Flags::SYN;
const ACK: u8 = tcp::Flags::ACK;
const FIN: u8 = tcp::Flags::FIN;

#[test]
fn nat_handshake_both_directions_and_state_machine() {
    let mut r = Rig::new();
    let out = r.rx(0, client_tcp(80, SYN));
    assert_eq!(out.len(), 1);
    let (p, f) = &out[0];
    assert_eq!(*p, PortId(1), "towards the int port");
    assert_eq!((&f[0..6], &f[6..12]), (&REAL_MAC.0[..], &INT_MAC.0[..]));
    assert_eq!(
        check_tcp(f),
        (CLIENT, REAL, 40000, 8080, 63),
        "DNAT, TTL - 1"
    );
    assert_eq!(r.states(), vec!["SYN_RECV"]);
    // The real's SYN-ACK comes back SNAT'ed to the client.
    let reply = eth(
        INT_MAC,
        REAL_MAC,
        &ip(
            REAL,
            CLIENT,
            6,
            64,
            true,
            &tcp_seg(REAL, CLIENT, 8080, 40000, SYN | ACK, b""),
        ),
    );
    let out = r.rx(1, reply);
    assert_eq!(out.len(), 1);
    let (p, f) = &out[0];
    assert_eq!(*p, PortId(0));
    assert_eq!((&f[0..6], &f[6..12]), (&CLIENT_MAC.0[..], &EXT_MAC.0[..]));
    assert_eq!(check_tcp(f), (VIP, CLIENT, 80, 40000, 63), "SNAT");
    // IPVS tcp_states: INPUT ack SR→ES; then FIN from the client → CLOSE_WAIT.
    r.rx(0, client_tcp(80, ACK));
    assert_eq!(r.states(), vec!["ESTABLISHED"]);
    r.rx(0, client_tcp(80, FIN | ACK));
    assert_eq!(r.states(), vec!["CLOSE_WAIT"]);
    let c = &r.e.counters;
    assert_eq!((c.conns_created.get(), c.total_drops()), (1, 0));
    let rid = r.snap.services.list[0].reals[0].id;
    let rc = c.real(rid).unwrap();
    assert_eq!(
        (rc.conns.get(), rc.in_pkts.get(), rc.out_pkts.get()),
        (1, 3, 1)
    );
}

#[test]
fn dr_changes_only_the_mac_and_ttl() {
    let mut r = Rig::new();
    let input = client_tcp(81, SYN);
    let out = r.rx(0, input.clone());
    assert_eq!(out.len(), 1);
    let (p, f) = &out[0];
    assert_eq!(*p, PortId(0), "DR real on the client segment");
    assert_eq!((&f[0..6], &f[6..12]), (&REAL_MAC.0[..], &EXT_MAC.0[..]));
    assert_eq!(check_tcp(f), (CLIENT, VIP, 40000, 81, 63));
    // Everything but MACs, TTL and the IP checksum is byte-identical.
    let mut a = input[14..].to_vec();
    let mut b = f[14..].to_vec();
    for v in [&mut a, &mut b] {
        v[8] = 0;
        v[10] = 0;
        v[11] = 0;
    }
    assert_eq!(a, b);
    assert_eq!(r.states(), vec!["SYN_RECV"], "INPUT_ONLY table");
}

#[test]
fn tun_encapsulates_with_the_ipvs_outer_header() {
    let mut r = Rig::new();
    let input = client_tcp(82, SYN);
    let out = r.rx(0, input.clone());
    assert_eq!(out.len(), 1);
    let (p, f) = &out[0];
    assert_eq!(*p, PortId(1));
    let outer = ipv4::Packet::new_checked(&f[14..]).unwrap();
    assert!(outer.verify_checksum());
    assert_eq!(
        (outer.src(), outer.dst(), outer.protocol()),
        (Ipv4Addr::new(198, 18, 1, 1), REAL, 4)
    );
    assert_eq!(outer.ttl(), 63, "outer TTL = inner TTL after decrement");
    assert!(outer.dont_frag(), "DF copied from the inner packet");
    let inner = &f[34..];
    assert_eq!(
        check_tcp(&[&f[..14], inner].concat()),
        (CLIENT, VIP, 40000, 82, 63)
    );
    assert_eq!(outer.total_len() as usize, 20 + input.len() - 14);
}

#[test]
fn tun_too_big_with_df_gets_frag_needed() {
    let mut r = Rig::new();
    let big = eth(
        EXT_MAC,
        CLIENT_MAC,
        &ip(
            CLIENT,
            VIP,
            6,
            64,
            true,
            &tcp_seg(CLIENT, VIP, 40000, 82, SYN, &[0u8; 1460]),
        ),
    );
    let out = r.rx(0, big);
    assert_eq!(out.len(), 1, "only the ICMP error goes out");
    let (p, f) = &out[0];
    assert_eq!(*p, PortId(0));
    let ipp = ipv4::Packet::new_checked(&f[14..]).unwrap();
    assert_eq!((ipp.src(), ipp.dst(), ipp.protocol()), (VIP, CLIENT, 1));
    let ic = icmp::Packet::new_checked(ipp.payload()).unwrap();
    assert!(ic.verify_checksum());
    assert_eq!((ic.msg_type(), ic.code(), ic.next_hop_mtu()), (3, 4, 1480));
    assert_eq!(r.e.counters.drops(DropReason::FragNeeded), 1);
}

/// Found by the `engine` fuzz target: NAT and DR ignored the outgoing
/// port's MTU (only TUN checked it), so a packet that fit the outside went
/// out of a smaller inside port as it was. Now, as IPVS does for every
/// method, a DF packet gets ICMP frag needed with the port's MTU, and a
/// packet without DF is dropped (lvsd does not fragment): nothing leaves a
/// port beyond its MTU.
#[test]
fn nat_too_big_for_the_inside_mtu_gets_frag_needed_or_is_dropped() {
    let small_inside = CONFIG.replace(
        "mac = \"02:00:00:00:01:01\"\n",
        "mac = \"02:00:00:00:01:01\"\nmtu = 1400\n",
    );
    let mut r = Rig::with_config(&small_inside);
    let big = |df: bool, sport: u16| {
        let seg = tcp_seg(CLIENT, VIP, sport, 80, SYN, &[0u8; 1400]);
        eth(EXT_MAC, CLIENT_MAC, &ip(CLIENT, VIP, 6, 64, df, &seg))
    };
    let out = r.rx(0, big(true, 40000));
    assert_eq!(out.len(), 1, "only the ICMP error goes out");
    let (p, f) = &out[0];
    assert_eq!(*p, PortId(0));
    let ipp = ipv4::Packet::new_checked(&f[14..]).unwrap();
    assert_eq!((ipp.src(), ipp.dst(), ipp.protocol()), (VIP, CLIENT, 1));
    let ic = icmp::Packet::new_checked(ipp.payload()).unwrap();
    assert!(ic.verify_checksum());
    assert_eq!((ic.msg_type(), ic.code(), ic.next_hop_mtu()), (3, 4, 1400));
    assert_eq!(r.e.counters.drops(DropReason::FragNeeded), 1);

    let out = r.rx(0, big(false, 40001));
    assert!(out.is_empty(), "nothing beyond the MTU: {out:?}");
    assert_eq!(r.e.counters.drops(DropReason::FragNeeded), 2);

    // What fits still goes through.
    let out = r.rx(0, client_tcp(80, SYN));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, PortId(1));
}

#[test]
fn no_connection_no_real_and_udp_zero_checksum() {
    let mut r = Rig::new();
    assert!(r.rx(0, client_tcp(80, ACK)).is_empty());
    assert_eq!(
        r.e.counters.drops(DropReason::NoConn),
        1,
        "non-SYN without a connection"
    );
    // Weight 0 only: ICMP port unreachable back to the client.
    let out = r.rx(0, client_tcp(83, SYN));
    assert_eq!(r.e.counters.drops(DropReason::NoReal), 1);
    assert_eq!(out.len(), 1);
    let ipp = ipv4::Packet::new_checked(&out[0].1[14..]).unwrap();
    let ic = icmp::Packet::new_checked(ipp.payload()).unwrap();
    assert_eq!((ipp.dst(), ic.msg_type(), ic.code()), (CLIENT, 3, 3));
    // UDP with checksum 0 stays 0 through DNAT.
    let mut u = vec![0u8; 8];
    udp::emit_header(&mut u, 5000, 53, 4).unwrap();
    u.extend_from_slice(b"abcd");
    u[6] = 0;
    u[7] = 0;
    let out = r.rx(
        0,
        eth(EXT_MAC, CLIENT_MAC, &ip(CLIENT, VIP, 17, 64, false, &u)),
    );
    assert_eq!(out.len(), 1);
    let ipp = ipv4::Packet::new_checked(&out[0].1[14..]).unwrap();
    assert!(ipp.verify_checksum());
    let up = udp::Packet::new_checked(ipp.payload()).unwrap();
    assert_eq!((ipp.dst(), up.dst_port(), up.checksum()), (REAL, 5353, 0));
    assert_eq!(r.states().iter().filter(|s| **s == "UDP").count(), 1);
}

#[test]
fn icmp_error_from_the_client_side_is_relayed_to_the_real() {
    let mut r = Rig::new();
    r.rx(0, client_tcp(80, SYN));
    // The client's router reports a problem with a packet VIP:80 → client:40000.
    let quoted = ip(
        VIP,
        CLIENT,
        6,
        60,
        true,
        &tcp_seg(VIP, CLIENT, 80, 40000, SYN | ACK, b""),
    );
    let mut ic = vec![3u8, 1, 0, 0, 0, 0, 0, 0];
    ic.extend_from_slice(&quoted[..28]);
    let c = checksum::checksum(&ic);
    ic[2..4].copy_from_slice(&c.to_be_bytes());
    let out = r.rx(
        0,
        eth(EXT_MAC, CLIENT_MAC, &ip(CLIENT, VIP, 1, 64, false, &ic)),
    );
    assert_eq!(out.len(), 1);
    let (p, f) = &out[0];
    assert_eq!(*p, PortId(1));
    let ipp = ipv4::Packet::new_checked(&f[14..]).unwrap();
    assert!(ipp.verify_checksum());
    assert_eq!(ipp.dst(), REAL, "outer destination rewritten to the real");
    let icp = icmp::Packet::new_checked(ipp.payload()).unwrap();
    assert!(icp.verify_checksum(), "ICMP checksum recomputed");
    let q = icp.quoted_ipv4().unwrap();
    assert_eq!(
        (q.src(), q.src_port()),
        (REAL, 8080),
        "quoted source rewritten"
    );
    assert!(q.verify_checksum(), "quoted IP header checksum");
}

#[test]
fn adverts_built_by_one_director_are_seen_by_the_other() {
    let mut a = Rig::new();
    let ring = Arc::new(EventRing::new(16));
    let mut b = Rig::new();
    b.e.lb.set_events(ring.clone());
    let mut snap = (*a.snap).clone();
    snap.ha = HaView {
        enabled: true,
        active: true,
        vrid: 51,
        priority: 150,
    };
    let mut body = [0xa5u8; crate::datapath::ADVERT_LEN];
    body[..8].copy_from_slice(&[0x31, 51, 150, 0, 0, 10, 0, 0]);
    let c = crate::packet::checksum::checksum(&body[..8]);
    body[6..8].copy_from_slice(&c.to_be_bytes());
    for p in 0..2 {
        a.e.send_advert(PortId(p), &body, &snap, &mut a.a);
    }
    let frames: Vec<(PortId, Vec<u8>)> =
        a.e.out().drain(..).map(|(p, f)| (p, f.to_vec())).collect();
    assert_eq!(frames.len(), 2, "one per data port");
    // Seen on b's ext port (a different MAC sent it).
    let mut f = frames[0].1.clone();
    f[6..12].copy_from_slice(&[2, 9, 9, 9, 9, 9]);
    assert!(b.rx(0, f).is_empty());
    assert_eq!(
        ring.pop(),
        Some(HaEvent::Advert {
            port: PortId(0),
            src: Ipv4Addr::new(198, 18, 0, 1),
            len: crate::datapath::ADVERT_LEN as u8,
            body,
        })
    );
}

#[test]
fn a_backup_neither_answers_arp_for_nor_forwards_to_a_vip() {
    let mut r = Rig::new();
    let mut snap = (*r.snap).clone();
    snap.ha = HaView {
        enabled: true,
        active: false,
        vrid: 51,
        priority: 100,
    };
    snap.ports[1].floating = vec![Ipv4Addr::new(198, 18, 1, 200)];
    r.snap = Arc::new(snap);
    r.e.refresh(&r.snap);
    let mut req = [0u8; 28];
    crate::packet::arp::emit_request(&mut req, CLIENT_MAC, CLIENT, VIP).unwrap();
    let mut f = vec![0u8; 14];
    crate::packet::ethernet::emit_header(&mut f, MacAddr::BROADCAST, CLIENT_MAC, EtherType::ARP)
        .unwrap();
    f.extend_from_slice(&req);
    assert!(r.rx(0, f.clone()).is_empty(), "no ARP reply for the VIP");
    let mut g = [0u8; 28];
    crate::packet::arp::emit_request(&mut g, REAL_MAC, REAL, Ipv4Addr::new(198, 18, 1, 200))
        .unwrap();
    let mut fg = vec![0u8; 14];
    crate::packet::ethernet::emit_header(&mut fg, MacAddr::BROADCAST, REAL_MAC, EtherType::ARP)
        .unwrap();
    fg.extend_from_slice(&g);
    assert!(
        r.rx(1, fg).is_empty(),
        "no ARP reply for the floating gateway"
    );
    assert!(r.rx(0, client_tcp(80, SYN)).is_empty(), "no forwarding");
    assert_eq!(r.e.counters.drops(DropReason::Backup), 1);
    // Its own address is still answered.
    let mut own = [0u8; 28];
    crate::packet::arp::emit_request(&mut own, CLIENT_MAC, CLIENT, Ipv4Addr::new(198, 18, 0, 1))
        .unwrap();
    let mut fo = vec![0u8; 14];
    crate::packet::ethernet::emit_header(&mut fo, MacAddr::BROADCAST, CLIENT_MAC, EtherType::ARP)
        .unwrap();
    fo.extend_from_slice(&own);
    assert_eq!(r.rx(0, fo).len(), 1);
    // Active again: both answered.
    let mut snap = (*r.snap).clone();
    snap.ha.active = true;
    snap.generation += 1;
    r.snap = Arc::new(snap);
    r.e.refresh(&r.snap);
    assert_eq!(r.rx(0, f).len(), 1, "the active answers for the VIP");
}

/// The reals' gateway is a floating address: the active answers its ARP
/// requests, broadcast and the unicast probes Linux sends when the entry
/// goes stale. (When it did not, the reals kept the gateway's MAC only from
/// the takeover's gratuitous ARPs; once their entry went stale every reply
/// was lost: the UDP burst that stalled in the HA sync test.)
#[test]
fn the_active_answers_arp_for_a_floating_gateway() {
    let mut r = Rig::new();
    let mut snap = (*r.snap).clone();
    snap.ha = HaView {
        enabled: true,
        active: true,
        vrid: 51,
        priority: 150,
    };
    let gw = Ipv4Addr::new(198, 18, 1, 200);
    snap.ports[1].floating = vec![gw];
    r.snap = Arc::new(snap);
    r.e.refresh(&r.snap);
    for dst in [MacAddr::BROADCAST, INT_MAC] {
        let mut g = [0u8; 28];
        crate::packet::arp::emit_request(&mut g, REAL_MAC, REAL, gw).unwrap();
        let mut f = vec![0u8; 14];
        crate::packet::ethernet::emit_header(&mut f, dst, REAL_MAC, EtherType::ARP).unwrap();
        f.extend_from_slice(&g);
        let out = r.rx(1, f);
        assert_eq!(out.len(), 1, "to {dst:?}");
        let (p, reply) = &out[0];
        assert_eq!(*p, PortId(1));
        let a = crate::packet::arp::Packet::new_checked(&reply[14..]).unwrap();
        assert_eq!(
            (a.oper(), a.sha(), a.spa(), a.tpa()),
            (crate::packet::arp::Operation::REPLY, INT_MAC, gw, REAL)
        );
    }
    assert_eq!(r.e.counters.drops(DropReason::ArpNotForUs), 0);
}
