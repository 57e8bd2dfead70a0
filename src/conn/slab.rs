//! The connection record ([`Conn`], 44 bytes) and the preallocated slab that
//! stores them, addressed by [`ConnId`].
//!
//! Invariants:
//! * The slab is a `Vec<Conn>` of exactly `capacity` records allocated at
//!   construction; it never grows. A slot is in use iff `flags & F_USED`.
//! * Free slots form a LIFO list threaded through `aux` (hot slots reused
//!   first); `NIL` ends it.
//! * `aux` of a used record is, for a normal connection, the controlling
//!   template/connection id (`NIL` = none) and, for a template
//!   (`F_TEMPLATE`), its re-arm timeout in seconds — IPVS never gives a
//!   template a controller, so the two uses never overlap.
//! * `expires` is in table ticks (10 ms, wrapping u32, see `table.rs`).
//! * `flags` uses the IPVS `IP_VS_CONN_F_*` bit values (so sync can copy them)
//!   plus the private bits `F_USED` (0x8000), `F_REPLY_DUP` (0x4000),
//!   `F_EMBRYO` (0x0010) and `F_SEEN` (0x0008), which IPVS leaves unused.
//!   `F_HASHED` (0x40) keeps its IPVS meaning: the record has index
//!   entries (an invalidated template has not).
//! * ids stay below `MAX_CAPACITY`, leaving bit 31 for the index's reply tag.

use std::net::Ipv4Addr;

use super::advice::{advise, PageAdvice};
use super::key::{ConnKey, ReplyKey};
use super::state;
use crate::types::{ConnRecord, FwdFlag};

/// Slab address of a connection. Valid until that connection is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u32);

/// "No connection" in `aux` and in the free list.
pub(crate) const NIL: u32 = u32::MAX;
/// Largest supported capacity (ids use 31 bits; `u32::MAX` is `NIL`).
pub const MAX_CAPACITY: usize = 0x7FFF_FFFE;

/// `IP_VS_CONN_F_FWD_MASK`: forwarding method bits.
pub const F_FWD_MASK: u16 = FwdFlag::MASK;
/// `IP_VS_CONN_F_SYNC`: entry created by / known to the sync protocol.
pub const F_SYNC: u16 = 0x0020;
/// `IP_VS_CONN_F_HASHED`: entry is in the index.
pub const F_HASHED: u16 = 0x0040;
/// `IP_VS_CONN_F_NOOUTPUT`: no reply seen yet (set for DR/TUN/Local).
pub const F_NOOUTPUT: u16 = 0x0080;
/// `IP_VS_CONN_F_INACTIVE`: counted in the real's inactconns.
pub const F_INACTIVE: u16 = 0x0100;
/// `IP_VS_CONN_F_OUT_SEQ`.
pub const F_OUT_SEQ: u16 = 0x0200;
/// `IP_VS_CONN_F_IN_SEQ`.
pub const F_IN_SEQ: u16 = 0x0400;
/// `IP_VS_CONN_F_NO_CPORT` (unused for now: no FTP helper).
pub const F_NO_CPORT: u16 = 0x0800;
/// `IP_VS_CONN_F_TEMPLATE`: persistence template.
pub const F_TEMPLATE: u16 = 0x1000;
/// `IP_VS_CONN_F_ONE_PACKET`: OPS connection, expires after one packet.
pub const F_ONE_PACKET: u16 = 0x2000;
/// Private: another record may share this record's NAT reply key (two VIPs
/// NATed to the same real for the same client endpoint); `reply_gen` then
/// orders them and the reply lookup takes the newest, as IPVS's hash chain
/// (newest at the head) does.
pub(crate) const F_REPLY_DUP: u16 = 0x4000;
/// Private: slot in use.
pub(crate) const F_USED: u16 = 0x8000;
/// Private: embryonic, not yet proven a peer (see `pressure.rs`); such a
/// record takes the general path for every packet.
pub(crate) const F_EMBRYO: u16 = 0x0010;
/// Private, non-TCP embryos: the first packet (DR/TUN) or a reply (NAT)
/// has been seen; the next client packet proves the peer.
pub(crate) const F_SEEN: u16 = 0x0008;
/// Private bits, never shown or synced.
const F_PRIVATE: u16 = F_USED | F_REPLY_DUP | F_EMBRYO | F_SEEN;

