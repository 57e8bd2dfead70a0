//! Worker lcores: the poll loop around `datapath::Engine`, TX buffering per
//! port, and the published snapshot that the management side swaps.
//!
//! The loop (`poll.rs`) is a sequence of named steps per iteration
//! (receive, frames between workers, kernel path, commands, bulk sync,
//! timers, expiry, flush), generic over the ports ([`PortIo`]: DPDK's in
//! [`DpdkPorts`], in-memory ones in tests) and the buffer allocator.
mod clock;
mod command;
mod control;
mod io;
mod poll;
mod publish;
mod rings;

pub use command::{Command, CommandRing};
pub use control::{collect, Collection, Mailbox};
pub use io::{DpdkPorts, PortIo};
pub use publish::Published;
pub use rings::{Rings, Xfer};

use crate::datapath::{neigh::NeighConfig, Counters};
use crate::frame::FrameAlloc;
use crate::types::{PortId, WorkerId};
use poll::Worker;
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

/// The management side's handles on the workers, one of each per worker:
/// counters, listing mailboxes, command rings and event rings. Made before
/// the workers start, so that `Runtime` is built complete.
#[derive(Clone)]
pub struct Links {
    pub counters: Vec<Arc<Counters>>,
    pub mailboxes: Vec<Arc<Mailbox>>,
    pub commands: Vec<Arc<CommandRing>>,
    pub events: Vec<Arc<crate::datapath::EventRing>>,
}

impl Links {
    /// Fresh handles for `n` workers.
    pub fn new(n: usize) -> Links {
        Links {
            counters: (0..n).map(|_| Arc::default()).collect(),
            mailboxes: (0..n).map(|_| Arc::default()).collect(),
            commands: (0..n).map(|_| Arc::new(CommandRing::new(65_536))).collect(),
            events: (0..n)
                .map(|_| Arc::new(crate::datapath::EventRing::new(65_536)))
                .collect(),
        }
    }
}

/// Everything one worker needs; moved onto its lcore. `P`: the ports
/// (`DpdkPorts` when running), `A`: where new frames come from (the
/// mempool when running).
pub struct WorkerSetup<P: PortIo, A> {
    pub id: WorkerId,
    /// All ports, indexed by lvsd `PortId`.
    pub io: P,
    /// (port, rx queue) pairs this worker polls.
    pub rx: Vec<(PortId, u16)>,
    /// This worker's TX queue on every port.
    pub tx_queue: u16,
    pub alloc: A,
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
    /// Seed of the table's hash, the IP ident and the schedulers' RNGs:
    /// [`fresh_seed`] when running (an attacker cannot aim at buckets),
    /// fixed in tests and benches.
    pub seed: u64,
    /// Number of workers (flow owners).
    pub workers: usize,
    pub rings: Arc<Rings<P::Buf>>,
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
    /// Per-real connection totals shared by all workers (thresholds).
    pub real_loads: Arc<crate::datapath::real_load::RealLoads>,
    /// Reported once the worker is about to poll (or has failed).
    pub startup: Arc<Startup>,
}

/// A seed from the operating system's randomness (falls back to the clock
/// and the process id should the OS refuse, so start-up never fails on it).
pub fn fresh_seed() -> u64 {
    let mut b = [0u8; 8];
    match getrandom::fill(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            t ^ (u64::from(std::process::id()) << 32)
        }
    }
}

/// The worker loop; returns when `stop` is set. Owns its queues, its engine
/// and every buffer it holds; all are freed before it returns.
pub fn run<P: PortIo, A: FrameAlloc<Frame = P::Buf>>(w: WorkerSetup<P, A>) -> i32 {
    let Some(mut worker) = Worker::new(w) else {
        return 1;
    };
    worker.started();
    while !worker.stopping() {
        worker.iteration();
    }
    worker.finish();
    0
}

#[cfg(test)]
mod tests;
