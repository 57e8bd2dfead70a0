//! One worker's datapath state and the per-frame pipeline.
use super::fast::Hint;
use super::lb::Lb;
use super::neigh::{NeighConfig, Neighbors, Resolve};
use super::ratelimit::TokenBucket;
use super::{owner, Counters, DropReason, Local, Snapshot, Verdict};
use crate::frame::{Frame, FrameAlloc};
use crate::packet::ethernet::{self, EtherType, MacAddr};
use crate::packet::flow;
use crate::packet::{arp, checksum, icmp, ipv4};
use crate::types::{PortId, RateLimits, WorkerId};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Minimum Ethernet frame without FCS.
const MIN_FRAME: usize = 60;

/// In [`Engine::prefetch_burst`], frame `i`'s connection record
/// ([`Engine::prefetch_record`]) is prefetched while frame
/// `i + RECORD_PREFETCH_LAG` is parsed and its bucket prefetched: frame
/// `i`'s bucket, asked for that many frames earlier, has had time to
/// arrive. The last `RECORD_PREFETCH_LAG` records follow after the pass.
/// (A third loop over the burst instead was slower in 7 of 9 harness
/// pairs: perf/RESULTS.md, seventh pass. 10 measured best of 6-14 once the
/// pass got cheaper: ninth pass.)
const RECORD_PREFETCH_LAG: usize = 10;

/// The connection-table key a frame's lookup will use (prefetch passes).
enum PrefetchKey {
    Client(crate::conn::ConnKey),
    Reply(crate::conn::ReplyKey),
    /// To one of the director's own addresses: no lookup, no owner.
    Own,
}

/// The lookup key of an untagged IPv4 TCP/UDP frame, read at fixed offsets
/// without validation (only for prefetching: `rx` validates).
#[inline]
fn prefetch_key(data: &[u8], snap: &Snapshot) -> Option<PrefetchKey> {
    let h = data.get(..ethernet::HEADER_LEN + 24)?;
    if h[12..14] != [0x08, 0x00] || h[14] != 0x45 {
        return None;
    }
    let proto = h[23];
    if proto != ipv4::Protocol::TCP && proto != ipv4::Protocol::UDP {
        return None;
    }
    let l4 = data.get(34..38)?;
    let a = |o: usize| Ipv4Addr::new(h[o], h[o + 1], h[o + 2], h[o + 3]);
    let (src, dst) = (a(26), a(30));
    let (sport, dport) = (
        u16::from_be_bytes([l4[0], l4[1]]),
        u16::from_be_bytes([l4[2], l4[3]]),
    );
    match snap.local(dst) {
        Some(Local::Vip) => Some(PrefetchKey::Client(crate::conn::ConnKey::new(
            proto, src, sport, dst, dport,
        ))),
        None => Some(PrefetchKey::Reply(crate::conn::ReplyKey::new(
            proto, src, sport, dst, dport,
        ))),
        Some(Local::Own(_)) => Some(PrefetchKey::Own),
    }
}

/// A worker's datapath: neighbour cache, counters, and the list of frames
/// to transmit after the current burst.
pub struct Engine<F: Frame> {
    pub counters: Arc<Counters>,
    pub(super) neigh: Neighbors<F>,
    out: Vec<(PortId, F)>,
    /// Frames generated while processing (ICMP errors), routed afterwards.
    extra: Vec<F>,
    pub lb: Lb,
    snap: Option<Arc<Snapshot>>,
    /// Neighbours learned from ARP since the caller last drained them
    /// (other workers learn them too).
    learned: Vec<(PortId, Ipv4Addr, MacAddr)>,
    /// Try the established fast path first (`fast.rs`); on by default.
    fast_path: bool,
    /// This engine's worker and the number of workers (flow owners); with
    /// more than one, the prefetch pass decides each frame's owner.
    me: WorkerId,
    workers: usize,
    /// ICMP errors and echo replies this worker may send.
    icmp_limit: TokenBucket,
    /// Frames this worker may pass to each data port's kernel interface.
    kernel_limits: Vec<TokenBucket>,
}

