//! Load balancing on one worker: connection lookup, scheduling (with
//! persistence templates and one-packet scheduling), the IPVS state
//! machine, and forwarding by NAT, DR or TUN; NAT replies; ICMP errors about
//! connections. Follows `ip_vs_in`/`ip_vs_out` in the kernel's `ip_vs_core.c`.
//!
//! Invariants:
//! - The worker owns its [`ConnTable`]; per-real loads (`loads`) mirror
//!   exactly the connections in it that are bound to a live real: every
//!   insert binds (+1 inactive), every activity change moves one count,
//!   every removal unbinds (through `on_remove`).
//! - The shared totals ([`RealLoads`]) count every connection of every
//!   worker by real id: a new connection's real is claimed there before
//!   the insert (given back if the insert fails), every removal unbinds it,
//!   so thresholds limit the real, not the worker. OVERLOAD in `loads` is
//!   copied from there before each pick of a service with thresholds.
//! - Loads and scheduler states are indexed by service position in the
//!   current snapshot; a new snapshot generation rebuilds them by stable
//!   real id (`rebind`), so counts survive reloads.
//! - Nothing here allocates per packet; ICMP errors are built in frames
//!   from the pool and pushed to `extra` for routing by the engine.
use super::real_load::RealLoads;
use super::service::{Persist, ServiceView};
use super::sync::{EventRing, HaEvent, SyncRecord};
use super::{Counters, DropReason, Snapshot, Verdict};
use crate::conn::{self, ConnId, ConnKey, ConnTable, Dir, FwdFlag, NewConn, ReplyKey, StateChange};
use crate::frame::{Frame, FrameAlloc};
use crate::packet::flow::Parsed;
use crate::packet::tcp;
use crate::sched::{self, DestLoad, Flow};
use crate::xlate::{self, XlateError};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Options that follow the IPVS sysctls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbOptions {
    pub sloppy_tcp: bool,
    pub expire_nodest_conn: bool,
    pub expire_quiescent_template: bool,
    /// The connection table's pressure policy (`[conn] defense`).
    pub defense: conn::Defense,
}

/// The per-worker load-balancing state.
pub struct Lb {
    pub conns: ConnTable,
    states: Vec<sched::State>,
    loads: Vec<Vec<DestLoad>>,
    /// Per-real totals and OVERLOAD shared with the other workers.
    shared: Arc<RealLoads>,
    /// By service position: does any real have an upper threshold?
    thresholds: Vec<bool>,
    generation: u64,
    ident: u16,
    seed: u64,
    /// Sync records and HA events for the management side (with `[ha]`).
    events: Option<std::sync::Arc<EventRing>>,
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(_) => None,
    }
}

/// Update the per-real load and gauges when a connection is unbound.
fn unbind(
    snap: &Snapshot,
    loads: &mut [Vec<DestLoad>],
    shared: &RealLoads,
    counters: &Counters,
    ev: Option<&EventRing>,
    c: &conn::Conn,
) {
    if let Some(ev) = ev.filter(|_| snap.ha.enabled && snap.ha.active) {
        if ev.push(HaEvent::Sync(SyncRecord::of(c, true, 0))).is_err() {
            counters.sync_dropped.inc();
        }
    }
    if c.is_template() {
        if let Some((s, d)) = snap.services.real(c.real()) {
            if let Some(l) = loads.get_mut(s).and_then(|v| v.get_mut(d)) {
                l.persistent = l.persistent.saturating_sub(1);
            }
        }
        return;
    }
    let active = c.is_active();
    let place = snap.services.real(c.real());
    let dest = place.and_then(|(s, d)| snap.services.list.get(s)?.dests.get(d));
    shared.unbind(c.real(), dest);
    if let Some(l) = place.and_then(|(s, d)| loads.get_mut(s)?.get_mut(d)) {
        if active {
            l.active = l.active.saturating_sub(1);
        } else {
            l.inactive = l.inactive.saturating_sub(1);
        }
    }
    if let Some(rc) = counters.real(c.real()) {
        if active {
            rc.active.set(rc.active.get().saturating_sub(1));
        } else {
            rc.inactive.set(rc.inactive.get().saturating_sub(1));
        }
    }
    counters.conns_expired.inc();
}

