//! Worker lcores: the poll loop around `datapath::Engine`, TX buffering per
//! port, and the published snapshot that the management side swaps.
mod command;
mod control;
mod publish;
mod rings;

pub use command::{Command, CommandRing};
pub use control::{collect, Mailbox};
pub use publish::Published;
pub use rings::{Rings, Xfer};

use crate::datapath::{
    neigh::NeighConfig, owner, Counters, DropReason, Engine, Hint, Lb, Snapshot,
};
use crate::dpdk::{Mbuf, Mempool, Port};
use crate::frame::Frame;
use crate::types::{PortId, WorkerId};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Start-up handshake: each worker reports once its connection table and
/// engine exist (a table of millions of entries takes a while to build), so
/// that "lvsd running" means every worker polls.
#[derive(Default)]
pub struct Startup {
    ready: AtomicUsize,
    failed: AtomicUsize,
}

impl Startup {
    fn report(&self, ok: bool) {
        let c = if ok { &self.ready } else { &self.failed };
        c.fetch_add(1, Ordering::Release);
    }

    /// Wait until `n` workers reported; an error if one failed or if they
    /// have not all reported within `timeout`.
    pub fn wait(&self, n: usize, timeout: std::time::Duration) -> Result<(), String> {
        let t0 = Instant::now();
        loop {
            let failed = self.failed.load(Ordering::Acquire);
            if failed > 0 {
                return Err(format!("{failed} worker(s) failed to start (see the log)"));
            }
            if self.ready.load(Ordering::Acquire) >= n {
                return Ok(());
            }
            if t0.elapsed() >= timeout {
                return Err(format!("workers not ready after {} s", timeout.as_secs()));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Everything one worker needs; moved onto its lcore.
pub struct WorkerSetup {
    pub id: WorkerId,
    /// All data ports, indexed by lvsd `PortId`.
    pub ports: Arc<Vec<Port>>,
    /// (port, rx queue) pairs this worker polls.
    pub rx: Vec<(PortId, u16)>,
    /// This worker's TX queue on every port.
    pub tx_queue: u16,
    pub pool: Arc<Mempool>,
    pub published: Arc<Published>,
    pub stop: Arc<AtomicBool>,
    pub counters: Arc<Counters>,
    pub burst: usize,
    pub neigh: NeighConfig,
    /// Process start, the zero of the datapath's millisecond clock.
    pub epoch: Instant,
    /// TSC frequency (Hz) for the per-iteration clock (`Clock`).
    pub tsc_hz: u64,
    /// Connection-table capacity of this worker.
    pub conn_capacity: usize,
    /// Number of workers (flow owners).
    pub workers: usize,
    pub rings: Arc<Rings>,
    pub mailbox: Arc<Mailbox>,
    /// Kernel interfaces this worker drains: (tap port, queue, its data
    /// port). What the kernel sends leaves through the data port unchanged.
    pub kernel_rx: Vec<(PortId, u16, PortId)>,
    /// Every kernel interface port (each worker transmits to them).
    pub kernel_ports: Vec<PortId>,
    /// Commands from the management side.
    pub commands: Arc<CommandRing>,
    /// Sync records and HA events for the management side.
    pub events: Arc<crate::datapath::EventRing>,
    /// Reported once the worker is about to poll (or has failed).
    pub startup: Arc<Startup>,
}

/// Commands applied per visit of the command ring.
const COMMANDS_PER_VISIT: usize = 256;
/// Table slots dumped per loop iteration during a bulk sync.
const BULK_SLICE: usize = 1024;

/// Expiry sweeps the connection table at a rate set by the clock, not by
/// the loop: the whole table about once per `SWEEP_MS` (at least
/// `SWEEP_MIN_PER_MS` slots per ms), paid in slices of up to
/// `EXPIRE_BUDGET` slots every `EXPIRE_EVERY` loop iterations. (Sweeping
/// a fixed 64 slots per iteration walked a 2M-entry table several times a
/// second at a few Mpps: cold memory on every burst. Slices of 256 slots,
/// ~11 KB of records, keep each pause of the loop to a few microseconds.)
const EXPIRE_EVERY: u64 = 4;
const EXPIRE_BUDGET: usize = 64 * EXPIRE_EVERY as usize;
const SWEEP_MS: usize = 1000;
const SWEEP_MIN_PER_MS: usize = 64;

/// The kernel interfaces cost a `readv` system call per poll (net_tap), so
/// they are polled every `KERNEL_POLL_US` microseconds, busy or idle, and
/// again at once while they return frames. The kernel's queue (1000 frames
/// by default) absorbs what arrives in between: 50 µs of delay for ssh and
/// health checks, instead of a system call every few bursts.
const KERNEL_POLL_US: u64 = 50;

/// Consecutive flushes a port may make no progress (`tx_burst` accepts
/// nothing) before its pending frames are dropped (`tx_full`).
const TX_STALL_LIMIT: u8 = 8;

/// The datapath's millisecond clock (ms since `epoch`), read once per loop
/// iteration from the TSC instead of `Instant::elapsed()`, and re-anchored
/// on `Instant` every `resync` so it cannot drift; never goes backwards.
struct Clock {
    epoch: Instant,
    base_ms: u64,
    base_tsc: u64,
    /// Milliseconds per TSC cycle, fixed point with 40 fractional bits
    /// (a multiply instead of a division per iteration).
    ms_per_cycle: u64,
    last_ms: u64,
    /// TSC read by the last `now_ms` (start of the current iteration).
    last_tsc: u64,
}

impl Clock {
    fn new(epoch: Instant, tsc_hz: u64) -> Clock {
        let mut c = Clock {
            epoch,
            base_ms: 0,
            base_tsc: 0,
            ms_per_cycle: u64::try_from((1000u128 << 40) / u128::from(tsc_hz.max(1)))
                .unwrap_or(u64::MAX),
            last_ms: 0,
            last_tsc: 0,
        };
        c.resync();
        c
    }

    fn resync(&mut self) {
        self.base_tsc = crate::dpdk::Eal::tsc();
        self.base_ms = self.epoch.elapsed().as_millis() as u64;
    }

    #[inline]
    fn now_ms(&mut self) -> u64 {
        self.last_tsc = crate::dpdk::Eal::tsc();
        let cycles = self.last_tsc.wrapping_sub(self.base_tsc);
        let d = ((u128::from(cycles) * u128::from(self.ms_per_cycle)) >> 40) as u64;
        self.last_ms = self.last_ms.max(self.base_ms + d);
        self.last_ms
    }
}

/// While idle, the clock is read every `CLOCK_IDLE_EVERY` iterations.
const CLOCK_IDLE_EVERY: u64 = 16;

/// Whether the current loop iteration found work, and since when its cycles
/// count as busy (`busy_cycles`).
#[derive(Default)]
struct Busy {
    found: bool,
    since: u64,
    /// The iteration did not read the clock (idle iterations mostly skip it).
    stale: bool,
}

impl Busy {
    /// A new iteration whose clock reading is `tsc` (stale unless `fresh`).
    #[inline]
    fn begin(&mut self, tsc: u64, fresh: bool) {
        *self = Busy {
            found: false,
            since: tsc,
            stale: !fresh,
        };
    }

    /// The iteration found work. If it did not read the clock, its busy time
    /// starts now, not at the last reading (which would count up to
    /// `CLOCK_IDLE_EVERY` idle iterations as busy).
    #[inline]
    fn mark(&mut self) {
        if !self.found && self.stale {
            self.since = crate::dpdk::Eal::tsc();
        }
        self.found = true;
    }
}

/// How often (in loop iterations) neighbour timers run.
const TICK_EVERY: u64 = 1024;

/// The worker loop; returns when `stop` is set. Owns its queues, its engine
/// and every mbuf it holds; all are freed before it returns.
pub fn run(w: WorkerSetup) -> i32 {
    let timeouts = w.published.load().timeouts;
    let lb = match Lb::with_page_advice(
        w.conn_capacity,
        timeouts,
        0x1234_5678 ^ u64::from(w.id.0),
        crate::dpdk::advise_huge_pages,
    ) {
        Ok(lb) => lb,
        Err(e) => {
            tracing::error!(
                worker = w.id.0,
                "connection table of {} entries: {e:?}",
                w.conn_capacity
            );
            w.startup.report(false);
            return 1;
        }
    };
    let mut lb = lb;
    lb.set_events(w.events.clone());
    let mut engine: Engine<Mbuf> = Engine::new(w.neigh, w.counters.clone(), w.burst * 8 + 64, lb);
    let mut bulk: Option<u32> = None;
    let mut snap: Arc<Snapshot> = w.published.load();
    engine.refresh(&snap);
    let me = usize::from(w.id.0);
    let mut rxbuf: Vec<Mbuf> = Vec::with_capacity(w.burst);
    // The prefetch pass's findings, one per frame of the current burst.
    let mut hints: Vec<Hint> = Vec::with_capacity(w.burst);
    // Room for a full engine output list plus the unsent tail kept from the
    // previous flush (at most `keep`): pushing never reallocates.
    let keep = w.burst * 2;
    let mut txbufs: Vec<Vec<Mbuf>> = (0..w.ports.len())
        .map(|_| Vec::with_capacity(w.burst * 8 + 64 + keep))
        .collect();
    let mut stalls = vec![0u8; w.ports.len()];
    // Which ports are kernel interfaces (their device calls are timed).
    let kernel_port: Vec<bool> = (0..w.ports.len())
        .map(|i| w.kernel_ports.iter().any(|k| usize::from(k.0) == i))
        .collect();
    let mut clock = Clock::new(w.epoch, w.tsc_hz);
    let sweep_per_ms = (w.conn_capacity / SWEEP_MS).max(SWEEP_MIN_PER_MS);
    let mut sweep_owed: usize = 0;
    let mut sweep_ms = clock.now_ms();
    let mut pool = &*w.pool;
    let mut iter: u64 = 0;
    let kernel_every = (w.tsc_hz / 1_000_000).max(1) * KERNEL_POLL_US;
    let mut kernel_polled: u64 = 0;
    let mut busy = Busy::default();
    tracing::info!(worker = w.id.0, rx = ?w.rx, tx_queue = w.tx_queue, "worker started");
    w.startup.report(true);
    while !w.stop.load(Ordering::Relaxed) {
        iter += 1;
        if w.published.generation() != snap.generation {
            snap = w.published.load();
            engine.refresh(&snap);
        }
        // The TSC (slow to read on some virtual machines) is read after
        // every busy iteration and every CLOCK_IDLE_EVERY idle ones: an
        // idle loop only needs the time for its timers.
        let fresh = busy.found || iter.is_multiple_of(CLOCK_IDLE_EVERY);
        let now_ms = if fresh { clock.now_ms() } else { clock.last_ms };
        if busy.found {
            // The previous iteration found work: its cycles, up to now.
            let spent = clock.last_tsc.wrapping_sub(busy.since);
            w.counters.busy_cycles.add(spent);
        }
        busy.begin(clock.last_tsc, fresh);
        for &(port, q) in &w.rx {
            let Some(dev) = w.ports.get(usize::from(port.0)) else {
                continue;
            };
            if dev.rx_burst(q, &mut rxbuf) == 0 {
                continue;
            }
            busy.mark();
            // Prefetch across the burst: packet headers, then the
            // connection-table bucket of every packet and, a few packets
            // behind, the record each bucket points to (that bucket has
            // arrived by then), then process.
            for m in rxbuf.iter() {
                m.prefetch();
            }
            engine.prefetch_burst(
                rxbuf.iter().map(|m| m.data()),
                port,
                &snap,
                &mut hints,
                crate::dpdk::prefetch_ptr,
            );
            for (m, hint) in rxbuf.drain(..).zip(hints.iter()) {
                if w.workers == 1 {
                    engine.rx_hinted(m, hint, port, &snap, &mut pool, now_ms);
                    continue;
                }
                match owner::of_frame(m.data(), &snap, w.workers) {
                    Some(o) if o != me => {
                        if let Err(x) = w.rings.push(me, o, Xfer::Packet(port, m)) {
                            drop(x);
                            w.counters.count_drop(DropReason::RedirectFull);
                        } else {
                            w.counters.redirected.inc();
                        }
                    }
                    _ => engine.rx_hinted(m, hint, port, &snap, &mut pool, now_ms),
                }
            }
        }
        // Exception path, kernel → wire: frames the kernel sends on a port's
        // kernel interface go out of the data port unchanged.
        let poll_kernel = clock.last_tsc.wrapping_sub(kernel_polled) >= kernel_every;
        if poll_kernel {
            kernel_polled = clock.last_tsc;
        }
        let kernel_t0 = if poll_kernel && !w.kernel_rx.is_empty() {
            crate::dpdk::Eal::tsc()
        } else {
            0
        };
        for &(tap, q, data) in w.kernel_rx.iter().filter(|_| poll_kernel) {
            let Some(dev) = w.ports.get(usize::from(tap.0)) else {
                continue;
            };
            if dev.rx_burst(q, &mut rxbuf) > 0 {
                busy.mark();
                kernel_polled = clock.last_tsc.wrapping_sub(kernel_every); // more may wait
                for m in rxbuf.drain(..) {
                    if let Some(b) = txbufs.get_mut(usize::from(data.0)) {
                        b.push(m);
                    }
                }
            }
        }
        if kernel_t0 != 0 {
            w.counters
                .kernel_cycles
                .add(crate::dpdk::Eal::tsc().wrapping_sub(kernel_t0));
        }
        if w.workers > 1 {
            for (p, ip, mac) in engine.learned().drain(..) {
                for o in (0..w.workers).filter(|o| *o != me) {
                    let _ = w.rings.push(me, o, Xfer::Learn(p, ip, mac));
                }
            }
            for from in (0..w.workers).filter(|f| *f != me) {
                for _ in 0..w.burst {
                    match w.rings.pop(from, me) {
                        Some(Xfer::Packet(port, m)) => {
                            busy.mark();
                            engine.rx(m, port, &snap, &mut pool, now_ms);
                        }
                        Some(Xfer::Learn(p, ip, mac)) => {
                            engine.learn_shared(p, ip, mac, &snap, now_ms)
                        }
                        None => break,
                    }
                }
            }
        } else {
            engine.learned().clear();
        }
        if iter.is_multiple_of(16) {
            for _ in 0..COMMANDS_PER_VISIT {
                match w.commands.pop() {
                    Some(Command::Install(r)) => {
                        engine.lb.install(&r, &snap, &w.counters, now_ms);
                    }
                    Some(Command::Advert { interval_cs }) => {
                        engine.send_adverts(&snap, &mut pool, interval_cs)
                    }
                    Some(Command::Garp { port, ip }) => {
                        engine.send_garp(port, ip, &snap, &mut pool)
                    }
                    Some(Command::Bulk) => bulk = Some(0),
                    None => break,
                }
            }
        }
        if let Some(from) = bulk {
            // Bulk sync: a slice of the table per iteration, only while the
            // event ring has room for it (the management side drains it).
            if w.events.capacity() - w.events.len() >= BULK_SLICE {
                let ev = &w.events;
                bulk = engine.lb.dump(from, BULK_SLICE, now_ms, |r| {
                    let _ = ev.push(crate::datapath::HaEvent::Sync(r));
                });
                if bulk.is_none() {
                    let _ = ev.push(crate::datapath::HaEvent::BulkDone);
                }
            }
        }
        if iter.is_multiple_of(TICK_EVERY) {
            clock.resync();
            engine.tick(&snap, &mut pool, now_ms);
            if let Some(gen) = w.mailbox.pending() {
                w.mailbox.answer(gen, conn_rows(&engine, now_ms));
            }
        }
        if now_ms != sweep_ms {
            let ms = usize::try_from(now_ms.saturating_sub(sweep_ms)).unwrap_or(usize::MAX);
            sweep_owed = sweep_owed
                .saturating_add(ms.saturating_mul(sweep_per_ms))
                .min(w.conn_capacity.max(EXPIRE_BUDGET));
            sweep_ms = now_ms;
        }
        if sweep_owed > 0 && iter.is_multiple_of(EXPIRE_EVERY) {
            let budget = sweep_owed.min(EXPIRE_BUDGET);
            engine.expire_some(&snap, now_ms, budget);
            sweep_owed -= budget;
        }
        flush(
            &mut engine,
            &mut txbufs,
            &mut stalls,
            &kernel_port,
            keep,
            &w,
        );
        w.counters.loop_iterations.inc();
        if busy.found {
            w.counters.busy_iterations.inc();
        }
    }
    // Final flush, then everything we still hold is dropped (freed) here.
    flush(&mut engine, &mut txbufs, &mut stalls, &kernel_port, 0, &w);
    tracing::info!(
        worker = w.id.0,
        held = engine.neighbors().held_len(),
        "worker stopped"
    );
    0
}

/// This worker's connections as listing rows (allocates: only on request).
fn conn_rows(engine: &Engine<Mbuf>, now_ms: u64) -> Vec<crate::types::ConnRecord> {
    let mut rows = Vec::new();
    engine
        .lb
        .for_each_conn(|_, c| rows.push(c.record(c.remaining_ms(now_ms))));
    rows
}

/// Move the engine's output to the per-port TX buffers and transmit. What
/// `tx_burst` does not accept stays queued for the next iteration (up to
/// `keep` frames per port, and for at most `TX_STALL_LIMIT` flushes
/// without progress); beyond that it is dropped and counted `tx_full`.
fn flush(
    engine: &mut Engine<Mbuf>,
    txbufs: &mut [Vec<Mbuf>],
    stalls: &mut [u8],
    kernel_port: &[bool],
    keep: usize,
    w: &WorkerSetup,
) {
    for (port, m) in engine.out().drain(..) {
        if let Some(b) = txbufs.get_mut(usize::from(port.0)) {
            w.counters.tx_bytes.add(m.len() as u64);
            b.push(m);
        }
    }
    for (i, b) in txbufs.iter_mut().enumerate() {
        if b.is_empty() {
            continue;
        }
        let Some(dev) = w.ports.get(i) else {
            b.clear();
            continue;
        };
        let kernel = kernel_port.get(i).copied().unwrap_or(false);
        let t0 = if kernel { crate::dpdk::Eal::tsc() } else { 0 };
        let sent = dev.tx_burst(w.tx_queue, b);
        if kernel {
            w.counters
                .kernel_cycles
                .add(crate::dpdk::Eal::tsc().wrapping_sub(t0));
        }
        w.counters.tx_packets.add(sent as u64);
        let stall = stalls.get_mut(i);
        let limit = match stall {
            Some(s) if sent == 0 && !b.is_empty() => {
                *s = s.saturating_add(1);
                if *s > TX_STALL_LIMIT {
                    0
                } else {
                    keep
                }
            }
            Some(s) => {
                *s = 0;
                keep
            }
            None => 0,
        };
        if b.len() > limit {
            for _ in limit..b.len() {
                w.counters.count_drop(DropReason::TxFull);
            }
            b.truncate(limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Startup;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn startup_waits_for_every_worker_and_reports_a_failure() {
        let s = Arc::new(Startup::default());
        let t = {
            let s = s.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                s.report(true);
                s.report(true);
            })
        };
        assert_eq!(s.wait(2, Duration::from_secs(10)), Ok(()));
        t.join().unwrap();
        let e = s.wait(3, Duration::from_millis(20)).unwrap_err();
        assert!(e.contains("not ready"), "{e}");
        s.report(false);
        let e = s.wait(3, Duration::from_secs(10)).unwrap_err();
        assert!(e.contains("1 worker(s) failed"), "{e}");
    }
}
