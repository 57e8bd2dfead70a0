//! Per-real connection totals shared by all the workers of a director, so
//! that a real's `upper_threshold` / `lower_threshold` limit the real, not
//! each worker (IPVS keeps one `activeconns + inactconns` and one
//! `IP_VS_DEST_F_OVERLOAD` per dest: `ip_vs_bind_dest`,
//! `ip_vs_unbind_dest` in `ip_vs_conn.c`).
//!
//! Invariants:
//! - The total of real `id` is the number of (non-template) connections
//!   bound to it in all the workers' tables: every connection a worker
//!   inserts was counted once here ([`RealLoads::claim`] or
//!   [`RealLoads::bind`]) and every connection it removes is uncounted once
//!   ([`RealLoads::unbind`]), whatever the snapshot says about the real.
//! - Total and OVERLOAD live in one atomic word per real and change only by
//!   compare-and-swap, so two workers racing for a real's last slot cannot
//!   both win: through [`RealLoads::claim`] a real never holds more than its
//!   `u_threshold` connections.
//! - Indexed by stable real id (below [`MAX_REALS`]); a real removed and
//!   re-added keeps its count, as its connections keep their binding.
//!
//! The per-worker loads the schedulers read (`lb.rs`) stay per worker; only
//! their OVERLOAD flag is taken from here before a pick.
use super::service::RealId;
use super::MAX_REALS;
use crate::sched::{self, Dest, DestLoad};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bit of OVERLOAD above the 32-bit total.
const OVERLOAD: u64 = 1 << 32;
const TOTAL: u64 = OVERLOAD - 1;

/// The shared totals, one atomic word per stable real id.
pub struct RealLoads {
    slots: Box<[AtomicU64]>,
}

