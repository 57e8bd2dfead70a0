//! Traffic for the datapath targets: a director configured with services
//! of every method (NAT, DR, TUN), persistence, thresholds and an MTU
//! smaller on the inside than outside, and an input language whose
//! operations become well-formed frames (connections to the VIPs, replies
//! from the reals, ICMP errors quoting either direction, echo requests,
//! ARP) that the fuzzer can still corrupt, plus raw frames, time passing
//! and reloads.
use arbitrary::Arbitrary;
use lvsd::datapath::topology::{self, Registry};
use lvsd::datapath::{neigh, Counters, Engine, Lb, Snapshot};
use lvsd::frame::{VecAlloc, VecFrame};
use lvsd::packet::ethernet::{self, EtherType, MacAddr};
use lvsd::packet::{arp, checksum, ipv4};
use lvsd::types::PortId;
use std::net::Ipv4Addr;
use std::sync::Arc;

pub const EXT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
pub const INT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 1]);
const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const REAL_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 0x0b]);
const EXT_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const INT_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
const VIPS: [Ipv4Addr; 2] = [
    Ipv4Addr::new(198, 18, 0, 100),
    Ipv4Addr::new(198, 18, 0, 101),
];
const REALS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(198, 18, 1, 11),
    Ipv4Addr::new(198, 18, 1, 12),
    Ipv4Addr::new(198, 18, 1, 13),
];
/// Ports of the inside MTU: frames out of `int` never exceed it.
pub const MTUS: [usize; 2] = [1500, 1400];
/// Connection-table size: small, so the table fills.
const TABLE: usize = 512;

/// (protocol, VIP index, port) of every service, then ports with none.
const SERVICES: [(u8, usize, u16); 9] = [
    (6, 0, 80),
    (17, 0, 53),
    (6, 0, 81),
    (6, 0, 82),
    (6, 1, 22),
    (6, 0, 443),
    (17, 0, 500),
    (6, 0, 9999),
    (17, 1, 7),
];
/// Source ports the reals answer from.
const REAL_PORTS: [u16; 6] = [8080, 8443, 5353, 80, 81, 500];

const BASE: &str = r#"
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
mtu = 1400
[[route]]
destination = "198.19.0.0/16"
via = "198.18.0.254"
[[neighbor]]
port = "ext"
address = "198.18.0.2"
mac = "02:00:00:00:00:02"
[[neighbor]]
port = "ext"
address = "198.18.0.254"
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
protocol = "udp"
vip = "198.18.0.100"
port = 53
scheduler = "wlc"
method = "nat"
  [[service.real]]
  address = "198.18.1.11"
  port = 5353
[[service]]
protocol = "tcp"
vip = "198.18.0.100"
port = 82
scheduler = "sh"
method = "tun"
  [[service.real]]
  address = "198.18.1.11"
  [[service.real]]
  address = "198.18.1.13"
[[service]]
protocol = "tcp"
vip = "198.18.0.101"
port = 0
persistence = { timeout = 300 }
method = "dr"
  [[service.real]]
  address = "198.18.1.12"
  [[service.real]]
  address = "198.18.1.13"
[[service]]
protocol = "tcp"
vip = "198.18.0.100"
port = 443
scheduler = "mh"
persistence = { timeout = 60, netmask = "255.255.255.0" }
method = "nat"
  [[service.real]]
  address = "198.18.1.11"
  port = 8443
  [[service.real]]
  address = "198.18.1.12"
  port = 8443
"#;

/// The two configurations a run switches between (reload).
fn config(variant: bool) -> String {
    let (web_sched, second, dr_sched, udp) = if variant {
        ("wrr", "", "wrr", "")
    } else {
        (
            "rr",
            "  [[service.real]]\n  address = \"198.18.1.12\"\n  port = 8080\n  weight = 2\n",
            "lc",
            "[[service]]\nprotocol = \"udp\"\nvip = \"198.18.0.100\"\nport = 500\n\
             scheduler = \"dh\"\nmethod = \"tun\"\n  [[service.real]]\n  address = \"198.18.1.13\"\n",
        )
    };
    format!(
        "{BASE}\n[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\n\
         scheduler = \"{web_sched}\"\nmethod = \"nat\"\n  [[service.real]]\n  address = \"198.18.1.11\"\n\
         \x20 port = 8080\n{second}  [[service.real]]\n  address = \"198.18.1.13\"\n  port = 8080\n\
         [[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 81\n\
         scheduler = \"{dr_sched}\"\nmethod = \"dr\"\n  [[service.real]]\n  address = \"198.18.1.11\"\n\
         \x20 upper_threshold = 2\n  [[service.real]]\n  address = \"198.18.1.12\"\n{udp}"
    )
}

