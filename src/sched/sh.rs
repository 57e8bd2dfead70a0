//! Source hashing (ip_vs_sh.c), with `sh-fallback` and `sh-port`.
//!
//! Invariants: 256 buckets; walking buckets 0..255 over the present dests
//! cyclically in list order, each dest takes `weight` consecutive buckets
//! (weight 0 still takes one); removed dests (`available == false`) take
//! none; no present dest ⇒ all buckets empty. The table depends only on the
//! ordered `(available, weight)` list, so rebuilds are identical.
//! Lookup: `(offset + hash_32(port + ntohl(saddr_fold), 8)) & 255`, port = 0
//! unless `sh-port`. An unavailable bucket dest (weight 0 or OVERLOAD) gives
//! `None`, or with `sh-fallback` the first available dest of the kernel's
//! probe sequence `offset = (i + ihash) % 256, i = 0..255`.

use super::common::{fold_addr, EMPTY};
use super::hash::hash_32;
use super::{Dest, DestLoad, Flags, Flow};

pub const SH_TAB_BITS: u32 = 8;
pub const SH_TAB_SIZE: usize = 1 << SH_TAB_BITS;

/// Immutable sh bucket table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShTable {
    buckets: [u32; SH_TAB_SIZE],
}

#[inline]
fn hashkey(fold: u32, port: u16, offset: u32) -> usize {
    (offset.wrapping_add(hash_32(u32::from(port).wrapping_add(fold), SH_TAB_BITS)) as usize)
        & (SH_TAB_SIZE - 1)
}

impl ShTable {
    pub fn build(dests: &[Dest]) -> ShTable {
        let mut buckets = [EMPTY; SH_TAB_SIZE];
        let present: Vec<usize> = (0..dests.len()).filter(|&i| dests[i].available).collect();
        if present.is_empty() {
            return ShTable { buckets };
        }
        let (mut p, mut count) = (0usize, 0u32);
        for b in buckets.iter_mut() {
            let i = present[p];
            *b = i as u32;
            count += 1;
            if count >= dests[i].weight {
                p = (p + 1) % present.len();
                count = 0;
            }
        }
        ShTable { buckets }
    }

    pub fn buckets(&self) -> &[u32] {
        &self.buckets
    }

    pub fn pick(
        &self,
        flags: Flags,
        dests: &[Dest],
        load: &[DestLoad],
        flow: &Flow,
    ) -> Option<usize> {
        let fold = fold_addr(&flow.saddr);
        let port = if flags.port { flow.sport } else { 0 };
        let usable = |b: usize| -> Option<Option<usize>> {
            let i = self.buckets[b];
            if i == EMPTY {
                return None; // empty table
            }
            let i = i as usize;
            let ok = match (dests.get(i), load.get(i)) {
                (Some(d), Some(l)) => d.available && d.weight > 0 && !l.overloaded,
                _ => false,
            };
            Some(ok.then_some(i))
        };
        let ihash = hashkey(fold, port, 0);
        match usable(ihash)? {
            Some(i) => return Some(i),
            None if !flags.fallback => return None,
            None => {}
        }
        for off in 0..SH_TAB_SIZE as u32 {
            let roffset = (off + ihash as u32) % SH_TAB_SIZE as u32;
            if let Some(Some(i)) = usable(hashkey(fold, port, roffset)) {
                return Some(i);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Scheduler, State, Table};
    use super::*;

    #[test]
    fn bucket_layout() {
        let t = ShTable::build(&dests(&[2, 0, 1]));
        assert_eq!(&t.buckets()[..8], &[0, 0, 1, 2, 0, 0, 1, 2]);
        let mut d = dests(&[1, 1, 1]);
        d[1].available = false;
        let t = ShTable::build(&d);
        assert_eq!(&t.buckets()[..4], &[0, 2, 0, 2]);
        let t = ShTable::build(&dests(&[300]));
        assert!(t.buckets().iter().all(|&b| b == 0));
        assert!(ShTable::build(&[]).buckets().iter().all(|&b| b == EMPTY));
    }

    #[test]
    fn lookup_matches_kernel_formula_and_flags() {
        let d = dests(&[1, 1, 1, 1]);
        let mut l = idle(4);
        let plain = Table::build(Scheduler::Sh, Flags::default(), &d, 0).unwrap();
        let fb = Table::build(
            Scheduler::Sh,
            Flags {
                fallback: true,
                port: false,
            },
            &d,
            0,
        )
        .unwrap();
        let port = Table::build(
            Scheduler::Sh,
            Flags {
                fallback: false,
                port: true,
            },
            &d,
            0,
        )
        .unwrap();
        let mut st = State::new(&plain);
        for c in 0..200u32 {
            let f = flow_from(ip(0x10000 + c * 7919));
            let b = hash_32(fold_addr(&f.saddr), 8) as usize;
            assert_eq!(plain.pick(&mut st, &d, &l, &f), Some(b % 4));
            let bp = hash_32(fold_addr(&f.saddr).wrapping_add(12345), 8) as usize;
            assert_eq!(port.pick(&mut st, &d, &l, &f), Some(bp % 4));
        }
        // Unavailable bucket dest: None without fallback, kernel probe with.
        let f = flow_from(ip(0x10000));
        let h = hash_32(fold_addr(&f.saddr), 8);
        let home = h as usize % 4;
        l[home].overloaded = true;
        assert_eq!(plain.pick(&mut st, &d, &l, &f), None);
        // Probe i=0: roffset = ihash, bucket = (ihash + h) & 255.
        let want = ((2 * h) & 255) as usize % 4;
        let want = if want == home {
            (((2 * h) + 1) & 255) as usize % 4
        } else {
            want
        };
        assert_eq!(fb.pick(&mut st, &d, &l, &f), Some(want));
        for x in l.iter_mut() {
            x.overloaded = true;
        }
        assert_eq!(fb.pick(&mut st, &d, &l, &f), None);
    }

    #[test]
    fn weight_zero_takes_one_bucket_but_is_never_picked() {
        let d = dests(&[0, 1]);
        let t = Table::build(Scheduler::Sh, Flags::default(), &d, 0).unwrap();
        let mut st = State::new(&t);
        for c in 0..300u32 {
            assert_ne!(
                t.pick(&mut st, &d, &idle(2), &flow_from(ip(c * 31))),
                Some(0)
            );
        }
    }
}