impl<F: Frame> Engine<F> {
    /// A fresh engine; `out_capacity` bounds the TX list between drains.
    pub fn new(cfg: NeighConfig, counters: Arc<Counters>, out_capacity: usize, lb: Lb) -> Self {
        counters.conn_table_capacity.set(lb.conns.capacity() as u64);
        Engine {
            counters,
            neigh: Neighbors::new(cfg),
            out: Vec::with_capacity(out_capacity),
            extra: Vec::with_capacity(64),
            lb,
            snap: None,
            learned: Vec::with_capacity(64),
            fast_path: true,
            me: WorkerId(0),
            workers: 1,
            icmp_limit: TokenBucket::new(RateLimits::default().icmp, 0),
            kernel_limits: Vec::new(),
        }
    }

    /// Make this engine worker `me` of `workers`: its prefetch pass then
    /// marks frames whose flow another worker owns ([`Hint::redirect`]).
    pub fn set_owner(&mut self, me: WorkerId, workers: usize) {
        self.me = me;
        self.workers = workers.max(1);
    }

    /// `owner` as a redirect: `None` when it is this worker or anyone.
    #[inline(always)]
    fn redirect_to(&self, owner: Option<usize>) -> Option<WorkerId> {
        owner
            .filter(|o| *o != usize::from(self.me.0))
            .map(|o| WorkerId(o as u16))
    }

    /// Switch the established fast path on or off (tests compare the two;
    /// benchmarks use the general path as their baseline).
    pub fn set_fast_path(&mut self, on: bool) {
        self.fast_path = on;
    }

    /// Neighbours learned since the last call (to share with other workers).
    pub fn learned(&mut self) -> &mut Vec<(PortId, Ipv4Addr, MacAddr)> {
        &mut self.learned
    }

    /// Learn a neighbour another worker saw (no entry is created: like an
    /// unsolicited ARP, unless this worker is waiting for it).
    pub fn learn_shared(
        &mut self,
        port: PortId,
        ip: Ipv4Addr,
        mac: MacAddr,
        snap: &Snapshot,
        now_ms: u64,
    ) {
        let (counters, out) = (&self.counters, &mut self.out);
        self.neigh.learn(port, ip, mac, now_ms, false, |p, mac, f| {
            let mut f = f;
            if write_eth(&mut f, mac, snap.port(p).map_or(MacAddr::ZERO, |v| v.mac))
                && out.len() < out.capacity()
            {
                out.push((p, f));
            } else {
                counters.count_drop(DropReason::TxFull);
            }
        });
    }

    /// Frames ready to transmit, in order; the caller empties it each burst.
    pub fn out(&mut self) -> &mut Vec<(PortId, F)> {
        &mut self.out
    }

    /// The neighbour cache (for display and tests).
    pub fn neighbors(&self) -> &Neighbors<F> {
        &self.neigh
    }

    /// Follow a new snapshot generation: static neighbours, LB state.
    pub fn refresh(&mut self, snap: &Arc<Snapshot>) {
        if self
            .snap
            .as_ref()
            .is_some_and(|s| s.generation == snap.generation)
        {
            return;
        }
        for &(p, ip, mac) in &snap.static_neighbors {
            self.neigh.add_static(p, ip, mac);
        }
        self.icmp_limit.set(snap.limits.icmp);
        let kernel = snap.limits.kernel;
        self.kernel_limits
            .resize(snap.ports.len(), TokenBucket::new(kernel, 0));
        for b in &mut self.kernel_limits {
            b.set(kernel);
        }
        self.lb.refresh(self.snap.as_deref(), snap);
        self.snap = Some(snap.clone());
    }

    /// Process one frame received on `port`.
    pub fn rx<A: FrameAlloc<Frame = F>>(
        &mut self,
        frame: F,
        port: PortId,
        snap: &Snapshot,
        alloc: &mut A,
        now_ms: u64,
    ) {
        self.rx_hinted(frame, &Hint::NONE, port, snap, alloc, now_ms)
    }

