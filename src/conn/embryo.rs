//! The embryo ring: a bounded FIFO of the connections that have not yet
//! proven a peer (see `pressure.rs` for the policy), oldest first.
//!
//! Invariants:
//! * `slots` is allocated once (a quarter of the table's capacity, at least
//!   one entry: 2 bytes per connection) and never grows;
//! * an entry is `(id, tag)`: the slab slot and a tag of the record's
//!   immutable key fields when it was pushed. Removal is lazy: nothing is
//!   done when an entry's connection leaves the embryonic state or is
//!   freed; the entry is recognised as stale when popped (slot free, flag
//!   clear, or the tag of a different record now in the slot). So the
//!   per-packet paths never touch the ring;
//! * pushing into a full ring hands back the oldest entry, which the
//!   caller recycles or stops tracking: O(1) per push, O(1) amortised per
//!   pop (every entry is popped at most once).

use super::advice::{advise, PageAdvice};

/// One ring entry: slab id and the record's tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub id: u32,
    pub tag: u32,
}

const EMPTY: Entry = Entry { id: 0, tag: 0 };

/// Connections per ring entry.
pub(crate) const RING_DIV: usize = 4;

/// Fixed-size FIFO of [`Entry`].
pub(crate) struct EmbryoRing {
    slots: Vec<Entry>,
    head: usize,
    len: usize,
}

impl EmbryoRing {
    /// A ring for a table of `capacity` connections.
    pub(crate) fn new(capacity: usize, advice: PageAdvice) -> Option<EmbryoRing> {
        let n = capacity.div_ceil(RING_DIV).max(1);
        let mut slots = Vec::new();
        slots.try_reserve_exact(n).ok()?;
        advise(&slots, advice);
        slots.resize(n, EMPTY);
        Some(EmbryoRing {
            slots,
            head: 0,
            len: 0,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Entry>()
    }

    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Append `e`; when the ring was full, the oldest entry is dropped to
    /// make room and returned.
    pub(crate) fn push(&mut self, e: Entry) -> Option<Entry> {
        let n = self.slots.len();
        let dropped = if self.len == n { self.pop() } else { None };
        let at = (self.head + self.len) % n;
        if let Some(s) = self.slots.get_mut(at) {
            *s = e;
            self.len += 1;
        }
        dropped
    }

    /// The oldest entry, left in place.
    pub(crate) fn peek(&self) -> Option<Entry> {
        if self.len == 0 {
            return None;
        }
        self.slots.get(self.head).copied()
    }

    /// Remove and return the oldest entry.
    pub(crate) fn pop(&mut self) -> Option<Entry> {
        if self.len == 0 {
            return None;
        }
        let e = *self.slots.get(self.head)?;
        self.head = (self.head + 1) % self.slots.len();
        self.len -= 1;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::advice::no_advice;

    #[test]
    fn fifo_and_overflow_returns_the_oldest() {
        let mut r = EmbryoRing::new(8, no_advice).unwrap(); // 2 entries
        let e = |id| Entry { id, tag: id * 10 };
        assert_eq!(r.push(e(1)), None);
        assert_eq!(r.push(e(2)), None);
        assert_eq!(r.push(e(3)), Some(e(1)));
        assert_eq!(r.len(), 2);
        assert_eq!(r.pop(), Some(e(2)));
        assert_eq!(r.pop(), Some(e(3)));
        assert_eq!(r.pop(), None);
        r.push(e(4));
        r.clear();
        assert_eq!(r.pop(), None);
        assert_eq!(EmbryoRing::new(0, no_advice).unwrap().slots.len(), 1);
    }
}
