//! Fixed-size bucketized cuckoo hash index: key hash → slab value.
//!
//! Layout: `nb` buckets (any count ≥ 2, not a power of two, reduced with
//! multiply-shift), each one 64-byte cache line of 8 slots: `tags: [u16; 8]`,
//! a `spill` count, then `vals: [u32; 8]`. An entry with hash `h` may only
//! live in its two candidate buckets `b1(h)` (primary), `b2(h)` (always
//! distinct), so a lookup reads at most two cache lines of index whatever
//! the load, hit or miss, and deletion just clears the slot (no tombstones,
//! no backward shift, no degradation under churn). `spill` of a bucket counts
//! the entries whose primary it is but which live in their `b2`: while it is
//! 0 — nearly always below full load, since insertion fills primaries first
//! — a lookup that misses in the primary stops there, so a miss (every new
//! connection) reads one cache line, the one the burst prefetch fetched.
//!
//! Invariants:
//! * `vals[s] == EMPTY` ⇔ slot free; `tags[s]` of a free slot is meaningless.
//! * `spill` of bucket `b` = number of stored entries with `b1 == b` that sit
//!   in their `b2` (kept by every put, move and removal).
//! * Every stored entry sits in `b1` or `b2` of its own hash. The index does
//!   not keep keys: when an insertion finds both buckets full it searches a
//!   breadth-first cuckoo path (at most [`BFS_MAX`] buckets, each bucket at
//!   most once) and recomputes the hash of the entries it displaces through
//!   the caller's `rehash(val)` (the table rereads the slab record). The path
//!   is executed from its free end, so a failed search changes nothing.
//! * Duplicate hashes/values are allowed: `remove` deletes the slot holding
//!   exactly `val` in the entry's two buckets.
//! * Sized once at construction for `max_entries` at ≤ 90 % load
//!   ([`LOAD_PCT`]); never reallocates. The BFS queue is preallocated too.

use super::advice::{advise, PageAdvice};

/// Free-slot marker in `vals`.
pub(crate) const EMPTY: u32 = u32::MAX;
/// Slots per bucket.
pub(crate) const SLOTS: usize = 8;
/// Target maximum load factor, percent.
pub(crate) const LOAD_PCT: usize = 90;
/// Maximum number of buckets a cuckoo path search may visit.
pub(crate) const BFS_MAX: usize = 256;
const NO_PARENT: u32 = u32::MAX;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    tags: [u16; SLOTS],
    /// Entries whose primary bucket this is, stored in their alternate.
    spill: u16,
    _pad: [u16; 7],
    vals: [u32; SLOTS],
}

const _: () = assert!(std::mem::size_of::<Bucket>() == 64);

const EMPTY_BUCKET: Bucket = Bucket {
    tags: [0; SLOTS],
    spill: 0,
    _pad: [0; 7],
    vals: [EMPTY; SLOTS],
};

/// Candidate buckets and tag of one hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hashed {
    pub b1: u32,
    pub b2: u32,
    pub tag: u16,
}

#[derive(Clone, Copy, Default)]
struct BfsNode {
    bucket: u32,
    parent: u32,
    /// Slot in the parent bucket whose entry's alternate bucket is `bucket`.
    slot: u8,
}

pub(crate) struct Index {
    buckets: Vec<Bucket>,
    nb: u32,
    len: usize,
    bfs: Vec<BfsNode>,
}

/// Allocation failure while building the index.
#[derive(Debug)]
pub(crate) struct AllocError;

impl Index {
    /// Index able to hold `max_entries` at ≤ [`LOAD_PCT`] load, its buckets
    /// shown to `advice` before they are first written.
    pub(crate) fn new(max_entries: usize, advice: PageAdvice) -> Result<Index, AllocError> {
        let slots = max_entries
            .checked_mul(100)
            .ok_or(AllocError)?
            .div_ceil(LOAD_PCT);
        let nb = slots.div_ceil(SLOTS).max(2);
        let nb32 = u32::try_from(nb).map_err(|_| AllocError)?;
        let mut buckets = Vec::new();
        buckets.try_reserve_exact(nb).map_err(|_| AllocError)?;
        advise(&buckets, advice);
        buckets.resize(nb, EMPTY_BUCKET);
        let mut bfs = Vec::new();
        bfs.try_reserve_exact(BFS_MAX).map_err(|_| AllocError)?;
        Ok(Index {
            buckets,
            nb: nb32,
            len: 0,
            bfs,
        })
    }