impl Lb {
    /// A worker's LB state with a connection table of `capacity` entries.
    pub fn new(
        capacity: usize,
        timeouts: conn::Timeouts,
        seed: u64,
    ) -> Result<Lb, conn::TableError> {
        Self::with_page_advice(capacity, timeouts, seed, conn::no_advice)
    }

    /// Same, the table's memory shown to `advice` before it is first
    /// written (the worker passes `dpdk::advise_huge_pages`).
    pub fn with_page_advice(
        capacity: usize,
        timeouts: conn::Timeouts,
        seed: u64,
        advice: conn::PageAdvice,
    ) -> Result<Lb, conn::TableError> {
        Ok(Lb {
            conns: ConnTable::with_advice(capacity, timeouts, seed, advice)?,
            states: Vec::new(),
            loads: Vec::new(),
            shared: Arc::default(),
            thresholds: Vec::new(),
            generation: u64::MAX,
            ident: (seed as u16) | 1,
            seed,
            events: None,
        })
    }

    /// Follow a new snapshot: rebuild per-service scheduler states and
    /// loads, keeping each real's load by its stable id.
    pub fn refresh(&mut self, old: Option<&Snapshot>, snap: &Snapshot) {
        if self.generation == snap.generation {
            return;
        }
        self.generation = snap.generation;
        self.conns.set_timeouts(snap.timeouts);
        self.conns.set_defense(snap.lb.defense);
        let mut loads = Vec::with_capacity(snap.services.list.len());
        let mut states = Vec::with_capacity(snap.services.list.len());
        let mut old_states: Vec<Option<sched::State>> = self.states.drain(..).map(Some).collect();
        for (i, svc) in snap.services.list.iter().enumerate() {
            let mut v = vec![DestLoad::default(); svc.dests.len()];
            if let Some(o) = old {
                for (d, r) in svc.reals.iter().enumerate() {
                    if let Some((os, od)) = o.services.real(r.id) {
                        if let Some(l) = self.loads.get(os).and_then(|x| x.get(od)) {
                            v[d] = *l;
                            let old_u = o.services.list[os].dests[od].u_threshold;
                            sched::on_update(old_u, &svc.dests[d], &mut v[d]);
                            self.shared.update_thresholds(r.id, old_u, &svc.dests[d]);
                        }
                    }
                }
            }
            loads.push(v);
            // Keep a service's scheduler state when the service survives.
            let st = old
                .and_then(|o| o.services.by_id(svc.id))
                .and_then(|p| old_states.get_mut(p).and_then(Option::take));
            states.push(match st {
                Some(mut s) if s.kind() == svc.table.kind() => {
                    s.rebind_identity(&svc.table);
                    s
                }
                _ => sched::State::with_seed(&svc.table, self.seed ^ (i as u64) ^ 0x5bd1_e995),
            });
        }
        self.loads = loads;
        self.states = states;
        self.thresholds = (snap.services.list.iter())
            .map(|s| s.dests.iter().any(|d| d.u_threshold != 0))
            .collect();
    }

    /// Share per-real totals and OVERLOAD with the other workers of the
    /// director (by default a worker has its own).
    pub fn set_real_loads(&mut self, shared: Arc<RealLoads>) {
        self.shared = shared;
    }

    /// A copy of a live connection record.
    #[inline]
    fn conn(&self, id: ConnId) -> Option<conn::Conn> {
        self.conns.get(id).copied()
    }

    fn next_ident(&mut self) -> u16 {
        self.ident = self.ident.wrapping_add(1);
        self.ident
    }

    /// Expire up to `budget` slots' worth of connections.
    pub fn expire_some(
        &mut self,
        snap: &Snapshot,
        counters: &Counters,
        now_ms: u64,
        budget: usize,
    ) {
        let (loads, sh, ev) = (&mut self.loads, &*self.shared, self.events.as_deref());
        self.conns
            .expire_some(now_ms, budget, |c| unbind(snap, loads, sh, counters, ev, c));
        counters.publish_table(&self.conns);
    }