impl Default for RealLoads {
    fn default() -> Self {
        RealLoads {
            slots: (0..MAX_REALS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl std::fmt::Debug for RealLoads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealLoads")
            .field("reals", &self.slots.len())
            .finish()
    }
}

/// The word as the scheduler's load (total as `active`).
fn as_load(v: u64) -> DestLoad {
    DestLoad {
        active: (v & TOTAL) as u32,
        overloaded: v & OVERLOAD != 0,
        ..Default::default()
    }
}

fn word(l: &DestLoad) -> u64 {
    u64::from(l.active) | if l.overloaded { OVERLOAD } else { 0 }
}

impl RealLoads {
    fn slot(&self, real: RealId) -> Option<&AtomicU64> {
        self.slots.get(usize::from(real))
    }

    /// Apply `f` to real `real`'s word atomically; `false` when `f`
    /// refuses (returns `None`) or the id is out of range.
    fn update(&self, real: RealId, f: impl FnMut(u64) -> Option<u64>) -> bool {
        self.slot(real).is_some_and(|s| {
            s.fetch_update(Ordering::AcqRel, Ordering::Acquire, f)
                .is_ok()
        })
    }

    /// Count a new connection on `real` if `dest`'s thresholds allow one
    /// more: refused while the real is OVERLOADED or already holds
    /// `u_threshold` connections (OVERLOAD is then set, as the bind would
    /// have set it); on success OVERLOAD is set when the total reaches
    /// `u_threshold` (`ip_vs_bind_dest`).
    pub fn claim(&self, real: RealId, dest: &Dest) -> bool {
        let u = u64::from(dest.u_threshold);
        let mut won = false;
        let found = self.update(real, |v| {
            won = !(u != 0 && (v & OVERLOAD != 0 || v & TOTAL >= u));
            Some(if won { bound(v, dest) } else { v | OVERLOAD })
        });
        found && won
    }

    /// Count a connection on `real` whatever the thresholds say (IPVS binds
    /// a persistent client's connection to its template's real, and a
    /// synced connection to its real, even when OVERLOADED).
    pub fn bind(&self, real: RealId, dest: &Dest) {
        self.update(real, |v| Some(bound(v, dest)));
    }

    /// Uncount a connection of `real`; OVERLOAD is cleared per
    /// `ip_vs_unbind_dest` with `dest`'s thresholds, or unconditionally
    /// when the real is no longer configured (`None`).
    pub fn unbind(&self, real: RealId, dest: Option<&Dest>) {
        let none = Dest::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0, 0);
        let dest = dest.unwrap_or(&none);
        self.update(real, |v| {
            let mut l = as_load(v);
            l.active = l.active.saturating_sub(1);
            sched::on_unbind(dest, &mut l);
            Some(word(&l))
        });
    }

    /// A threshold edit (`__ip_vs_update_dest`): a new `u_threshold` of 0
    /// or above `old_u_threshold` clears OVERLOAD.
    pub fn update_thresholds(&self, real: RealId, old_u_threshold: u32, new: &Dest) {
        self.update(real, |v| {
            let mut l = as_load(v);
            sched::on_update(old_u_threshold, new, &mut l);
            Some(word(&l))
        });
    }

    /// Connections bound to `real` in all workers.
    pub fn total(&self, real: RealId) -> u32 {
        self.slot(real)
            .map_or(0, |s| (s.load(Ordering::Acquire) & TOTAL) as u32)
    }

    /// Is `real` OVERLOADED (no new connections unless persistent)?
    #[inline]
    pub fn overloaded(&self, real: RealId) -> bool {
        self.slot(real)
            .is_some_and(|s| s.load(Ordering::Acquire) & OVERLOAD != 0)
    }
}

/// `v` with one more connection and OVERLOAD per `ip_vs_bind_dest`.
fn bound(v: u64, dest: &Dest) -> u64 {
    let mut l = as_load(v);
    l.active = l.active.saturating_add(1);
    sched::on_bind(dest, &mut l);
    word(&l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn dest(u: u32, l: u32) -> Dest {
        let mut d = Dest::new(Ipv4Addr::new(198, 18, 1, 11).into(), 80, 1);
        d.u_threshold = u;
        d.l_threshold = l;
        d
    }

    #[test]
    fn claim_stops_at_the_upper_threshold_and_unbind_clears_below_the_lower() {
        let r = RealLoads::default();
        let d = dest(10, 5);
        for i in 0..10 {
            assert!(r.claim(3, &d), "claim {i}");
        }
        assert!(r.overloaded(3));
        assert!(!r.claim(3, &d), "the 11th is refused");
        assert_eq!(r.total(3), 10);
        for _ in 0..5 {
            r.unbind(3, Some(&d));
        }
        assert!(r.overloaded(3), "5 left: not below the lower threshold");
        assert!(!r.claim(3, &d));
        r.unbind(3, Some(&d));
        assert!(!r.overloaded(3), "4 left: below 5");
        assert!(r.claim(3, &d));
        // Forced binds (templates, sync) go past the limit and overload.
        for _ in 0..10 {
            r.bind(3, &d);
        }
        assert_eq!(r.total(3), 15);
        r.update_thresholds(3, 10, &dest(20, 0));
        assert!(!r.overloaded(3), "raised threshold clears OVERLOAD");
        assert_eq!(r.total(7), 0, "other reals untouched");
        assert!(!r.claim(u16::MAX, &d), "out of range: refused, no panic");
    }

    #[test]
    fn two_threads_racing_for_the_last_slots_never_exceed_the_limit() {
        let r = std::sync::Arc::new(RealLoads::default());
        let d = dest(1000, 0);
        let won: Vec<u32> = (0..2)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || (0..5000).filter(|_| r.claim(1, &d)).count() as u32)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(won.iter().sum::<u32>(), 1000, "{won:?}");
        assert_eq!(r.total(1), 1000);
        let r2 = r.clone();
        let h = std::thread::spawn(move || (0..500).for_each(|_| r2.unbind(1, Some(&d))));
        (0..500).for_each(|_| r.unbind(1, Some(&d)));
        h.join().unwrap();
        assert_eq!(r.total(1), 0, "no drift");
    }
}
