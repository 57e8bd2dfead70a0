//! The fast path changes nothing but speed: random traffic (connections
//! opened, used, closed and reset, NAT replies, UDP, TUN, persistence,
//! corrupted headers, TTL 1, fragments, time jumps that expire entries, a
//! real removed by a reload) goes through two engines built alike, one with
//! the fast path off. After every frame both sent the same bytes out of the
//! same ports; at the end their counters (drops by reason, per-real stats)
//! and connection tables are identical — and the fast path did handle most
//! of the established traffic.
use crate::datapath::topology::{self, Registry};
use crate::datapath::*;
use crate::frame::{VecAlloc, VecFrame};
use crate::packet::ethernet::{EtherType, MacAddr};
use crate::packet::{checksum, ipv4};
use crate::types::Xorshift;
use std::net::Ipv4Addr;
use std::sync::Arc;

const EXT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const INT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 1]);
const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const REAL_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 0x0b]);
const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
const REALS: [Ipv4Addr; 2] = [Ipv4Addr::new(198, 18, 1, 11), Ipv4Addr::new(198, 18, 1, 12)];

fn config(with_second_real: bool) -> String {
    let second = if with_second_real {
        "  [[service.real]]\n  address = \"198.18.1.12\"\n  port = 8080\n"
    } else {
        ""
    };
    format!(
        r#"
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
port = "ext"
address = "198.18.0.3"
mac = "02:00:00:00:00:02"
[[neighbor]]
port = "int"
address = "198.18.1.11"
mac = "02:00:00:00:01:0b"
[[neighbor]]
port = "int"
address = "198.18.1.12"
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
{second}
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
  address = "198.18.1.11"
  [[service.real]]
  address = "198.18.1.12"
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
port = 0
persistence = {{ timeout = 300 }}
method = "dr"
  [[service.real]]
  address = "198.18.1.12"
"#
    )
}

