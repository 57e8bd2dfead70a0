//! Whole loop iterations of two workers on in-memory ports (no DPDK): the
//! real engine, a NAT service, the redirect rings between the workers.
use crate::datapath::neigh::NeighConfig;
use crate::datapath::real_load::RealLoads;
use crate::datapath::topology::{self, Registry};
use crate::datapath::{owner, Counters, EventRing};
use crate::frame::{Frame, VecAlloc, VecFrame};
use crate::packet::ethernet::{self, EtherType, MacAddr};
use crate::packet::{checksum, ipv4, tcp};
use crate::types::{PortId, WorkerId};
use crate::worker::io::PortIo;
use crate::worker::poll::Worker;
use crate::worker::{CommandRing, Mailbox, Published, Rings, Startup, WorkerSetup};
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

pub(super) const EXT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
pub(super) const INT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 1]);
pub(super) const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
pub(super) const REAL_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 0x0b]);
pub(super) const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
const REAL: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 11);
pub(super) const EXT: PortId = PortId(0);
pub(super) const INT: PortId = PortId(1);

const CONFIG: &str = r#"
[dpdk]
lcores = "0-2"
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
[[route]]
destination = "198.51.0.0/16"
via = "198.18.0.2"
[[service]]
protocol = "tcp"
vip = "198.18.0.100"
port = 80
method = "nat"
  [[service.real]]
  address = "198.18.1.11"
  port = 8080
"#;

/// The wire of the in-memory ports: what waits on each (port, RX queue),
/// and everything transmitted, with its port and TX queue.
#[derive(Default)]
pub(super) struct Wire {
    pub(super) rx: HashMap<(PortId, u16), VecDeque<VecFrame>>,
    pub(super) tx: Vec<(PortId, u16, VecFrame)>,
}

/// In-memory ports shared by the workers of a test.
#[derive(Clone)]
pub(super) struct MemPorts {
    pub(super) ports: usize,
    pub(super) wire: Arc<Mutex<Wire>>,
}

impl PortIo for MemPorts {
    type Buf = VecFrame;
    fn port_count(&self) -> usize {
        self.ports
    }
    fn rx_burst(&self, port: PortId, queue: u16, out: &mut Vec<VecFrame>) -> usize {
        let mut wire = self.wire.lock().unwrap();
        let Some(q) = wire.rx.get_mut(&(port, queue)) else {
            return 0;
        };
        let n = (out.capacity() - out.len()).min(q.len());
        out.extend(q.drain(..n));
        n
    }
    fn tx_burst(&self, port: PortId, queue: u16, pkts: &mut Vec<VecFrame>) -> usize {
        let n = pkts.len();
        let mut wire = self.wire.lock().unwrap();
        wire.tx.extend(pkts.drain(..).map(|f| (port, queue, f)));
        n
    }
    /// Nanoseconds since the first call (the setups say 1 GHz).
    fn tsc() -> u64 {
        static T0: OnceLock<Instant> = OnceLock::new();
        T0.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

pub(super) fn tcp_frame(
    dst_mac: MacAddr,
    src_mac: MacAddr,
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    flags: u8,
) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&src.1.to_be_bytes());
    t[2..4].copy_from_slice(&dst.1.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&65535u16.to_be_bytes());
    let ph = checksum::ipv4_pseudo_header(src.0, dst.0, 6, t.len() as u16);
    let c = !checksum::combine(&[ph, checksum::data(&t)]);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    let mut f = vec![0u8; 34];
    ethernet::emit_header(&mut f, dst_mac, src_mac, EtherType::IPV4).unwrap();
    let h = ipv4::Header {
        src: src.0,
        dst: dst.0,
        protocol: 6,
        payload_len: t.len() as u16,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: true,
    };
    ipv4::emit_header(&mut f[14..], &h).unwrap();
    f.extend_from_slice(&t);
    f
}

/// (ip source, ip destination, source port, destination port) of an
/// output frame, checksums verified.
pub(super) fn tuple(f: &[u8]) -> (Ipv4Addr, Ipv4Addr, u16, u16) {
    let p = ipv4::Packet::new_checked(&f[14..]).expect("ipv4");
    assert!(p.verify_checksum());
    let t = tcp::Packet::new_checked(p.payload()).expect("tcp");
    assert!(t.verify_checksum_v4(p.src(), p.dst()));
    (p.src(), p.dst(), t.src_port(), t.dst_port())
}

pub(super) type TestWorker = Worker<MemPorts, VecAlloc>;

/// Two workers over the same in-memory ports; worker `i` polls queue `i`
/// of both ports and transmits on queue `i`.
fn two_workers(io: &MemPorts) -> Vec<TestWorker> {
    two_workers_with(io, CONFIG)
}

