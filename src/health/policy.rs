//! Service-level policy: from the reals' health to the effective destination
//! list (keepalived ipwrapper.c `update_quorum_state` semantics).
//!
//! Invariants:
//! * Pure: no I/O, no clock; the only state is [`QuorumState`], which the
//!   caller keeps per service so that hysteresis works across calls.
//! * `live = Σ effective weight of up reals` (override, else configured).
//!   Quorum is gained when `!up && live >= quorum + hysteresis`, lost when
//!   `up && (live == 0 || live < quorum - hysteresis)` (saturating).
//! * While quorum is up, or no sorry server is configured: an up real gets
//!   its (override) weight; a down real gets weight 0 (`Inhibit`) or is
//!   marked `removed` (`Remove`: the caller deletes it and expires its
//!   connections).
//! * While quorum is down with a sorry server: every real is `removed` and
//!   the sorry server is the only destination.
//! * At most one quorum transition per evaluation.

use std::net::SocketAddrV4;

pub use crate::config::check_def::OnFailure;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SorryServer {
    pub addr: SocketAddrV4,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePolicy {
    /// Minimum live weight (default 1).
    pub quorum: u32,
    /// Default 0.
    pub hysteresis: u32,
    pub on_failure: OnFailure,
    pub sorry: Option<SorryServer>,
}

impl Default for ServicePolicy {
    fn default() -> Self {
        ServicePolicy {
            quorum: 1,
            hysteresis: 0,
            on_failure: OnFailure::Inhibit,
            sorry: None,
        }
    }
}

/// One real as seen by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealHealth {
    pub id: u32,
    /// Configured weight.
    pub weight: u32,
    pub up: bool,
    /// Dynamic weight from the checker, replacing `weight` while set.
    pub weight_override: Option<u32>,
}

impl RealHealth {
    fn live_weight(&self) -> u32 {
        if self.up {
            self.weight_override.unwrap_or(self.weight)
        } else {
            0
        }
    }
}

/// Quorum memory of one service. Starts up (keepalived's initial state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumState {
    pub up: bool,
}