#[allow(clippy::too_many_arguments)]
fn frame(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    sport: u16,
    dport: u16,
    flags: u8,
    ttl: u8,
    dst_mac: MacAddr,
    src_mac: MacAddr,
) -> Vec<u8> {
    let mut l4 = if proto == 6 {
        let mut t = vec![0u8; 24];
        t[12] = 5 << 4;
        t[13] = flags;
        t
    } else {
        let mut u = vec![0u8; 12];
        u[4..6].copy_from_slice(&12u16.to_be_bytes());
        u
    };
    l4[0..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    let ph = checksum::ipv4_pseudo_header(src, dst, proto, l4.len() as u16);
    let c = !checksum::combine(&[ph, checksum::data(&l4)]);
    // UDP sometimes without a checksum (0 must stay 0 through NAT).
    let c = if proto == 17 && sport.is_multiple_of(3) {
        0
    } else {
        c
    };
    let at = if proto == 6 { 16 } else { 6 };
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
    let mut v = vec![0u8; 14 + 20];
    crate::packet::ethernet::emit_header(&mut v, dst_mac, src_mac, EtherType::IPV4).unwrap();
    let h = ipv4::Header {
        src,
        dst,
        protocol: proto,
        payload_len: l4.len() as u16,
        ttl,
        tos: 0,
        ident: 3,
        dont_frag: true,
    };
    ipv4::emit_header(&mut v[14..], &h).unwrap();
    v.extend_from_slice(&l4);
    v
}

struct Pair {
    engines: [Engine<VecFrame>; 2],
    alloc: VecAlloc,
}

fn conns(e: &Engine<VecFrame>) -> Vec<(u32, crate::conn::Conn)> {
    let mut v = Vec::new();
    e.lb.for_each_conn(|id, c| v.push((id.0, *c)));
    v
}

#[test]
fn fast_path_equals_general_path() {
    let mut reg = Registry::default();
    let snaps: Vec<Arc<Snapshot>> = [true, false, true]
        .iter()
        .map(|&two| {
            let m = crate::config::load(&config(two)).expect("config");
            Arc::new(topology::build(&m, &[], 1, &mut reg, &Default::default()).expect("snapshot"))
        })
        .collect();
    let mk = |fast: bool| {
        let lb = Lb::new(4096, crate::conn::Timeouts::default(), 7).expect("table");
        let mut e = Engine::new(
            neigh::NeighConfig::default(),
            Arc::new(Counters::default()),
            64,
            lb,
        );
        e.set_fast_path(fast);
        e.refresh(&snaps[0]);
        e
    };
    let mut p = Pair {
        engines: [mk(true), mk(false)],
        alloc: VecAlloc::default(),
    };
    let mut rng = Xorshift::new(0x9e37_79b9_7f4a_7c15);
    let mut now = 1000u64;
    let mut snap = snaps[0].clone();
    let flag_set = [
        0x10u8, 0x18, 0x02, 0x12, 0x11, 0x04, 0x14, 0x01, 0x10, 0x10, 0x18, 0x10,
    ];
    // Frames the fast path took, with a hint (even i) and without (odd i).
    let mut fast_by_hint = [0u64; 2];
    for i in 0..200_000u32 {
        now += rng.below(20);
        if rng.below(20_000) == 0 {
            now += 200_000 + rng.below(1_000_000); // timers run out
        }
        if i == 60_000 || i == 120_000 {
            snap = snaps[(i / 60_000) as usize].clone(); // real .12 removed, then back
            for e in p.engines.iter_mut() {
                e.refresh(&snap);
            }
        }
        let client = Ipv4Addr::new(198, 18, 0, 2 + rng.below(2) as u8);
        let cport = 40000 + rng.below(64) as u16;
        let flags = flag_set[rng.below(flag_set.len() as u64) as usize];
        let ttl = if rng.below(500) == 0 { 1 } else { 64 };
        let mut f = match rng.below(10) {
            0..=4 => {
                let (proto, dport) =
                    [(6, 80), (6, 81), (6, 82), (6, 443), (17, 53)][rng.below(5) as usize];
                frame(
                    client, VIP, proto, cport, dport, flags, ttl, EXT_MAC, CLIENT_MAC,
                )
            }
            5..=8 => {
                let real = REALS[rng.below(2) as usize];
                let (proto, rport) = if rng.below(4) == 0 {
                    (17, 5353)
                } else {
                    (6, 8080)
                };
                frame(
                    real, client, proto, rport, cport, flags, ttl, INT_MAC, REAL_MAC,
                )
            }
            _ => frame(
                client, VIP, 6, cport, 80, flags, ttl, CLIENT_MAC, CLIENT_MAC,
            ),
        };
        if rng.below(50) == 0 {
            // Corrupt one header byte (both engines see the same frame).
            let at = rng.below(f.len() as u64) as usize;
            f[at] ^= 1 << rng.below(8);
        }
        if rng.below(300) == 0 {
            f[20] |= 0x20; // more fragments (checksum now wrong too)
        }
        let port = PortId(if f[0..6] == INT_MAC.0 { 1 } else { 0 });
        let mut outs = Vec::new();
        for (k, e) in p.engines.iter_mut().enumerate() {
            let before = e.counters.fast_path.get();
            if k == 0 && i % 2 == 0 {
                // As a worker runs a burst: the prefetch pass's hint first.
                let hint = e.prefetch(&f, port, &snap, |_| {});
                e.prefetch_record(&hint, |_| {});
                e.rx_hinted(VecFrame::new(&f), &hint, port, &snap, &mut p.alloc, now);
            } else {
                e.rx(VecFrame::new(&f), port, &snap, &mut p.alloc, now);
            }
            if k == 0 {
                fast_by_hint[(i % 2) as usize] += e.counters.fast_path.get() - before;
            }
            if i % 97 == 0 {
                e.expire_some(&snap, now, 256);
            }
            let o: Vec<(PortId, Vec<u8>)> =
                e.out().drain(..).map(|(p, f)| (p, f.to_vec())).collect();
            outs.push(o);
        }
        assert_eq!(outs[0], outs[1], "frame {i}: {f:02x?}");
    }
    let [a, b] = &p.engines;
    let fast = a.counters.fast_path.get();
    let rx = a.counters.rx_packets.get();
    assert_eq!(b.counters.fast_path.get(), 0);
    assert!(fast > rx / 10, "fast path handled {fast} of {rx} frames");
    // A hint saves work, never a fast-path hit: both halves of the traffic
    // (the same mix) take the fast path about as often.
    let [hinted, plain] = fast_by_hint;
    assert!(
        hinted * 10 > plain * 9 && plain * 10 > hinted * 9,
        "fast path with hints {hinted}, without {plain}"
    );
    // Everything else counted alike.
    a.counters.fast_path.set(0);
    assert_eq!(format!("{:?}", a.counters), format!("{:?}", b.counters));
    assert_eq!(conns(a), conns(b));
    assert!(a.counters.total_drops() > 1000);
    assert!(a.counters.conns_expired.get() > 100);
}
