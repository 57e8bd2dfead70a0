//! One worker's loop state and the named steps of a loop iteration:
//! receive (with redirects to the owning worker), frames from other
//! workers, the kernel path, commands, bulk sync, timers, expiry, flush.
//! Generic over the ports ([`PortIo`]) and the buffer allocator, so tests
//! run whole iterations on in-memory ports.
use super::clock::{Busy, Clock};
use super::control::conn_rows;
use super::io::PortIo;
use super::{Command, Rings, WorkerSetup, Xfer};
use crate::datapath::{Counters, DropReason, Engine, HaEvent, Hint, Lb, Snapshot};
use crate::frame::{Frame, FrameAlloc};
use crate::types::{PortId, WorkerId};
use std::sync::atomic::Ordering;
use std::sync::Arc;

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

/// While idle, the clock is read every `CLOCK_IDLE_EVERY` iterations.
const CLOCK_IDLE_EVERY: u64 = 16;

/// How often (in loop iterations) neighbour timers run.
const TICK_EVERY: u64 = 1024;

/// How often (in loop iterations) the command ring is visited.
const COMMANDS_EVERY: u64 = 16;

/// The expiry sweep's account: slots owed, and the clock it was paid to.
struct Sweep {
    per_ms: usize,
    owed: usize,
    ms: u64,
}

/// A worker between iterations: its setup, engine, buffers and clocks.
pub(super) struct Worker<P: PortIo, A> {
    pub(super) w: WorkerSetup<P, A>,
    pub(super) engine: Engine<P::Buf>,
    snap: Arc<Snapshot>,
    rxbuf: Vec<P::Buf>,
    /// The prefetch pass's findings, one per frame of the current burst.
    hints: Vec<Hint>,
    /// Per port: frames waiting for `tx_burst`.
    txbufs: Vec<Vec<P::Buf>>,
    stalls: Vec<u8>,
    /// Which ports are kernel interfaces (their device calls are timed).
    kernel_port: Vec<bool>,
    /// Unsent frames kept per port between flushes.
    keep: usize,
    clock: Clock<P>,
    busy: Busy<P>,
    sweep: Sweep,
    iter: u64,
    now_ms: u64,
    kernel_every: u64,
    kernel_polled: u64,
    /// Next table slot of a bulk sync in progress.
    bulk: Option<u32>,
}

impl<P: PortIo, A: FrameAlloc<Frame = P::Buf>> Worker<P, A> {
    /// Build the connection table and the engine; `None` (logged, and
    /// reported to `startup`) when the table cannot be allocated.
    pub(super) fn new(w: WorkerSetup<P, A>) -> Option<Self> {
        let timeouts = w.published.load().timeouts;
        let seed = w.seed;
        let mut lb = match Lb::with_page_advice(w.conn_capacity, timeouts, seed, P::page_advice()) {
            Ok(lb) => lb,
            Err(e) => {
                let n = w.conn_capacity;
                tracing::error!(worker = w.id.0, "connection table of {n} entries: {e:?}");
                w.startup.report(false);
                return None;
            }
        };
        lb.set_events(w.events.clone());
        lb.set_real_loads(w.real_loads.clone());
        let out = w.burst * 8 + 64;
        let mut engine = Engine::new(w.neigh, w.counters.clone(), out, lb);
        engine.set_owner(w.id, w.workers);
        let snap = w.published.load();
        engine.refresh(&snap);
        // Room for a full engine output list plus the unsent tail kept from
        // the previous flush (at most `keep`): pushing never reallocates.
        let keep = w.burst * 2;
        let ports = w.io.port_count();
        let mut clock = Clock::new(w.epoch, w.tsc_hz);
        let now_ms = clock.now_ms();
        Some(Worker {
            rxbuf: Vec::with_capacity(w.burst),
            hints: Vec::with_capacity(w.burst),
            txbufs: (0..ports).map(|_| Vec::with_capacity(out + keep)).collect(),
            stalls: vec![0u8; ports],
            kernel_port: (0..ports)
                .map(|i| w.kernel_ports.iter().any(|k| usize::from(k.0) == i))
                .collect(),
            keep,
            clock,
            busy: Busy::default(),
            sweep: Sweep {
                per_ms: (w.conn_capacity / SWEEP_MS).max(SWEEP_MIN_PER_MS),
                owed: 0,
                ms: now_ms,
            },
            iter: 0,
            now_ms,
            kernel_every: (w.tsc_hz / 1_000_000).max(1) * KERNEL_POLL_US,
            kernel_polled: 0,
            bulk: None,
            engine,
            snap,
            w,
        })
    }

    /// Tell the management side this worker polls from now on.
    pub(super) fn started(&self) {
        let w = &self.w;
        tracing::info!(worker = w.id.0, rx = ?w.rx, tx_queue = w.tx_queue, "worker started");
        w.startup.report(true);
    }

    /// Has the management side asked the workers to stop?
    #[inline]
    pub(super) fn stopping(&self) -> bool {
        self.w.stop.load(Ordering::Relaxed)
    }

