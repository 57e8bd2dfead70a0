//! Requests from the management side that a worker answers between bursts
//! (it owns the state): today, a snapshot of its connection table for
//! listings. A request is a generation number; the worker answers when its
//! `done` generation lags, checked once every few hundred loop iterations.
use crate::datapath::Engine;
use crate::frame::Frame;
use crate::types::ConnRecord;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One worker's mailbox.
#[derive(Default)]
pub struct Mailbox {
    request: AtomicU64,
    done: AtomicU64,
    rows: Mutex<Vec<ConnRecord>>,
}

impl Mailbox {
    /// Worker side: is a dump wanted?
    #[inline]
    pub fn pending(&self) -> Option<u64> {
        let r = self.request.load(Ordering::Acquire);
        (r != self.done.load(Ordering::Relaxed)).then_some(r)
    }

    /// Worker side: answer request `gen` with `rows`.
    pub fn answer(&self, gen: u64, rows: Vec<ConnRecord>) {
        if let Ok(mut r) = self.rows.lock() {
            *r = rows;
        }
        self.done.store(gen, Ordering::Release);
    }
}

/// Ask every worker for its connections and wait up to `timeout`.
/// Workers that do not answer in time are left out (and named in the
/// returned count of missing answers).
pub fn collect(boxes: &[std::sync::Arc<Mailbox>], timeout: Duration) -> (Vec<ConnRecord>, usize) {
    let gens: Vec<u64> = boxes
        .iter()
        .map(|b| b.request.fetch_add(1, Ordering::AcqRel) + 1)
        .collect();
    let deadline = Instant::now() + timeout;
    let mut rows = Vec::new();
    let mut missing = 0;
    for (b, g) in boxes.iter().zip(gens) {
        while b.done.load(Ordering::Acquire) < g && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if b.done.load(Ordering::Acquire) >= g {
            if let Ok(mut r) = b.rows.lock() {
                rows.append(&mut r);
            }
        } else {
            missing += 1;
        }
    }
    (rows, missing)
}

/// This worker's connections as listing records (allocates: only on
/// request).
pub(super) fn conn_rows<F: Frame>(engine: &Engine<F>, now_ms: u64) -> Vec<ConnRecord> {
    let mut rows = Vec::new();
    engine
        .lb
        .for_each_conn(|_, c| rows.push(c.record(c.remaining_ms(now_ms))));
    rows
}
