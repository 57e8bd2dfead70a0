//! Least connection (ip_vs_lc.c).
//!
//! Invariant: returns the eligible dest with the smallest overhead
//! `(active << 8) + inactive`; weight only switches a dest on/off; a tie
//! keeps the earlier list entry (`doh < loh`).

use super::common::{eligible, overhead};
use super::{Dest, DestLoad};

pub fn pick(dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
    let mut least: Option<(usize, u64)> = None;
    for (i, (d, l)) in dests.iter().zip(load).enumerate() {
        if !eligible(d, l) {
            continue;
        }
        let doh = overhead(l);
        if least.is_none_or(|(_, loh)| doh < loh) {
            least = Some((i, doh));
        }
    }
    least.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Scheduler;

    #[test]
    fn cases() {
        let cases: Vec<Case> = vec![
            (
                "least active",
                vec![1, 1, 1],
                vec![(3, 0), (1, 0), (2, 0)],
                Some(1),
            ),
            ("tie -> first", vec![1, 1], vec![(1, 0), (1, 0)], Some(0)),
            (
                "weight ignored",
                vec![100, 1],
                vec![(2, 0), (1, 0)],
                Some(1),
            ),
            (
                "active<<8 vs inactive",
                vec![1, 1],
                vec![(1, 0), (0, 255)],
                Some(1),
            ),
            (
                "256 inactive = 1 active",
                vec![1, 1],
                vec![(1, 0), (0, 256)],
                Some(0),
            ),
            (
                "weight 0 skipped",
                vec![0, 1],
                vec![(0, 0), (5, 0)],
                Some(1),
            ),
            ("all 0", vec![0, 0], vec![(0, 0), (0, 0)], None),
            ("empty", vec![], vec![], None),
        ];
        for (name, w, l, want) in cases {
            assert_eq!(one(Scheduler::Lc, &dests(&w), &loads(&l)), want, "{name}");
        }
    }
}
