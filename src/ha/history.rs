//! `History`: the last role transitions, each with when (monotonic and wall
//! clock), from, to and why, for `lvsadm show ha` and the metrics. Pure: the
//! caller passes both clocks, nothing here reads one or does I/O.
//!
//! Invariants: at most [`History::capacity`] entries are kept (the oldest
//! is dropped first) and a detail is at most [`MAX_DETAIL`] bytes, so the
//! memory is bounded whatever the peer or the ports do; the count per
//! `(from, to, reason)` covers every transition ever recorded (bounded by
//! the number of roles and reasons); never panics.

use super::role::{Reason, Role, Transition};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Instant, SystemTime};

/// Entries kept by default.
pub const DEFAULT_CAPACITY: usize = 16;

/// The longest detail kept (longer ones are cut at a character boundary).
pub const MAX_DETAIL: usize = 128;

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When, on the monotonic clock (for ages).
    pub at: Instant,
    /// When, on the wall clock (for people).
    pub wall: SystemTime,
    pub from: Role,
    pub to: Role,
    pub reason: Reason,
    /// What the reason does not say (for a fault: which one).
    pub detail: Option<String>,
}

/// The bounded ring of the last transitions and the count of all of them.
#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    entries: VecDeque<Entry>,
    counts: BTreeMap<(&'static str, &'static str, &'static str), u64>,
}

impl Default for History {
    fn default() -> Self {
        History::new(DEFAULT_CAPACITY)
    }
}

impl History {
    /// An empty history keeping at most `capacity` (at least 1) entries.
    pub fn new(capacity: usize) -> History {
        let capacity = capacity.max(1);
        History {
            capacity,
            entries: VecDeque::with_capacity(capacity),
            counts: BTreeMap::new(),
        }
    }

    /// Entries kept at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records `t`, which happened at wall-clock time `wall`.
    pub fn record(&mut self, t: &Transition, wall: SystemTime, detail: Option<&str>) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry {
            at: t.at,
            wall,
            from: t.from,
            to: t.to,
            reason: t.reason,
            detail: detail.map(cut),
        });
        let n = self
            .counts
            .entry((t.from.as_str(), t.to.as_str(), t.reason.as_str()))
            .or_insert(0);
        *n = n.saturating_add(1);
    }

    /// The kept entries, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> + ExactSizeIterator {
        self.entries.iter()
    }

    /// The latest entry.
    pub fn last(&self) -> Option<&Entry> {
        self.entries.back()
    }

    /// Every transition ever recorded, counted by `(from, to, reason)`.
    pub fn counts(
        &self,
    ) -> impl Iterator<Item = ((&'static str, &'static str, &'static str), u64)> + '_ {
        self.counts.iter().map(|(k, n)| (*k, *n))
    }

    /// Transitions ever recorded.
    pub fn total(&self) -> u64 {
        self.counts.values().fold(0u64, |a, n| a.saturating_add(*n))
    }
}

/// `s` cut to at most [`MAX_DETAIL`] bytes at a character boundary.
fn cut(s: &str) -> String {
    let mut end = s.len().min(MAX_DETAIL);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(from: Role, to: Role, reason: Reason, at: Instant) -> Transition {
        Transition {
            from,
            to,
            reason,
            at,
        }
    }

    #[test]
    fn keeps_the_last_entries_in_order_and_counts_all() {
        let t0 = Instant::now();
        let w0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut h = History::new(3);
        for i in 0..5u64 {
            let (from, to, why) = if i % 2 == 0 {
                (Role::Backup, Role::Active, Reason::NoActivePeer)
            } else {
                (Role::Active, Role::Backup, Reason::HigherRankActive)
            };
            let at = t0 + Duration::from_secs(i);
            h.record(&t(from, to, why, at), w0 + Duration::from_secs(i), None);
        }
        assert_eq!(h.entries().len(), 3);
        let kept: Vec<u64> = h
            .entries()
            .map(|e| e.at.duration_since(t0).as_secs())
            .collect();
        assert_eq!(kept, [2, 3, 4]);
        let last = h.last().expect("last");
        assert_eq!((last.from, last.to), (Role::Backup, Role::Active));
        assert_eq!(last.wall, w0 + Duration::from_secs(4));
        assert_eq!(h.total(), 5);
        let counts: Vec<_> = h.counts().collect();
        assert_eq!(
            counts,
            [
                (("active", "backup", "higher_rank_active"), 2),
                (("backup", "active", "no_active_peer"), 3),
            ]
        );
    }

    #[test]
    fn a_long_detail_is_cut_at_a_character_boundary() {
        let now = Instant::now();
        let mut h = History::new(0);
        assert_eq!(h.capacity(), 1);
        let long = "é".repeat(200);
        let tr = t(Role::Active, Role::Fault, Reason::FaultRaised, now);
        h.record(&tr, SystemTime::UNIX_EPOCH, Some(&long));
        h.record(&tr, SystemTime::UNIX_EPOCH, Some("port ext: no link"));
        assert_eq!(h.entries().len(), 1);
        assert_eq!(
            h.last().and_then(|e| e.detail.as_deref()),
            Some("port ext: no link")
        );
        let mut h = History::default();
        h.record(&tr, SystemTime::UNIX_EPOCH, Some(&long));
        let d = h.last().and_then(|e| e.detail.clone()).unwrap_or_default();
        assert!(
            d.len() <= MAX_DETAIL && d.len() >= MAX_DETAIL - 1,
            "{}",
            d.len()
        );
        assert!(long.starts_with(&d));
    }
}
