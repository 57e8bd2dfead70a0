//! Never queue (ip_vs_nq.c).
//!
//! Invariant: the first eligible dest (list order) with `active == 0` is
//! returned at once; otherwise sed (`(active + 1) / weight`, strict compare,
//! ties → earlier).

use super::common::{beats, eligible, sed_overhead};
use super::{Dest, DestLoad};

pub fn pick(dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
    let mut least: Option<(usize, u64)> = None;
    for (i, (d, l)) in dests.iter().zip(load).enumerate() {
        if !eligible(d, l) {
            continue;
        }
        if l.active == 0 {
            return Some(i);
        }
        let doh = sed_overhead(l);
        match least {
            Some((li, loh)) if !beats(doh, d.weight, loh, dests[li].weight) => {}
            _ => least = Some((i, doh)),
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
                "idle light beats busy heavy",
                vec![1, 3],
                vec![(0, 0), (1, 0)],
                Some(0),
            ),
            (
                "first idle wins",
                vec![1, 5, 9],
                vec![(2, 0), (0, 0), (0, 0)],
                Some(1),
            ),
            (
                "idle but inactive",
                vec![1, 1],
                vec![(3, 0), (0, 99)],
                Some(1),
            ),
            ("else sed", vec![1, 3], vec![(1, 0), (2, 0)], Some(1)),
            (
                "sed tie -> first",
                vec![1, 2],
                vec![(1, 0), (3, 0)],
                Some(0),
            ),
            ("all 0", vec![0, 0], vec![(0, 0); 2], None),
        ];
        for (name, w, l, want) in cases {
            assert_eq!(one(Scheduler::Nq, &dests(&w), &loads(&l)), want, "{name}");
        }
    }
}
