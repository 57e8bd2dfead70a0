//! [`ConnTable`]: slab + cuckoo index + timers + state machine glue.
//!
//! Invariants:
//! * Every used record with `F_HASHED` has exactly one client entry (or
//!   template entry if `F_TEMPLATE`) in the index, value = id, and — NAT
//!   (`FwdFlag::MASQ`) non-templates only — one reply entry, value =
//!   id | `REPLY_BIT`. Records without `F_HASHED` (invalidated templates)
//!   have none. No other index entries exist.
//! * At most one *record* per client key and per template key has an index
//!   entry (insert reclaims a stale duplicate, refuses a live one). Reply keys
//!   may repeat (two VIPs NATed to the same real for the same client port):
//!   such records carry `F_REPLY_DUP` and a `reply_gen`, and `lookup_reply`
//!   returns the newest live one (IPVS finds the newest first too: its hash
//!   chains add at the head). An insert reclaims stale records sharing its
//!   reply key.
//! * `n_control` of a record equals the number of used records whose `aux`
//!   (control) points at it.
//! * Timer: `expires` (ticks) = time of the last arm + the timeout in force
//!   then; arming is a single store, so re-arming on every packet is O(1).
//! * The sweep cursor walks slab slots round-robin; `expire_some` examines
//!   at most `budget` slots per call.
//! * A record with `F_EMBRYO` (defense on, not yet proven: `pressure.rs`)
//!   may have entries in the embryo ring; the ring is never updated when a
//!   record is removed or proven (its entries go stale, see `embryo.rs`).

use super::advice::{no_advice, PageAdvice};
use super::embryo::EmbryoRing;
use super::index::{Hashed, Index};
use super::key::{ConnKey, Kind, ReplyKey, Seed, IPPROTO_TCP, IPPROTO_UDP};
use super::slab::{
    Conn, ConnId, Slab, CTPL_S_ASSURED, FREE_CONN, F_EMBRYO, F_HASHED, F_INACTIVE, F_NOOUTPUT,
    F_ONE_PACKET, F_REPLY_DUP, F_SYNC, F_USED, NIL,
};
use super::state::{
    tcp_next, Dir, TcpState, TimeoutTable, Timeouts, MAX_TIMEOUT_S, NEW_CONN_TIMEOUT_S,
};
use super::{InsertError, NewConn, StateChange, TableError, TableStats};
use crate::types::{Defense, FwdFlag};

/// Milliseconds per stored timer tick.
pub const TICK_MS: u64 = 10;
const TICKS_PER_S: u32 = (1000 / TICK_MS) as u32;
/// Slots an insert into a full slab examines to reclaim expired entries.
pub const RECLAIM_SCAN: usize = 64;

pub(crate) const REPLY_BIT: u32 = 0x8000_0000;
pub(crate) const ID_MASK: u32 = !REPLY_BIT;

#[inline]
pub(crate) fn tick(now_ms: u64) -> u32 {
    (now_ms / TICK_MS) as u32
}

#[inline]
pub(crate) fn arm(t: u32, secs: u32) -> u32 {
    t.wrapping_add(secs.min(MAX_TIMEOUT_S) * TICKS_PER_S)
}

#[inline]
pub(crate) fn expired(c: &Conn, t: u32) -> bool {
    t.wrapping_sub(c.expires) as i32 >= 0
}

#[inline]
pub(crate) fn live(c: &Conn, t: u32) -> bool {
    !expired(c, t) || c.n_control > 0
}

/// Wrapping generation order: `a` was given out after `b`.
#[inline]
fn newer_gen(a: u16, b: u16) -> bool {
    (a.wrapping_sub(b) as i16) > 0
}

#[inline]
pub(crate) fn matches_key(c: &Conn, k: &ConnKey) -> bool {
    c.caddr == k.caddr.to_bits()
        && c.vaddr == k.vaddr.to_bits()
        && c.cport == k.cport
        && c.vport == k.vport
        && c.proto == k.proto
}