impl Default for QuorumState {
    fn default() -> Self {
        QuorumState { up: true }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumTransition {
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveReal {
    pub id: u32,
    pub weight: u32,
    /// Not to be present in the service (delete it, expire connections).
    pub removed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub reals: Vec<EffectiveReal>,
    /// The sorry server is the active destination.
    pub sorry_active: bool,
    pub quorum_up: bool,
    pub transition: Option<QuorumTransition>,
    /// Σ weights of live reals (u64: cannot overflow).
    pub live_weight: u64,
}

impl Effective {
    /// Reals that should be in the service with weight > 0.
    pub fn serving(&self) -> impl Iterator<Item = &EffectiveReal> {
        self.reals.iter().filter(|r| !r.removed && r.weight > 0)
    }
}

/// Computes the effective destinations and updates `state`.
pub fn evaluate(
    policy: &ServicePolicy,
    reals: &[RealHealth],
    state: &mut QuorumState,
) -> Effective {
    let live: u64 = reals.iter().map(|r| u64::from(r.live_weight())).sum();
    let q = u64::from(policy.quorum);
    let h = u64::from(policy.hysteresis);
    let mut transition = None;
    if !state.up && live >= q + h {
        state.up = true;
        transition = Some(QuorumTransition::Up);
    } else if state.up && (live == 0 || live < q.saturating_sub(h)) {
        state.up = false;
        transition = Some(QuorumTransition::Down);
    }
    let sorry_active = !state.up && policy.sorry.is_some();
    let reals = reals
        .iter()
        .map(|r| {
            if sorry_active {
                EffectiveReal {
                    id: r.id,
                    weight: 0,
                    removed: true,
                }
            } else if r.up {
                EffectiveReal {
                    id: r.id,
                    weight: r.live_weight(),
                    removed: false,
                }
            } else {
                EffectiveReal {
                    id: r.id,
                    weight: 0,
                    removed: policy.on_failure == OnFailure::Remove,
                }
            }
        })
        .collect();
    Effective {
        reals,
        sorry_active,
        quorum_up: state.up,
        transition,
        live_weight: live,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn reals(ups: &[bool]) -> Vec<RealHealth> {
        ups.iter()
            .enumerate()
            .map(|(i, &up)| RealHealth {
                id: i as u32,
                weight: 1,
                up,
                weight_override: None,
            })
            .collect()
    }

    fn sorry() -> Option<SorryServer> {
        Some(SorryServer {
            addr: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080),
            weight: 1,
        })
    }

    /// quorum 3, hysteresis 1: lose below 2, regain at 4.
    #[test]
    fn quorum_hysteresis_table() {
        let p = ServicePolicy {
            quorum: 3,
            hysteresis: 1,
            sorry: sorry(),
            ..Default::default()
        };
        let mut st = QuorumState::default();
        // (number of up reals out of 5, expected quorum up, transition)
        let table: &[(usize, bool, Option<QuorumTransition>)] = &[
            (5, true, None),
            (3, true, None),
            (2, true, None), // 2 >= 3-1: still up (hysteresis)
            (1, false, Some(QuorumTransition::Down)),
            (2, false, None),
            (3, false, None), // 3 < 3+1: still down
            (4, true, Some(QuorumTransition::Up)),
            (2, true, None),
            (0, false, Some(QuorumTransition::Down)),
            (5, true, Some(QuorumTransition::Up)),
        ];
        for (i, &(n, up, tr)) in table.iter().enumerate() {
            let ups: Vec<bool> = (0..5).map(|k| k < n).collect();
            let eff = evaluate(&p, &reals(&ups), &mut st);
            assert_eq!((eff.quorum_up, eff.transition), (up, tr), "row {i}");
            assert_eq!(eff.sorry_active, !up, "row {i}");
            if eff.sorry_active {
                assert!(eff.reals.iter().all(|r| r.removed), "row {i}");
            } else {
                assert_eq!(eff.serving().count(), n, "row {i}");
            }
        }
    }

    #[test]
    fn inhibit_vs_remove_and_overrides() {
        let mut rs = reals(&[true, false, true]);
        rs[0].weight = 10;
        rs[2].weight_override = Some(0);
        let mut st = QuorumState::default();
        let eff = evaluate(&ServicePolicy::default(), &rs, &mut st);
        let w: Vec<(u32, bool)> = eff.reals.iter().map(|r| (r.weight, r.removed)).collect();
        assert_eq!(w, vec![(10, false), (0, false), (0, false)]);
        assert_eq!(eff.live_weight, 10);
        let p = ServicePolicy {
            on_failure: OnFailure::Remove,
            ..Default::default()
        };
        let eff = evaluate(&p, &rs, &mut st);
        let w: Vec<(u32, bool)> = eff.reals.iter().map(|r| (r.weight, r.removed)).collect();
        assert_eq!(w, vec![(10, false), (0, true), (0, false)]);
    }

    #[test]
    fn quorum_loss_without_sorry_keeps_reals() {
        let mut st = QuorumState::default();
        let eff = evaluate(&ServicePolicy::default(), &reals(&[false, false]), &mut st);
        assert_eq!(eff.transition, Some(QuorumTransition::Down));
        assert!(!eff.sorry_active);
        assert!(eff.reals.iter().all(|r| !r.removed && r.weight == 0));
        // Regain with default quorum 1 as soon as one real is back.
        let eff = evaluate(&ServicePolicy::default(), &reals(&[true, false]), &mut st);
        assert_eq!(eff.transition, Some(QuorumTransition::Up));
    }

    #[test]
    fn dynamic_weight_zero_counts_as_no_quorum() {
        let mut rs = reals(&[true]);
        rs[0].weight_override = Some(0);
        let p = ServicePolicy {
            sorry: sorry(),
            ..Default::default()
        };
        let mut st = QuorumState::default();
        let eff = evaluate(&p, &rs, &mut st);
        assert!(eff.sorry_active && !eff.quorum_up);
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let p = ServicePolicy {
            quorum: u32::MAX,
            hysteresis: u32::MAX,
            ..Default::default()
        };
        let mut rs = reals(&[true, true, true]);
        for r in &mut rs {
            r.weight = u32::MAX;
        }
        let mut st = QuorumState { up: false };
        // One real: MAX < quorum + hysteresis (= 2 * MAX) ⇒ stays down.
        assert!(!evaluate(&p, &rs[..1], &mut st).quorum_up);
        let eff = evaluate(&p, &rs, &mut st);
        assert!(eff.quorum_up);
        assert_eq!(eff.live_weight, 3 * u64::from(u32::MAX));
        let mut st = QuorumState::default();
        assert!(evaluate(&p, &rs, &mut st).quorum_up);
    }
}
