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

use crate::datapath::{neigh::NeighConfig, owner, Counters, DropReason, Engine, Lb, Snapshot};
use crate::dpdk::{Mbuf, Mempool, Port};
use crate::frame::Frame;
use crate::types::{PortId, WorkerId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

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
    /// Connection-table capacity of this worker.
    pub conn_capacity: usize,
    /// Number of workers (flow owners).
    pub workers: usize,
    pub rings: Arc<Rings>,
    pub mailbox: Arc<Mailbox>,
    /// Kernel interfaces this worker drains: (tap port, queue, its data
    /// port). What the kernel sends leaves through the data port unchanged.
    pub kernel_rx: Vec<(PortId, u16, PortId)>,
    /// Commands from the management side.
    pub commands: Arc<CommandRing>,
    /// Sync records and HA events for the management side.
    pub events: Arc<crate::datapath::EventRing>,
}

/// Commands applied per visit of the command ring.
const COMMANDS_PER_VISIT: usize = 256;
/// Table slots dumped per loop iteration during a bulk sync.
const BULK_SLICE: usize = 1024;

/// Slots of the connection table examined per loop iteration for expiry.
const EXPIRE_BUDGET: usize = 64;

/// How often (in loop iterations) neighbour timers run.
const TICK_EVERY: u64 = 1024;

/// The worker loop; returns when `stop` is set. Owns its queues, its engine
/// and every mbuf it holds; all are freed before it returns.
pub fn run(w: WorkerSetup) -> i32 {
    let timeouts = w.published.load().timeouts;
    let lb = match Lb::new(w.conn_capacity, timeouts, 0x1234_5678 ^ u64::from(w.id.0)) {
        Ok(lb) => lb,
        Err(e) => {
            tracing::error!(
                worker = w.id.0,
                "connection table of {} entries: {e:?}",
                w.conn_capacity
            );
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
    let mut txbufs: Vec<Vec<Mbuf>> = (0..w.ports.len())
        .map(|_| Vec::with_capacity(w.burst * 4 + 64))
        .collect();
    let mut pool = &*w.pool;
    let mut iter: u64 = 0;
    tracing::info!(worker = w.id.0, rx = ?w.rx, tx_queue = w.tx_queue, "worker started");
    while !w.stop.load(Ordering::Relaxed) {
        iter += 1;
        if w.published.generation() != snap.generation {
            snap = w.published.load();
            engine.refresh(&snap);
        }
        let now_ms = w.epoch.elapsed().as_millis() as u64;
        let mut busy = false;
        for &(port, q) in &w.rx {
            let Some(dev) = w.ports.get(usize::from(port.0)) else {
                continue;
            };
            if dev.rx_burst(q, &mut rxbuf) == 0 {
                continue;
            }
            busy = true;
            for m in rxbuf.iter() {
                m.prefetch();
            }
            for m in rxbuf.drain(..) {
                match owner::of_frame(m.data(), &snap, w.workers) {
                    Some(o) if o != me => {
                        if let Err(x) = w.rings.push(me, o, Xfer::Packet(port, m)) {
                            drop(x);
                            w.counters.count_drop(DropReason::RedirectFull);
                        } else {
                            w.counters.redirected.inc();
                        }
                    }
                    _ => engine.rx(m, port, &snap, &mut pool, now_ms),
                }
            }
        }
        // Exception path, kernel → wire: frames the kernel sends on a port's
        // kernel interface go out of the data port unchanged.
        for &(tap, q, data) in &w.kernel_rx {
            let Some(dev) = w.ports.get(usize::from(tap.0)) else {
                continue;
            };
            if dev.rx_burst(q, &mut rxbuf) > 0 {
                busy = true;
                for m in rxbuf.drain(..) {
                    if let Some(b) = txbufs.get_mut(usize::from(data.0)) {
                        b.push(m);
                    }
                }
            }
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
                            busy = true;
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
            engine.tick(&snap, &mut pool, now_ms);
            if let Some(gen) = w.mailbox.pending() {
                w.mailbox.answer(gen, conn_rows(&engine, now_ms));
            }
        }
        engine.expire_some(&snap, now_ms, EXPIRE_BUDGET);
        flush(&mut engine, &mut txbufs, &w, busy);
        w.counters.loop_iterations.inc();
        if busy {
            w.counters.busy_iterations.inc();
        }
    }
    // Final flush, then everything we still hold is dropped (freed) here.
    flush(&mut engine, &mut txbufs, &w, true);
    tracing::info!(
        worker = w.id.0,
        held = engine.neighbors().held_len(),
        "worker stopped"
    );
    0
}

/// This worker's connections as listing rows (allocates: only on request).
fn conn_rows(engine: &Engine<Mbuf>, now_ms: u64) -> Vec<crate::ctl::listing::ConnRow> {
    let mut rows = Vec::new();
    engine.lb.for_each_conn(|_, c| {
        let k = c.key();
        rows.push(crate::ctl::listing::ConnRow {
            proto: k.proto,
            state: c.state_name(),
            expires_ms: c.remaining_ms(now_ms),
            caddr: k.caddr,
            cport: k.cport,
            vaddr: k.vaddr,
            vport: k.vport,
            raddr: c.raddr(),
            rport: c.rport(),
        });
    });
    rows
}

fn flush(engine: &mut Engine<Mbuf>, txbufs: &mut [Vec<Mbuf>], w: &WorkerSetup, _busy: bool) {
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
        let sent = dev.tx_burst(w.tx_queue, b);
        w.counters.tx_packets.add(sent as u64);
        for _ in 0..b.len() {
            w.counters.count_drop(DropReason::TxFull);
        }
        b.clear();
    }
}