/// The snapshots of both configurations, built once per process.
pub fn snapshots() -> &'static [Arc<Snapshot>; 2] {
    static SNAPS: std::sync::OnceLock<[Arc<Snapshot>; 2]> = std::sync::OnceLock::new();
    SNAPS.get_or_init(|| {
        let mut reg = Registry::default();
        let mut gen = 0;
        [false, true].map(|v| {
            gen += 1;
            let m = lvsd::config::load(&config(v)).expect("fuzz configuration");
            Arc::new(
                topology::build(&m, &[], gen, &mut reg, &Default::default()).expect("snapshot"),
            )
        })
    })
}

/// A fresh engine on the first configuration.
pub fn engine(fast: bool) -> Engine<VecFrame> {
    let lb = Lb::new(TABLE, lvsd::conn::Timeouts::default(), 7).expect("table");
    let mut e = Engine::new(
        neigh::NeighConfig::default(),
        Arc::new(Counters::default()),
        256,
        lb,
    );
    e.set_fast_path(fast);
    e.refresh(&snapshots()[0]);
    e
}

/// One well-formed packet, described by small selectors.
#[derive(Arbitrary, Debug, Clone)]
pub struct Pkt {
    pub kind: u8,
    pub client: u8,
    pub target: u8,
    pub cport: u8,
    pub flags: u8,
    pub ttl_one: bool,
    pub dont_frag: bool,
    pub len: u16,
    pub frag: bool,
    pub wrong_mac: bool,
}

/// One step of a run.
#[derive(Arbitrary, Debug, Clone)]
pub enum Op {
    Pkt(Pkt),
    /// A packet with one bit flipped.
    Flipped(Pkt, u16, u8),
    /// A packet cut short.
    Cut(Pkt, u16),
    /// Any bytes, on either port.
    Raw(bool, Vec<u8>),
    /// A whole connection: the client's SYN, an answer from every real
    /// (NAT: only the chosen one has a connection), the client's ACK, then
    /// `n` data segments each way, so that established connections (and
    /// the fast path) are one operation away.
    Session(Pkt, u8),
    /// Milliseconds pass.
    Wait(u16),
    /// Minutes pass (timers run out).
    Jump(u8),
    /// The periodic work (ARP retries, expiry).
    Tick,
    /// Switch configuration.
    Reload,
}

/// A frame to feed: bytes, the port it arrives on, and whether every
/// checksum in it is right (outputs of a good frame must be good).
pub struct Input {
    pub bytes: Vec<u8>,
    pub port: PortId,
    pub intact: bool,
}

fn client_ip(c: u8) -> Ipv4Addr {
    match c % 4 {
        0 => Ipv4Addr::new(198, 18, 0, 2),
        1 => Ipv4Addr::new(198, 18, 0, 3),
        _ => Ipv4Addr::new(198, 19, c >> 4, 1 + (c & 3)),
    }
}

