//! IPVS-style rate estimator (ip_vs_est.c): every 2 s the counters of each
//! real are sampled; the rate over the interval is smoothed with an EWMA of
//! weight 1/4 (`avg += (rate - avg) / 4`). Services show the sum of their
//! reals.
use super::proto::{RatesData, StatsData};
use std::time::Instant;

#[derive(Clone, Copy, Debug, Default)]
struct Est {
    last: StatsData,
    avg: [f64; 5],
    primed: bool,
}

/// Per-real estimators, by real id.
#[derive(Debug, Default)]
pub struct Estimator {
    ests: Vec<Est>,
    last_at: Option<Instant>,
}

impl Estimator {
    /// Take one sample of `(real id, counters)`.
    pub fn sample(&mut self, samples: &[(u16, StatsData)]) {
        let now = Instant::now();
        let dt = self
            .last_at
            .map_or(2.0, |t| now.duration_since(t).as_secs_f64())
            .max(0.001);
        self.last_at = Some(now);
        for &(id, s) in samples {
            let i = usize::from(id);
            if self.ests.len() <= i {
                self.ests.resize(i + 1, Est::default());
            }
            let e = &mut self.ests[i];
            if e.primed {
                let cur = [
                    s.conns.saturating_sub(e.last.conns),
                    s.inpkts.saturating_sub(e.last.inpkts),
                    s.outpkts.saturating_sub(e.last.outpkts),
                    s.inbytes.saturating_sub(e.last.inbytes),
                    s.outbytes.saturating_sub(e.last.outbytes),
                ];
                for (a, c) in e.avg.iter_mut().zip(cur) {
                    let rate = c as f64 / dt;
                    *a += (rate - *a) / 4.0;
                }
            }
            e.last = s;
            e.primed = true;
        }
    }

    /// Smoothed rates of real `id` (bytes/s as IPVS shows bps: bytes per second).
    pub fn get(&self, id: u16) -> RatesData {
        let Some(e) = self.ests.get(usize::from(id)) else {
            return RatesData::default();
        };
        let r = |x: f64| x.round().max(0.0) as u64;
        RatesData {
            cps: r(e.avg[0]),
            inpps: r(e.avg[1]),
            outpps: r(e.avg[2]),
            inbps: r(e.avg[3]),
            outbps: r(e.avg[4]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_with_quarter_weight() {
        let mut e = Estimator::default();
        let mut s = StatsData::default();
        e.sample(&[(3, s)]);
        for _ in 0..40 {
            e.last_at = Some(Instant::now() - std::time::Duration::from_secs(2));
            s.conns += 200; // 100/s
            s.inpkts += 2000;
            e.sample(&[(3, s)]);
        }
        let r = e.get(3);
        assert!((99..=101).contains(&r.cps), "{r:?}");
        assert!((990..=1010).contains(&r.inpps), "{r:?}");
        assert_eq!(e.get(9), RatesData::default());
    }
}
