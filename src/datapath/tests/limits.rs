//! `[limits]` through the whole pure datapath: echo replies and ICMP
//! errors share one token bucket per worker (fragmentation needed is never
//! limited), and frames for a port's kernel interface have their own.
use crate::datapath::testutil::{eth, ipv4_packet, ping_frame, MY_IP, MY_MAC, PEER_IP, VIP};
use crate::datapath::topology::{self, Registry};
use crate::datapath::*;
use crate::frame::{VecAlloc, VecFrame};
use crate::packet::ethernet::{EtherType, MacAddr};
use crate::packet::{icmp, ipv4, udp};
use std::sync::Arc;

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
[limits]
icmp_rate = 100
icmp_burst = 5
kernel_rate = 100
kernel_burst = 3
[[service]]
protocol = "udp"
vip = "198.18.0.100"
port = 54
method = "nat"
  [[service.real]]
  address = "198.18.1.11"
  weight = 0
[[service]]
protocol = "udp"
vip = "198.18.0.100"
port = 55
method = "tun"
  [[service.real]]
  address = "198.18.1.11"
"#;

struct Rig {
    snap: Arc<Snapshot>,
    e: Engine<VecFrame>,
    a: VecAlloc,
}

impl Rig {
    fn new() -> Rig {
        let (snap, e) = super::engine_for(CONFIG);
        Rig {
            snap,
            e,
            a: VecAlloc::default(),
        }
    }

    /// Feed `n` copies of `frame` on the ext port at `now`; the frames that
    /// went out, with their port.
    fn rx(&mut self, frame: &[u8], n: usize, now: u64) -> Vec<(PortId, Vec<u8>)> {
        let mut out = Vec::new();
        for _ in 0..n {
            self.e.rx(
                VecFrame::new(frame),
                PortId(0),
                &self.snap,
                &mut self.a,
                now,
            );
            out.extend(self.e.out().drain(..).map(|(p, f)| (p, f.to_vec())));
        }
        out
    }

    fn drops(&self, r: DropReason) -> u64 {
        self.e.counters.drops(r)
    }
}

/// A UDP datagram from the peer to `dst:dport` (`len` payload bytes, DF).
fn udp_frame(dst: std::net::Ipv4Addr, dport: u16, len: usize) -> Vec<u8> {
    let mut u = vec![0u8; 8 + len];
    udp::emit_header(&mut u, 40000, dport, len as u16).unwrap();
    eth(
        MY_MAC,
        MacAddr([2, 0, 0, 0, 0, 2]),
        EtherType::IPV4,
        &ipv4_packet(PEER_IP, dst, 17, &u),
    )
}

fn icmp_type_code(f: &[u8]) -> (u8, u8) {
    let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
    let ic = icmp::Packet::new_checked(ip.payload()).unwrap();
    (ic.msg_type(), ic.code())
}

#[test]
fn echo_replies_follow_the_bucket() {
    let mut r = Rig::new();
    let out = r.rx(&ping_frame(MY_IP), 20, 1000);
    assert_eq!(out.len(), 5, "the burst");
    assert_eq!(r.drops(DropReason::IcmpRateLimited), 15);
    assert_eq!(r.e.counters.icmp_echo_replies.get(), 5);
    // 100 a second: one more every 10 ms, for the VIP as for our address.
    assert_eq!(r.rx(&ping_frame(VIP), 20, 1010).len(), 1);
    // A flood of 10 per ms for one second gets the rate.
    let mut replies = 0;
    for ms in 1011..=2010 {
        replies += r.rx(&ping_frame(MY_IP), 10, ms).len();
    }
    assert_eq!(replies, 100);
}