fn l4(proto: u8, sport: u16, dport: u16, flags: u8, payload: usize) -> Vec<u8> {
    let mut v = if proto == 6 {
        let mut t = vec![0u8; 20];
        t[4..8].copy_from_slice(&0x0102_0304u32.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = flags;
        t[14] = 0xff;
        t
    } else {
        let mut u = vec![0u8; 8];
        u[4..6].copy_from_slice(&((8 + payload) as u16).to_be_bytes());
        u
    };
    v[0..2].copy_from_slice(&sport.to_be_bytes());
    v[2..4].copy_from_slice(&dport.to_be_bytes());
    v.resize(v.len() + payload, 0x5a);
    v
}

/// Fill the TCP/UDP/ICMP checksum of `seg` sent from `src` to `dst`.
fn fill_l4(proto: u8, src: Ipv4Addr, dst: Ipv4Addr, seg: &mut [u8], udp_zero: bool) {
    let at = match proto {
        6 => 16,
        17 => 6,
        _ => 2,
    };
    if seg.len() < at + 2 {
        return;
    }
    seg[at..at + 2].copy_from_slice(&[0, 0]);
    if proto == 17 && udp_zero {
        return;
    }
    let c = if proto == 1 {
        checksum::checksum(seg)
    } else {
        let ph = checksum::ipv4_pseudo_header(src, dst, proto, seg.len() as u16);
        let c = !checksum::combine(&[ph, checksum::data(seg)]);
        if proto == 17 && c == 0 {
            0xffff
        } else {
            c
        }
    };
    seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

fn ip_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    payload: usize,
    ttl: u8,
    df: bool,
) -> Vec<u8> {
    let mut v = vec![0u8; 20];
    let h = ipv4::Header {
        src,
        dst,
        protocol: proto,
        payload_len: payload as u16,
        ttl,
        tos: 0,
        ident: 0x4242,
        dont_frag: df,
    };
    ipv4::emit_header(&mut v, &h).expect("header");
    v
}

fn eth(dst: MacAddr, src: MacAddr, ethertype: u16, l3: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 14];
    ethernet::emit_header(&mut v, dst, src, ethertype).expect("ethernet");
    v.extend_from_slice(l3);
    v
}

/// A full IPv4 packet (header checksum filled).
fn ip_packet(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, seg: &[u8], ttl: u8, df: bool) -> Vec<u8> {
    let mut v = ip_header(src, dst, proto, seg.len(), ttl, df);
    v.extend_from_slice(seg);
    v
}

/// The tuple a packet of `p` carries: (src, dst, proto, sport, dport, from outside).
fn tuple(p: &Pkt) -> (Ipv4Addr, Ipv4Addr, u8, u16, u16, bool) {
    let client = client_ip(p.client);
    let cport = 40000 + u16::from(p.cport % 32);
    let (proto, vip, port) = SERVICES[usize::from(p.target) % SERVICES.len()];
    let port = if vip == 1 && p.target & 0x80 != 0 {
        80
    } else {
        port
    };
    if p.kind % 2 == 0 {
        (client, VIPS[vip], proto, cport, port, true)
    } else {
        let real = REALS[usize::from(p.target >> 4) % REALS.len()];
        let rport = REAL_PORTS[usize::from(p.flags >> 5) % REAL_PORTS.len()];
        let proto = if rport == 5353 || rport == 500 {
            17
        } else {
            proto
        };
        (real, client, proto, rport, cport, false)
    }
}

