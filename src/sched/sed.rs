//! Shortest expected delay (ip_vs_sed.c).
//!
//! Invariant: returns the eligible dest minimising `(active + 1) / weight`
//! (inactive ignored), strict cross-multiplied compare, ties → earlier.

use super::common::{sed_overhead, weighted_least};
use super::{Dest, DestLoad};

pub fn pick(dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
    weighted_least(dests, load, sed_overhead)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Scheduler;

    #[test]
    fn cases() {
        let cases: Vec<Case> = vec![
            // (0+1)/1 = 1 vs (1+1)/3 = 0.67
            (
                "busy heavy beats idle light",
                vec![1, 3],
                vec![(0, 0), (1, 0)],
                Some(1),
            ),
            (
                "idle -> higher weight",
                vec![1, 2],
                vec![(0, 0), (0, 0)],
                Some(1),
            ),
            ("tie -> first", vec![1, 2], vec![(0, 0), (1, 0)], Some(0)),
            (
                "inactive ignored",
                vec![1, 1],
                vec![(0, 1000), (1, 0)],
                Some(0),
            ),
            ("all 0", vec![0, 0], vec![(0, 0); 2], None),
        ];
        for (name, w, l, want) in cases {
            assert_eq!(one(Scheduler::Sed, &dests(&w), &loads(&l)), want, "{name}");
        }
    }
}
