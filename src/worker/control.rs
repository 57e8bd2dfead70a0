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
    let mut c = Collection::start(boxes, timeout);
    loop {
        if let Some(done) = c.poll(boxes) {
            return done;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A listing request in flight, polled without waiting (the management
/// loop keeps serving heartbeats meanwhile): every worker was asked, and
/// the answers are gathered as each worker's `done` generation catches up.
pub struct Collection {
    gens: Vec<u64>,
    /// Each worker's answer, once it came (kept in worker order).
    answers: Vec<Option<Vec<ConnRecord>>>,
    deadline: Instant,
}

impl Collection {
    /// Ask every worker; answers later than `timeout` count as missing.
    pub fn start(boxes: &[std::sync::Arc<Mailbox>], timeout: Duration) -> Collection {
        Collection {
            gens: boxes
                .iter()
                .map(|b| b.request.fetch_add(1, Ordering::AcqRel) + 1)
                .collect(),
            answers: vec![None; boxes.len()],
            deadline: Instant::now() + timeout,
        }
    }

    /// Take the answers that arrived; once every worker answered (or the
    /// deadline passed) the rows and the count of workers that did not.
    pub fn poll(&mut self, boxes: &[std::sync::Arc<Mailbox>]) -> Option<(Vec<ConnRecord>, usize)> {
        for ((b, g), slot) in boxes.iter().zip(&self.gens).zip(&mut self.answers) {
            if slot.is_none() && b.done.load(Ordering::Acquire) >= *g {
                let rows = b.rows.lock().map(|mut r| std::mem::take(&mut *r));
                *slot = Some(rows.unwrap_or_default());
            }
        }
        let missing = self.answers.iter().filter(|a| a.is_none()).count();
        if missing > 0 && Instant::now() < self.deadline {
            return None;
        }
        // Moved, not copied row by row: one worker's rows are taken as
        // they are, several are a memcpy each.
        if let [only] = &mut self.answers[..] {
            return Some((only.take().unwrap_or_default(), missing));
        }
        let total = self.answers.iter().flatten().map(Vec::len).sum();
        let mut rows = Vec::with_capacity(total);
        for a in &mut self.answers {
            rows.append(&mut a.take().unwrap_or_default());
        }
        Some((rows, missing))
    }
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
