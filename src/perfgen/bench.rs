//! An in-process datapath workload over [`VecFrame`]s, shared by
//! `benches/datapath.rs` (criterion) and `examples/dp_workload.rs`
//! (callgrind, `perf/callgrind.sh`). No DPDK: the engine runs exactly as a
//! worker runs it, on prebuilt frames that are recycled (their bytes
//! rewritten from a template) so that the measured loop does not allocate.
//!
//! The configuration is the perf harness's (`perf/lvsd-perf.toml` with a
//! `net_null` device): a DR service at 10.0.0.100:80, a NAT service at
//! 10.0.0.101:80, four reals each, static neighbours.
use super::{FlowMix, FrameSpec, Protocol, Template, TCP_ACK, TCP_SYN};
use crate::conn::{ConnKey, IPPROTO_TCP};
use crate::datapath::topology::{self, Registry};
use crate::datapath::{neigh::NeighConfig, Counters, Engine, Hint, Lb, Snapshot};
use crate::frame::{Frame, VecAlloc, VecFrame};
use crate::packet::ethernet::MacAddr;
use crate::types::PortId;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The director's port MAC in the workload.
pub const DUT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// The real servers' (and client's) MAC.
pub const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
/// DR and NAT VIPs.
pub const DR_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
pub const NAT_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 101);

/// The workload's configuration (TOML).
pub fn config_text(capacity: usize) -> String {
    let mut s = format!(
        r#"
[dpdk]
lcores = "0-1"
[[port]]
name = "p0"
device = "net_null0"
address = "10.0.0.1/24"
mac = "02:00:00:00:00:01"
[conn]
capacity = {capacity}
"#
    );
    for i in 11..=14 {
        s.push_str(&format!(
            "[[neighbor]]\nport = \"p0\"\naddress = \"10.0.0.{i}\"\nmac = \"02:00:00:00:00:02\"\n"
        ));
    }
    // NAT replies to the clients (`Workload::establish`) leave by a gateway.
    s.push_str("[[route]]\ndestination = \"198.18.0.0/15\"\nvia = \"10.0.0.11\"\n");
    for (name, vip, method, rport) in [("dr", DR_VIP, "dr", 80), ("nat", NAT_VIP, "nat", 8080)] {
        s.push_str(&format!(
            "[[service]]\nname = \"{name}\"\nprotocol = \"tcp\"\nvip = \"{vip}\"\nport = 80\nscheduler = \"wlc\"\nmethod = \"{method}\"\n"
        ));
        for i in 11..=14 {
            s.push_str(&format!(
                "  [[service.real]]\n  address = \"10.0.0.{i}\"\n  port = {rport}\n"
            ));
        }
    }
    s
}

/// A single-worker engine with its snapshot and recycled frames.
pub struct Workload {
    pub engine: Engine<VecFrame>,
    pub snap: Arc<Snapshot>,
    alloc: VecAlloc,
    spare: Vec<VecFrame>,
    tmpl: Template,
    vip: Ipv4Addr,
    now_ms: u64,
    seq: u32,
    /// Frames the engine forwarded (to check the workload is what it claims).
    pub forwarded: u64,
    /// Run the record prefetch stage (`Engine::prefetch_record`) in
    /// [`burst`](Self::burst), as the worker does; off to measure what it
    /// brings.
    pub record_prefetch: bool,
    /// The current burst's hints (reused: no allocation per burst).
    hints: Vec<Hint>,
}

impl Workload {
    /// An engine with a connection table of `capacity`, for TCP frames of
    /// `size` bytes to `vip` (DR_VIP or NAT_VIP).
    pub fn new(capacity: usize, vip: Ipv4Addr, size: usize) -> Workload {
        let m = crate::config::load(&config_text(capacity)).expect("workload config");
        let snap = topology::build(
            &m,
            &[MacAddr(DUT_MAC)],
            1,
            &mut Registry::default(),
            &Default::default(),
        )
        .expect("workload snapshot");
        let snap = Arc::new(snap);
        let lb = Lb::with_page_advice(capacity, snap.timeouts, 1, crate::dpdk::advise_huge_pages)
            .expect("connection table");
        let mut engine = Engine::new(
            NeighConfig::default(),
            Arc::new(Counters::default()),
            1024,
            lb,
        );
        engine.refresh(&snap);
        let tmpl = Template::new(&FrameSpec {
            dst_mac: DUT_MAC,
            src_mac: PEER_MAC,
            dst_ip: vip,
            dst_port: 80,
            proto: Protocol::Tcp,
            size,
        })
        .expect("template");
        let spare = (0..256).map(|_| VecFrame::new(&vec![0u8; size])).collect();
        Workload {
            engine,
            snap,
            alloc: VecAlloc::default(),
            spare,
            tmpl,
            vip,
            now_ms: 1000,
            seq: 0,
            forwarded: 0,
            record_prefetch: true,
            hints: Vec::with_capacity(64),
        }
    }

