//! The table-pressure policy (ARCHITECTURE.md, "Table pressure"): which
//! entries are embryonic, when they are recycled, and when their timeouts
//! shrink.
//!
//! Invariants:
//! * only records carrying `F_EMBRYO` are ever evicted: an entry that has
//!   proven a peer (below) is never removed to make room;
//! * embryonic: a new connection inserted while the defense is on, until
//!   - TCP through DR/TUN: the state machine reaches ESTABLISHED;
//!   - TCP through NAT: a packet from the real server (direction Output)
//!     finds the connection ESTABLISHED (the real acknowledged the
//!     client's handshake: a blind spoofed ACK gets a RST instead);
//!   - UDP (and every non-TCP protocol) through NAT: a client packet
//!     after a reply (a reply alone proves nothing: the real answers a
//!     forged source as readily as a real one);
//!   - UDP through DR/TUN: the second packet;
//! * the flag is only ever cleared, never set again, and records with it
//!   take the general path (`rearm_steady` refuses them), so the fast path
//!   does the same work as before;
//! * eviction takes the oldest entry of the embryo ring: when an insert
//!   finds the slab full, and when a push overflows the ring while the
//!   table is under pressure. Otherwise an overflowing entry only stops
//!   being tracked (it still expires by its timer);
//! * under pressure (mode `always`, or `auto` with at least the threshold's
//!   share of the slab in use), an embryonic record that is not
//!   ESTABLISHED is re-armed with at most [`DEFENSE_TIMEOUT_S`], and the
//!   expiry sweep cuts the timers of those armed earlier to that;
//! * the ring holds a quarter of the capacity: eviction is oldest-first
//!   among the newest tracked embryos; older ones that fell out of the
//!   ring while the table was not under pressure go by their timers.

use super::embryo::Entry;
use super::key::IPPROTO_TCP;
use super::slab::{Conn, F_EMBRYO, F_ONE_PACKET, F_SEEN};
use super::state::{Dir, TcpState};
use super::table::{arm, expired, ConnTable};
use super::RECLAIM_SCAN;
use crate::types::{Defense, DefenseMode, FwdFlag};

/// Timeout (s) of an embryonic record re-armed under pressure (SYN_RECV,
/// SYNACK, an unreplied UDP flow): long enough for a SYN-ACK retransmit
/// and the client's ACK, short against a flood.
pub const DEFENSE_TIMEOUT_S: u32 = 5;

/// The ring tag of a record: its immutable key fields folded to 32 bits.
#[inline]
fn tag(c: &Conn) -> u32 {
    c.caddr ^ c.vaddr.rotate_left(16) ^ (u32::from(c.cport) << 16 | u32::from(c.vport))
}

/// Does this packet prove the embryo's peer (see the module invariants)?
/// Non-TCP: `F_SEEN` marks the first packet (DR/TUN) or a reply (NAT),
/// and a later client packet proves the peer.
#[inline]
fn proves_peer(c: &mut Conn, dir: Dir) -> bool {
    let nat = c.fwd() == FwdFlag::MASQ;
    if c.proto == IPPROTO_TCP {
        return c.state == TcpState::Established as u8 && (!nat || dir == Dir::Output);
    }
    if c.flags & F_SEEN != 0 && dir != Dir::Output {
        return true;
    }
    if dir == Dir::Output || !nat {
        c.flags |= F_SEEN;
    }
    false
}

/// Timeout (s) of an embryo under pressure whose normal timeout is `to`.
#[inline]
pub(crate) fn shrunk(c: &Conn, to: u32) -> u32 {
    if c.proto == IPPROTO_TCP && c.state == TcpState::Established as u8 {
        to
    } else {
        to.min(DEFENSE_TIMEOUT_S)
    }
}

/// Under pressure, the sweep met `c`: cut an embryo's timer to at most
/// [`DEFENSE_TIMEOUT_S`] from tick `t`. True if it was cut.
#[inline]
pub(crate) fn clamp_embryo(c: &mut Conn, t: u32) -> bool {
    if c.flags & F_EMBRYO == 0 || shrunk(c, u32::MAX) == u32::MAX {
        return false;
    }
    let cut = arm(t, DEFENSE_TIMEOUT_S);
    if (c.expires.wrapping_sub(cut) as i32) > 0 {
        c.expires = cut;
        return true;
    }
    false
}