/// Template state bit `IP_VS_CTPL_S_ASSURED`.
pub const CTPL_S_ASSURED: u8 = 1;

/// One connection or persistence template. 44 bytes, `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Conn {
    pub(crate) caddr: u32,
    pub(crate) vaddr: u32,
    pub(crate) raddr: u32,
    pub(crate) expires: u32,
    pub(crate) aux: u32,
    pub(crate) n_control: u32,
    pub(crate) in_pkts: u32,
    pub(crate) cport: u16,
    pub(crate) vport: u16,
    pub(crate) rport: u16,
    pub(crate) svc: u16,
    pub(crate) real: u16,
    pub(crate) flags: u16,
    pub(crate) proto: u8,
    pub(crate) state: u8,
    /// Generation among the records sharing a reply key (see
    /// [`F_REPLY_DUP`]); 0 while the key is unique.
    pub(crate) reply_gen: u16,
}

const _: () = assert!(std::mem::size_of::<Conn>() == 44);

pub(crate) const FREE_CONN: Conn = Conn {
    caddr: 0,
    vaddr: 0,
    raddr: 0,
    expires: 0,
    aux: NIL,
    n_control: 0,
    in_pkts: 0,
    cport: 0,
    vport: 0,
    rport: 0,
    svc: 0,
    real: 0,
    flags: 0,
    proto: 0,
    state: 0,
    reply_gen: 0,
};

impl Conn {
    /// Client-side key (for a template: the template key).
    pub fn key(&self) -> ConnKey {
        ConnKey::new(
            self.proto,
            Ipv4Addr::from_bits(self.caddr),
            self.cport,
            Ipv4Addr::from_bits(self.vaddr),
            self.vport,
        )
    }
    /// This entry as a listing/sync record with `expires_ms` left.
    pub fn record(&self, expires_ms: u64) -> ConnRecord {
        ConnRecord {
            proto: self.proto,
            state: self.state,
            template: self.is_template(),
            active: self.is_active(),
            caddr: Ipv4Addr::from_bits(self.caddr),
            cport: self.cport,
            vaddr: Ipv4Addr::from_bits(self.vaddr),
            vport: self.vport,
            raddr: Ipv4Addr::from_bits(self.raddr),
            rport: self.rport,
            expires_ms,
        }
    }
    /// NAT reply key `<proto, raddr, rport, caddr, cport>`.
    pub fn reply_key(&self) -> ReplyKey {
        ReplyKey::new(
            self.proto,
            Ipv4Addr::from_bits(self.raddr),
            self.rport,
            Ipv4Addr::from_bits(self.caddr),
            self.cport,
        )
    }
    pub fn proto(&self) -> u8 {
        self.proto
    }
    pub fn svc(&self) -> u16 {
        self.svc
    }
    pub fn real(&self) -> u16 {
        self.real
    }
    pub fn fwd(&self) -> FwdFlag {
        FwdFlag::from_flags(self.flags)
    }
    /// Real server address (IPVS `daddr`).
    pub fn raddr(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.raddr)
    }
    /// Real server port (IPVS `dport`).
    pub fn rport(&self) -> u16 {
        self.rport
    }
    /// Raw state: a `TcpState` value for TCP, 0 (`UDP`) otherwise; for a
    /// template the `CTPL_S_*` bits.
    pub fn state(&self) -> u8 {
        self.state
    }
    /// IPVS display name of the state (`ip_vs_state_name`).
    pub fn state_name(&self) -> &'static str {
        state::state_name(self.flags, self.proto, self.state)
    }
    /// IPVS flag bits (`F_*`; the private bits are masked off).
    pub fn flags(&self) -> u16 {
        self.flags & !F_PRIVATE
    }
    pub fn is_template(&self) -> bool {
        self.flags & F_TEMPLATE != 0
    }
    /// Counted as active (not `F_INACTIVE`).
    pub fn is_active(&self) -> bool {
        self.flags & F_INACTIVE == 0
    }
    /// Controlling template (or connection), if linked.
    pub fn control(&self) -> Option<ConnId> {
        if self.is_template() || self.aux == NIL {
            None
        } else {
            Some(ConnId(self.aux))
        }
    }
    /// Number of connections this entry controls.
    pub fn n_control(&self) -> u32 {
        self.n_control
    }
    pub fn in_pkts(&self) -> u32 {
        self.in_pkts
    }
    /// Expiry in table ticks (10 ms units, wrapping).
    pub fn expires_tick(&self) -> u32 {
        self.expires
    }
    /// A template's re-arm timeout in seconds (`None` for a connection).
    pub fn template_timeout(&self) -> Option<u32> {
        self.is_template().then_some(self.aux)
    }
    /// An invalidated template (re-keyed to ports 0xffff, out of the index).
    pub fn is_dead_template(&self) -> bool {
        self.is_template() && self.flags & F_HASHED == 0
    }
    pub(crate) fn used(&self) -> bool {
        self.flags & F_USED != 0
    }
    /// True if the record has a reply-key index entry.
    pub(crate) fn has_reply_entry(&self) -> bool {
        self.flags & (F_HASHED | F_TEMPLATE | F_FWD_MASK) == F_HASHED
    }
}