    /// Process one frame for endpoint `ep` (SYN or ACK) and recycle it.
    #[inline]
    pub fn packet(&mut self, ep: u64, syn: bool) {
        let mut f = self.spare.pop().expect("spare frames");
        let flags = if syn { TCP_SYN } else { TCP_ACK };
        self.tmpl.write(f.data_mut(), ep, flags, self.seq, 0);
        self.seq = self.seq.wrapping_add(1);
        self.engine
            .rx(f, PortId(0), &self.snap, &mut self.alloc, self.now_ms);
        for (_, f) in self.engine.out().drain(..) {
            self.forwarded += 1;
            self.spare.push(f);
        }
        if self.spare.is_empty() {
            // Frames the engine dropped are gone: replace them (rare; only
            // on drops, which the workloads avoid).
            let n = self.tmpl.len();
            self.spare
                .extend((0..64).map(|_| VecFrame::new(&vec![0u8; n])));
        }
    }

    /// Fill up to `n` slots of `frames` with spare frames written from the
    /// template for the next packets of `mix`; how many slots to look at.
    fn write_burst(
        &mut self,
        mix: &mut FlowMix,
        n: usize,
        frames: &mut [Option<VecFrame>; 64],
    ) -> usize {
        let n = n.min(frames.len());
        for slot in frames.iter_mut().take(n) {
            let (ep, syn) = mix.next_flow();
            let Some(mut f) = self.spare.pop() else { break };
            let flags = if syn { TCP_SYN } else { TCP_ACK };
            self.tmpl.write(f.data_mut(), ep, flags, self.seq, 0);
            self.seq = self.seq.wrapping_add(1);
            *slot = Some(f);
        }
        n
    }

    /// Process a burst of `n` (≤ 64) frames of `mix` as a worker does:
    /// write them all, run the burst's prefetch pass
    /// (`Engine::prefetch_burst`: buckets, and the records a few frames
    /// behind), then process them in order.
    pub fn burst(&mut self, mix: &mut FlowMix, n: usize) {
        let mut frames: [Option<VecFrame>; 64] = [const { None }; 64];
        let n = self.write_burst(mix, n, &mut frames);
        let written = frames.iter().take(n).flatten().map(|f| f.data());
        let touch = crate::dpdk::prefetch_ptr;
        if self.record_prefetch {
            self.engine
                .prefetch_burst(written, PortId(0), &self.snap, &mut self.hints, touch);
        } else {
            self.hints.clear();
            for data in written {
                let hint = self.engine.prefetch(data, PortId(0), &self.snap, touch);
                self.hints.push(hint);
            }
        }
        let frames = frames.iter_mut().take(n).filter_map(Option::take);
        for (f, hint) in frames.zip(self.hints.iter()) {
            self.engine
                .rx_hinted(f, hint, PortId(0), &self.snap, &mut self.alloc, self.now_ms);
        }
        for (_, f) in self.engine.out().drain(..) {
            self.forwarded += 1;
            self.spare.push(f);
        }
        if self.spare.len() < 64 {
            let len = self.tmpl.len();
            self.spare
                .extend((0..64).map(|_| VecFrame::new(&vec![0u8; len])));
        }
    }

    /// What [`burst`](Self::burst) costs without the engine: the same
    /// frames written from the template and recycled, no prefetch, no
    /// processing. Subtracted from `burst` it gives the engine's share.
    pub fn burst_harness_only(&mut self, mix: &mut FlowMix, n: usize) {
        let mut frames: [Option<VecFrame>; 64] = [const { None }; 64];
        let n = self.write_burst(mix, n, &mut frames);
        for f in frames.iter_mut().take(n).filter_map(Option::take) {
            self.engine.out().push((PortId(0), std::hint::black_box(f)));
        }
        for (_, f) in self.engine.out().drain(..) {
            self.spare.push(f);
        }
    }

    /// Run `n` packets of `mix`.
    pub fn run(&mut self, mix: &mut FlowMix, n: u64) {
        for _ in 0..n {
            let (ep, syn) = mix.next_flow();
            self.packet(ep, syn);
        }
    }

    /// Open connections for endpoints `0..n` (SYN then ACK: established).
    /// Through NAT the real server's answer follows, as testpmd's `5tswap`
    /// reflects it in the harness: a NAT connection is only proven, and on
    /// the fast path, once the real has spoken (`conn/pressure.rs`).
    pub fn establish(&mut self, n: u64) {
        for ep in 0..n {
            self.packet(ep, true);
        }
        for ep in 0..n {
            self.packet(ep, false);
        }
        if self.vip == NAT_VIP {
            for ep in 0..n {
                self.real_answers(ep);
            }
        }
    }

