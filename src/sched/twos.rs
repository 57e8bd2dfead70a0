//! Power of two choices (ip_vs_twos.c).
//!
//! Invariants: `T = Σ weight(eligible) + 1`; two random numbers in `0..T`
//! walk the eligible list subtracting weights, the first dest driving each
//! to `<= 0` is a choice; the second choice wins only if it is strictly
//! less loaded by `overhead / weight` (`w2 * oh1 > w1 * oh2`).
//! The per-worker RNG is xorshift64* (the kernel uses `prandom_u32`), so a
//! seeded worker is reproducible; it never yields the zero state.

use super::common::{eligible, overhead};
use super::{Dest, DestLoad};
use crate::types::Xorshift;

pub fn pick(rng: &mut Xorshift, dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
    let mut total: u64 = 0;
    let mut any = false;
    for (d, l) in dests.iter().zip(load) {
        if eligible(d, l) {
            total += u64::from(d.weight);
            any = true;
        }
    }
    if !any {
        return None;
    }
    let t = total + 1;
    let mut r1 = (u64::from(rng.next_u32()) % t) as i64;
    let mut r2 = (u64::from(rng.next_u32()) % t) as i64;
    let mut c1: Option<usize> = None;
    let mut c2: Option<usize> = None;
    for (i, (d, l)) in dests.iter().zip(load).enumerate() {
        if !eligible(d, l) {
            continue;
        }
        r1 -= i64::from(d.weight);
        r2 -= i64::from(d.weight);
        if r1 <= 0 && c1.is_none() {
            c1 = Some(i);
        }
        if r2 <= 0 && c2.is_none() {
            c2 = Some(i);
        }
        if c1.is_some() && c2.is_some() {
            break;
        }
    }
    let (c1, c2) = (c1?, c2?); // always set: r <= total
    let (w1, w2) = (u128::from(dests[c1].weight), u128::from(dests[c2].weight));
    let (o1, o2) = (
        u128::from(overhead(&load[c1])),
        u128::from(overhead(&load[c2])),
    );
    Some(if w2 * o1 > w1 * o2 { c2 } else { c1 })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn cases() {
        let mut rng = Xorshift::new(1);
        assert_eq!(pick(&mut rng, &dests(&[]), &idle(0)), None);
        assert_eq!(pick(&mut rng, &dests(&[0, 0]), &idle(2)), None);
        assert_eq!(pick(&mut rng, &dests(&[0, 3]), &idle(2)), Some(1));
        let mut l = idle(2);
        l[1].overloaded = true;
        assert_eq!(pick(&mut rng, &dests(&[1, 1]), &l), Some(0));
    }

    #[test]
    fn prefers_less_loaded_and_respects_weights() {
        let d = dests(&[1, 1]);
        let l = loads(&[(50, 0), (0, 0)]);
        let mut rng = Xorshift::new(42);
        let picks: Vec<_> = (0..1000).map(|_| pick(&mut rng, &d, &l).unwrap()).collect();
        // T = 3, r in 0..3: r = 0, 1 → dest 0. Dest 0 is returned only when
        // both choices are 0: (2/3)^2 = 4/9.
        let zeros = picks.iter().filter(|&&i| i == 0).count();
        assert!((380..510).contains(&zeros), "{zeros}");
        // Idle, weights 1:3.
        let d = dests(&[1, 3]);
        let l = idle(2);
        let ones = (0..4000)
            .filter(|_| pick(&mut rng, &d, &l) == Some(1))
            .count();
        // Kernel quirk: r = 0 also lands on the first dest, so P(dest 1) = 3/5.
        assert!((2150..2650).contains(&ones), "{ones}");
    }

    #[test]
    fn rng_nonzero_and_seeded() {
        let mut a = Xorshift::new(0);
        let mut b = Xorshift::new(0);
        assert_eq!(a.next_u32(), b.next_u32());
        assert_ne!(Xorshift::new(0), Xorshift(0));
    }
}
