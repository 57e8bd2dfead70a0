//! Per-real up/down state machine with rise/fall hysteresis.
//!
//! Invariants:
//! * A real starts up unless `alpha` (then down until `rise` successes).
//! * Up → down only after `fall` consecutive failures; down → up only after
//!   `rise` consecutive successes (`rise`, `fall` ≥ 1). A success resets the
//!   failure run and vice versa; counters saturate, never overflow.
//! * Exactly one `Up`/`Down` event per actual transition; a `Weight` event
//!   only when the dynamic weight override changes (keepalived
//!   `misc_dynamic`: exit 0 keeps the current weight, 2..=255 sets
//!   `status - 2`).
//! * Pure: no clock, no I/O — the engine feeds it verdicts.

use crate::health::proto::Verdict;
use std::time::Duration;

/// State change reported by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Up(u32),
    /// Real id and the detail of the check that brought it down.
    Down(u32, String),
    /// Dynamic weight override set (exec `dynamic`).
    Weight(u32, u32),
}

impl Event {
    pub fn id(&self) -> u32 {
        match self {
            Event::Up(id) | Event::Down(id, _) | Event::Weight(id, _) => *id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckState {
    pub up: bool,
    pub successes_in_row: u32,
    pub failures_in_row: u32,
    pub weight_override: Option<u32>,
    rise: u32,
    fall: u32,
}

impl CheckState {
    pub fn new(rise: u32, fall: u32, alpha: bool) -> Self {
        CheckState {
            up: !alpha,
            successes_in_row: 0,
            failures_in_row: 0,
            weight_override: None,
            rise: rise.max(1),
            fall: fall.max(1),
        }
    }

    /// Changes thresholds, keeping the current state and runs.
    pub fn set_thresholds(&mut self, rise: u32, fall: u32) {
        self.rise = rise.max(1);
        self.fall = fall.max(1);
    }

    /// Feeds one check verdict for real `id`; returns the resulting events.
    pub fn apply(&mut self, id: u32, v: &Verdict) -> Vec<Event> {
        let mut ev = Vec::new();
        match v {
            Verdict::Ok(_) | Verdict::OkWeight(..) => {
                self.failures_in_row = 0;
                self.successes_in_row = self.successes_in_row.saturating_add(1);
                if let Verdict::OkWeight(w, _) = v {
                    if self.weight_override != Some(*w) {
                        self.weight_override = Some(*w);
                        ev.push(Event::Weight(id, *w));
                    }
                }
                if !self.up && self.successes_in_row >= self.rise {
                    self.up = true;
                    ev.push(Event::Up(id));
                }
            }
            Verdict::Fail(reason) => {
                self.successes_in_row = 0;
                self.failures_in_row = self.failures_in_row.saturating_add(1);
                if self.up && self.failures_in_row >= self.fall {
                    self.up = false;
                    ev.push(Event::Down(id, reason.clone()));
                }
            }
        }
        ev
    }
}

/// Delay of a target's first check: uniform in `[0, warmup]` from `rand`
/// (keepalived `warmup`). Zero warmup ⇒ zero delay.
pub fn warmup_delay(warmup: Duration, rand: u64) -> Duration {
    let span = warmup.as_nanos().min(u128::from(u64::MAX - 1)) as u64;
    if span == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rand % (span + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Verdict {
        Verdict::Ok("ok".into())
    }
    fn bad() -> Verdict {
        Verdict::Fail("HTTP 500".into())
    }

    /// Runs a sequence ('+' ok, '-' fail) and returns the up flag after each.
    fn run(s: &mut CheckState, seq: &str) -> (String, Vec<Event>) {
        let mut ups = String::new();
        let mut evs = Vec::new();
        for c in seq.chars() {
            let v = if c == '+' { ok() } else { bad() };
            evs.extend(s.apply(7, &v));
            ups.push(if s.up { 'U' } else { 'D' });
        }
        (ups, evs)
    }

    #[test]
    fn fall_needs_consecutive_failures() {
        let mut s = CheckState::new(2, 3, false);
        let (ups, evs) = run(&mut s, "--+---+-");
        assert_eq!(ups, "UUUUUDDD");
        assert_eq!(evs, vec![Event::Down(7, "HTTP 500".into())]);
        assert_eq!(s.failures_in_row, 1);
    }

    #[test]
    fn rise_needs_consecutive_successes() {
        let mut s = CheckState::new(3, 1, false);
        let (ups, evs) = run(&mut s, "-++-+++++-");
        assert_eq!(ups, "DDDDDDUUUD");
        assert_eq!(
            evs,
            vec![
                Event::Down(7, "HTTP 500".into()),
                Event::Up(7),
                Event::Down(7, "HTTP 500".into())
            ]
        );
    }

    #[test]
    fn alpha_starts_down() {
        let mut s = CheckState::new(2, 1, true);
        assert!(!s.up);
        let (ups, evs) = run(&mut s, "+-++");
        assert_eq!(ups, "DDDU");
        assert_eq!(evs, vec![Event::Up(7)]);
        // Without alpha: already up, successes emit nothing.
        let mut s = CheckState::new(2, 1, false);
        assert_eq!(run(&mut s, "+++").1, vec![]);
    }

    #[test]
    fn zero_thresholds_mean_one() {
        let mut s = CheckState::new(0, 0, false);
        assert_eq!(run(&mut s, "-+").0, "DU");
        s.set_thresholds(0, 2);
        assert_eq!(run(&mut s, "--").0, "UD");
    }

    #[test]
    fn dynamic_weight() {
        let mut s = CheckState::new(1, 1, false);
        assert_eq!(
            s.apply(1, &Verdict::OkWeight(5, "exit 7".into())),
            vec![Event::Weight(1, 5)]
        );
        assert_eq!(s.apply(1, &Verdict::OkWeight(5, "exit 7".into())), vec![]);
        assert_eq!(s.apply(1, &ok()), vec![]);
        assert_eq!(s.weight_override, Some(5));
        assert_eq!(s.apply(1, &bad()), vec![Event::Down(1, "HTTP 500".into())]);
        // Weight and up in one go.
        assert_eq!(
            s.apply(1, &Verdict::OkWeight(0, "exit 2".into())),
            vec![Event::Weight(1, 0), Event::Up(1)]
        );
    }

    #[test]
    fn saturating_counters() {
        let mut s = CheckState::new(1, 1, false);
        s.failures_in_row = u32::MAX;
        s.apply(1, &bad());
        assert_eq!(s.failures_in_row, u32::MAX);
    }

    #[test]
    fn warmup_bounds() {
        assert_eq!(warmup_delay(Duration::ZERO, 12345), Duration::ZERO);
        let w = Duration::from_millis(200);
        let mut r = crate::types::Xorshift::new(42 | 1);
        let mut max = Duration::ZERO;
        let mut min = w;
        for _ in 0..2000 {
            let d = warmup_delay(w, r.next_u64());
            assert!(d <= w);
            max = max.max(d);
            min = min.min(d);
        }
        // Spread over the window, not all at one end.
        assert!(max > Duration::from_millis(180) && min < Duration::from_millis(20));
        assert!(warmup_delay(Duration::MAX, u64::MAX) <= Duration::MAX);
    }
}