    /// One more client ACK of endpoint `ep`, and the NATed frame sent back
    /// with its addresses and ports swapped (the checksums stay valid): the
    /// real's reply. Neither is counted in `forwarded`.
    fn real_answers(&mut self, ep: u64) {
        let mut f = self.spare.pop().expect("spare frames");
        self.tmpl.write(f.data_mut(), ep, TCP_ACK, self.seq, 0);
        self.engine
            .rx(f, PortId(0), &self.snap, &mut self.alloc, self.now_ms);
        let out: Vec<VecFrame> = self.engine.out().drain(..).map(|(_, f)| f).collect();
        for mut f in out {
            let d = f.data_mut();
            if d.len() >= 38 {
                for (a, b) in [(0, 6), (26, 30), (34, 36)] {
                    let w = b - a;
                    let (x, y) = d.split_at_mut(b);
                    x[a..b].swap_with_slice(&mut y[..w]);
                }
            }
            self.engine
                .rx(f, PortId(0), &self.snap, &mut self.alloc, self.now_ms);
        }
        let back: Vec<VecFrame> = self.engine.out().drain(..).map(|(_, f)| f).collect();
        self.spare.extend(back);
    }

    /// Remove the connections of endpoints `from..to` (bench clean-up so
    /// new-connection runs keep inserting).
    pub fn forget(&mut self, from: u64, to: u64) {
        for ep in from..to {
            let (ip, port) = super::endpoint(ep);
            let key = ConnKey::new(IPPROTO_TCP, ip, port, self.vip, 80);
            if let Some(id) = self.engine.lb.conns.lookup(&key, self.now_ms) {
                self.engine.lb.conns.expire_now(id, self.now_ms, |_| {});
            }
        }
    }

    /// Connections in the table.
    pub fn conns(&self) -> usize {
        self.engine.lb.conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_forwards_established_and_new() {
        for vip in [DR_VIP, NAT_VIP] {
            let mut w = Workload::new(4096, vip, 64);
            w.establish(100);
            assert_eq!(w.conns(), 100);
            assert_eq!(w.forwarded, 200);
            let mut est = FlowMix::new(100, 100, 1000, 0);
            let fast = w.engine.counters.fast_path.get();
            w.run(&mut est, 1000);
            assert_eq!(w.forwarded, 1200, "every ACK forwarded");
            let fast = w.engine.counters.fast_path.get() - fast;
            assert_eq!(fast, 1000, "{vip}: established packets on the fast path");
            for _ in 0..10 {
                w.burst(&mut est, 32);
            }
            assert_eq!(w.forwarded, 1520, "every ACK of a burst forwarded");
            let mut new = FlowMix::new(0, 100, 500, 1_000_000);
            w.run(&mut new, 500);
            assert_eq!(w.conns(), 600);
            w.forget(100, 600);
            assert_eq!(w.conns(), 100);
            assert_eq!(w.engine.counters.total_drops(), 0);
        }
    }

    /// The harness bar in process, small: a table of 16,384 with 8,000
    /// established connections; a SYN flood of 100 forged endpoints per
    /// legitimate handshake (60,000 SYNs, the table under pressure after
    /// the first hundred) while 600 clients of a separate endpoint set each send
    /// a SYN and, 100 flood SYNs later, their ACK. Every handshake
    /// completes and every established connection still forwards.
    #[test]
    fn syn_flood_spares_established_and_legit_handshakes() {
        let (est, legit, per) = (8_000u64, 600u64, 100u64);
        let mut w = Workload::new(16_384, DR_VIP, 64);
        w.establish(est);
        let (legit_base, flood_base) = (1_000_000u64, 2_000_000u64);
        let mut done = 0;
        for i in 0..legit {
            w.packet(legit_base + i, true);
            for j in 0..per {
                w.packet(flood_base + i * per + j, true);
            }
            let before = w.forwarded;
            w.packet(legit_base + i, false);
            done += w.forwarded - before;
        }
        assert!(
            w.conns() >= 16_384 * 9 / 10,
            "under pressure: {}",
            w.conns()
        );
        assert!(done * 100 >= legit * 99, "{done} of {legit} handshakes");
        let before = w.forwarded;
        let mut all = FlowMix::new(est, est, 1, 0);
        w.run(&mut all, est);
        assert_eq!(w.forwarded - before, est, "no established connection lost");
        let s = w.engine.lb.conns.stats();
        assert!(s.evicted_tcp > 0 && s.refused_full == 0, "{s:?}");
    }
}