    /// [`rx`](Self::rx) with what the burst's prefetch pass returned for
    /// this frame ([`prefetch`](Self::prefetch), same snapshot).
    pub fn rx_hinted<A: FrameAlloc<Frame = F>>(
        &mut self,
        mut frame: F,
        hint: &Hint,
        port: PortId,
        snap: &Snapshot,
        alloc: &mut A,
        now_ms: u64,
    ) {
        self.counters.rx_packets.inc();
        self.counters.rx_bytes.add(frame.len() as u64);
        if self.fast_path {
            frame = match self.fast(frame, port, hint, snap, now_ms) {
                Ok(()) => return,
                Err(f) => f,
            };
        }
        let verdict = self.process(&mut frame, port, snap, alloc, now_ms);
        match verdict {
            // Kernel interfaces are numbered after the data ports.
            Verdict::Tx(p) if usize::from(p.0) >= snap.ports.len() => {
                let limits = &mut self.kernel_limits;
                if limits
                    .get_mut(usize::from(port.0))
                    .is_none_or(|b| b.take(now_ms))
                {
                    self.push_out(p, frame)
                } else {
                    self.counters.count_drop(DropReason::KernelRateLimited)
                }
            }
            Verdict::Tx(p) => self.push_out(p, frame),
            Verdict::Route { port, next_hop } => {
                self.output(frame, port, next_hop, snap, alloc, now_ms)
            }
            Verdict::Consumed => {}
            Verdict::Drop(r) => self.counters.count_drop(r),
        }
        while let Some(f) = self.extra.pop() {
            if !is_frag_needed(f.data()) && !self.icmp_limit.take(now_ms) {
                self.counters.count_drop(DropReason::IcmpRateLimited);
                continue;
            }
            let dst = f
                .data()
                .get(14..)
                .and_then(|b| ipv4::Packet::new_checked(b).ok())
                .map(|ip| ip.dst());
            match dst.and_then(|d| snap.route(d)) {
                Some((p, nh)) => self.output(f, p, nh, snap, alloc, now_ms),
                None => self.counters.count_drop(DropReason::NoRoute),
            }
        }
    }

    /// First pass over an RX burst (speed trick, see ARCHITECTURE.md
    /// "A packet's path", prefetch across a burst): hand the primary index bucket the frame's
    /// connection lookup will read to `touch`. A frame the fast path will
    /// take is parsed and hashed here once, and the returned [`Hint`]
    /// carries that to [`rx_hinted`](Self::rx_hinted); for other untagged
    /// IPv4 TCP/UDP frames (SYNs, say) the key is read at fixed offsets
    /// without validating anything (`rx` does that).
    /// [`prefetch_burst`](Self::prefetch_burst) runs it over a burst.
    #[inline(always)]
    pub fn prefetch(
        &self,
        data: &[u8],
        port: PortId,
        snap: &Snapshot,
        mut touch: impl FnMut(*const u8),
    ) -> Hint {
        if self.fast_path {
            if let Some(h) = self.fast_hint(data, port, snap, &mut touch) {
                return h;
            }
        }
        match prefetch_key(data, snap) {
            Some(PrefetchKey::Client(k)) => self.lb.conns.prefetch(&k, touch),
            Some(PrefetchKey::Reply(k)) => self.lb.conns.prefetch_reply(&k, touch),
            _ => {}
        }
        if self.fast_path {
            Hint::SLOW
        } else {
            Hint::NONE
        }
    }

    /// `h`, the prefetch pass's hint for `data`, marked with the worker
    /// that owns the frame's flow when that is another one (engines of
    /// several workers only). The owner comes from what the pass read: the
    /// fast path's parsed headers, else the fixed-offset lookup key; frames
    /// with neither (ICMP errors, ARP, IP options) go to `owner::of_frame`.
    #[inline(never)]
    fn with_owner(&self, h: Hint, data: &[u8], snap: &Snapshot) -> Hint {
        let n = self.workers;
        let to_vip = |k: crate::conn::ConnKey| {
            owner::to_vip(snap, k.proto, (k.caddr, k.cport), (k.vaddr, k.vport), n)
        };
        let owner = match h.fast_tuple() {
            Some((t, true)) => Some(to_vip(t)),
            Some((t, false)) => Some(owner::to_client(snap, t.caddr, t.vaddr, t.vport, n)),
            None => match prefetch_key(data, snap) {
                Some(PrefetchKey::Client(k)) => Some(to_vip(k)),
                Some(PrefetchKey::Reply(k)) => {
                    Some(owner::to_client(snap, k.raddr, k.caddr, k.cport, n))
                }
                Some(PrefetchKey::Own) => None,
                None => owner::of_frame(data, snap, n),
            },
        };
        h.redirected(self.redirect_to(owner))
    }

