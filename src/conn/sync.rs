//! Installing connections received from the active director (state sync),
//! IPVS `ip_vs_proc_conn` semantics: an existing entry for the key is
//! updated (state, activity, timer); a new one is created with the synced
//! state and remaining timeout, flag `SYNC`.
use super::slab::{F_INACTIVE, F_SYNC};
use super::table::{arm, tick};
use super::{ConnId, ConnKey, ConnTable, InsertError, NewConn};

/// What a synced install did to the real's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installed {
    /// New entry: bound to the real, active or not.
    New { id: ConnId, active: bool },
    /// Existing entry updated; activity before and after.
    Updated {
        id: ConnId,
        was_active: bool,
        active: bool,
    },
}

impl ConnTable {
    /// Install or refresh a synced connection (or template when `template`).
    /// `timeout_ms` is the remaining lifetime on the active director.
    #[allow(clippy::too_many_arguments)]
    pub fn install_synced(
        &mut self,
        new: &NewConn,
        template: bool,
        state: u8,
        active: bool,
        timeout_ms: u32,
        now_ms: u64,
        on_remove: impl FnMut(&super::Conn),
    ) -> Result<Installed, InsertError> {
        let t = tick(now_ms);
        let secs = timeout_ms.div_ceil(1000).max(1);
        let existing = if template {
            self.lookup_template(&new.key, now_ms)
        } else {
            self.lookup(&new.key, now_ms)
        };
        if let Some(id) = existing {
            let Some(c) = self.slab.get_mut(id.0) else {
                return Err(InsertError::Exists(id));
            };
            let was_active = c.flags & F_INACTIVE == 0;
            c.state = state;
            c.expires = arm(t, secs);
            if active {
                c.flags &= !F_INACTIVE;
            } else {
                c.flags |= F_INACTIVE;
            }
            c.flags |= F_SYNC;
            return Ok(Installed::Updated {
                id,
                was_active,
                active,
            });
        }
        let mut on_remove = on_remove;
        let tpl = if template { super::F_TEMPLATE } else { 0 };
        let mut rec = Self::record(new, F_SYNC, tpl, t, secs);
        rec.state = state;
        if active {
            rec.flags &= !F_INACTIVE;
        }
        let id = self.insert_rec(rec, now_ms, &mut on_remove)?;
        Ok(Installed::New { id, active })
    }

    /// Remove a synced connection by key (the active removed it).
    pub fn remove_synced(
        &mut self,
        key: &ConnKey,
        template: bool,
        now_ms: u64,
        on_remove: impl FnMut(&super::Conn),
    ) -> bool {
        let found = if template {
            self.lookup_template(key, now_ms)
        } else {
            self.lookup(key, now_ms)
        };
        match found {
            Some(id) => self.expire_now(id, now_ms, on_remove),
            None => false,
        }
    }
}

impl ConnTable {
    /// Visit up to `max` used slots from slot `from` on (live entries only,
    /// templates included) for a bulk dump spread over many calls; returns
    /// the slot to continue from, or `None` when the table is done.
    pub fn scan_from(
        &self,
        from: u32,
        max: usize,
        now_ms: u64,
        mut f: impl FnMut(&super::Conn),
    ) -> Option<u32> {
        let t = tick(now_ms);
        let cap = self.slab.capacity() as u32;
        let mut i = from;
        let mut seen = 0;
        while i < cap && seen < max {
            if let Some(c) = self.slab.get(i) {
                if super::table::live(c, t) {
                    f(c);
                }
            }
            i += 1;
            seen += 1;
        }
        (i < cap).then_some(i)
    }
}
