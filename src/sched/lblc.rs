//! Locality-based least connection (ip_vs_lblc.c): one dest per
//! destination IP.
//!
//! Invariants:
//! * The per-worker cache is preallocated at `State::new` and never grows:
//!   [`MAX_ENTRIES`] = 16384 entries (the kernel's `max_size`), organised as
//!   [`SETS`] sets of [`WAYS`] ways indexed by `hash_32(daddr_fold, 11)`;
//!   `pick` never allocates.
//! * A cache hit (entry for daddr, idle < `lblc_expiration`) refreshes
//!   `lastuse` and returns its dest if available, weight > 0 and not
//!   [`overloaded`] (the lblc heuristic — the OVERLOAD flag is *not*
//!   consulted, as in the kernel). Otherwise wlc picks, and the entry is
//!   (re)written with `lastuse = now`.
//! * Expiration is checked on lookup (kernel: a GC every 60 s, full check
//!   every 30th run). When a set is full, the victim is a free/expired way,
//!   else the least recently used (kernel: the table may exceed max_size
//!   until the GC drops entries idle > 6 min).

use super::common::fold_addr;
use super::hash::hash_32;
use super::{wlc, Dest, DestLoad, Flow};
use std::net::IpAddr;

pub const MAX_ENTRIES: usize = 16384;
pub const WAYS: usize = 8;
pub const SETS: usize = MAX_ENTRIES / WAYS;
const SET_BITS: u32 = SETS.trailing_zeros();
const FREE: u32 = u32::MAX;

/// Cache key of an address (IPv4 as IPv4-mapped IPv6).
#[inline]
pub(crate) fn key_of(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(*v6),
    }
}

/// First way of the set of an address.
#[inline]
pub(crate) fn set_base(a: &IpAddr) -> usize {
    hash_32(fold_addr(a), SET_BITS) as usize * WAYS
}

/// lblc/lblcr `is_overloaded`: `active > weight` and some present dest has
/// `active * 2 < weight`.
pub fn overloaded(i: usize, dests: &[Dest], load: &[DestLoad]) -> bool {
    let (Some(d), Some(l)) = (dests.get(i), load.get(i)) else {
        return true;
    };
    l.active > d.weight
        && dests
            .iter()
            .zip(load)
            .any(|(m, ml)| m.available && u64::from(ml.active) * 2 < u64::from(m.weight))
}

#[inline]
pub(crate) fn live(lastuse: u64, now: u64, exp: u64) -> bool {
    now.saturating_sub(lastuse) < exp
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u128,
    lastuse: u64,
    dest: u32,
}

const EMPTY_ENTRY: Entry = Entry {
    key: 0,
    lastuse: 0,
    dest: FREE,
};

/// Per-worker lblc cache (daddr → dest index).
pub struct LblcCache {
    e: Box<[Entry]>,
}

impl LblcCache {
    pub fn new() -> Box<LblcCache> {
        Box::new(LblcCache {
            e: vec![EMPTY_ENTRY; MAX_ENTRIES].into_boxed_slice(),
        })
    }

    /// Number of live entries at `now` (diagnostics).
    pub fn len(&self, now: u64, exp: u64) -> usize {
        self.e
            .iter()
            .filter(|x| x.dest != FREE && live(x.lastuse, now, exp))
            .count()
    }

    /// Cached dest for `daddr`, if live.
    pub fn get(&self, daddr: &IpAddr, now: u64, exp: u64) -> Option<usize> {
        let (k, b) = (key_of(daddr), set_base(daddr));
        self.e
            .get(b..b + WAYS)?
            .iter()
            .find(|x| x.dest != FREE && x.key == k && live(x.lastuse, now, exp))
            .map(|x| x.dest as usize)
    }

    pub(crate) fn remap(&mut self, map: &dyn Fn(usize) -> Option<usize>) {
        for x in self.e.iter_mut().filter(|x| x.dest != FREE) {
            x.dest = map(x.dest as usize).map_or(FREE, |j| j as u32);
        }
    }

    pub fn pick(
        &mut self,
        dests: &[Dest],
        load: &[DestLoad],
        flow: &Flow,
        exp: u64,
    ) -> Option<usize> {
        let (k, b, now) = (key_of(&flow.daddr), set_base(&flow.daddr), flow.now_ms);
        let set = self.e.get_mut(b..b + WAYS)?;
        if let Some(x) = set
            .iter_mut()
            .find(|x| x.dest != FREE && x.key == k && live(x.lastuse, now, exp))
        {
            x.lastuse = now;
            let i = x.dest as usize;
            if dests.get(i).is_some_and(|d| d.available && d.weight > 0)
                && !overloaded(i, dests, load)
            {
                return Some(i);
            }
        }
        let i = wlc::pick(dests, load)?;
        let v = victim(set, k, now, exp);
        set[v] = Entry {
            key: k,
            lastuse: now,
            dest: i as u32,
        };
        Some(i)
    }
}