    /// A TCP/UDP packet to a VIP (`p` parsed at L3 offset `off`).
    #[allow(clippy::too_many_arguments)]
    pub fn to_vip<F: Frame, A: FrameAlloc<Frame = F>>(
        &mut self,
        frame: &mut F,
        p: &Parsed,
        snap: &Snapshot,
        counters: &Counters,
        alloc: &mut A,
        extra: &mut Vec<F>,
        now_ms: u64,
    ) -> Verdict {
        let t = p.tuple;
        let (Some(caddr), Some(vaddr)) = (v4(t.src), v4(t.dst)) else {
            return Verdict::Drop(DropReason::Ipv6);
        };
        let Some(spos) = snap.services.find(t.proto, vaddr, t.dport) else {
            return Verdict::Drop(DropReason::NoService);
        };
        let svc = &snap.services.list[spos];
        let key = ConnKey::new(t.proto, caddr, t.sport, vaddr, t.dport);
        let is_tcp = t.proto == conn::IPPROTO_TCP;
        let flags = p.tcp_flags;
        let syn = is_tcp
            && flags & tcp::Flags::SYN != 0
            && flags & (tcp::Flags::ACK | tcp::Flags::RST) == 0;

        let mut found = self.conns.lookup(&key, now_ms);
        if let Some(id) = found {
            let Some(c) = self.conn(id) else {
                return Verdict::Drop(DropReason::NoConn);
            };
            let alive = snap.services.real(c.real()).is_some();
            // conn_reuse_mode=1: a SYN on a connection in TIME_WAIT/CLOSE is
            // rescheduled; expire_nodest_conn: a conn of a removed real.
            let reuse = syn
                && matches!(
                    conn::TcpState::from_u8(c.state()),
                    Some(conn::TcpState::TimeWait | conn::TcpState::Close)
                );
            if reuse
                || (!alive
                    && (snap.lb.expire_nodest_conn || snap.services.removed_by_health(c.real())))
            {
                let (loads, sh, ev) = (&mut self.loads, &*self.shared, self.events.as_deref());
                self.conns
                    .expire_now(id, now_ms, |x| unbind(snap, loads, sh, counters, ev, x));
                found = None;
            } else if !alive {
                return Verdict::Drop(DropReason::RealRemoved);
            }
        }
        let created = found.is_none();
        let id = match found {
            Some(id) => id,
            None => {
                if is_tcp && !syn && !(snap.lb.sloppy_tcp && flags & tcp::Flags::RST == 0) {
                    return Verdict::Drop(DropReason::NoConn);
                }
                match self.schedule(
                    spos, svc, key, caddr, t.sport, vaddr, t.dport, snap, counters, now_ms,
                ) {
                    Ok(id) => id,
                    Err(DropReason::NoReal) => {
                        self.icmp_to_client(frame, XlateKind::PortUnreach, vaddr, alloc, extra);
                        return Verdict::Drop(DropReason::NoReal);
                    }
                    Err(r) => return Verdict::Drop(r),
                }
            }
        };
        let change = self.conns.transition(id, Dir::Input, flags, now_ms);
        self.account(id, change, snap, counters);
        if created || change.is_some_and(|c| c.old != c.new) {
            self.sync_out(id, snap, counters, now_ms);
        }
        let Some(c) = self.conn(id) else {
            return Verdict::Drop(DropReason::NoConn);
        };
        if let Some(rc) = counters.real(c.real()) {
            rc.in_pkts.inc();
            rc.in_bytes.add(frame.len().saturating_sub(14) as u64);
        }
        let v = self.forward(frame, &c, snap, vaddr, alloc, extra);
        if c.flags() & conn::F_ONE_PACKET != 0 {
            let (loads, sh, ev) = (&mut self.loads, &*self.shared, self.events.as_deref());
            self.conns
                .expire_now(id, now_ms, |x| unbind(snap, loads, sh, counters, ev, x));
        }
        v
    }

    /// The HA event ring, if any.
    pub fn events(&self) -> Option<&EventRing> {
        self.events.as_deref()
    }

    /// Report sync records and HA events on `ev` (with `[ha]`).
    pub fn set_events(&mut self, ev: std::sync::Arc<EventRing>) {
        self.events = Some(ev);
    }