#[inline]
fn matches_reply(c: &Conn, k: &ReplyKey) -> bool {
    c.raddr == k.raddr.to_bits()
        && c.caddr == k.caddr.to_bits()
        && c.rport == k.rport
        && c.cport == k.cport
        && c.proto == k.proto
}

impl Conn {
    /// Time left before expiry, in ms (0 if already expired).
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        let d = self.expires.wrapping_sub(tick(now_ms)) as i32;
        if d <= 0 {
            0
        } else {
            d as u64 * TICK_MS
        }
    }
}

/// Hash of a stored index entry, recomputed from its slab record.
fn entry_hash(seed: &Seed, slab: &Slab, val: u32) -> u64 {
    match slab.raw(val & ID_MASK) {
        Some(c) if val & REPLY_BIT != 0 => seed.reply_key(&c.reply_key()),
        Some(c) if c.is_template() => seed.conn_key(Kind::Template, &c.key()),
        Some(c) => seed.conn_key(Kind::Client, &c.key()),
        None => 0,
    }
}

/// The per-worker connection table. See the module docs.
pub struct ConnTable {
    pub(crate) slab: Slab,
    pub(crate) index: Index,
    pub(crate) seed: Seed,
    pub(crate) timeouts: TimeoutTable,
    secure_tcp: bool,
    pub(crate) cursor: u32,
    pub(crate) stats: TableStats,
    /// Pressure policy (see `pressure.rs`) and its occupancy threshold.
    pub(crate) defense: Defense,
    pub(crate) pressure_at: usize,
    pub(crate) embryos: EmbryoRing,
}

impl ConnTable {
    /// Table for `capacity` connections (templates included), all memory
    /// allocated now. Hash seed from OS randomness.
    pub fn new(capacity: usize, timeouts: Timeouts) -> Result<ConnTable, TableError> {
        Self::build(capacity, timeouts, Seed::random(), no_advice)
    }

    /// Same with a fixed hash seed (tests, reproducible benchmarks).
    pub fn with_seed(
        capacity: usize,
        timeouts: Timeouts,
        seed: u64,
    ) -> Result<ConnTable, TableError> {
        Self::build(capacity, timeouts, Seed::from_u64(seed), no_advice)
    }

    /// Same with a fixed hash seed, the memory shown to `advice` before it
    /// is first written (the worker asks for huge pages this way).
    pub fn with_advice(
        capacity: usize,
        timeouts: Timeouts,
        seed: u64,
        advice: PageAdvice,
    ) -> Result<ConnTable, TableError> {
        Self::build(capacity, timeouts, Seed::from_u64(seed), advice)
    }

    fn build(
        capacity: usize,
        timeouts: Timeouts,
        seed: Seed,
        advice: PageAdvice,
    ) -> Result<ConnTable, TableError> {
        if capacity > super::MAX_CAPACITY {
            return Err(TableError::TooLarge);
        }
        let slab = Slab::new(capacity, advice).ok_or(TableError::Alloc)?;
        let entries = capacity.checked_mul(2).ok_or(TableError::TooLarge)?;
        let index = Index::new(entries, advice).map_err(|_| TableError::Alloc)?;
        let embryos = EmbryoRing::new(capacity, advice).ok_or(TableError::Alloc)?;
        Ok(ConnTable {
            slab,
            index,
            seed,
            timeouts: TimeoutTable::new(timeouts),
            secure_tcp: false,
            cursor: 0,
            stats: TableStats::default(),
            defense: Defense::OFF,
            pressure_at: capacity,
            embryos,
        })
    }

    pub fn capacity(&self) -> usize {
        self.slab.capacity()
    }

