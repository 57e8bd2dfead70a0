//! Weighted failover (ip_vs_fo.c).
//!
//! Invariant: returns the non-overloaded available dest with the highest
//! weight (> 0); the first one in list order wins ties.

use super::{Dest, DestLoad};

pub fn pick(dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut hw = 0u32;
    for (i, (d, l)) in dests.iter().zip(load).enumerate() {
        if d.available && !l.overloaded && d.weight > hw {
            best = Some(i);
            hw = d.weight;
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
        let mut ovl = idle(3);
        ovl[1].overloaded = true;
        let cases: Vec<(&str, Vec<u32>, Vec<_>, Option<usize>)> = vec![
            ("highest", vec![1, 5, 3], idle(3), Some(1)),
            ("tie -> first", vec![5, 5], idle(2), Some(0)),
            (
                "load ignored",
                vec![1, 5],
                loads(&[(0, 0), (999, 0)]),
                Some(1),
            ),
            ("overloaded -> next highest", vec![1, 5, 3], ovl, Some(2)),
            ("all 0", vec![0, 0], idle(2), None),
        ];
        for (name, w, l, want) in cases {
            assert_eq!(one(Scheduler::Fo, &dests(&w), &l), want, "{name}");
        }
    }
}