    /// Queue the sync record of `id` for the peer (active side only).
    fn sync_out(&self, id: ConnId, snap: &Snapshot, counters: &Counters, now_ms: u64) {
        let Some(ev) = self
            .events
            .as_deref()
            .filter(|_| snap.ha.enabled && snap.ha.active)
        else {
            return;
        };
        let Some(c) = self.conns.get(id) else { return };
        if c.flags() & conn::F_ONE_PACKET != 0 {
            return; // IPVS never syncs one-packet connections
        }
        match ev.push(HaEvent::Sync(SyncRecord::of(
            c,
            false,
            c.remaining_ms(now_ms),
        ))) {
            Ok(()) => counters.sync_records.inc(),
            Err(_) => counters.sync_dropped.inc(),
        }
    }

    /// Backup side: install (or remove) a connection synced from the active,
    /// bound to the local real with the same addresses.
    pub fn install(
        &mut self,
        r: &SyncRecord,
        snap: &Snapshot,
        counters: &Counters,
        now_ms: u64,
    ) -> bool {
        let remove = r.remove;
        let r = &r.conn;
        let key = ConnKey::new(r.proto, r.caddr, r.cport, r.vaddr, r.vport);
        let (loads, sh, ev) = (&mut self.loads, &*self.shared, self.events.as_deref());
        if remove {
            return self.conns.remove_synced(&key, r.template, now_ms, |x| {
                unbind(snap, loads, sh, counters, ev, x)
            });
        }
        let Some(spos) = snap.services.find(r.proto, r.vaddr, r.vport) else {
            return false;
        };
        let svc = &snap.services.list[spos];
        let Some(d) = svc
            .reals
            .iter()
            .position(|x| x.addr == r.raddr && (x.port == r.rport || r.template || x.port == 0))
        else {
            return false;
        };
        let real = &svc.reals[d];
        let new = NewConn {
            key,
            svc: svc.id,
            real: real.id,
            fwd: FwdFlag::from(real.method),
            raddr: r.raddr,
            rport: r.rport,
            flags: 0,
        };
        let res = self.conns.install_synced(
            &new,
            r.template,
            r.state,
            r.active,
            u32::try_from(r.expires_ms).unwrap_or(u32::MAX),
            now_ms,
            |x| unbind(snap, loads, sh, counters, ev, x),
        );
        let Ok(done) = res else { return false };
        let (was, now, fresh) = match done {
            conn::Installed::New { active, .. } => (false, active, true),
            conn::Installed::Updated {
                was_active, active, ..
            } => (was_active, active, false),
        };
        if r.template {
            if fresh {
                if let Some(l) = self.loads.get_mut(spos).and_then(|v| v.get_mut(d)) {
                    l.persistent += 1;
                }
            }
            return true;
        }
        if fresh {
            // Bound like a scheduled connection (+1 inactive) ...
            if let Some(dest) = svc.dests.get(d) {
                self.shared.bind(real.id, dest);
            }
            if let Some(l) = self.loads.get_mut(spos).and_then(|v| v.get_mut(d)) {
                l.inactive += 1;
            }
            if let Some(rc) = counters.real(real.id) {
                rc.conns.inc();
                rc.inactive.inc();
            }
        }
        // ... then moved to active when the synced state is active.
        let counted_active = was && !fresh;
        if now != counted_active {
            self.move_activity(real.id, now, snap, counters);
        }
        counters.sync_installed.inc();
        counters.publish_table(&self.conns);
        true
    }

    /// Bulk sync: records of up to `max` table slots from `from` on; the
    /// slot to continue from, `None` when done.
    pub fn dump(
        &self,
        from: u32,
        max: usize,
        now_ms: u64,
        mut f: impl FnMut(SyncRecord),
    ) -> Option<u32> {
        self.conns.scan_from(from, max, now_ms, |c| {
            f(SyncRecord::of(c, false, c.remaining_ms(now_ms)))
        })
    }

    /// Move the real's active/inactive counts after a transition.
    fn account(
        &mut self,
        id: ConnId,
        change: Option<StateChange>,
        snap: &Snapshot,
        counters: &Counters,
    ) {
        let Some(ch) = change.filter(StateChange::activity_changed) else {
            return;
        };
        let Some(c) = self.conns.get(id) else { return };
        self.move_activity(c.real(), ch.is_active, snap, counters);
    }