/// Way to (re)use: same key, else free/expired, else least recently used.
fn victim(set: &[Entry], k: u128, now: u64, exp: u64) -> usize {
    if let Some(v) = set.iter().position(|x| x.dest != FREE && x.key == k) {
        return v;
    }
    if let Some(v) = set
        .iter()
        .position(|x| x.dest == FREE || !live(x.lastuse, now, exp))
    {
        return v;
    }
    (0..set.len()).min_by_key(|&v| set[v].lastuse).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Flags, Scheduler, State, Table, DEFAULT_LBLC_EXPIRATION_MS as EXP};
    use super::*;

    fn fl(daddr: u32, now: u64) -> Flow {
        let mut f = flow();
        f.daddr = ip(daddr);
        f.now_ms = now;
        f
    }

    #[test]
    fn sticky_until_overloaded_or_unavailable() {
        let mut d = dests(&[1, 1]);
        let t = Table::build(Scheduler::Lblc, Flags::default(), &d, 0).unwrap();
        let mut st = State::new(&t);
        let mut l = idle(2);
        // First: wlc → 0; cached.
        assert_eq!(t.pick(&mut st, &d, &l, &fl(100, 0)), Some(0));
        // wlc would now say 1, but the cache sticks to 0 (active 1 <= weight 1).
        l[0].active = 1;
        assert_eq!(t.pick(&mut st, &d, &l, &fl(100, 1)), Some(0));
        // Another daddr is scheduled by wlc independently.
        assert_eq!(t.pick(&mut st, &d, &l, &fl(200, 1)), Some(1));
        // OVERLOAD flag is not consulted on a hit (kernel behaviour).
        l[0].overloaded = true;
        assert_eq!(t.pick(&mut st, &d, &l, &fl(100, 2)), Some(0));
        l[0].overloaded = false;
        // active > weight but nobody has active*2 < weight: still sticky.
        l = loads(&[(5, 0), (1, 0)]);
        assert_eq!(t.pick(&mut st, &d, &l, &fl(100, 3)), Some(0));
        // Now dest 1 is idle (0*2 < 1): overloaded → rescheduled to 1.
        l = loads(&[(5, 0), (0, 0)]);
        assert_eq!(t.pick(&mut st, &d, &l, &fl(100, 4)), Some(1));
        assert_eq!(
            t.pick(&mut st, &d, &loads(&[(1, 0), (1, 0)]), &fl(100, 5)),
            Some(1)
        );
        // Weight 0 on the cached dest → rescheduled.
        d[1].weight = 0;
        let t2 = Table::build(Scheduler::Lblc, Flags::default(), &d, 0).unwrap();
        st.rebind_identity(&t2);
        assert_eq!(t2.pick(&mut st, &d, &idle(2), &fl(100, 6)), Some(0));
    }

    #[test]
    fn expiration_and_removal() {
        let d = dests(&[1, 1]);
        let t = Table::build(Scheduler::Lblc, Flags::default(), &d, 0)
            .unwrap()
            .with_expiration_ms(1000);
        let mut st = State::new(&t);
        let l = loads(&[(0, 0), (0, 0)]);
        let l_b = loads(&[(1, 0), (0, 0)]);
        assert_eq!(t.pick(&mut st, &d, &l_b, &fl(7, 0)), Some(1));
        assert_eq!(t.pick(&mut st, &d, &l, &fl(7, 999)), Some(1)); // refreshed at 999
        assert_eq!(t.pick(&mut st, &d, &l, &fl(7, 1998)), Some(1));
        assert_eq!(t.pick(&mut st, &d, &l, &fl(7, 2998)), Some(0)); // expired → wlc
                                                                    // Removal of dest 0 (list becomes [old 1]): entry dropped, rescheduled.
        let d2 = dests(&[1]);
        let t2 = Table::build(Scheduler::Lblc, Flags::default(), &d2, 0)
            .unwrap()
            .with_expiration_ms(1000);
        st.rebind(&t2, &|i| if i == 1 { Some(0) } else { None });
        assert_eq!(t2.pick(&mut st, &d2, &idle(1), &fl(7, 3000)), Some(0));
    }

    #[test]
    fn bounded_and_lru() {
        let d = dests(&[1]);
        let t = Table::build(Scheduler::Lblc, Flags::default(), &d, 0).unwrap();
        let mut st = State::new(&t);
        for a in 0..100_000u32 {
            assert_eq!(t.pick(&mut st, &d, &idle(1), &fl(a, u64::from(a))), Some(0));
        }
        let StInnerRef(c) = lblc_of(&st);
        assert!(c.len(200_000, EXP) <= MAX_ENTRIES);
        assert_eq!(c.get(&ip(99_999), 100_000, EXP), Some(0));
    }

    struct StInnerRef<'a>(&'a LblcCache);
    fn lblc_of(st: &State) -> StInnerRef<'_> {
        match &st.inner {
            super::super::StInner::Lblc(c) => StInnerRef(c),
            _ => panic!("not lblc"),
        }
    }
}