/// [`two_workers`] with the configuration `config` (same ports); the
/// workers share one set of per-real totals.
pub(super) fn two_workers_with(io: &MemPorts, config: &str) -> Vec<TestWorker> {
    let m = crate::config::load(config).expect("config");
    let snap = topology::build(&m, &[], 1, &mut Registry::default(), &Default::default())
        .expect("snapshot");
    let published = Arc::new(Published::new(snap));
    let rings = Arc::new(Rings::new(2, 64));
    let startup = Arc::new(Startup::default());
    let stop = Arc::new(AtomicBool::new(false));
    let real_loads = Arc::new(RealLoads::default());
    (0..2u16)
        .map(|i| {
            let setup = WorkerSetup {
                id: WorkerId(i),
                io: io.clone(),
                rx: vec![(EXT, i), (INT, i)],
                tx_queue: i,
                alloc: VecAlloc::default(),
                published: published.clone(),
                stop: stop.clone(),
                counters: Arc::new(Counters::default()),
                burst: 32,
                neigh: NeighConfig::default(),
                epoch: Instant::now(),
                tsc_hz: 1_000_000_000,
                conn_capacity: 1024,
                seed: 0x1234_5678 ^ i as u64,
                workers: 2,
                rings: rings.clone(),
                mailbox: Arc::new(Mailbox::default()),
                kernel_rx: Vec::new(),
                kernel_ports: Vec::new(),
                commands: Arc::new(CommandRing::new(16)),
                events: Arc::new(EventRing::new(1024)),
                real_loads: real_loads.clone(),
                startup: startup.clone(),
            };
            Worker::new(setup).expect("worker")
        })
        .collect()
}

pub(super) fn rounds(workers: &mut [TestWorker], n: usize) {
    for _ in 0..n {
        for w in workers.iter_mut() {
            w.iteration();
        }
    }
}

#[test]
fn two_workers_redirect_frames_to_the_owner_of_their_flow() {
    let io = MemPorts {
        ports: 2,
        wire: Arc::default(),
    };
    let mut ws = two_workers(&io);
    // Sixteen clients' SYNs, eight owned by each worker, all arriving on
    // worker 0's queue.
    let candidates = (0..1000u32).map(|i| {
        (
            Ipv4Addr::from(0xC633_6401 + i * 97),
            1024 + (i * 7919 % 60000) as u16,
        )
    });
    let mut clients: Vec<(Ipv4Addr, u16)> = Vec::new();
    for want in [0, 1] {
        let mine = candidates
            .clone()
            .filter(|&(a, p)| owner::of_client(a, p, 2) == want);
        clients.extend(mine.take(8));
    }
    let owners: Vec<usize> = clients
        .iter()
        .map(|&(a, p)| owner::of_client(a, p, 2))
        .collect();
    let theirs = owners.iter().filter(|o| **o == 1).count();
    assert!(
        theirs > 0 && theirs < 16,
        "both workers own some: {owners:?}"
    );
    {
        let mut wire = io.wire.lock().unwrap();
        let q = wire.rx.entry((EXT, 0)).or_default();
        for &c in &clients {
            let f = tcp_frame(EXT_MAC, CLIENT_MAC, c, (VIP, 80), tcp::Flags::SYN);
            q.push_back(VecFrame::new(&f));
        }
    }
    rounds(&mut ws, 2);
    let out = std::mem::take(&mut io.wire.lock().unwrap().tx);
    assert_eq!(out.len(), 16, "every SYN forwarded to the real");
    for (port, queue, f) in &out {
        let (src, dst, sport, dport) = tuple(f.data());
        assert_eq!((*port, dst, dport), (INT, REAL, 8080));
        let i = clients
            .iter()
            .position(|c| *c == (src, sport))
            .expect("a client");
        assert_eq!(usize::from(*queue), owners[i], "sent by the owner");
    }
    let c0 = &ws[0].w.counters;
    let c1 = &ws[1].w.counters;
    assert_eq!(c0.redirected.get(), theirs as u64);
    assert_eq!(c1.redirected.get(), 0);
    assert_eq!(c0.rx_packets.get(), (16 - theirs) as u64);
    assert_eq!(c1.rx_packets.get(), theirs as u64);
    assert_eq!(c0.conns_created.get(), (16 - theirs) as u64);
    assert_eq!(c1.conns_created.get(), theirs as u64);
    assert_eq!(c0.tx_packets.get() + c1.tx_packets.get(), 16);

    // The real's SYN-ACKs all arrive on worker 1's queue of the inside
    // port: each goes back to its connection's worker and out to its
    // client from the VIP.
    {
        let mut wire = io.wire.lock().unwrap();
        let q = wire.rx.entry((INT, 1)).or_default();
        for &c in &clients {
            let f = tcp_frame(
                INT_MAC,
                REAL_MAC,
                (REAL, 8080),
                c,
                tcp::Flags::SYN | tcp::Flags::ACK,
            );
            q.push_back(VecFrame::new(&f));
        }
    }
    rounds(&mut ws, 2);
    let out = std::mem::take(&mut io.wire.lock().unwrap().tx);
    assert_eq!(out.len(), 16, "every SYN-ACK forwarded to its client");
    for (port, queue, f) in &out {
        let (src, dst, sport, dport) = tuple(f.data());
        assert_eq!((*port, src, sport), (EXT, VIP, 80));
        let i = clients
            .iter()
            .position(|c| *c == (dst, dport))
            .expect("a client");
        assert_eq!(usize::from(*queue), owners[i], "sent by the owner");
    }
    let (c0, c1) = (&ws[0].w.counters, &ws[1].w.counters);
    assert_eq!(c1.redirected.get(), (16 - theirs) as u64);
    assert_eq!(c0.rx_packets.get() + c1.rx_packets.get(), 32);
    assert_eq!(c0.conns_created.get() + c1.conns_created.get(), 16);
    assert_eq!(c0.total_drops(), 0);
    assert_eq!(c1.total_drops(), 0);
    for w in ws {
        w.finish();
    }
}