    /// Move one connection of `real` between its inactive and active counts
    /// (the scheduler's load and the exported gauges).
    fn move_activity(
        &mut self,
        real: super::service::RealId,
        to_active: bool,
        snap: &Snapshot,
        counters: &Counters,
    ) {
        if let Some(l) = snap
            .services
            .real(real)
            .and_then(|(s, d)| self.loads.get_mut(s)?.get_mut(d))
        {
            if to_active {
                l.inactive = l.inactive.saturating_sub(1);
                l.active += 1;
            } else {
                l.active = l.active.saturating_sub(1);
                l.inactive += 1;
            }
        }
        if let Some(rc) = counters.real(real) {
            if to_active {
                rc.inactive.set(rc.inactive.get().saturating_sub(1));
                rc.active.inc();
            } else {
                rc.active.set(rc.active.get().saturating_sub(1));
                rc.inactive.inc();
            }
        }
    }

    /// Pick a real (through a persistence template when configured) and
    /// insert the connection, bound (+1 inactive) to it.
    #[allow(clippy::too_many_arguments)]
    fn schedule(
        &mut self,
        spos: usize,
        svc: &ServiceView,
        key: ConnKey,
        caddr: Ipv4Addr,
        cport: u16,
        vaddr: Ipv4Addr,
        vport: u16,
        snap: &Snapshot,
        counters: &Counters,
        now_ms: u64,
    ) -> Result<ConnId, DropReason> {
        let flow = Flow {
            saddr: IpAddr::V4(caddr),
            sport: cport,
            daddr: IpAddr::V4(vaddr),
            dport: vport,
            now_ms,
        };
        let (d, template) = if let Some(per) = svc.persistence {
            let tkey = conn::template_key(key.proto, caddr, per.netmask, vaddr, vport, svc.port, 0);
            let (d, tid) =
                self.through_template(spos, svc, per, tkey, vport, &flow, snap, counters)?;
            (d, Some(tid))
        } else {
            (
                self.pick_claimed(spos, svc, &flow)
                    .ok_or(DropReason::NoReal)?,
                None,
            )
        };
        self.bind_new(spos, svc, d, template, key, vport, snap, counters, now_ms)
    }

