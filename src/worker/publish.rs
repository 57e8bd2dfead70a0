//! One published `Snapshot`, swapped whole by the management side and read
//! by workers once per burst: a relaxed generation check, and a lock-free
//! `ArcSwap` load only when it changed. Replaced snapshots are retired to
//! the management side and freed there, never on a worker lcore.
use crate::datapath::Snapshot;
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The current snapshot and its generation.
pub struct Published {
    current: ArcSwap<Snapshot>,
    generation: AtomicU64,
    retired: Mutex<Vec<Arc<Snapshot>>>,
}

impl Published {
    /// Publish the first snapshot.
    pub fn new(s: Snapshot) -> Self {
        let g = s.generation;
        Published {
            current: ArcSwap::from_pointee(s),
            generation: AtomicU64::new(g),
            retired: Mutex::new(Vec::new()),
        }
    }

    /// The generation workers should be on.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current snapshot.
    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Replace the snapshot (management side only). Its generation must be
    /// new. The old one is kept until [`collect`](Self::collect) sees no
    /// worker holds it.
    pub fn publish(&self, s: Snapshot) {
        let g = s.generation;
        let old = self.current.swap(Arc::new(s));
        self.generation.store(g, Ordering::Release);
        if let Ok(mut r) = self.retired.lock() {
            r.push(old);
        }
    }

    /// Free retired snapshots no worker uses any more (management side).
    pub fn collect(&self) {
        if let Ok(mut r) = self.retired.lock() {
            r.retain(|s| Arc::strong_count(s) > 1);
        }
    }
}
