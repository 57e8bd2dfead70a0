//! Weighted round robin (ip_vs_wrr.c).
//!
//! Immutable: `di` = gcd of the positive weights (1 if none) and
//! `mw = max weight - (di - 1)` (0 ⇒ no dest available).
//! Per worker: cursor (`None` = list head) and current weight `cw`, always
//! in `1..=mw` between picks when `mw > 0`.
//! A pick walks the list after the cursor for a non-overloaded dest with
//! `weight >= cw`; at the end of the list `cw -= di` (wrapping to `mw`),
//! giving up after a full pass with `cw <= di` exactly like the kernel's
//! `last_pass`/`restarted`/`stop` logic. Runs of full passes that cannot
//! match (`cw` above every usable weight) are skipped arithmetically, so a
//! pick costs O(n) whatever the weights; a hard bound guarantees
//! termination on any input. Rebind = `ip_vs_wrr_dest_changed`.

use super::common::gcd;
use super::{Dest, DestLoad};

/// Immutable wrr data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrrTable {
    di: i64,
    mw: i64,
}

/// Per-worker wrr cursor and current weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrrState {
    cursor: Option<usize>,
    cw: i64,
}

impl WrrTable {
    pub fn build(dests: &[Dest]) -> WrrTable {
        let mut g = 0u32;
        let mut max = 0u32;
        for d in dests.iter().filter(|d| d.available) {
            if d.weight > 0 {
                g = gcd(g, d.weight);
            }
            max = max.max(d.weight);
        }
        let di = i64::from(g.max(1));
        WrrTable {
            di,
            mw: i64::from(max) - (di - 1),
        }
    }

    pub fn gcd(&self) -> i64 {
        self.di
    }

    pub fn max_weight(&self) -> i64 {
        self.mw
    }

    pub fn new_state(&self) -> WrrState {
        WrrState {
            cursor: None,
            cw: self.mw,
        }
    }

    /// `ip_vs_wrr_dest_changed`: cursor to head, clamp/realign `cw`.
    pub(crate) fn rebind(&self, st: &mut WrrState) {
        st.cursor = None;
        if st.cw > self.mw || st.cw == 0 {
            st.cw = self.mw;
        } else if self.di > 1 {
            st.cw = (st.cw / self.di) * self.di + 1;
        }
    }