    /// Persistence: the real of the client's live template, else a newly
    /// picked real under a new template. Returns the real's position and
    /// the template.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn through_template(
        &mut self,
        spos: usize,
        svc: &ServiceView,
        per: Persist,
        tkey: ConnKey,
        vport: u16,
        flow: &Flow,
        snap: &Snapshot,
        counters: &Counters,
    ) -> Result<(usize, ConnId), DropReason> {
        let now_ms = flow.now_ms;
        if let Some(found) = self.live_template(spos, svc, &tkey, snap, now_ms)? {
            // The template's real, OVERLOADED or not (ip_vs_sched_persist).
            if let (Some(r), Some(dest)) = (svc.reals.get(found.0), svc.dests.get(found.0)) {
                self.shared.bind(r.id, dest);
            }
            return Ok(found);
        }
        let di = self
            .pick_claimed(spos, svc, flow)
            .ok_or(DropReason::NoReal)?;
        let r = &svc.reals[di];
        let new = NewConn {
            key: tkey,
            svc: svc.id,
            real: r.id,
            fwd: FwdFlag::from(r.method),
            raddr: r.addr,
            rport: conn::template_rport(vport, svc.port, r.port),
            flags: 0,
        };
        let (loads, sh, ev) = (&mut self.loads, &*self.shared, self.events.as_deref());
        let tid = self
            .conns
            .insert_template(&new, per.timeout_s, now_ms, |x| {
                unbind(snap, loads, sh, counters, ev, x)
            })
            .map_err(|_| {
                sh.unbind(r.id, svc.dests.get(di));
                DropReason::ConnTableFull
            })?;
        self.sync_out(tid, snap, counters, now_ms);
        if let Some(l) = self.loads.get_mut(spos).and_then(|v| v.get_mut(di)) {
            l.persistent += 1;
        }
        Ok((di, tid))
    }

    /// The client's template, if live and its real still usable (IPVS
    /// check_template: the dest must still exist and, with
    /// expire_quiescent_template, have weight > 0); a template whose real
    /// is not is invalidated.
    #[inline(always)]
    fn live_template(
        &mut self,
        spos: usize,
        svc: &ServiceView,
        tkey: &ConnKey,
        snap: &Snapshot,
        now_ms: u64,
    ) -> Result<Option<(usize, ConnId)>, DropReason> {
        let Some(tid) = self.conns.lookup_template(tkey, now_ms) else {
            return Ok(None);
        };
        let tc = self.conn(tid).ok_or(DropReason::NoConn)?;
        match snap.services.real(tc.real()) {
            Some((s, di))
                if s == spos
                    && !(snap.lb.expire_quiescent_template
                        && svc.dests.get(di).is_some_and(|x| x.weight == 0)) =>
            {
                self.conns.touch(tid, now_ms);
                Ok(Some((di, tid)))
            }
            _ => {
                self.conns.invalidate_template(tid);
                Ok(None)
            }
        }
    }

    /// Insert the connection to real `d` (linked to its template if any;
    /// already counted in the shared totals) and count it: +1 inactive on
    /// the real, one more created. A connection that cannot be inserted
    /// gives its shared count back.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn bind_new(
        &mut self,
        spos: usize,
        svc: &ServiceView,
        d: usize,
        template: Option<ConnId>,
        key: ConnKey,
        vport: u16,
        snap: &Snapshot,
        counters: &Counters,
        now_ms: u64,
    ) -> Result<ConnId, DropReason> {
        let r = &svc.reals[d];
        let rport = if svc.persistence.is_some() {
            conn::persist_conn_rport(vport, svc.port, r.port)
        } else if r.port == 0 {
            vport
        } else {
            r.port
        };
        let new = NewConn {
            key,
            svc: svc.id,
            real: r.id,
            fwd: FwdFlag::from(r.method),
            raddr: r.addr,
            rport,
            flags: if svc.ops { conn::F_ONE_PACKET } else { 0 },
        };
        let (loads, sh, ev) = (&mut self.loads, &*self.shared, self.events.as_deref());
        let id = self
            .conns
            .insert(&new, now_ms, |x| unbind(snap, loads, sh, counters, ev, x))
            .map_err(|_| {
                sh.unbind(r.id, svc.dests.get(d));
                DropReason::ConnTableFull
            })?;
        if let Some(tid) = template {
            self.conns.link_template(id, tid);
        }
        if let Some(l) = self.loads.get_mut(spos).and_then(|v| v.get_mut(d)) {
            l.inactive += 1;
        }
        if let Some(rc) = counters.real(r.id) {
            rc.conns.inc();
            rc.inactive.inc();
        }
        counters.conns_created.inc();
        counters.publish_table(&self.conns);
        Ok(id)
    }

    /// The scheduler's pick, with OVERLOAD read from the shared totals
    /// for a service whose reals have thresholds.
    fn pick(&mut self, spos: usize, svc: &ServiceView, flow: &Flow) -> Option<usize> {
        let st = self.states.get_mut(spos)?;
        let load = self.loads.get_mut(spos)?;
        if self.thresholds.get(spos).copied().unwrap_or(false) {
            for ((l, d), r) in load.iter_mut().zip(&svc.dests).zip(&svc.reals) {
                l.overloaded = d.u_threshold != 0 && self.shared.overloaded(r.id);
            }
        }
        svc.table.pick(st, &svc.dests, load, flow)
    }

    /// A pick counted in the shared totals: when another worker took the
    /// real's last slot since the pick read OVERLOAD, the claim fails (and
    /// sets OVERLOAD), and the scheduler picks again, at most once per real.
    fn pick_claimed(&mut self, spos: usize, svc: &ServiceView, flow: &Flow) -> Option<usize> {
        for _ in 0..=svc.dests.len() {
            let d = self.pick(spos, svc, flow)?;
            let (r, dest) = (svc.reals.get(d)?, svc.dests.get(d)?);
            if self.shared.claim(r.id, dest) {
                return Some(d);
            }
        }
        None
    }

    /// Rewrite/encapsulate for the connection's method; the verdict routes
    /// the packet to the real server.
    fn forward<F: Frame, A: FrameAlloc<Frame = F>>(
        &mut self,
        frame: &mut F,
        c: &conn::Conn,
        snap: &Snapshot,
        vaddr: Ipv4Addr,
        alloc: &mut A,
        extra: &mut Vec<F>,
    ) -> Verdict {
        let raddr = c.raddr();
        let Some((port, nh)) = snap.route_to_real(c.real(), raddr) else {
            return Verdict::Drop(DropReason::NoRoute);
        };
        let Some(pv) = snap.port(port) else {
            return Verdict::Drop(DropReason::NoRoute);
        };
        // IPVS's `ensure_mtu_is_adequate`, for every method: a DF packet
        // too big for the way to the real gets ICMP frag needed (the
        // tunnel's MTU for TUN); `Engine::output` drops any other packet
        // too big for its port (lvsd does not fragment).
        let mtu = if c.fwd() == FwdFlag::TUNNEL {
            xlate::tunnel_mtu(pv.mtu).unwrap_or(68)
        } else {
            pv.mtu
        };
        if xlate::needs_frag(frame, mtu) {
            self.icmp_to_client(frame, XlateKind::FragNeeded(mtu), vaddr, alloc, extra);
            return Verdict::Drop(DropReason::FragNeeded);
        }
        let res = match c.fwd() {
            FwdFlag::MASQ => xlate::dnat(frame, raddr, c.rport()),
            FwdFlag::TUNNEL => {
                let ident = self.next_ident();
                xlate::encapsulate(frame, pv.addr.addr, raddr, true, ident)
            }
            _ => xlate::forward(frame),
        };
        match res {
            Ok(()) => Verdict::Route { port, next_hop: nh },
            Err(XlateError::TtlExceeded) => {
                self.icmp_to_client(frame, XlateKind::TimeExceeded, vaddr, alloc, extra);
                Verdict::Drop(DropReason::TtlExceeded)
            }
            Err(_) => Verdict::Drop(DropReason::XlateFailed),
        }
    }

    /// A packet to a non-local address: a NAT reply from a real server?
    pub fn from_real<F: Frame>(
        &mut self,
        frame: &mut F,
        p: &Parsed,
        snap: &Snapshot,
        counters: &Counters,
        now_ms: u64,
    ) -> Verdict {
        let t = p.tuple;
        let (Some(raddr), Some(caddr)) = (v4(t.src), v4(t.dst)) else {
            return Verdict::Drop(DropReason::Ipv6);
        };
        let rkey = ReplyKey::new(t.proto, raddr, t.sport, caddr, t.dport);
        let Some(id) = self.conns.lookup_reply(&rkey, now_ms) else {
            return Verdict::Drop(if snap.is_real(raddr) {
                DropReason::NatNoConn
            } else {
                DropReason::NotLocal
            });
        };
        let change = self.conns.transition(id, Dir::Output, p.tcp_flags, now_ms);
        self.account(id, change, snap, counters);
        if change.is_some_and(|c| c.old != c.new) {
            self.sync_out(id, snap, counters, now_ms);
        }
        let Some(c) = self.conn(id) else {
            return Verdict::Drop(DropReason::NoConn);
        };
        if let Some(rc) = counters.real(c.real()) {
            rc.out_pkts.inc();
            rc.out_bytes.add(frame.len().saturating_sub(14) as u64);
        }
        let Some((port, nh)) = snap.route(caddr) else {
            return Verdict::Drop(DropReason::NoRoute);
        };
        match xlate::snat(frame, c.key().vaddr, c.key().vport) {
            Ok(()) => Verdict::Route { port, next_hop: nh },
            Err(XlateError::TtlExceeded) => Verdict::Drop(DropReason::TtlExceeded),
            Err(_) => Verdict::Drop(DropReason::XlateFailed),
        }
    }

    /// An ICMP error (`p.inner` set) about a connection: relay and rewrite
    /// (`ip_vs_in_icmp`/`ip_vs_out_icmp` in `ip_vs_core.c`). `to_vip`: the
    /// outer destination is a VIP (client side); otherwise it comes from the
    /// real side towards the client.
    #[allow(clippy::too_many_arguments)]
    pub fn icmp_error<F: Frame, A: FrameAlloc<Frame = F>>(
        &mut self,
        frame: &mut F,
        p: &Parsed,
        to_vip: bool,
        snap: &Snapshot,
        counters: &Counters,
        alloc: &mut A,
        extra: &mut Vec<F>,
        now_ms: u64,
    ) -> Verdict {
        let Some(q) = p.inner else {
            return Verdict::Drop(DropReason::IcmpUnhandled);
        };
        let (Some(qs), Some(qd)) = (v4(q.src), v4(q.dst)) else {
            return Verdict::Drop(DropReason::Ipv6);
        };
        if to_vip {
            // The quoted packet is one we sent: VIP:vport -> client:cport.
            let key = ConnKey::new(q.proto, qd, q.dport, qs, q.sport);
            let Some(id) = self.conns.lookup(&key, now_ms) else {
                return Verdict::Drop(DropReason::IcmpNoConn);
            };
            let Some(c) = self.conn(id) else {
                return Verdict::Drop(DropReason::IcmpNoConn);
            };
            if snap.services.real(c.real()).is_none() {
                return Verdict::Drop(DropReason::RealRemoved);
            }
            if let Some(rc) = counters.real(c.real()) {
                rc.in_pkts.inc();
                rc.in_bytes.add(frame.len().saturating_sub(14) as u64);
            }
            if c.fwd() == FwdFlag::MASQ {
                let raddr = c.raddr();
                let Some((port, nh)) = snap.route_to_real(c.real(), raddr) else {
                    return Verdict::Drop(DropReason::NoRoute);
                };
                return match xlate::nat_icmp_in(frame, raddr, c.rport()) {
                    Ok(()) => Verdict::Route { port, next_hop: nh },
                    Err(_) => Verdict::Drop(DropReason::XlateFailed),
                };
            }
            // DR/TUN: forwarded unchanged through the connection's transmitter.
            return self.forward(frame, &c, snap, qs, alloc, extra);
        }
        // From the real side: the quoted packet is client -> real (NAT'ed).
        let rkey = ReplyKey::new(q.proto, qd, q.dport, qs, q.sport);
        let Some(id) = self.conns.lookup_reply(&rkey, now_ms) else {
            return Verdict::Drop(DropReason::IcmpNoConn);
        };
        let Some(c) = self.conn(id) else {
            return Verdict::Drop(DropReason::IcmpNoConn);
        };
        let Some((port, nh)) = snap.route(qs) else {
            return Verdict::Drop(DropReason::NoRoute);
        };
        if let Some(rc) = counters.real(c.real()) {
            rc.out_pkts.inc();
            rc.out_bytes.add(frame.len().saturating_sub(14) as u64);
        }
        match xlate::nat_icmp_out(frame, c.key().vaddr, c.key().vport) {
            Ok(()) => Verdict::Route { port, next_hop: nh },
            Err(_) => Verdict::Drop(DropReason::XlateFailed),
        }
    }

    fn icmp_to_client<F: Frame, A: FrameAlloc<Frame = F>>(
        &mut self,
        original: &F,
        kind: XlateKind,
        src: Ipv4Addr,
        alloc: &mut A,
        extra: &mut Vec<F>,
    ) {
        let ident = self.next_ident();
        let built = match kind {
            XlateKind::PortUnreach => xlate::port_unreachable(alloc, original, src, ident),
            XlateKind::TimeExceeded => xlate::time_exceeded(alloc, original, src, ident),
            XlateKind::FragNeeded(mtu) => xlate::frag_needed(alloc, original, mtu, src, ident),
        };
        if let Ok(f) = built {
            if extra.len() < extra.capacity() {
                extra.push(f);
            }
        }
    }

    /// Connections in this worker's table (for display): calls `f` for each.
    pub fn for_each_conn(&self, f: impl FnMut(ConnId, &conn::Conn)) {
        self.conns.for_each(f)
    }
}

#[derive(Clone, Copy)]
enum XlateKind {
    PortUnreach,
    TimeExceeded,
    FragNeeded(u16),
}