impl ConnTable {
    /// Set the pressure policy (takes effect at the next insert or arm).
    pub fn set_defense(&mut self, d: Defense) {
        let pct = usize::from(d.threshold_pct.clamp(1, 100));
        self.pressure_at = (self.slab.capacity() * pct).div_ceil(100);
        self.defense = d;
    }

    pub fn defense(&self) -> Defense {
        self.defense
    }

    /// The table counts as under pressure now.
    #[inline]
    pub fn under_pressure(&self) -> bool {
        match self.defense.mode {
            DefenseMode::Off => false,
            DefenseMode::Always => true,
            DefenseMode::Auto => self.slab.len() >= self.pressure_at,
        }
    }

    /// Embryonic records tracked for recycling (stale entries included).
    pub fn embryos_tracked(&self) -> usize {
        self.embryos.len()
    }

    /// A new connection `id` was inserted: mark and track it as embryonic
    /// (defense on; one-packet entries are not). A full ring gives up its oldest entry: recycled under
    /// pressure, else only no longer tracked.
    pub(crate) fn track_embryo(&mut self, id: u32, t: u32, on_remove: &mut impl FnMut(&Conn)) {
        if self.defense.mode == DefenseMode::Off {
            return;
        }
        let Some(c) = self
            .slab
            .get_mut(id)
            .filter(|c| c.flags & F_ONE_PACKET == 0)
        else {
            return;
        };
        c.flags |= F_EMBRYO;
        let e = Entry { id, tag: tag(c) };
        if let Some(old) = self.embryos.push(e) {
            if self.under_pressure() {
                self.evict(old, t, on_remove);
            }
        }
    }

    /// The live embryo of entry `e`, if the entry is not stale.
    fn embryo_of(&self, e: Entry) -> Option<&Conn> {
        self.slab
            .get(e.id)
            .filter(|c| c.flags & F_EMBRYO != 0 && tag(c) == e.tag && c.n_control == 0)
    }

    /// Remove the embryo of `e` if the entry is not stale; true if removed.
    /// Counted as an eviction unless its timer had already fired.
    fn evict(&mut self, e: Entry, t: u32, on_remove: &mut impl FnMut(&Conn)) -> bool {
        let Some(c) = self.embryo_of(e).copied() else {
            return false;
        };
        if !expired(&c, t) {
            if c.proto == IPPROTO_TCP {
                self.stats.evicted_tcp += 1;
            } else {
                self.stats.evicted_udp += 1;
            }
        }
        if let Some(c) = self.unlink(e.id) {
            on_remove(&c);
        }
        true
    }

    /// Drops up to `budget` stale entries (proven, expired or reused
    /// slots) from the ring's head, stopping at the first live embryo;
    /// returns how many were dropped. Run with the expiry sweep, so that
    /// when the slab fills, `make_room`'s bounded scan meets live embryos
    /// rather than a head of entries proven long ago (a warm-up's
    /// handshakes): each entry is pushed once and dropped once, so this
    /// is O(1) amortised per insert.
    pub(crate) fn prune_embryos(&mut self, budget: usize) -> usize {
        let mut dropped = 0;
        while dropped < budget {
            match self.embryos.peek() {
                Some(e) if self.embryo_of(e).is_none() => {
                    self.embryos.pop();
                    dropped += 1;
                }
                _ => break,
            }
        }
        dropped
    }

    /// The slab is full: recycle the oldest tracked embryo (defense on).
    /// Pops at most [`RECLAIM_SCAN`] entries; true if a slot was freed.
    pub(crate) fn make_room(&mut self, t: u32, on_remove: &mut impl FnMut(&Conn)) -> bool {
        if self.defense.mode == DefenseMode::Off {
            return false;
        }
        for _ in 0..RECLAIM_SCAN {
            let Some(e) = self.embryos.pop() else {
                return false;
            };
            if self.evict(e, t, on_remove) {
                return true;
            }
        }
        false
    }

    /// The embryo part of a transition on record `c` (general path only):
    /// clear the flag when the packet proves the peer, and return the
    /// timeout to arm, `to` shrunk under pressure.
    #[inline]
    pub(crate) fn embryo_step(c: &mut Conn, dir: Dir, to: u32, pressure: bool) -> (u32, bool) {
        if c.flags & F_EMBRYO == 0 {
            return (to, false);
        }
        if proves_peer(c, dir) {
            c.flags &= !F_EMBRYO;
            return (to, false);
        }
        if !pressure {
            return (to, false);
        }
        let s = shrunk(c, to);
        (s, s < to)
    }
}