    /// The prefetch pass over an RX burst: [`prefetch`](Self::prefetch)
    /// every frame, its hint pushed to `hints` (cleared first; the n-th
    /// hint belongs to the n-th frame) and, [`RECORD_PREFETCH_LAG`] frames
    /// behind, [`prefetch_record`](Self::prefetch_record) of that frame,
    /// so that the bucket misses and then the record misses of a burst
    /// overlap. Process the frames afterwards, in order, with their hints.
    /// On an engine of several workers ([`set_owner`](Self::set_owner))
    /// each hint also says whether another worker owns the frame
    /// ([`Hint::redirect`]).
    #[inline]
    pub fn prefetch_burst<'a>(
        &self,
        frames: impl Iterator<Item = &'a [u8]>,
        port: PortId,
        snap: &Snapshot,
        hints: &mut Vec<Hint>,
        touch: impl FnMut(*const u8) + Copy,
    ) {
        hints.clear();
        for (i, data) in frames.enumerate() {
            let h = self.prefetch(data, port, snap, touch);
            hints.push(if self.workers > 1 {
                self.with_owner(h, data, snap)
            } else {
                h
            });
            if let Some(h) = i
                .checked_sub(RECORD_PREFETCH_LAG)
                .and_then(|j| hints.get(j))
            {
                self.prefetch_record(h, touch);
            }
        }
        let tail = hints.len().saturating_sub(RECORD_PREFETCH_LAG);
        for h in &hints[tail..] {
            self.prefetch_record(h, touch);
        }
    }

    /// Expire connections with bounded work.
    pub fn expire_some(&mut self, snap: &Snapshot, now_ms: u64, budget: usize) {
        self.lb.expire_some(snap, &self.counters, now_ms, budget);
    }

    /// Periodic work between bursts: ARP retries and expiry of held frames.
    pub fn tick<A: FrameAlloc<Frame = F>>(&mut self, snap: &Snapshot, alloc: &mut A, now_ms: u64) {
        let counters = &self.counters;
        let mut due: [(PortId, Ipv4Addr); 16] = [(PortId(0), Ipv4Addr::UNSPECIFIED); 16];
        let mut n = 0;
        self.neigh.tick(
            now_ms,
            |_f| counters.count_drop(DropReason::NeighborUnresolved),
            |p, ip| {
                if n < due.len() {
                    due[n] = (p, ip);
                    n += 1;
                }
            },
        );
        for &(p, ip) in &due[..n] {
            self.send_arp_request(p, ip, snap, alloc);
        }
    }

    #[inline(always)]
    pub(super) fn push_out(&mut self, port: PortId, frame: F) {
        if self.out.len() == self.out.capacity() {
            self.counters.count_drop(DropReason::TxFull);
            return;
        }
        self.out.push((port, frame));
    }

    /// Decide what to do with a frame (no output side effects except
    /// neighbour learning).
    fn process<A: FrameAlloc<Frame = F>>(
        &mut self,
        frame: &mut F,
        port: PortId,
        snap: &Snapshot,
        alloc: &mut A,
        now_ms: u64,
    ) -> Verdict {
        let Some(pv) = snap.port(port) else {
            return Verdict::Drop(DropReason::NotOurMac);
        };
        let my_mac = pv.mac;
        let l2 = match ethernet::parse_l2(frame.data()) {
            Ok(l2) => l2,
            Err(crate::packet::Error::Truncated) => return Verdict::Drop(DropReason::Runt),
            Err(_) => return Verdict::Drop(DropReason::Vlan),
        };
        if l2.vlan.is_some() {
            return Verdict::Drop(DropReason::Vlan);
        }
        let eth = ethernet::Frame::new_unchecked(frame.data());
        let (dst, src) = (eth.dst(), eth.src());
        if src == my_mac {
            return Verdict::Drop(DropReason::Loop);
        }
        if dst.0 == super::sync::ADVERT_MAC && l2.ethertype == EtherType::IPV4 {
            return self.advert(frame.data(), l2.header_len, port);
        }
        if dst != my_mac && !dst.is_broadcast() {
            return Verdict::Drop(if dst.is_multicast() {
                DropReason::Multicast
            } else {
                DropReason::NotOurMac
            });
        }
        match l2.ethertype {
            EtherType::ARP => self.arp(frame, l2.header_len, port, snap, now_ms),
            EtherType::IPV4 => self.ipv4_in(frame, l2.header_len, port, snap, alloc, now_ms),
            EtherType::IPV6 => Verdict::Drop(DropReason::Ipv6),
            _ => Verdict::Drop(DropReason::UnknownEthertype),
        }
    }

    /// Send one advert (VRRPv3 format, TTL 255, to 224.0.0.18) out of
    /// `port`: `body` is the IP payload, built and authenticated by the
    /// management side.
    pub fn send_advert<A: FrameAlloc<Frame = F>>(
        &mut self,
        port: PortId,
        body: &[u8; super::sync::ADVERT_LEN],
        snap: &Snapshot,
        alloc: &mut A,
    ) {
        let Some(pv) = snap.port(port) else { return };
        let Some(mut f) = alloc.alloc() else { return };
        let len = (ethernet::HEADER_LEN + 20 + body.len()).max(MIN_FRAME);
        if !f.append(len) {
            return;
        }
        let data = f.data_mut();
        data.fill(0);
        let _ = ethernet::emit_header(
            data,
            MacAddr(super::sync::ADVERT_MAC),
            pv.mac,
            EtherType::IPV4,
        );
        let h = ipv4::Header {
            src: pv.addr.addr,
            dst: super::sync::ADVERT_GROUP,
            protocol: super::sync::ADVERT_PROTO,
            payload_len: body.len() as u16,
            ttl: 255,
            tos: 0xc0,
            ident: 0,
            dont_frag: false,
        };
        let at = ethernet::HEADER_LEN;
        let ok = data
            .get_mut(at..)
            .is_some_and(|b| ipv4::emit_header(b, &h).is_ok())
            && data
                .get_mut(at + 20..at + 20 + body.len())
                .is_some_and(|b| {
                    b.copy_from_slice(body);
                    true
                });
        if ok {
            self.push_out(port, f);
        }
    }

    /// Send a gratuitous ARP for `ip` out of `port` (keepalived vrrp_arp.c:
    /// broadcast ARP request, SPA = TPA = ip, THA = broadcast).
    pub fn send_garp<A: FrameAlloc<Frame = F>>(
        &mut self,
        port: PortId,
        ip: Ipv4Addr,
        snap: &Snapshot,
        alloc: &mut A,
    ) {
        let Some(pv) = snap.port(port) else { return };
        let Some(mut f) = alloc.alloc() else { return };
        if !f.append(MIN_FRAME) {
            return;
        }
        let data = f.data_mut();
        data.fill(0);
        let ok = ethernet::emit_header(data, MacAddr::BROADCAST, pv.mac, EtherType::ARP).is_ok()
            && data.get_mut(ethernet::HEADER_LEN..).is_some_and(|b| {
                arp::emit(
                    b,
                    arp::Operation::REQUEST,
                    pv.mac,
                    ip,
                    MacAddr::BROADCAST,
                    ip,
                )
                .is_ok()
            });
        if ok {
            self.push_out(port, f);
        }
    }

    /// A VRRP-style advert from another director: reported to the HA
    /// machinery, never forwarded.
    fn advert(&mut self, data: &[u8], off: usize, port: PortId) -> Verdict {
        let Some(ip) = data
            .get(off..)
            .and_then(|b| ipv4::Packet::new_checked(b).ok())
        else {
            return Verdict::Drop(DropReason::IpTruncated);
        };
        if ip.protocol() != super::sync::ADVERT_PROTO
            || ip.dst() != super::sync::ADVERT_GROUP
            || ip.ttl() != 255
        {
            return Verdict::Drop(DropReason::Multicast);
        }
        let Some((body, len)) = super::sync::parse_advert(ip.payload()) else {
            return Verdict::Drop(DropReason::L4Malformed);
        };
        if let Some(ev) = self.lb.events() {
            let _ = ev.push(super::HaEvent::Advert {
                port,
                src: ip.src(),
                len,
                body,
            });
        }
        Verdict::Consumed
    }

    fn arp(
        &mut self,
        frame: &mut F,
        off: usize,
        port: PortId,
        snap: &Snapshot,
        now_ms: u64,
    ) -> Verdict {
        let Some(pv) = snap.port(port) else {
            return Verdict::Drop(DropReason::NotOurMac);
        };
        let (my_mac, my_net) = (pv.mac, pv.addr);
        let Some(body) = frame.data().get(off..) else {
            return Verdict::Drop(DropReason::ArpMalformed);
        };
        let Ok(pkt) = arp::Packet::new_checked(body) else {
            return Verdict::Drop(DropReason::ArpMalformed);
        };
        let (oper, sha, spa, tpa) = (pkt.oper(), pkt.sha(), pkt.spa(), pkt.tpa());
        let for_us = snap.answers_arp(port, tpa);
        // Learn like Linux: create an entry for a request addressed to us,
        // otherwise only refresh one we already have (see `neigh.rs`).
        let create = for_us && oper == arp::Operation::REQUEST;
        if my_net.contains(spa) && spa != my_net.addr && sha.is_unicast() {
            if self.learned.len() < self.learned.capacity() {
                self.learned.push((port, spa, sha));
            }
            let (counters, out) = (&self.counters, &mut self.out);
            self.neigh
                .learn(port, spa, sha, now_ms, create, |p, mac, f| {
                    let mut f = f;
                    if write_eth(&mut f, mac, snap.port(p).map_or(MacAddr::ZERO, |v| v.mac))
                        && out.len() < out.capacity()
                    {
                        out.push((p, f));
                    } else {
                        counters.count_drop(DropReason::TxFull);
                    }
                });
        }
        if !for_us {
            return Verdict::Drop(DropReason::ArpNotForUs);
        }
        match oper {
            arp::Operation::REQUEST => {
                let data = frame.data_mut();
                let Ok(e) = ethernet::emit_header(data, sha, my_mac, EtherType::ARP) else {
                    return Verdict::Drop(DropReason::ArpMalformed);
                };
                let Some(body) = data.get_mut(e..) else {
                    return Verdict::Drop(DropReason::ArpMalformed);
                };
                if arp::emit_reply(body, my_mac, tpa, sha, spa).is_err() {
                    return Verdict::Drop(DropReason::ArpMalformed);
                }
                self.counters.arp_replies_sent.inc();
                Verdict::Tx(port)
            }
            arp::Operation::REPLY => {
                self.counters.arp_replies_received.inc();
                // The kernel on the exception path resolves its own next
                // hops: it gets the replies to its address too.
                match snap.port(port).and_then(|v| v.kernel) {
                    Some(k) if tpa == my_net.addr => Verdict::Tx(k),
                    _ => Verdict::Consumed,
                }
            }
            _ => Verdict::Drop(DropReason::ArpMalformed),
        }
    }

    /// Send `frame` (an L3 packet after a 14-byte Ethernet header) towards
    /// `next_hop` on `port`, resolving its MAC first.
    fn output<A: FrameAlloc<Frame = F>>(
        &mut self,
        mut frame: F,
        port: PortId,
        next_hop: Ipv4Addr,
        snap: &Snapshot,
        alloc: &mut A,
        now_ms: u64,
    ) {
        let Some(pv) = snap.port(port) else {
            self.counters.count_drop(DropReason::NoRoute);
            return;
        };
        if crate::xlate::ipv4_total_len(frame.data()).is_ok_and(|l| l > usize::from(pv.mtu)) {
            // Too big for the port, and lvsd does not fragment.
            self.counters.count_drop(DropReason::FragNeeded);
            return;
        }
        let my_mac = pv.mac;
        match self.neigh.resolve(port, next_hop, now_ms) {
            Resolve::Known { mac, refresh } => {
                if refresh {
                    self.send_arp_request(port, next_hop, snap, alloc);
                }
                if write_eth(&mut frame, mac, my_mac) {
                    self.push_out(port, frame);
                } else {
                    self.counters.count_drop(DropReason::Runt);
                }
            }
            Resolve::Pending { request } => {
                if request {
                    self.send_arp_request(port, next_hop, snap, alloc);
                }
                if self.neigh.hold(port, next_hop, now_ms, frame).is_err() {
                    self.counters.count_drop(DropReason::NeighborQueueFull);
                }
            }
            Resolve::Full => self.counters.count_drop(DropReason::NeighborQueueFull),
        }
    }

    /// Test hook: push a frame through the output stage towards `next_hop`.
    #[cfg(test)]
    pub fn rx_routed_for_test<A: FrameAlloc<Frame = F>>(
        &mut self,
        frame: F,
        port: PortId,
        next_hop: Ipv4Addr,
        snap: &Snapshot,
        alloc: &mut A,
        now_ms: u64,
    ) {
        self.output(frame, port, next_hop, snap, alloc, now_ms)
    }

    fn send_arp_request<A: FrameAlloc<Frame = F>>(
        &mut self,
        port: PortId,
        ip: Ipv4Addr,
        snap: &Snapshot,
        alloc: &mut A,
    ) {
        let Some(pv) = snap.port(port) else { return };
        let Some(mut f) = alloc.alloc() else {
            self.counters.count_drop(DropReason::NoMbuf);
            return;
        };
        if !f.append(MIN_FRAME) {
            self.counters.count_drop(DropReason::NoMbuf);
            return;
        }
        let data = f.data_mut();
        data.fill(0);
        let ok = ethernet::emit_header(data, MacAddr::BROADCAST, pv.mac, EtherType::ARP).is_ok()
            && data
                .get_mut(ethernet::HEADER_LEN..)
                .is_some_and(|b| arp::emit_request(b, pv.mac, pv.addr.addr, ip).is_ok());
        if ok {
            self.counters.arp_requests_sent.inc();
            self.push_out(port, f);
        }
    }
}