    /// One pass of the loop, every step in order.
    #[inline]
    pub(super) fn iteration(&mut self) {
        self.begin();
        self.receive();
        self.kernel_path();
        self.between_workers();
        self.commands();
        self.bulk_sync();
        self.timers();
        self.expiry();
        self.flush(self.keep);
        self.w.counters.loop_iterations.inc();
        if self.busy.found {
            self.w.counters.busy_iterations.inc();
        }
    }

    /// Final flush; everything still held is dropped (freed) with `self`.
    pub(super) fn finish(mut self) {
        self.flush(0);
        let held = self.engine.neighbors().held_len();
        tracing::info!(worker = self.w.id.0, held, "worker stopped");
    }

    /// Start an iteration: follow a new snapshot, read the clock, account
    /// the previous iteration's busy cycles.
    #[inline]
    fn begin(&mut self) {
        self.iter += 1;
        if self.w.published.generation() != self.snap.generation {
            self.snap = self.w.published.load();
            self.engine.refresh(&self.snap);
        }
        // The TSC (slow to read on some virtual machines) is read after
        // every busy iteration and every CLOCK_IDLE_EVERY idle ones: an
        // idle loop only needs the time for its timers.
        let fresh = self.busy.found || self.iter.is_multiple_of(CLOCK_IDLE_EVERY);
        self.now_ms = if fresh {
            self.clock.now_ms()
        } else {
            self.clock.last_ms
        };
        if self.busy.found {
            // The previous iteration found work: its cycles, up to now.
            let spent = self.clock.last_tsc.wrapping_sub(self.busy.since);
            self.w.counters.busy_cycles.add(spent);
        }
        self.busy.begin(self.clock.last_tsc, fresh);
    }

    /// Receive: a burst from each of this worker's RX queues.
    #[inline]
    fn receive(&mut self) {
        for i in 0..self.w.rx.len() {
            let Some(&(port, q)) = self.w.rx.get(i) else {
                break;
            };
            self.receive_burst(port, q);
        }
    }

    /// One RX burst: the prefetch pass, then each frame to the engine, or
    /// to the worker that owns its flow (decided by the prefetch pass).
    #[inline]
    fn receive_burst(&mut self, port: PortId, q: u16) {
        if self.w.io.rx_burst(port, q, &mut self.rxbuf) == 0 {
            return;
        }
        self.busy.mark();
        // Prefetch across the burst: packet headers, then the
        // connection-table bucket of every packet and, a few packets
        // behind, the record each bucket points to (that bucket has
        // arrived by then), then process.
        for m in self.rxbuf.iter() {
            P::prefetch_frame(m);
        }
        let frames = self.rxbuf.iter().map(|m| m.data());
        let (snap, hints) = (&self.snap, &mut self.hints);
        self.engine
            .prefetch_burst(frames, port, snap, hints, P::touch);
        let now_ms = self.now_ms;
        let w = &mut self.w;
        for (m, hint) in self.rxbuf.drain(..).zip(self.hints.iter()) {
            match hint.redirect() {
                Some(to) => redirect(&w.rings, &w.counters, w.id, to, port, m),
                None => self
                    .engine
                    .rx_hinted(m, hint, port, &self.snap, &mut w.alloc, now_ms),
            }
        }
    }

    /// Exception path, kernel → wire: frames the kernel sends on a port's
    /// kernel interface go out of the data port unchanged.
    fn kernel_path(&mut self) {
        if self.clock.last_tsc.wrapping_sub(self.kernel_polled) < self.kernel_every {
            return;
        }
        self.kernel_polled = self.clock.last_tsc;
        if self.w.kernel_rx.is_empty() {
            return;
        }
        let t0 = P::tsc();
        for i in 0..self.w.kernel_rx.len() {
            let Some(&(tap, q, data)) = self.w.kernel_rx.get(i) else {
                break;
            };
            if self.w.io.rx_burst(tap, q, &mut self.rxbuf) > 0 {
                self.busy.mark();
                // More may wait: poll again next iteration.
                self.kernel_polled = self.clock.last_tsc.wrapping_sub(self.kernel_every);
                for m in self.rxbuf.drain(..) {
                    if let Some(b) = self.txbufs.get_mut(usize::from(data.0)) {
                        b.push(m);
                    }
                }
            }
        }
        let spent = P::tsc().wrapping_sub(t0);
        self.w.counters.kernel_cycles.add(spent);
    }

    /// Between workers: share the neighbours this one learned, then take
    /// the frames other workers redirected here and their neighbours.
    fn between_workers(&mut self) {
        let w = &mut self.w;
        if w.workers <= 1 {
            self.engine.learned().clear();
            return;
        }
        let me = usize::from(w.id.0);
        for (p, ip, mac) in self.engine.learned().drain(..) {
            for o in (0..w.workers).filter(|o| *o != me) {
                let _ = w.rings.push(me, o, Xfer::Learn(p, ip, mac));
            }
        }
        let now_ms = self.now_ms;
        for from in (0..w.workers).filter(|f| *f != me) {
            for _ in 0..w.burst {
                match w.rings.pop(from, me) {
                    Some(Xfer::Packet(port, m)) => {
                        self.busy.mark();
                        let snap = &self.snap;
                        self.engine.rx(m, port, snap, &mut w.alloc, now_ms);
                    }
                    Some(Xfer::Learn(p, ip, mac)) => {
                        self.engine.learn_shared(p, ip, mac, &self.snap, now_ms)
                    }
                    None => break,
                }
            }
        }
    }

