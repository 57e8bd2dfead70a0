//! Weighted least connection (ip_vs_wlc.c), the ipvsadm default.
//!
//! Invariant: returns the eligible dest minimising `overhead / weight`,
//! compared as `loh * w(d) > doh * w(least)` (strict, so ties keep the
//! earlier list entry). Also the inner scheduler of lblc and lblcr.

use super::common::{overhead, weighted_least};
use super::{Dest, DestLoad};

pub fn pick(dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
    weighted_least(dests, load, overhead)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Scheduler;

    #[test]
    fn cases() {
        let cases: Vec<Case> = vec![
            ("idle -> first", vec![1, 2, 3], vec![(0, 0); 3], Some(0)),
            ("by ratio", vec![1, 3], vec![(1, 0), (2, 0)], Some(1)),
            (
                "exact tie -> first",
                vec![1, 2],
                vec![(1, 0), (2, 0)],
                Some(0),
            ),
            (
                "inactive counts",
                vec![1, 1],
                vec![(1, 10), (1, 9)],
                Some(1),
            ),
            ("lighter first", vec![1, 1], vec![(0, 0), (9, 0)], Some(0)),
            (
                "weight 0 skipped",
                vec![0, 1],
                vec![(0, 0), (9, 0)],
                Some(1),
            ),
            ("all 0", vec![0], vec![(0, 0)], None),
        ];
        for (name, w, l, want) in cases {
            assert_eq!(one(Scheduler::Wlc, &dests(&w), &loads(&l)), want, "{name}");
        }
        let d = dests(&[1, 1]);
        let mut l = loads(&[(0, 0), (9, 0)]);
        l[0].overloaded = true;
        assert_eq!(one(Scheduler::Wlc, &d, &l), Some(1));
    }
}
