//! Per-worker counters: written by exactly one worker with relaxed
//! load+store (no atomic read-modify-write on the fast path), read by the
//! management side with relaxed loads. Values are monotonic.
use super::DropReason;
use crate::conn::ConnTable;
use std::sync::atomic::{AtomicU64, Ordering};

/// One single-writer counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Add `n` (single writer only).
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }
    /// Add one (single writer only).
    #[inline]
    pub fn inc(&self) {
        self.add(1)
    }
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Most real servers (stable ids) whose traffic is counted.
pub const MAX_REALS: usize = 16384;

/// Per-real counters of one worker (ipvsadm `--stats` columns, and the
/// active/inactive connection gauges).
#[derive(Debug, Default)]
pub struct RealCounters {
    pub conns: Counter,
    pub in_pkts: Counter,
    pub out_pkts: Counter,
    pub in_bytes: Counter,
    pub out_bytes: Counter,
    /// Current active connections on this worker (gauge, single writer).
    pub active: Counter,
    /// Current inactive connections on this worker (gauge, single writer).
    pub inactive: Counter,
}

impl Counter {
    /// Set a gauge (single writer only).
    #[inline]
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
}

/// Everything a worker counts.
#[derive(Debug)]
pub struct Counters {
    pub rx_packets: Counter,
    pub rx_bytes: Counter,
    pub tx_packets: Counter,
    pub tx_bytes: Counter,
    pub arp_replies_sent: Counter,
    pub arp_replies_received: Counter,
    pub arp_requests_sent: Counter,
    pub icmp_echo_replies: Counter,
    pub loop_iterations: Counter,
    pub busy_iterations: Counter,
    /// TSC cycles spent in iterations that found work (cycles per packet =
    /// busy_cycles / rx_packets: the worker's cost, whatever its load).
    pub busy_cycles: Counter,
    /// TSC cycles spent in the kernel exception path's device calls (the
    /// tap RX polls and TX bursts, one syscall per frame or empty poll):
    /// what the director's own traffic — health checks, ssh — costs the
    /// worker, part of `busy_cycles` when the iteration found work.
    pub kernel_cycles: Counter,
    /// Packets handled completely by the established fast path.
    pub fast_path: Counter,
    pub redirected: Counter,
    pub conns_created: Counter,
    pub conns_expired: Counter,
    /// Live entries in this worker's connection table (gauge).
    pub conn_table_len: Counter,
    /// This worker's connection-table capacity.
    pub conn_table_capacity: Counter,
    /// Live embryonic entries recycled by the pressure policy: TCP, then
    /// UDP and other protocols (copies of the table's counts).
    pub conn_evicted: [Counter; 2],
    /// Embryonic timers cut short under table pressure.
    pub conn_shortened: Counter,
    /// Sync records sent to the management side.
    pub sync_records: Counter,
    /// Sync records lost because the event ring was full.
    pub sync_dropped: Counter,
    /// Synced connections installed (backup side).
    pub sync_installed: Counter,
    drops: [Counter; DropReason::COUNT],
    /// Indexed by `RealId`.
    pub reals: Box<[RealCounters]>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            rx_packets: Counter::default(),
            rx_bytes: Counter::default(),
            tx_packets: Counter::default(),
            tx_bytes: Counter::default(),
            arp_replies_sent: Counter::default(),
            arp_replies_received: Counter::default(),
            arp_requests_sent: Counter::default(),
            icmp_echo_replies: Counter::default(),
            loop_iterations: Counter::default(),
            busy_iterations: Counter::default(),
            busy_cycles: Counter::default(),
            kernel_cycles: Counter::default(),
            fast_path: Counter::default(),
            redirected: Counter::default(),
            conns_created: Counter::default(),
            conns_expired: Counter::default(),
            conn_table_len: Counter::default(),
            conn_table_capacity: Counter::default(),
            conn_evicted: Default::default(),
            conn_shortened: Counter::default(),
            sync_records: Counter::default(),
            sync_dropped: Counter::default(),
            sync_installed: Counter::default(),
            drops: std::array::from_fn(|_| Counter::default()),
            reals: (0..MAX_REALS).map(|_| RealCounters::default()).collect(),
        }
    }
}

impl Counters {
    /// Count one drop.
    #[inline]
    pub fn count_drop(&self, r: DropReason) {
        self.drops[r.index()].inc();
    }
    /// The counters of real `id` (a dummy beyond [`MAX_REALS`]).
    #[inline]
    pub fn real(&self, id: u16) -> Option<&RealCounters> {
        self.reals.get(usize::from(id))
    }
    /// Drops so far for one reason.
    pub fn drops(&self, r: DropReason) -> u64 {
        self.drops[r.index()].get()
    }
    /// Copy the table's size and pressure-policy counts.
    #[inline]
    pub fn publish_table(&self, t: &ConnTable) {
        let s = t.stats();
        self.conn_table_len.set(t.len() as u64);
        self.conn_evicted[0].set(s.evicted_tcp);
        self.conn_evicted[1].set(s.evicted_udp);
        self.conn_shortened.set(s.shortened);
    }
    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().map(Counter::get).sum()
    }
}