    /// Commands from the management side, every `COMMANDS_EVERY`
    /// iterations.
    fn commands(&mut self) {
        if !self.iter.is_multiple_of(COMMANDS_EVERY) {
            return;
        }
        let (w, e, snap, now_ms) = (&mut self.w, &mut self.engine, &self.snap, self.now_ms);
        for _ in 0..COMMANDS_PER_VISIT {
            match w.commands.pop() {
                Some(Command::Install(r)) => {
                    e.lb.install(&r, snap, &w.counters, now_ms);
                }
                Some(Command::Advert { port, body }) => {
                    e.send_advert(port, &body, snap, &mut w.alloc)
                }
                Some(Command::Garp { port, ip }) => e.send_garp(port, ip, snap, &mut w.alloc),
                Some(Command::Bulk) => self.bulk = Some(0),
                None => break,
            }
        }
    }

    /// Bulk sync: a slice of the table per iteration, only while the
    /// event ring has room for it (the management side drains it).
    fn bulk_sync(&mut self) {
        let Some(from) = self.bulk else { return };
        let ev = &self.w.events;
        if ev.capacity() - ev.len() < BULK_SLICE {
            return;
        }
        self.bulk = self.engine.lb.dump(from, BULK_SLICE, self.now_ms, |r| {
            let _ = ev.push(HaEvent::Sync(r));
        });
        if self.bulk.is_none() {
            let _ = ev.push(HaEvent::BulkDone);
        }
    }

    /// Every `TICK_EVERY` iterations: re-anchor the clock, neighbour
    /// timers, and answer a connection listing request.
    fn timers(&mut self) {
        if !self.iter.is_multiple_of(TICK_EVERY) {
            return;
        }
        self.clock.resync();
        let now_ms = self.now_ms;
        self.engine.tick(&self.snap, &mut self.w.alloc, now_ms);
        if let Some(gen) = self.w.mailbox.pending() {
            self.w.mailbox.answer(gen, conn_rows(&self.engine, now_ms));
        }
    }

    /// Expiry: pay what the clock owes the sweep, a slice at a time.
    fn expiry(&mut self) {
        let (s, now_ms) = (&mut self.sweep, self.now_ms);
        if now_ms != s.ms {
            let ms = usize::try_from(now_ms.saturating_sub(s.ms)).unwrap_or(usize::MAX);
            s.owed = s
                .owed
                .saturating_add(ms.saturating_mul(s.per_ms))
                .min(self.w.conn_capacity.max(EXPIRE_BUDGET));
            s.ms = now_ms;
        }
        if s.owed > 0 && self.iter.is_multiple_of(EXPIRE_EVERY) {
            let budget = s.owed.min(EXPIRE_BUDGET);
            self.engine.expire_some(&self.snap, now_ms, budget);
            s.owed -= budget;
        }
    }

    /// Move the engine's output to the per-port TX buffers and transmit.
    /// What `tx_burst` does not accept stays queued for the next iteration
    /// (up to `keep` frames per port, and for at most `TX_STALL_LIMIT`
    /// flushes without progress); beyond that it is dropped and counted
    /// `tx_full`.
    fn flush(&mut self, keep: usize) {
        let counters = &self.w.counters;
        for (port, m) in self.engine.out().drain(..) {
            if let Some(b) = self.txbufs.get_mut(usize::from(port.0)) {
                counters.tx_bytes.add(m.len() as u64);
                b.push(m);
            }
        }
        for i in 0..self.txbufs.len() {
            self.flush_port(i, keep);
        }
    }

    /// Transmit port `i`'s TX buffer (see [`flush`](Self::flush)).
    fn flush_port(&mut self, i: usize, keep: usize) {
        let (w, Some(b)) = (&self.w, self.txbufs.get_mut(i)) else {
            return;
        };
        if b.is_empty() {
            return;
        }
        let kernel = self.kernel_port.get(i).copied().unwrap_or(false);
        let t0 = if kernel { P::tsc() } else { 0 };
        let sent = w.io.tx_burst(PortId(i as u16), w.tx_queue, b);
        if kernel {
            w.counters.kernel_cycles.add(P::tsc().wrapping_sub(t0));
        }
        w.counters.tx_packets.add(sent as u64);
        let limit = match self.stalls.get_mut(i) {
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

/// Move a frame to the worker `to` that owns its flow; a full ring is a
/// counted drop.
#[inline]
fn redirect<F>(
    rings: &Rings<F>,
    counters: &Counters,
    me: WorkerId,
    to: WorkerId,
    port: PortId,
    m: F,
) {
    let (me, to) = (usize::from(me.0), usize::from(to.0));
    if let Err(x) = rings.push(me, to, Xfer::Packet(port, m)) {
        drop(x);
        counters.count_drop(DropReason::RedirectFull);
    } else {
        counters.redirected.inc();
    }
}