    /// ip_vs_wrr_schedule.
    pub fn pick(&self, st: &mut WrrState, dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
        if self.mw <= 0 {
            return None;
        }
        let n = dests.len().min(load.len());
        let last = st.cursor.filter(|&c| c < n);
        let mut start = last.map_or(0, |c| c + 1);
        let mut stop: Option<usize> = None;
        let (mut last_pass, mut restarted) = (false, false);
        // Highest weight any dest can match with (non-overloaded, present).
        let cand_max = (0..n)
            .filter(|&i| dests[i].available && !load[i].overloaded)
            .map(|i| i64::from(dests[i].weight))
            .max()
            .unwrap_or(0);
        // With the jump below a pick needs at most ~6 passes; 64 is a
        // safety bound only.
        for _ in 0..64 {
            for i in start..n {
                let d = &dests[i];
                if d.available && !load[i].overloaded && i64::from(d.weight) >= st.cw {
                    st.cursor = Some(i);
                    return Some(i);
                }
                if Some(i) == stop {
                    st.cursor = Some(i);
                    return None;
                }
            }
            start = 0;
            st.cw -= self.di;
            // Passes from the head with cw > max(cand_max, di) all fail and
            // touch nothing but cw: skip them (exact kernel result, bounded
            // work even for huge weights).
            let lim = cand_max.max(self.di);
            if st.cw > lim {
                let k = (st.cw - lim + self.di - 1) / self.di;
                st.cw -= k * self.di;
            }
            if st.cw <= 0 {
                st.cw = self.mw;
                if last_pass || last.is_none() {
                    st.cursor = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = st.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
        st.cursor = None;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Scheduler;
    use super::*;

    fn names(v: &[Option<usize>]) -> String {
        v.iter()
            .map(|x| x.map_or('-', |i| (b'A' + i as u8) as char))
            .collect()
    }

    #[test]
    fn cases() {
        let mut over = idle(3);
        over[0].overloaded = true;
        let cases: Vec<(&str, Vec<u32>, Vec<DestLoad>, &str)> = vec![
            ("4,3,2", vec![4, 3, 2], idle(3), "AABABCABCAABABCABC"),
            ("1,1,1", vec![1, 1, 1], idle(3), "ABCABC"),
            ("gcd 2: 4,2", vec![4, 2], idle(2), "AABAAB"),
            ("5,1", vec![5, 1], idle(2), "AAAAABAAAAAB"),
            ("weight 0 skipped", vec![2, 0, 1], idle(3), "AACAAC"),
            ("overloaded skipped", vec![4, 3, 2], over, "BBCBCBBC"),
            ("all 0", vec![0, 0], idle(2), "--"),
            ("empty", vec![], idle(0), "-"),
            ("3,3,1 gcd 1", vec![3, 3, 1], idle(3), "ABABABC"),
        ];
        for (name, w, l, want) in cases {
            let got = seq(Scheduler::Wrr, &dests(&w), &l, want.len());
            assert_eq!(names(&got), want, "{name}");
        }
    }

    #[test]
    fn gcd_and_mw() {
        let t = WrrTable::build(&dests(&[4, 6, 0]));
        assert_eq!((t.gcd(), t.max_weight()), (2, 5));
        let t = WrrTable::build(&dests(&[0, 0]));
        assert_eq!((t.gcd(), t.max_weight()), (1, 0));
    }

    #[test]
    fn all_overloaded_terminates() {
        let d = dests(&[7, 3, 5]);
        let mut l = idle(3);
        for x in l.iter_mut() {
            x.overloaded = true;
        }
        let t = WrrTable::build(&d);
        let mut st = t.new_state();
        assert_eq!(t.pick(&mut st, &d, &l), None);
        // From a mid-list cursor too.
        st.cursor = Some(1);
        st.cw = 2;
        assert_eq!(t.pick(&mut st, &d, &l), None);
        l[2].overloaded = false;
        assert_eq!(t.pick(&mut st, &d, &l), Some(2));
    }

    #[test]
    fn rebind_rules() {
        let t = WrrTable::build(&dests(&[4, 2]));
        let mut st = WrrState {
            cursor: Some(1),
            cw: 9,
        };
        t.rebind(&mut st);
        assert_eq!(
            st,
            WrrState {
                cursor: None,
                cw: 3
            }
        );
        let mut st = WrrState {
            cursor: Some(1),
            cw: 2,
        };
        t.rebind(&mut st);
        assert_eq!(
            st,
            WrrState {
                cursor: None,
                cw: 3
            }
        ); // (2/2)*2+1
        let t1 = WrrTable::build(&dests(&[4, 3]));
        let mut st = WrrState {
            cursor: Some(0),
            cw: 2,
        };
        t1.rebind(&mut st);
        assert_eq!(
            st,
            WrrState {
                cursor: None,
                cw: 2
            }
        );
    }
}

#[cfg(test)]
mod jump_tests {
    use super::super::testutil::*;
    use super::*;

    /// The kernel loop verbatim (no skipping), for small weights.
    fn naive(t: &WrrTable, st: &mut WrrState, dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
        if t.mw <= 0 {
            return None;
        }
        let n = dests.len();
        let last = st.cursor;
        let mut start = last.map_or(0, |c| c + 1);
        let mut stop = None;
        let (mut last_pass, mut restarted) = (false, false);
        loop {
            for i in start..n {
                if !load[i].overloaded && i64::from(dests[i].weight) >= st.cw {
                    st.cursor = Some(i);
                    return Some(i);
                }
                if Some(i) == stop {
                    st.cursor = Some(i);
                    return None;
                }
            }
            start = 0;
            st.cw -= t.di;
            if st.cw <= 0 {
                st.cw = t.mw;
                if last_pass || last.is_none() {
                    st.cursor = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = st.cw <= t.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
    }

    #[test]
    fn skipping_matches_kernel_loop() {
        let mut x = 12345u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..300 {
            let n = 1 + (rnd() % 6) as usize;
            let w: Vec<u32> = (0..n)
                .map(|_| (rnd() % 4) as u32 * [1, 2, 5][(rnd() % 3) as usize])
                .collect();
            let d = dests(&w);
            let t = WrrTable::build(&d);
            let (mut a, mut b) = (t.new_state(), t.new_state());
            for _ in 0..60 {
                let mut l = idle(n);
                for x in l.iter_mut() {
                    x.overloaded = rnd() % 3 == 0;
                }
                assert_eq!(t.pick(&mut a, &d, &l), naive(&t, &mut b, &d, &l), "{w:?}");
                assert_eq!(a, b);
            }
        }
    }
}
