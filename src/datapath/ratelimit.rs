//! A token bucket: what a worker may generate (ICMP) or pass up (the
//! kernel exception path) per unit of time. Integer arithmetic in
//! milli-tokens on the worker's millisecond clock; no allocation.
use crate::types::Rate;

/// One bucket, owned by one worker.
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    rate: Rate,
    /// Saved tokens × 1000.
    milli: u64,
    last_ms: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate, now_ms: u64) -> TokenBucket {
        TokenBucket {
            rate,
            milli: u64::from(rate.burst) * 1000,
            last_ms: now_ms,
        }
    }

    /// New settings; the saved tokens are kept (capped at the new burst).
    pub fn set(&mut self, rate: Rate) {
        self.rate = rate;
        self.milli = self.milli.min(u64::from(rate.burst) * 1000);
    }

    /// Take one token if there is one.
    #[inline]
    pub fn take(&mut self, now_ms: u64) -> bool {
        if self.rate.rate == 0 {
            return true;
        }
        let cap = u64::from(self.rate.burst) * 1000;
        let elapsed = now_ms.saturating_sub(self.last_ms);
        // rate tokens/s = rate milli-tokens/ms.
        self.milli = cap.min(
            self.milli
                .saturating_add(elapsed.saturating_mul(u64::from(self.rate.rate))),
        );
        self.last_ms = self.last_ms.max(now_ms);
        if self.milli >= 1000 {
            self.milli -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(b: &mut TokenBucket, now_ms: u64, tries: u32) -> u32 {
        (0..tries).filter(|_| b.take(now_ms)).count() as u32
    }

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::new(
            Rate {
                rate: 1000,
                burst: 50,
            },
            0,
        );
        assert_eq!(taken(&mut b, 0, 200), 50, "the burst, then nothing");
        assert_eq!(taken(&mut b, 10, 200), 10, "1000/s: 10 in 10 ms");
        assert_eq!(
            taken(&mut b, 10_000, 200),
            50,
            "refills up to the burst only"
        );
        // A flood of 10 per ms for one second gets the rate.
        let mut got = 0;
        for ms in 10_001..=11_000 {
            got += taken(&mut b, ms, 10);
        }
        assert_eq!(got, 1000);
    }

    #[test]
    fn slow_rates_accumulate_fractions() {
        let mut b = TokenBucket::new(Rate { rate: 3, burst: 1 }, 0);
        assert!(b.take(0));
        assert!(!b.take(300), "0.9 of a token");
        assert!(b.take(334));
        assert!(!b.take(334));
    }

    #[test]
    fn unlimited_and_reconfigured() {
        let mut b = TokenBucket::new(Rate::UNLIMITED, 0);
        assert_eq!(taken(&mut b, 0, 10_000), 10_000);
        b.set(Rate { rate: 10, burst: 2 });
        assert_eq!(taken(&mut b, 0, 10), 0, "an unlimited bucket saved nothing");
        assert_eq!(taken(&mut b, 1000, 10), 2);
        // The clock going backwards takes nothing extra.
        assert_eq!(taken(&mut b, 500, 10), 0);
    }
}