    /// Records in use (connections + templates, stale ones included).
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slab.len() == 0
    }

    pub fn stats(&self) -> TableStats {
        self.stats
    }

    /// Bytes actually allocated (slab + index + BFS scratch + embryo ring).
    pub fn memory_bytes(&self) -> usize {
        self.slab.memory_bytes() + self.index.memory_bytes() + self.embryos.memory_bytes()
    }

    /// Index entries in use (diagnostics: 1 per DR/TUN conn, 2 per NAT conn).
    pub fn index_len(&self) -> usize {
        self.index.len()
    }

    /// Index slots (diagnostics).
    pub fn index_slots(&self) -> usize {
        self.index.slots()
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts.get()
    }

    /// ipvsadm `--set`: zero fields are left unchanged, values are clamped
    /// to 31 days. Takes effect at each connection's next transition/arm.
    pub fn set_timeouts(&mut self, t: Timeouts) {
        self.timeouts.set(t);
    }

    /// Timeout (s) of TCP `state` currently in force.
    pub fn tcp_timeout(&self, state: TcpState) -> u32 {
        self.timeouts.tcp[state as usize]
    }

    /// Use `tcp_states_dos` (secure_tcp) instead of `tcp_states`.
    pub fn set_secure_tcp(&mut self, on: bool) {
        self.secure_tcp = on;
    }

    pub fn secure_tcp(&self) -> bool {
        self.secure_tcp
    }

    /// The record `id` if in use (live or stale).
    pub fn get(&self, id: ConnId) -> Option<&Conn> {
        self.slab.get(id.0)
    }

    // ---------------------------------------------------------------- lookup

    pub(crate) fn find_key(&self, kind: Kind, key: &ConnKey, t: Option<u32>) -> Option<u32> {
        let hh = self.index.hashed(self.seed.conn_key(kind, key));
        self.find_key_at(kind, key, hh, t)
    }

    #[inline(always)]
    fn find_key_at(&self, kind: Kind, key: &ConnKey, hh: Hashed, t: Option<u32>) -> Option<u32> {
        let want_tpl = kind == Kind::Template;
        let slab = &self.slab;
        self.index.find(hh, |v| {
            v & REPLY_BIT == 0
                && slab.get(v).is_some_and(|c| {
                    c.is_template() == want_tpl
                        && matches_key(c, key)
                        && t.is_none_or(|t| live(c, t))
                })
        })
    }

    /// Where in the index a [`lookup`](Self::lookup) of `key` looks (its
    /// hash, reduced): the burst's prefetch pass computes it once per frame
    /// and hands it to [`lookup_at`](Self::lookup_at).
    #[inline]
    pub(crate) fn position(&self, key: &ConnKey) -> Hashed {
        self.index.hashed(self.seed.conn_key(Kind::Client, key))
    }

    /// Same for a [`lookup_reply`](Self::lookup_reply).
    #[inline]
    pub(crate) fn position_reply(&self, key: &ReplyKey) -> Hashed {
        self.index.hashed(self.seed.reply_key(key))
    }

    /// Hand the address of the index bucket a lookup at `hh` reads first
    /// to `touch` (the worker passes a CPU prefetch): hash a whole RX burst
    /// first, prefetch, then process, so the DRAM misses overlap.
    #[inline]
    pub(crate) fn prefetch_at(&self, hh: Hashed, touch: impl FnMut(*const u8)) {
        self.index.prefetch(hh, touch);
    }

    /// Second prefetch stage: hand `touch` both ends of the record that a
    /// lookup at `hh` compares first (a 44-byte record straddles two
    /// cache lines more often than not). Reads the primary bucket, so it
    /// pays only after [`prefetch_at`](Self::prefetch_at) of the same
    /// position had time to bring it in.
    #[inline]
    pub(crate) fn prefetch_record_at(&self, hh: Hashed, touch: impl FnMut(*const u8)) {
        if let Some(v) = self.index.first_match(hh) {
            self.slab.prefetch(v & ID_MASK, touch);
        }
    }

    /// [`prefetch_at`](Self::prefetch_at) the position of `key`.
    #[inline]
    pub fn prefetch(&self, key: &ConnKey, touch: impl FnMut(*const u8)) {
        self.prefetch_at(self.position(key), touch);
    }

    /// Same for a `lookup_reply(key)`.
    #[inline]
    pub fn prefetch_reply(&self, key: &ReplyKey, touch: impl FnMut(*const u8)) {
        self.prefetch_at(self.position_reply(key), touch);
    }

    /// Live connection (not template) for a client→VIP packet.
    #[inline]
    pub fn lookup(&self, key: &ConnKey, now_ms: u64) -> Option<ConnId> {
        self.lookup_at(key, self.position(key), now_ms)
    }

    /// [`lookup`](Self::lookup) with `hh` = `position(key)` already known.
    #[inline]
    pub(crate) fn lookup_at(&self, key: &ConnKey, hh: Hashed, now_ms: u64) -> Option<ConnId> {
        self.find_key_at(Kind::Client, key, hh, Some(tick(now_ms)))
            .map(ConnId)
    }

    /// Live NAT connection for a real→client packet; of several sharing the
    /// reply key, the newest.
    #[inline]
    pub fn lookup_reply(&self, key: &ReplyKey, now_ms: u64) -> Option<ConnId> {
        self.lookup_reply_at(key, self.position_reply(key), now_ms)
    }

    /// [`lookup_reply`](Self::lookup_reply) with `hh` =
    /// `position_reply(key)` already known.
    #[inline]
    pub(crate) fn lookup_reply_at(
        &self,
        key: &ReplyKey,
        hh: Hashed,
        now_ms: u64,
    ) -> Option<ConnId> {
        let t = tick(now_ms);
        let slab = &self.slab;
        let hit = |v: u32| -> Option<&Conn> {
            if v & REPLY_BIT == 0 {
                return None;
            }
            slab.get(v & ID_MASK)
                .filter(|c| c.has_reply_entry() && matches_reply(c, key) && live(c, t))
        };
        let first = self.index.find(hh, |v| hit(v).is_some())?;
        if slab
            .get(first & ID_MASK)
            .is_some_and(|c| c.flags & F_REPLY_DUP == 0)
        {
            return Some(ConnId(first & ID_MASK));
        }
        let mut best: Option<(u32, u16)> = None;
        self.index.for_each_match(hh, |v| {
            if let Some(c) = hit(v) {
                if best.is_none_or(|(_, g)| newer_gen(c.reply_gen, g)) {
                    best = Some((v & ID_MASK, c.reply_gen));
                }
            }
        });
        best.map(|(id, _)| ConnId(id))
    }

    /// Before inserting `rec`'s reply entry: reclaim stale records with the
    /// same reply key, mark live ones as sharing it, and give `rec` the next
    /// generation when there are any.
    fn share_reply_key(&mut self, rec: &mut Conn, t: u32, on_remove: &mut impl FnMut(&Conn)) {
        let key = rec.reply_key();
        let hh = self.index.hashed(self.seed.reply_key(&key));
        let mut same = [0u32; 2 * super::index::SLOTS];
        let mut n = 0;
        let slab = &self.slab;
        self.index.for_each_match(hh, |v| {
            let dup = v & REPLY_BIT != 0
                && slab
                    .get(v & ID_MASK)
                    .is_some_and(|c| c.has_reply_entry() && matches_reply(c, &key));
            if dup && n < same.len() {
                same[n] = v & ID_MASK;
                n += 1;
            }
        });
        let mut newest: Option<u16> = None;
        for &id in &same[..n] {
            let Some(c) = self.slab.get(id).copied() else {
                continue;
            };
            if !live(&c, t) {
                if let Some(c) = self.unlink(id) {
                    on_remove(&c);
                }
                continue;
            }
            if newest.is_none_or(|g| newer_gen(c.reply_gen, g)) {
                newest = Some(c.reply_gen);
            }
            if let Some(m) = self.slab.get_mut(id) {
                m.flags |= F_REPLY_DUP;
            }
        }
        if let Some(g) = newest {
            rec.flags |= F_REPLY_DUP;
            rec.reply_gen = g.wrapping_add(1);
        }
    }

    // ---------------------------------------------------------------- insert

    /// Insert a scheduled connection: state NONE (TCP) / UDP, flags
    /// `INACTIVE` (+ `NOOUTPUT` unless NAT), timer 3 s. Call
    /// [`transition`](Self::transition) for the first packet right after.
    /// A stale entry with the same key is reclaimed (through `on_remove`);
    /// when the slab is full the oldest embryonic entry is recycled
    /// (defense on, see `pressure.rs`), or else up to [`RECLAIM_SCAN`]
    /// slots are swept. With the defense on the new entry is embryonic.
    pub fn insert(
        &mut self,
        new: &NewConn,
        now_ms: u64,
        mut on_remove: impl FnMut(&Conn),
    ) -> Result<ConnId, InsertError> {
        let mut extra = new.flags & (F_SYNC | F_ONE_PACKET);
        if new.key.proto != IPPROTO_UDP {
            extra &= !F_ONE_PACKET;
        }
        let t = tick(now_ms);
        let rec = Self::record(new, extra, 0, t, NEW_CONN_TIMEOUT_S);
        let id = self.insert_rec(rec, now_ms, &mut on_remove)?;
        self.track_embryo(id.0, t, &mut on_remove);
        Ok(id)
    }

    pub(crate) fn record(new: &NewConn, extra: u16, tpl: u16, t: u32, timeout_s: u32) -> Conn {
        let mut flags = F_USED | F_HASHED | F_INACTIVE | new.fwd.bits() | extra | tpl;
        if new.fwd != FwdFlag::MASQ && new.fwd != FwdFlag::BYPASS {
            flags |= F_NOOUTPUT;
        }
        Conn {
            caddr: new.key.caddr.to_bits(),
            vaddr: new.key.vaddr.to_bits(),
            raddr: new.raddr.to_bits(),
            expires: arm(t, timeout_s),
            aux: if tpl != 0 {
                timeout_s.min(MAX_TIMEOUT_S)
            } else {
                NIL
            },
            cport: new.key.cport,
            vport: new.key.vport,
            rport: new.rport,
            svc: new.svc,
            real: new.real,
            flags,
            proto: new.key.proto,
            ..FREE_CONN
        }
    }

    fn index_insert(index: &mut Index, slab: &Slab, seed: &Seed, hh: Hashed, val: u32) -> bool {
        index.insert(hh, val, |v| entry_hash(seed, slab, v))
    }

    pub(crate) fn insert_rec(
        &mut self,
        mut rec: Conn,
        now_ms: u64,
        on_remove: &mut impl FnMut(&Conn),
    ) -> Result<ConnId, InsertError> {
        let t = tick(now_ms);
        let kind = if rec.is_template() {
            Kind::Template
        } else {
            Kind::Client
        };
        let key = rec.key();
        if let Some(old) = self.find_key(kind, &key, None) {
            if self.slab.get(old).is_some_and(|c| live(c, t)) {
                return Err(InsertError::Exists(ConnId(old)));
            }
            if let Some(c) = self.unlink(old) {
                on_remove(&c);
            }
        }
        if rec.has_reply_entry() {
            self.share_reply_key(&mut rec, t, on_remove);
        }
        if self.slab.is_full() && !self.make_room(t, on_remove) {
            self.sweep(t, RECLAIM_SCAN, on_remove);
        }
        let Some(id) = self.slab.alloc(rec) else {
            self.stats.refused_full += 1;
            return Err(InsertError::Full);
        };
        let hh = self.index.hashed(self.seed.conn_key(kind, &key));
        if !Self::index_insert(&mut self.index, &self.slab, &self.seed, hh, id) {
            self.slab.free(id);
            self.stats.refused_index += 1;
            return Err(InsertError::IndexFull);
        }
        if rec.has_reply_entry() {
            let hr = self.index.hashed(self.seed.reply_key(&rec.reply_key()));
            let val = id | REPLY_BIT;
            if !Self::index_insert(&mut self.index, &self.slab, &self.seed, hr, val) {
                self.index.remove(hh, id);
                self.slab.free(id);
                self.stats.refused_index += 1;
                return Err(InsertError::IndexFull);
            }
        }
        self.stats.inserted += 1;
        Ok(ConnId(id))
    }

    // ---------------------------------------------------------------- removal

    /// Drop `id`'s index entries and clear `F_HASHED`.
    pub(crate) fn unhash(&mut self, id: u32) {
        let Some(c) = self.slab.get(id).copied() else {
            return;
        };
        if c.flags & F_HASHED == 0 {
            return;
        }
        let kind = if c.is_template() {
            Kind::Template
        } else {
            Kind::Client
        };
        let hh = self.index.hashed(self.seed.conn_key(kind, &c.key()));
        self.index.remove(hh, id);
        if c.has_reply_entry() {
            let hr = self.index.hashed(self.seed.reply_key(&c.reply_key()));
            self.index.remove(hr, id | REPLY_BIT);
        }
        if let Some(m) = self.slab.get_mut(id) {
            m.flags &= !F_HASHED;
        }
    }

    /// Remove `id` unconditionally; returns the removed record. Decrements
    /// the controller's `n_control`. Does not look at `id`'s own n_control
    /// (callers check it).
    pub(crate) fn unlink(&mut self, id: u32) -> Option<Conn> {
        let c = *self.slab.get(id)?;
        self.unhash(id);
        if !c.is_template() && c.aux != NIL {
            if let Some(ct) = self.slab.get_mut(c.aux) {
                ct.n_control = ct.n_control.saturating_sub(1);
            }
        }
        self.slab.free(id);
        self.stats.removed += 1;
        Some(c)
    }

    /// Drop everything (no callbacks: the caller resets its counters).
    pub fn flush(&mut self) {
        self.slab.clear();
        self.index.clear();
        self.embryos.clear();
        self.cursor = 0;
    }

    /// Visit every record in use, stale ones included (`-Lnc`, sync, tests).
    pub fn for_each(&self, mut f: impl FnMut(ConnId, &Conn)) {
        for (id, c) in self.slab.iter_used() {
            f(ConnId(id), c);
        }
    }

    // ---------------------------------------------------------- per packet

    /// Effective re-arm timeout (s) of a record.
    fn timeout_of(&self, c: &Conn) -> u32 {
        if c.is_template() {
            c.aux
        } else if c.flags & F_ONE_PACKET != 0 {
            0
        } else {
            self.timeouts.for_state(c.proto, c.state)
        }
    }

    /// Re-arm `id`'s timer with its current timeout (`ip_vs_conn_put`):
    /// template timeout, 0 for one-packet conns, else the state's timeout.
    pub fn touch(&mut self, id: ConnId, now_ms: u64) -> bool {
        let Some(c) = self.slab.get(id.0) else {
            return false;
        };
        let to = self.timeout_of(c);
        if let Some(c) = self.slab.get_mut(id.0) {
            c.expires = arm(tick(now_ms), to);
        }
        true
    }

    /// `++cp->in_pkts` (wrapping); returns the new value.
    pub fn inc_in_pkts(&mut self, id: ConnId) -> Option<u32> {
        let c = self.slab.get_mut(id.0)?;
        c.in_pkts = c.in_pkts.wrapping_add(1);
        Some(c.in_pkts)
    }

    /// Set or clear `F_SYNC`.
    pub fn set_sync(&mut self, id: ConnId, on: bool) -> bool {
        match self.slab.get_mut(id.0) {
            Some(c) => {
                if on {
                    c.flags |= F_SYNC;
                } else {
                    c.flags &= !F_SYNC;
                }
                true
            }
            None => false,
        }
    }

    /// The fast path's transition: when a packet of `id` in direction
    /// `dir` with `tcp_flags` would leave the connection's state and flags
    /// exactly as they are (an established TCP connection without
    /// SYN/FIN/RST, a UDP connection), re-arm its timer the way
    /// [`transition`](Self::transition) does and return `true`. Otherwise
    /// change nothing and return `false` (the caller takes the general path).
    #[inline(always)]
    pub fn rearm_steady(&mut self, id: ConnId, dir: Dir, tcp_flags: u8, now_ms: u64) -> bool {
        let t = tick(now_ms);
        let (secure, timeouts) = (self.secure_tcp, &self.timeouts);
        let Some(c) = self.slab.get_mut(id.0) else {
            return false;
        };
        if c.is_template() || c.flags & (F_ONE_PACKET | F_EMBRYO) != 0 {
            return false;
        }
        if c.proto == IPPROTO_TCP {
            let d = match (c.flags & F_NOOUTPUT != 0, dir) {
                (true, Dir::Output) => return false, // the flag would change
                (true, _) => Dir::InputOnly,
                (false, d) => d,
            };
            let Some(cur) = TcpState::from_u8(c.state) else {
                return false;
            };
            if tcp_next(secure, d, tcp_flags, cur) != cur {
                return false;
            }
        } else if dir == Dir::Output && c.aux != NIL {
            return false; // a UDP reply assures its template: general path
        }
        c.expires = arm(t, timeouts.for_state(c.proto, c.state));
        true
    }

    /// Run the state machine for one packet of `id` and re-arm its timer
    /// (`ip_vs_set_state` + `ip_vs_conn_put`). TCP: `set_tcp_state` (NOOUTPUT
    /// switches Input to InputOnly, an Output packet clears NOOUTPUT);
    /// others: single UDP state, timer reset. Reaching ESTABLISHED (TCP) or
    /// an Output packet (UDP) marks the controlling template ASSURED.
    /// Returns `None` for a free slot or a template.
    pub fn transition(
        &mut self,
        id: ConnId,
        dir: Dir,
        tcp_flags: u8,
        now_ms: u64,
    ) -> Option<StateChange> {
        let t = tick(now_ms);
        let secure = self.secure_tcp;
        let timeouts = self.timeouts;
        let pressure = self.under_pressure();
        let c = self.slab.get_mut(id.0)?;
        if c.is_template() {
            return None;
        }
        let old = c.state;
        let was_active = c.flags & F_INACTIVE == 0;
        let mut assure = false;
        if c.proto == IPPROTO_TCP {
            let mut d = dir;
            if c.flags & F_NOOUTPUT != 0 {
                if dir == Dir::Output {
                    c.flags &= !F_NOOUTPUT;
                } else {
                    d = Dir::InputOnly;
                }
            }
            let cur = TcpState::from_u8(old).unwrap_or(TcpState::None);
            let new = tcp_next(secure, d, tcp_flags, cur);
            if new as u8 != old {
                if was_active && !new.is_active() {
                    c.flags |= F_INACTIVE;
                } else if !was_active && new.is_active() {
                    c.flags &= !F_INACTIVE;
                }
                assure = new == TcpState::Established;
            }
            c.state = new as u8;
        } else {
            assure = dir == Dir::Output;
        }
        let to = if c.flags & F_ONE_PACKET != 0 {
            0
        } else {
            timeouts.for_state(c.proto, c.state)
        };
        let (to, shortened) = Self::embryo_step(c, dir, to, pressure);
        c.expires = arm(t, to);
        let change = StateChange {
            old,
            new: c.state,
            was_active,
            is_active: c.flags & F_INACTIVE == 0,
        };
        let ctl = c.aux;
        if shortened {
            self.stats.shortened += 1;
        }
        if assure {
            if let Some(ct) = self.slab.get_mut(ctl) {
                if ct.is_template() {
                    ct.state |= CTPL_S_ASSURED;
                }
            }
        }
        Some(change)
    }
}
