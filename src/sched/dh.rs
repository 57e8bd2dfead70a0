//! Destination hashing (ip_vs_dh.c).
//!
//! Invariants: 256 buckets assigned round robin over the present dests in
//! list order (weight ignored; removed dests take none; none present ⇒ all
//! empty). Lookup `(ntohl(daddr_fold) * 2654435761) & 255`; the bucket dest
//! is returned only if available, weight > 0 and not OVERLOAD (no fallback).

use super::common::{fold_addr, EMPTY};
use super::hash::dh_hash;
use super::{Dest, DestLoad, Flow};

pub const DH_TAB_SIZE: usize = 256;

/// Immutable dh bucket table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhTable {
    buckets: [u32; DH_TAB_SIZE],
}

impl DhTable {
    pub fn build(dests: &[Dest]) -> DhTable {
        let mut buckets = [EMPTY; DH_TAB_SIZE];
        let present: Vec<usize> = (0..dests.len()).filter(|&i| dests[i].available).collect();
        if !present.is_empty() {
            for (b, slot) in buckets.iter_mut().enumerate() {
                *slot = present[b % present.len()] as u32;
            }
        }
        DhTable { buckets }
    }

    pub fn buckets(&self) -> &[u32] {
        &self.buckets
    }

    pub fn pick(&self, dests: &[Dest], load: &[DestLoad], flow: &Flow) -> Option<usize> {
        let i = self.buckets[dh_hash(fold_addr(&flow.daddr))];
        let i = usize::try_from(i).ok().filter(|_| i != EMPTY)?;
        let (d, l) = (dests.get(i)?, load.get(i)?);
        (d.available && d.weight > 0 && !l.overloaded).then_some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Flags, Scheduler, State, Table};
    use super::*;

    #[test]
    fn layout_and_lookup() {
        let d = dests(&[5, 1, 0]);
        let t = DhTable::build(&d);
        assert_eq!(&t.buckets()[..6], &[0, 1, 2, 0, 1, 2]);
        let tab = Table::build(Scheduler::Dh, Flags::default(), &d, 0).unwrap();
        let mut st = State::new(&tab);
        let mut l = idle(3);
        for c in 0..100u32 {
            let mut f = flow();
            f.daddr = ip(c * 104729);
            let b = dh_hash(fold_addr(&f.daddr));
            let want = if b % 3 == 2 { None } else { Some(b % 3) };
            assert_eq!(tab.pick(&mut st, &d, &l, &f), want);
        }
        l[0].overloaded = true;
        let mut f = flow();
        f.daddr = ip(0);
        assert_eq!(tab.pick(&mut st, &d, &l, &f), None); // bucket 0 → dest 0
        assert!(DhTable::build(&[]).pick(&d, &l, &f).is_none());
    }
}
