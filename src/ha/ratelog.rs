//! `RateLog`: at most one log line per reason per period, with a count of
//! what was suppressed in between (refusals an attacker can trigger at will
//! must not flood the log).
//!
//! Invariants: one entry per distinct reason (reasons are `&'static str`,
//! so the table is bounded by the code); never panics.

use std::time::{Duration, Instant};

/// The default period: one line per reason per 10 s.
pub const PERIOD: Duration = Duration::from_secs(10);

/// Decides which occurrences get a log line.
#[derive(Debug)]
pub struct RateLog {
    period: Duration,
    /// (reason, last line, occurrences suppressed since).
    seen: Vec<(&'static str, Instant, u64)>,
    lines: u64,
}

impl Default for RateLog {
    fn default() -> Self {
        RateLog::new(PERIOD)
    }
}

impl RateLog {
    pub fn new(period: Duration) -> RateLog {
        RateLog {
            period,
            seen: Vec::new(),
            lines: 0,
        }
    }

    /// One occurrence of `reason` at `now`: `Some(suppressed)` when it gets
    /// a line (with how many were suppressed since the previous line),
    /// `None` when it is only counted.
    pub fn allow(&mut self, reason: &'static str, now: Instant) -> Option<u64> {
        let Some(e) = self.seen.iter_mut().find(|e| e.0 == reason) else {
            self.seen.push((reason, now, 0));
            self.lines += 1;
            return Some(0);
        };
        if now.saturating_duration_since(e.1) < self.period {
            e.2 += 1;
            return None;
        }
        let suppressed = std::mem::take(&mut e.2);
        e.1 = now;
        self.lines += 1;
        Some(suppressed)
    }

    /// Lines allowed so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_reason_per_period_with_the_count() {
        let t0 = Instant::now();
        let mut r = RateLog::new(Duration::from_secs(10));
        assert_eq!(r.allow("a", t0), Some(0));
        assert_eq!(r.allow("b", t0), Some(0));
        for i in 1..100 {
            assert_eq!(r.allow("a", t0 + Duration::from_millis(i * 10)), None);
        }
        assert_eq!(r.allow("a", t0 + Duration::from_secs(10)), Some(99));
        assert_eq!(r.allow("a", t0 + Duration::from_secs(11)), None);
        assert_eq!(r.lines(), 3);
    }
}
