//! Timer expiry: the clock sweep, explicit expiry and `expire_nodest_conn`.
//!
//! Invariants:
//! * an entry is removed only when its timer has fired (`now >= expires`,
//!   serial tick arithmetic) *and* it controls nobody; an expired entry that
//!   still controls others is re-armed for `CONTROL_RETRY_S` (60 s) like
//!   IPVS `expire_later` (a template's stored timeout becomes 60 s too);
//! * every removal goes through `ConnTable::unlink` (index entries dropped,
//!   controller's `n_control` decremented, slot freed) and is reported to
//!   the caller's `on_remove` exactly once;
//! * the sweep examines at most `budget` slots per call and resumes where it
//!   stopped, so every slot is visited once per `capacity / budget` calls.
//!   Removal lags the exact expiry by at most one sweep period; lookups hide
//!   expired entries meanwhile, but a stale connection keeps its template's
//!   `n_control` until swept;
//! * under table pressure the sweep also cuts the timer of every embryonic
//!   entry it meets to at most `DEFENSE_TIMEOUT_S` from now (`pressure.rs`),
//!   so entries armed before the pressure began do not keep their long
//!   timeouts.

use super::pressure::clamp_embryo;
use super::slab::{Conn, ConnId};
use super::state::CONTROL_RETRY_S;
use super::table::{arm, expired, tick, ConnTable};

/// Stale embryo-ring entries dropped per slot of an expiry sweep's budget
/// (`ConnTable::prune_embryos`): the ring drains a proven warm-up faster
/// than the slab is swept.
const EMBRYO_PRUNE_PER_SLOT: usize = 4;

impl ConnTable {
    /// The timer of `id` fires now (`ip_vs_conn_expire_now`): removed and
    /// reported through `on_remove` unless it controls others, in which case
    /// its timer is re-armed for 60 s. Returns true if removed.
    pub fn expire_now(
        &mut self,
        id: ConnId,
        now_ms: u64,
        mut on_remove: impl FnMut(&Conn),
    ) -> bool {
        self.fire(id.0, tick(now_ms), &mut on_remove)
    }

    fn fire(&mut self, id: u32, t: u32, on_remove: &mut impl FnMut(&Conn)) -> bool {
        let Some(c) = self.slab.get_mut(id) else {
            return false;
        };
        if c.n_control > 0 {
            // expire_later: cp->timeout = 60*HZ and re-arm.
            if c.is_template() {
                c.aux = CONTROL_RETRY_S;
            }
            c.expires = arm(t, CONTROL_RETRY_S);
            self.stats.control_retries += 1;
            return false;
        }
        match self.unlink(id) {
            Some(c) => {
                on_remove(&c);
                true
            }
            None => false,
        }
    }

    pub(crate) fn sweep(
        &mut self,
        t: u32,
        budget: usize,
        on_remove: &mut impl FnMut(&Conn),
    ) -> usize {
        let cap = self.slab.capacity() as u32;
        if cap == 0 {
            return 0;
        }
        let mut removed = 0;
        let pressure = self.under_pressure();
        for _ in 0..budget.min(cap as usize) {
            let id = self.cursor;
            self.cursor = if id + 1 >= cap { 0 } else { id + 1 };
            let Some(c) = self.slab.get_mut(id) else {
                continue;
            };
            if expired(c, t) {
                if self.fire(id, t, on_remove) {
                    removed += 1;
                }
            } else if pressure && clamp_embryo(c, t) {
                self.stats.shortened += 1;
            }
        }
        removed
    }

    /// Examine at most `budget` slab slots (clock sweep) and remove the
    /// expired entries among them, calling `on_remove` for each; expired
    /// entries that still control others are re-armed for 60 s instead.
    /// Returns the number removed.
    pub fn expire_some(
        &mut self,
        now_ms: u64,
        budget: usize,
        mut on_remove: impl FnMut(&Conn),
    ) -> usize {
        self.prune_embryos(budget.saturating_mul(EMBRYO_PRUNE_PER_SLOT));
        self.sweep(tick(now_ms), budget, &mut on_remove)
    }

    /// `ip_vs_expire_nodest_conn_flush` for one real: every entry bound to
    /// `real` that controls nobody is removed, then its controller too if it
    /// no longer controls anything. The caller calls this after making the
    /// real unavailable. Full slab scan; returns the number removed.
    pub fn expire_real(&mut self, real: u16, mut on_remove: impl FnMut(&Conn)) -> usize {
        let mut removed = 0;
        for id in 0..self.slab.capacity() as u32 {
            let Some(c) = self.slab.get(id).copied() else {
                continue;
            };
            if c.real != real || c.n_control > 0 {
                continue;
            }
            if let Some(c) = self.unlink(id) {
                on_remove(&c);
                removed += 1;
            }
            if let Some(ctl) = c.control() {
                if self.slab.get(ctl.0).is_some_and(|ct| ct.n_control == 0) {
                    if let Some(ct) = self.unlink(ctl.0) {
                        on_remove(&ct);
                        removed += 1;
                    }
                }
            }
        }
        removed
    }
}
