//! Per-worker counters: written by exactly one worker with relaxed
//! load+store (no atomic read-modify-write on the fast path), read by the
//! management side with relaxed loads. Values are monotonic.
use super::DropReason;
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

/// Everything a worker counts.
#[derive(Debug, Default)]
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
    drops: [Counter; DropReason::COUNT],
}

impl Counters {
    /// Count one drop.
    #[inline]
    pub fn count_drop(&self, r: DropReason) {
        self.drops[r.index()].inc();
    }
    /// Drops so far for one reason.
    pub fn drops(&self, r: DropReason) -> u64 {
        self.drops[r.index()].get()
    }
    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().map(Counter::get).sum()
    }
}
