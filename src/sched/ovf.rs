//! Overflow connection (ip_vs_ovf.c).
//!
//! Invariant: among available, non-overloaded dests with `weight > 0` and
//! `active <= weight`, returns the highest weight (first wins ties); so
//! connections fill the heaviest dest up to `weight` active connections,
//! then overflow to the next heaviest.

use super::{Dest, DestLoad};

pub fn pick(dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut hw = 0u32;
    for (i, (d, l)) in dests.iter().zip(load).enumerate() {
        let w = d.weight;
        if !d.available || l.overloaded || l.active > w || w == 0 {
            continue;
        }
        if best.is_none() || w > hw {
            best = Some(i);
            hw = w;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Scheduler;

    #[test]
    fn cases() {
        let cases: Vec<Case> = vec![
            ("heaviest", vec![2, 4, 3], vec![(0, 0); 3], Some(1)),
            (
                "at weight still ok",
                vec![2, 4],
                vec![(0, 0), (4, 0)],
                Some(1),
            ),
            (
                "above weight overflows",
                vec![2, 4, 3],
                vec![(0, 0), (5, 0), (0, 0)],
                Some(2),
            ),
            (
                "inactive ignored",
                vec![2, 4],
                vec![(0, 0), (0, 500)],
                Some(1),
            ),
            ("tie -> first", vec![3, 3], vec![(0, 0); 2], Some(0)),
            ("all full", vec![1, 1], vec![(2, 0), (2, 0)], None),
            ("weight 0", vec![0], vec![(0, 0)], None),
        ];
        for (name, w, l, want) in cases {
            assert_eq!(one(Scheduler::Ovf, &dests(&w), &loads(&l)), want, "{name}");
        }
    }
}