/// Fixed-capacity record store.
pub(crate) struct Slab {
    conns: Vec<Conn>,
    free_head: u32,
    len: u32,
}

impl Slab {
    /// A slab of `capacity` free records, its memory shown to `advice`
    /// before it is first written.
    pub(crate) fn new(capacity: usize, advice: PageAdvice) -> Option<Slab> {
        if capacity > MAX_CAPACITY {
            return None;
        }
        let mut conns = Vec::new();
        conns.try_reserve_exact(capacity).ok()?;
        advise(&conns, advice);
        conns.resize(capacity, FREE_CONN);
        let mut s = Slab {
            conns,
            free_head: NIL,
            len: 0,
        };
        s.clear();
        Some(s)
    }

    /// Mark every slot free and rebuild the free list (ascending ids).
    pub(crate) fn clear(&mut self) {
        let n = self.conns.len();
        for (i, c) in self.conns.iter_mut().enumerate() {
            *c = FREE_CONN;
            c.aux = if i + 1 < n { (i + 1) as u32 } else { NIL };
        }
        self.free_head = if n > 0 { 0 } else { NIL };
        self.len = 0;
    }

    pub(crate) fn capacity(&self) -> usize {
        self.conns.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    pub(crate) fn is_full(&self) -> bool {
        self.free_head == NIL
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.conns.capacity() * std::mem::size_of::<Conn>()
    }

    /// Store `c` (must have `F_USED`) in a free slot.
    pub(crate) fn alloc(&mut self, c: Conn) -> Option<u32> {
        let id = self.free_head;
        let slot = self.conns.get_mut(id as usize)?;
        self.free_head = slot.aux;
        *slot = c;
        self.len += 1;
        Some(id)
    }

    pub(crate) fn free(&mut self, id: u32) {
        if let Some(slot) = self.conns.get_mut(id as usize) {
            if slot.used() {
                *slot = FREE_CONN;
                slot.aux = self.free_head;
                self.free_head = id;
                self.len -= 1;
            }
        }
    }

    /// The record in slot `id`, used or not (index rehash path).
    #[inline]
    pub(crate) fn raw(&self, id: u32) -> Option<&Conn> {
        self.conns.get(id as usize)
    }

    /// Hand the first and last byte of record `id` to `touch` (a prefetch;
    /// nothing is read).
    #[inline]
    pub(crate) fn prefetch(&self, id: u32, mut touch: impl FnMut(*const u8)) {
        if let Some(c) = self.conns.get(id as usize) {
            let p = (c as *const Conn).cast::<u8>();
            touch(p);
            touch(p.wrapping_add(std::mem::size_of::<Conn>() - 1));
        }
    }

    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&Conn> {
        self.conns.get(id as usize).filter(|c| c.used())
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: u32) -> Option<&mut Conn> {
        self.conns.get_mut(id as usize).filter(|c| c.used())
    }

    pub(crate) fn iter_used(&self) -> impl Iterator<Item = (u32, &Conn)> {
        self.conns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.used())
            .map(|(i, c)| (i as u32, c))
    }
}