/// Rewrite the Ethernet addresses of an untagged IPv4 frame.
fn write_eth<F: Frame>(frame: &mut F, dst: MacAddr, src: MacAddr) -> bool {
    ethernet::emit_header(frame.data_mut(), dst, src, EtherType::IPV4).is_ok()
}

pub(super) fn is_martian(ip: Ipv4Addr) -> bool {
    ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback()
}

impl<F: Frame> Engine<F> {
    /// IPv4 input: validate the header, then deliver locally, balance
    /// (to a VIP) or translate (replies from real servers).
    fn ipv4_in<A: FrameAlloc<Frame = F>>(
        &mut self,
        frame: &mut F,
        off: usize,
        port: PortId,
        snap: &Snapshot,
        alloc: &mut A,
        now_ms: u64,
    ) -> Verdict {
        let Some(body) = frame.data().get(off..) else {
            return Verdict::Drop(DropReason::IpTruncated);
        };
        let ip = match ipv4::Packet::new_checked(body) {
            Ok(p) => p,
            Err(e) => return Verdict::Drop(DropReason::from_ipv4(e)),
        };
        if !ip.verify_checksum() {
            return Verdict::Drop(DropReason::IpBadChecksum);
        }
        if ip.header_len() != ipv4::MIN_HEADER_LEN {
            return Verdict::Drop(DropReason::IpOptions);
        }
        if ip.is_fragment() {
            return Verdict::Drop(DropReason::IpFragment);
        }
        let (src, dst, proto) = (ip.src(), ip.dst(), ip.protocol());
        if is_martian(src) || snap.local(src).is_some() {
            return Verdict::Drop(DropReason::IpMartian);
        }
        let local = snap.local(dst);
        if snap.ha.enabled && !snap.ha.active && (local.is_none() || snap.is_shared(dst)) {
            // A backup never forwards: not for VIPs, floating addresses,
            // nor replies from real servers.
            return Verdict::Drop(DropReason::Backup);
        }
        if local.is_none() && snap.services.list.is_empty() {
            return Verdict::Drop(DropReason::NotLocal);
        }
        let lb_proto = matches!(
            proto,
            ipv4::Protocol::TCP | ipv4::Protocol::UDP | ipv4::Protocol::ICMP
        );
        let kernel = snap.port(port).and_then(|v| v.kernel);
        if let (Some(Local::Own(_)), Some(k)) = (local, kernel) {
            // Traffic to the director's own address that lvsd does not
            // answer itself (everything but ICMP echo requests) goes to the
            // kernel: health-check replies, ssh, ...
            let echo_request = proto == ipv4::Protocol::ICMP
                && ip.payload().first() == Some(&crate::packet::icmp::Type::ECHO_REQUEST);
            if !echo_request {
                return Verdict::Tx(k);
            }
        }
        if !lb_proto || (matches!(local, Some(Local::Own(_))) && proto != ipv4::Protocol::ICMP) {
            return Verdict::Drop(if local.is_some() {
                DropReason::NoService
            } else {
                DropReason::NotLocal
            });
        }
        // The header was validated above: extract the flow from it without
        // parsing it again.
        let Ok(p) = flow::extract_v4_checked(&ip) else {
            return Verdict::Drop(DropReason::L4Malformed);
        };
        let counters = &*self.counters;
        match (local, proto) {
            (Some(_), ipv4::Protocol::ICMP) if p.inner.is_none() => {
                let limit = (&mut self.icmp_limit, now_ms);
                icmp_local(frame, off, port, snap, counters, limit)
            }
            (Some(Local::Vip), ipv4::Protocol::ICMP) => self.lb.icmp_error(
                frame,
                &p,
                true,
                snap,
                counters,
                alloc,
                &mut self.extra,
                now_ms,
            ),
            (Some(Local::Own(_)), ipv4::Protocol::ICMP) => Verdict::Drop(DropReason::IcmpUnhandled),
            (Some(Local::Vip), _) => {
                self.lb
                    .to_vip(frame, &p, snap, counters, alloc, &mut self.extra, now_ms)
            }
            (Some(Local::Own(_)), _) => Verdict::Drop(DropReason::NoService),
            (None, ipv4::Protocol::ICMP) if p.inner.is_some() => self.lb.icmp_error(
                frame,
                &p,
                false,
                snap,
                counters,
                alloc,
                &mut self.extra,
                now_ms,
            ),
            (None, ipv4::Protocol::ICMP) => Verdict::Drop(DropReason::NotLocal),
            (None, _) => self.lb.from_real(frame, &p, snap, counters, now_ms),
        }
    }
}