#[test]
fn icmp_errors_share_the_bucket_but_frag_needed_is_never_limited() {
    let mut r = Rig::new();
    // Only a weight-0 real: each datagram gets a port unreachable.
    let out = r.rx(&udp_frame(VIP, 54, 4), 20, 1000);
    assert_eq!(out.len(), 5);
    assert!(out.iter().all(|(_, f)| icmp_type_code(f) == (3, 3)));
    assert_eq!(r.drops(DropReason::NoReal), 20, "every datagram is dropped");
    assert_eq!(
        r.drops(DropReason::IcmpRateLimited),
        15,
        "15 errors not sent"
    );
    // The bucket is empty: echo replies wait too.
    assert!(r.rx(&ping_frame(MY_IP), 1, 1000).is_empty());
    // Too big for the tunnel with DF: fragmentation needed, every time.
    let out = r.rx(&udp_frame(VIP, 55, 1480), 20, 1000);
    assert_eq!(out.len(), 20);
    assert!(out.iter().all(|(_, f)| icmp_type_code(f) == (3, 4)));
    assert_eq!(r.drops(DropReason::IcmpRateLimited), 16);
}

#[test]
fn the_kernel_path_has_its_own_bucket_per_port() {
    let mut r = Rig::new();
    let kernel = r
        .snap
        .port(PortId(0))
        .and_then(|p| p.kernel)
        .expect("kernel interface");
    let out = r.rx(&udp_frame(MY_IP, 22, 4), 10, 1000);
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|(p, _)| *p == kernel));
    assert_eq!(r.drops(DropReason::KernelRateLimited), 7);
    assert_eq!(r.rx(&udp_frame(MY_IP, 22, 4), 10, 1010).len(), 1);
    // ICMP is not the kernel's: echo replies are unaffected.
    assert_eq!(r.rx(&ping_frame(MY_IP), 1, 1010).len(), 1);
}

#[test]
fn spoofed_arp_requests_leave_room_for_a_reals_next_hop() {
    use crate::datapath::testutil::arp_frame;
    use crate::packet::arp;
    let m = crate::config::load(CONFIG).expect("config");
    let snap = topology::build(&m, &[], 1, &mut Registry::default(), &Default::default())
        .expect("snapshot");
    let cfg = neigh::NeighConfig {
        capacity: 64,
        ..Default::default()
    };
    let lb = Lb::new(4096, crate::conn::Timeouts::default(), 7).expect("table");
    let mut e = Engine::new(cfg, Arc::new(Counters::default()), 64, lb);
    let snap = Arc::new(snap);
    e.refresh(&snap);
    let mut a = VecAlloc::default();
    let statics = e.neighbors().len();
    // An unsolicited reply addressed to us creates nothing.
    let f = arp_frame(
        arp::Operation::REPLY,
        std::net::Ipv4Addr::new(198, 18, 1, 99),
        std::net::Ipv4Addr::new(198, 18, 1, 1),
        MacAddr([2, 0, 0, 0, 1, 1]),
    );
    e.rx(VecFrame::new(&f), PortId(1), &snap, &mut a, 1000);
    assert_eq!(e.counters.arp_replies_received.get(), 1);
    assert_eq!(e.neighbors().len(), statics);
    // 250 forged senders ask for our address: each gets its reply...
    for i in 3..253 {
        let spa = std::net::Ipv4Addr::new(198, 18, 0, i);
        let f = arp_frame(arp::Operation::REQUEST, spa, MY_IP, MacAddr::BROADCAST);
        e.rx(VecFrame::new(&f), PortId(0), &snap, &mut a, 1000);
        e.out().clear();
    }
    assert_eq!(e.counters.arp_replies_sent.get(), 250);
    // ...but they hold at most half the table.
    assert_eq!(e.neighbors().requested_len(), 32);
    assert_eq!(e.neighbors().len(), statics + 32);
    // A real's next hop is resolved: an ARP request goes out for it.
    let nh = std::net::Ipv4Addr::new(198, 18, 1, 12);
    let pkt = VecFrame::new(&ping_frame(MY_IP));
    e.rx_routed_for_test(pkt, PortId(1), nh, &snap, &mut a, 1000);
    let out: Vec<_> = e.out().drain(..).map(|(_, f)| f.to_vec()).collect();
    assert_eq!(out.len(), 1);
    let req = arp::Packet::new_checked(&out[0][14..]).unwrap();
    assert_eq!((req.oper(), req.tpa()), (arp::Operation::REQUEST, nh));
    assert_eq!(e.neighbors().held_len(), 1);
}
