//! Persistence templates (IPVS `ip_vs_sched_persist` in `ip_vs_core.c`).
//!
//! A template is a record with `F_TEMPLATE` keyed by
//! `<proto, caddr & netmask, 0, vaddr, vport-or-0>` (see [`template_key`]) in
//! its own key space; it never runs the state machine (its `state` holds
//! `CTPL_S_ASSURED`), its timer is re-armed with its own timeout (stored in
//! `aux`) by [`ConnTable::touch`], and it cannot expire while `n_control > 0`
//! (re-armed for 60 s, and from then on its timeout *is* 60 s, as in IPVS
//! where `expire_later` overwrites `cp->timeout`).
//!
//! Invariants:
//! * only non-template records are linked to a controller, and a record has
//!   at most one controller (`ip_vs_control_add` replaces the old one);
//! * invalidation (`ip_vs_check_template` failing) unhashes the template and
//!   re-keys it to `cport 0, vport 0xffff, rport 0xffff` like IPVS, without
//!   touching its timer; it stays in the slab (still controlling its
//!   connections, still counted) until it expires. Deviation: IPVS leaves it
//!   in the hash under the dead key, so a persistent service on port 65535
//!   could match it; here it is simply out of the index.

use std::net::Ipv4Addr;

use super::key::{ConnKey, Kind, IPPROTO_IP};
use super::slab::{ConnId, F_HASHED, F_SYNC, F_TEMPLATE, NIL};
use super::table::{live, tick, ConnTable};
use super::{InsertError, NewConn};

/// `FTPPORT`: templates of a port-21 service use vport 0 and dport 0.
pub const FTP_PORT: u16 = 21;

/// Template key for a packet `<proto, caddr, vaddr:vport>` of a persistent
/// service (`svc_port`, `svc_fwmark` = 0 if not a fwmark service), exactly
/// as `ip_vs_sched_persist` builds it:
/// * `vport == svc_port`: `<proto, snet, 0, vaddr, svc_port==21 ? 0 : vport>`;
/// * else fwmark service: `<IPPROTO_IP, snet, 0, fwmark as address, 0>`;
/// * else (port-0 service): `<proto, snet, 0, vaddr, 0>`.
pub fn template_key(
    proto: u8,
    caddr: Ipv4Addr,
    netmask: Ipv4Addr,
    vaddr: Ipv4Addr,
    vport: u16,
    svc_port: u16,
    svc_fwmark: u32,
) -> ConnKey {
    let snet = Ipv4Addr::from_bits(caddr.to_bits() & netmask.to_bits());
    if vport == svc_port {
        let p = if svc_port == FTP_PORT { 0 } else { vport };
        ConnKey::new(proto, snet, 0, vaddr, p)
    } else if svc_fwmark != 0 {
        ConnKey::new(IPPROTO_IP, snet, 0, Ipv4Addr::from_bits(svc_fwmark), 0)
    } else {
        ConnKey::new(proto, snet, 0, vaddr, 0)
    }
}

/// dport of a new template: `(vport == svc_port && svc_port != 21) ? real_port : 0`.
pub fn template_rport(vport: u16, svc_port: u16, real_port: u16) -> u16 {
    if vport == svc_port && svc_port != FTP_PORT {
        real_port
    } else {
        0
    }
}

/// dport of a connection created under a template:
/// `(vport == svc_port && real_port != 0) ? real_port : vport`.
pub fn persist_conn_rport(vport: u16, svc_port: u16, real_port: u16) -> u16 {
    if vport == svc_port && real_port != 0 {
        real_port
    } else {
        vport
    }
}

impl ConnTable {
    /// Insert a template (`new.key` from [`template_key`]) with timeout
    /// `timeout_s` (the service's `-p`, clamped to 31 days), armed now.
    /// Flags: `TEMPLATE | fwd | INACTIVE` (+`NOOUTPUT` unless NAT) and
    /// `new.flags & F_SYNC`. A stale template with the same key is reclaimed
    /// through `on_remove`; a live one gives `Exists`.
    pub fn insert_template(
        &mut self,
        new: &NewConn,
        timeout_s: u32,
        now_ms: u64,
        mut on_remove: impl FnMut(&super::Conn),
    ) -> Result<ConnId, InsertError> {
        let rec = Self::record(new, new.flags & F_SYNC, F_TEMPLATE, tick(now_ms), timeout_s);
        self.insert_rec(rec, now_ms, &mut on_remove)
    }

    /// Live (hashed) template for `key`.
    pub fn lookup_template(&self, key: &ConnKey, now_ms: u64) -> Option<ConnId> {
        self.find_key(Kind::Template, key, Some(tick(now_ms)))
            .map(ConnId)
    }

    /// `ip_vs_control_add`: make `tpl` control `conn` (`n_control++`),
    /// replacing any previous controller. False if either is not in use,
    /// `conn` is a template, or they are the same record.
    pub fn link_template(&mut self, conn: ConnId, tpl: ConnId) -> bool {
        if conn == tpl || self.slab.get(tpl.0).is_none() {
            return false;
        }
        let old = match self.slab.get(conn.0) {
            Some(c) if !c.is_template() => c.aux,
            _ => return false,
        };
        if old == tpl.0 {
            return true;
        }
        if let Some(o) = self.slab.get_mut(old) {
            o.n_control = o.n_control.saturating_sub(1);
        }
        if let Some(c) = self.slab.get_mut(conn.0) {
            c.aux = tpl.0;
        }
        if let Some(t) = self.slab.get_mut(tpl.0) {
            t.n_control += 1;
        }
        true
    }

    /// `ip_vs_control_del`: detach `conn` from its controller.
    pub fn unlink_control(&mut self, conn: ConnId) -> bool {
        let ctl = match self.slab.get(conn.0) {
            Some(c) if !c.is_template() && c.aux != NIL => c.aux,
            _ => return false,
        };
        if let Some(t) = self.slab.get_mut(ctl) {
            t.n_control = t.n_control.saturating_sub(1);
        }
        if let Some(c) = self.slab.get_mut(conn.0) {
            c.aux = NIL;
        }
        true
    }

    /// Invalidate a template (`ip_vs_check_template` failure): unhash it and
    /// re-key it to the dead ports; its timer is not restarted. False if
    /// `tpl` is not a hashed template.
    pub fn invalidate_template(&mut self, tpl: ConnId) -> bool {
        match self.slab.get(tpl.0) {
            Some(c) if c.is_template() && c.flags & F_HASHED != 0 => {}
            _ => return false,
        }
        self.unhash(tpl.0);
        if let Some(c) = self.slab.get_mut(tpl.0) {
            c.cport = 0;
            c.vport = 0xffff;
            c.rport = 0xffff;
        }
        true
    }

    /// True if `tpl` is a live template at `now_ms` (helper for callers
    /// holding an id across packets).
    pub fn template_alive(&self, tpl: ConnId, now_ms: u64) -> bool {
        self.slab
            .get(tpl.0)
            .is_some_and(|c| c.is_template() && live(c, tick(now_ms)))
    }
}