/// ICMP to one of our addresses: answer echo requests in place.
fn icmp_local<F: Frame>(
    frame: &mut F,
    off: usize,
    port: PortId,
    snap: &Snapshot,
    counters: &Counters,
    (limit, now_ms): (&mut TokenBucket, u64),
) -> Verdict {
    let Some(pv) = snap.port(port) else {
        return Verdict::Drop(DropReason::NotOurMac);
    };
    let my_mac = pv.mac;
    let data = frame.data_mut();
    let (eth_hdr, rest) = data.split_at_mut(off.min(data.len()));
    let Ok(mut ip) = ipv4::Packet::new_checked(rest) else {
        return Verdict::Drop(DropReason::IpTruncated);
    };
    let Ok(mut icmp) = icmp::Packet::new_checked(ip.payload_mut()) else {
        return Verdict::Drop(DropReason::L4Malformed);
    };
    if icmp.msg_type() != icmp::Type::ECHO_REQUEST {
        return Verdict::Drop(DropReason::IcmpUnhandled);
    }
    if !icmp.verify_checksum() {
        return Verdict::Drop(DropReason::L4BadChecksum);
    }
    if !limit.take(now_ms) {
        return Verdict::Drop(DropReason::IcmpRateLimited);
    }
    // Type 8 → 0 changes the first 16-bit word only: RFC 1624 update.
    let old = u16::from(icmp.msg_type()) << 8 | u16::from(icmp.code());
    icmp.set_msg_type(icmp::Type::ECHO_REPLY);
    let new = u16::from(icmp::Type::ECHO_REPLY) << 8 | u16::from(icmp.code());
    let c = checksum::update_u16(icmp.checksum(), old, new);
    icmp.set_checksum(c);
    let (src, dst) = (ip.src(), ip.dst());
    ip.set_src(dst);
    ip.set_dst(src);
    ip.set_ttl(64);
    ip.fill_checksum();
    let mut eth = ethernet::Frame::new_unchecked(eth_hdr);
    let peer = eth.src();
    eth.set_dst(peer);
    eth.set_src(my_mac);
    counters.icmp_echo_replies.inc();
    Verdict::Tx(port)
}

/// Whether `frame` (Ethernet + 20-byte IPv4 header, as the ICMP builders
/// write it) is an ICMP fragmentation-needed error: path MTU discovery is
/// never rate-limited (Linux's `icmpv4_mask_allow`).
fn is_frag_needed(frame: &[u8]) -> bool {
    let off = ethernet::HEADER_LEN + ipv4::MIN_HEADER_LEN;
    frame.get(off..off + 2) == Some(&[icmp::Type::DEST_UNREACH, icmp::CODE_FRAG_NEEDED][..])
}