fn segment(p: &Pkt, proto: u8, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> Vec<u8> {
    let payload = usize::from(p.len % 1600);
    let mut seg = l4(
        proto,
        sport,
        dport,
        p.flags & 0x3f | 0x10 * u8::from(p.flags == 0),
        payload,
    );
    fill_l4(proto, src, dst, &mut seg, p.cport % 7 == 0);
    seg
}

/// The frame a [`Pkt`] describes.
pub fn build(p: &Pkt) -> Input {
    let (src, dst, proto, sport, dport, outside) = tuple(p);
    let ttl = if p.ttl_one { 1 } else { 64 };
    let l3 = match p.kind % 8 {
        0 | 1 => {
            let seg = segment(p, proto, src, dst, sport, dport);
            ip_packet(src, dst, proto, &seg, ttl, p.dont_frag)
        }
        2 | 3 => icmp_error(p, (src, dst, proto, sport, dport), ttl),
        4 => echo(p, ttl),
        5 => return arp_frame(p),
        _ => {
            // The other direction of a connection, as a peer would send it.
            let seg = segment(p, proto, dst, src, dport, sport);
            ip_packet(dst, src, proto, &seg, ttl, p.dont_frag)
        }
    };
    let mut l3 = l3;
    if p.frag {
        l3[6] |= 0x20;
        let c = checksum_fix(&l3);
        l3[10..12].copy_from_slice(&c.to_be_bytes());
    }
    let from_inside = !outside ^ (p.kind % 8 >= 6);
    let (port, mac, peer) = if from_inside {
        (PortId(1), INT_MAC, REAL_MAC)
    } else {
        (PortId(0), EXT_MAC, PEER_MAC)
    };
    // A port receives nothing beyond its MTU: shorten the payload.
    let excess = l3.len().saturating_sub(MTUS[usize::from(port.0)]);
    if excess > 0 {
        let mut q = p.clone();
        q.len = (p.len % 1600).saturating_sub(excess as u16);
        return build(&q);
    }
    let dst_mac = if p.wrong_mac { MacAddr::BROADCAST } else { mac };
    Input {
        bytes: eth(dst_mac, peer, EtherType::IPV4, &l3),
        port,
        intact: true,
    }
}

fn checksum_fix(l3: &[u8]) -> u16 {
    let mut h = l3[..20].to_vec();
    h[10] = 0;
    h[11] = 0;
    checksum::checksum(&h)
}

/// An ICMP error (unreachable, fragmentation needed, time exceeded) about
/// a packet of the tuple going the other way, from an endpoint or a router.
fn icmp_error(p: &Pkt, t: (Ipv4Addr, Ipv4Addr, u8, u16, u16), ttl: u8) -> Vec<u8> {
    let (src, dst, proto, sport, dport) = t;
    // The quoted packet went dst -> src.
    let quoted_seg = segment(p, proto, dst, src, dport, sport);
    let mut quoted = ip_packet(dst, src, proto, &quoted_seg, 63, true);
    quoted.truncate(20 + 8 + usize::from(p.flags & 0x40) / 4);
    let (ty, code) = match p.flags % 4 {
        0 => (3, 3),
        1 => (3, 4),
        2 => (11, 0),
        _ => (3, 1),
    };
    let mut body = vec![ty, code, 0, 0, 0, 0, 0x05, 0x00];
    body.extend_from_slice(&quoted);
    fill_l4(1, src, dst, &mut body, false);
    let from = if p.cport & 0x80 != 0 && p.kind % 2 == 0 {
        Ipv4Addr::new(198, 18, 0, 254)
    } else {
        src
    };
    ip_packet(from, dst, 1, &body, ttl, false)
}

/// An echo request to one of the director's addresses, a VIP or a real.
fn echo(p: &Pkt, ttl: u8) -> Vec<u8> {
    let dst = [EXT_IP, INT_IP, VIPS[0], VIPS[1], REALS[0]][usize::from(p.target) % 5];
    let mut body = vec![8, 0, 0, 0, 0x12, 0x34, 0, p.cport];
    body.resize(8 + usize::from(p.len % 1600), 0x61);
    fill_l4(1, client_ip(p.client), dst, &mut body, false);
    ip_packet(client_ip(p.client), dst, 1, &body, ttl, p.dont_frag)
}

fn arp_frame(p: &Pkt) -> Input {
    let inside = p.kind & 0x80 != 0;
    let spa = if inside {
        REALS[usize::from(p.client) % REALS.len()]
    } else {
        client_ip(p.client)
    };
    let tpa = [
        EXT_IP,
        INT_IP,
        VIPS[0],
        VIPS[1],
        REALS[2],
        Ipv4Addr::new(198, 18, 1, 77),
    ][usize::from(p.target) % 6];
    let oper = if p.flags & 1 == 0 {
        arp::Operation::REQUEST
    } else {
        arp::Operation::REPLY
    };
    let sha = MacAddr([2, 0, 0, 0, u8::from(inside), p.client]);
    let mut a = [0u8; 28];
    arp::emit(&mut a, oper, sha, spa, MacAddr::ZERO, tpa).expect("arp");
    let (port, mac) = if inside {
        (PortId(1), INT_MAC)
    } else {
        (PortId(0), EXT_MAC)
    };
    let dst = if p.wrong_mac { MacAddr::BROADCAST } else { mac };
    Input {
        bytes: eth(dst, sha, EtherType::ARP, &a),
        port,
        intact: true,
    }
}

/// The port the reals answer from, by service (as `SERVICES`).
const ANSWER_PORTS: [u16; 9] = [8080, 5353, 81, 82, 22, 8443, 500, 9999, 7];

/// The frames of an [`Op::Session`].
fn session(p: &Pkt, n: u8) -> Vec<Input> {
    let to_vip = |flags: u8, len: u16| {
        build(&Pkt {
            kind: 0,
            flags,
            len,
            ..p.clone()
        })
    };
    let svc = usize::from(p.target) % SERVICES.len();
    let from_real = |real: usize, flags: u8, len: u16| {
        let (src, dst) = (REALS[real], client_ip(p.client));
        let proto = SERVICES[svc].0;
        let cport = 40000 + u16::from(p.cport % 32);
        let mut seg = l4(proto, ANSWER_PORTS[svc], cport, flags, usize::from(len));
        fill_l4(proto, src, dst, &mut seg, false);
        let l3 = ip_packet(src, dst, proto, &seg, 64, p.dont_frag);
        Input {
            bytes: eth(INT_MAC, REAL_MAC, EtherType::IPV4, &l3),
            port: PortId(1),
            intact: true,
        }
    };
    let mut v = vec![to_vip(0x02, 0)];
    v.extend((0..REALS.len()).map(|r| from_real(r, 0x12, 0)));
    v.push(to_vip(0x10, 0));
    for k in 0..n % 8 {
        v.push(to_vip(0x18, p.len % 1600 + u16::from(k)));
        v.extend((0..REALS.len()).map(|r| from_real(r, 0x18, p.len % 1300)));
    }
    if p.flags & 1 == 1 {
        v.push(to_vip(0x11, 0));
    }
    v
}

/// The frames an operation feeds (none for time, ticks and reloads).
pub fn inputs(op: &Op) -> Vec<Input> {
    match op {
        Op::Session(p, n) => session(p, *n),
        other => input(other).into_iter().collect(),
    }
}

/// The frame an operation feeds, if any.
fn input(op: &Op) -> Option<Input> {
    match op {
        Op::Pkt(p) => Some(build(p)),
        Op::Flipped(p, at, bit) => {
            let mut i = build(p);
            let at = usize::from(*at) % i.bytes.len();
            i.bytes[at] ^= 1 << (bit % 8);
            i.intact = false;
            Some(i)
        }
        Op::Cut(p, len) => {
            let mut i = build(p);
            let len = usize::from(*len) % i.bytes.len();
            i.bytes.truncate(len);
            i.intact = false;
            Some(i)
        }
        Op::Raw(inside, bytes) => {
            let port = usize::from(*inside);
            Some(Input {
                bytes: bytes[..bytes.len().min(14 + MTUS[port])].to_vec(),
                port: PortId(port as u16),
                intact: false,
            })
        }
        _ => None,
    }
}

/// A run's clock and allocator, and which configuration is live.
pub struct Run {
    pub now: u64,
    pub variant: usize,
    pub alloc: VecAlloc,
}

impl Default for Run {
    fn default() -> Self {
        Run {
            now: 1_000,
            variant: 0,
            alloc: VecAlloc::default(),
        }
    }
}

impl Run {
    /// Apply a non-frame operation to `engines`.
    pub fn step(&mut self, op: &Op, engines: &mut [&mut Engine<VecFrame>]) {
        match op {
            Op::Wait(ms) => self.now += u64::from(*ms),
            Op::Jump(m) => self.now += 60_000 * u64::from(*m),
            Op::Tick => {
                let snap = snapshots()[self.variant].clone();
                for e in engines.iter_mut() {
                    e.tick(&snap, &mut self.alloc, self.now);
                    e.expire_some(&snap, self.now, 64);
                }
            }
            Op::Reload => {
                self.variant ^= 1;
                for e in engines.iter_mut() {
                    e.refresh(&snapshots()[self.variant]);
                }
            }
            _ => {}
        }
    }

    /// The live snapshot.
    pub fn snap(&self) -> Arc<Snapshot> {
        snapshots()[self.variant].clone()
    }
}