    #[inline]
    pub(crate) fn hashed(&self, h: u64) -> Hashed {
        let nb = self.nb as u64;
        let lo = h as u32;
        let hi = (h >> 32) as u32;
        let b1 = ((lo as u64 * nb) >> 32) as u32;
        let mut b2 = ((hi as u64 * nb) >> 32) as u32;
        if b2 == b1 {
            b2 = if b1 + 1 == self.nb { 0 } else { b1 + 1 };
        }
        // Multiply-shift uses the high bits of each half: take the tag from
        // the low bits, mixing both halves.
        let tag = (lo ^ (hi >> 16)) as u16;
        Hashed { b1, b2, tag }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn slots(&self) -> usize {
        self.buckets.len() * SLOTS
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket>()
            + self.bfs.capacity() * std::mem::size_of::<BfsNode>()
    }

    pub(crate) fn clear(&mut self) {
        for b in self.buckets.iter_mut() {
            *b = EMPTY_BUCKET;
        }
        self.len = 0;
    }

    /// Hand the address of `hh`'s primary bucket to `touch` (a prefetch):
    /// insertion fills primaries first, so most hits need only that line,
    /// and prefetching both would double the memory traffic of a burst.
    #[inline]
    pub(crate) fn prefetch(&self, hh: Hashed, mut touch: impl FnMut(*const u8)) {
        if let Some(bk) = self.buckets.get(hh.b1 as usize) {
            touch(bk as *const Bucket as *const u8);
        }
    }

    /// The first value in `hh`'s primary bucket whose tag matches: the
    /// entry a hit compares first (for the second prefetch stage, once the
    /// bucket is in cache).
    #[inline]
    pub(crate) fn first_match(&self, hh: Hashed) -> Option<u32> {
        let bk = self.buckets.get(hh.b1 as usize)?;
        (0..SLOTS)
            .find(|&s| bk.tags[s] == hh.tag && bk.vals[s] != EMPTY)
            .map(|s| bk.vals[s])
    }

    /// First value with a matching tag in `b1` then (if `b1` has spilled)
    /// `b2` for which `pred` holds.
    #[inline(always)]
    pub(crate) fn find(&self, hh: Hashed, mut pred: impl FnMut(u32) -> bool) -> Option<u32> {
        let bk = self.buckets.get(hh.b1 as usize)?;
        for s in 0..SLOTS {
            if bk.tags[s] == hh.tag && bk.vals[s] != EMPTY && pred(bk.vals[s]) {
                return Some(bk.vals[s]);
            }
        }
        if bk.spill == 0 {
            return None;
        }
        let bk = self.buckets.get(hh.b2 as usize)?;
        (0..SLOTS)
            .find(|&s| bk.tags[s] == hh.tag && bk.vals[s] != EMPTY && pred(bk.vals[s]))
            .map(|s| bk.vals[s])
    }

    /// Every value with a matching tag in `b1` and `b2`, in lookup order.
    #[inline]
    pub(crate) fn for_each_match(&self, hh: Hashed, mut f: impl FnMut(u32)) {
        let spilled = self
            .buckets
            .get(hh.b1 as usize)
            .is_some_and(|b| b.spill > 0);
        for b in [hh.b1, hh.b2].into_iter().take(1 + spilled as usize) {
            if let Some(bk) = self.buckets.get(b as usize) {
                for s in 0..SLOTS {
                    if bk.tags[s] == hh.tag && bk.vals[s] != EMPTY {
                        f(bk.vals[s]);
                    }
                }
            }
        }
    }

    /// Remove the slot holding exactly `val` in `hh`'s buckets.
    pub(crate) fn remove(&mut self, hh: Hashed, val: u32) -> bool {
        for b in [hh.b1, hh.b2] {
            if let Some(bk) = self.buckets.get_mut(b as usize) {
                if let Some(s) = bk.vals.iter().position(|&v| v == val) {
                    bk.vals[s] = EMPTY;
                    bk.tags[s] = 0;
                    self.len -= 1;
                    if b != hh.b1 {
                        self.spill_add(hh.b1, -1);
                    }
                    return true;
                }
            }
        }
        false
    }

    /// Adjust bucket `b`'s spill count.
    #[inline]
    fn spill_add(&mut self, b: u32, d: i32) {
        if let Some(bk) = self.buckets.get_mut(b as usize) {
            bk.spill = if d > 0 {
                bk.spill.saturating_add(1)
            } else {
                bk.spill.saturating_sub(1)
            };
        }
    }

    /// Store an entry of hash `hh` in slot `s` of `b` (one of its buckets),
    /// counting it as spilled when `b` is its alternate.
    fn place(&mut self, hh: Hashed, b: u32, s: usize, val: u32) {
        self.put(b, s, hh.tag, val);
        if b != hh.b1 {
            self.spill_add(hh.b1, 1);
        }
    }

    /// Move the entry in `from` to `to` (its other bucket) for a cuckoo
    /// path, keeping its primary's spill count.
    fn relocate(&mut self, from: (u32, usize), to: (u32, usize), rehash: &impl Fn(u32) -> u64) {
        let (tag, v) = self.take(from.0, from.1);
        self.put(to.0, to.1, tag, v);
        let vh = self.hashed(rehash(v));
        if from.0 == vh.b1 {
            self.spill_add(vh.b1, 1);
        } else if to.0 == vh.b1 {
            self.spill_add(vh.b1, -1);
        }
    }

    fn free_slots(&self, b: u32) -> (usize, Option<usize>) {
        match self.buckets.get(b as usize) {
            Some(bk) => {
                let n = bk.vals.iter().filter(|&&v| v == EMPTY).count();
                (n, bk.vals.iter().position(|&v| v == EMPTY))
            }
            None => (0, None),
        }
    }

    fn put(&mut self, b: u32, s: usize, tag: u16, val: u32) {
        if let Some(bk) = self.buckets.get_mut(b as usize) {
            bk.tags[s] = tag;
            bk.vals[s] = val;
        }
    }

    fn take(&mut self, b: u32, s: usize) -> (u16, u32) {
        match self.buckets.get_mut(b as usize) {
            Some(bk) => {
                let e = (bk.tags[s], bk.vals[s]);
                bk.vals[s] = EMPTY;
                e
            }
            None => (0, EMPTY),
        }
    }

    /// Insert `val` under `hh`. `rehash(v)` must return the 64-bit hash of
    /// the stored entry `v`. Returns false (and changes nothing) when no
    /// cuckoo path of at most [`BFS_MAX`] buckets exists.
    pub(crate) fn insert(&mut self, hh: Hashed, val: u32, rehash: impl Fn(u32) -> u64) -> bool {
        // Primary first: most entries live in `b1`, so a lookup that
        // finds its entry there reads one cache line, and the burst
        // prefetch fetches only `b1` (see `prefetch`).
        let pick = match self.free_slots(hh.b1) {
            (_, Some(a)) => Some((hh.b1, a)),
            _ => self.free_slots(hh.b2).1.map(|b| (hh.b2, b)),
        };
        if let Some((b, s)) = pick {
            self.place(hh, b, s, val);
            self.len += 1;
            return true;
        }
        match self.cuckoo_path(hh, &rehash) {
            Some((b, s)) => {
                self.place(hh, b, s, val);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// BFS for a displacement path; on success performs the moves and
    /// returns the freed slot in `hh.b1`/`hh.b2`.
    fn cuckoo_path(&mut self, hh: Hashed, rehash: &impl Fn(u32) -> u64) -> Option<(u32, usize)> {
        let mut q = std::mem::take(&mut self.bfs);
        q.clear();
        for b in [hh.b1, hh.b2] {
            q.push(BfsNode {
                bucket: b,
                parent: NO_PARENT,
                slot: 0,
            });
        }
        let mut found = None;
        let mut head = 0;
        'bfs: while head < q.len() {
            let node = q[head];
            let bk = match self.buckets.get(node.bucket as usize) {
                Some(bk) => *bk,
                None => break,
            };
            for (s, &v) in bk.vals.iter().enumerate() {
                let vh = self.hashed(rehash(v));
                let alt = if vh.b1 == node.bucket { vh.b2 } else { vh.b1 };
                if let (_, Some(fs)) = self.free_slots(alt) {
                    found = Some((head, s, alt, fs));
                    break 'bfs;
                }
                if q.len() < BFS_MAX && !q.iter().any(|n| n.bucket == alt) {
                    q.push(BfsNode {
                        bucket: alt,
                        parent: head as u32,
                        slot: s as u8,
                    });
                }
            }
            head += 1;
        }
        let result = found.map(|(node_i, s, alt, fs)| {
            // Move the entry that has a free alternate, then walk to the root.
            self.relocate((q[node_i].bucket, s), (alt, fs), rehash);
            let mut free = (q[node_i].bucket, s);
            let mut cur = node_i;
            while q[cur].parent != NO_PARENT {
                let p = q[cur].parent as usize;
                let from = (q[p].bucket, q[cur].slot as usize);
                self.relocate(from, free, rehash);
                free = from;
                cur = p;
            }
            free
        });
        self.bfs = q;
        result
    }

    /// Visit every stored value (diagnostics and tests).
    #[cfg(test)]
    pub(crate) fn for_each_val(&self, mut f: impl FnMut(u32, u32)) {
        for (bi, bk) in self.buckets.iter().enumerate() {
            for &v in bk.vals.iter() {
                if v != EMPTY {
                    f(bi as u32, v);
                }
            }
        }
    }
}

#[cfg(test)]
impl Index {
    /// Recount every bucket's spill from the stored entries and compare.
    pub(crate) fn check_spill(&self, rehash: impl Fn(u32) -> u64) {
        let mut want = vec![0u16; self.buckets.len()];
        for (bi, bk) in self.buckets.iter().enumerate() {
            for &v in bk.vals.iter().filter(|&&v| v != EMPTY) {
                let hh = self.hashed(rehash(v));
                assert!(
                    bi as u32 == hh.b1 || bi as u32 == hh.b2,
                    "entry {v} misplaced"
                );
                if bi as u32 != hh.b1 {
                    want[hh.b1 as usize] += 1;
                }
            }
        }
        for (bi, bk) in self.buckets.iter().enumerate() {
            assert_eq!(bk.spill, want[bi], "spill of bucket {bi}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::no_advice;

    fn h(v: u32) -> u64 {
        // Deterministic "hash" of a value for the stand-alone index tests.
        let mut x = v as u64 ^ 0x1234_5678_9abc_def0;
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^ (x >> 29)
    }

    #[test]
    fn cuckoo_fills_to_target_load_and_removes() {
        let n = 20_000usize;
        let mut ix = Index::new(n, no_advice).unwrap();
        for v in 0..n as u32 {
            assert!(ix.insert(ix.hashed(h(v)), v, h), "insert {v} failed");
        }
        assert_eq!(ix.len(), n);
        // Every entry is in one of its two buckets and is findable.
        ix.for_each_val(|b, v| {
            let hh = ix.hashed(h(v));
            assert!(b == hh.b1 || b == hh.b2);
        });
        for v in 0..n as u32 {
            assert_eq!(ix.find(ix.hashed(h(v)), |x| x == v), Some(v));
        }
        ix.check_spill(h);
        for v in (0..n as u32).step_by(2) {
            assert!(ix.remove(ix.hashed(h(v)), v));
        }
        ix.check_spill(h);
        for v in 0..n as u32 {
            let f = ix.find(ix.hashed(h(v)), |x| x == v);
            assert_eq!(f.is_some(), v % 2 == 1);
        }
        assert_eq!(ix.len(), n / 2);
        ix.clear();
        assert_eq!(ix.len(), 0);
    }

    #[test]
    fn spill_counts_hold_under_churn_at_full_load() {
        // Random inserts and removals around the 90 % design load, with
        // cuckoo displacements: every spill count matches a recount, and a
        // miss in a bucket that has not spilled needs no second line.
        let n = 4_000usize;
        let mut ix = Index::new(n, no_advice).unwrap();
        let mut live: Vec<u32> = Vec::new();
        let mut next = 0u32;
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut spilled_seen = 0;
        for round in 0..40 {
            while live.len() < n {
                assert!(ix.insert(ix.hashed(h(next)), next, h));
                live.push(next);
                next += 1;
            }
            ix.check_spill(h);
            spilled_seen += ix.buckets.iter().filter(|b| b.spill > 0).count();
            for _ in 0..n / 3 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = live.swap_remove((x % live.len() as u64) as usize);
                assert!(ix.remove(ix.hashed(h(v)), v), "round {round}");
            }
            ix.check_spill(h);
        }
        assert!(spilled_seen > 0, "full load spills");
        for &v in &live {
            assert_eq!(ix.find(ix.hashed(h(v)), |x| x == v), Some(v));
        }
        for v in next..next + 1000 {
            assert_eq!(ix.find(ix.hashed(h(v)), |x| x == v), None);
        }
    }

    #[test]
    fn overfull_insert_fails_cleanly() {
        // 2 buckets × 8 slots: the 17th entry must be refused without loss.
        let mut ix = Index::new(1, no_advice).unwrap();
        assert_eq!(ix.slots(), 16);
        let mut ok = Vec::new();
        for v in 0..17u32 {
            if ix.insert(ix.hashed(h(v)), v, h) {
                ok.push(v);
            }
        }
        assert_eq!(ok.len(), 16);
        for &v in &ok {
            assert_eq!(ix.find(ix.hashed(h(v)), |x| x == v), Some(v));
        }
    }
}
