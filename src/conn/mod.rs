//! Per-worker IPVS connection table.
//!
//! One [`ConnTable`] per worker thread: no locks, no sharing, no allocation
//! after [`ConnTable::new`]. The datapath, per packet:
//!
//! 1. client→VIP: [`ConnTable::lookup`] by [`ConnKey`]; NAT real→client:
//!    [`ConnTable::lookup_reply`] by [`ReplyKey`];
//! 2. on a miss (TCP SYN / UDP to a service): schedule, then
//!    [`ConnTable::insert`] (state NONE, 3 s timer), and — persistence —
//!    [`ConnTable::lookup_template`] / [`ConnTable::insert_template`] /
//!    [`ConnTable::link_template`];
//! 3. [`ConnTable::transition`] with the direction and TCP flags (also for the
//!    first packet of a new connection, as IPVS does): it runs the IPVS state
//!    machine and re-arms the timer in O(1); the returned [`StateChange`]
//!    tells the caller how to move the real's active/inactive counters.
//!    A new connection is counted *inactive* (IPVS sets
//!    `IP_VS_CONN_F_INACTIVE` on every new connection); its first TCP
//!    transition normally makes it active;
//! 4. each loop iteration: [`ConnTable::expire_some`] with a small budget.
//!
//! Invariants (see the per-file headers for details):
//! * capacity is fixed; a full table refuses inserts ([`InsertError::Full`],
//!   counted in [`TableStats`]) after trying to recycle its oldest
//!   embryonic entry (defense on, `pressure.rs`) or reclaim a few expired
//!   slots; entries that proved a peer are never evicted;
//! * a connection is *live* at `now` iff `now < expires` or it controls other
//!   connections (`n_control > 0`; IPVS re-arms such timers for 60 s, we do
//!   it when the sweep meets them). Lookups return live entries only; a stale
//!   entry keeps its slot until the sweep, an insert of the same key or
//!   [`ConnTable::expire_now`] reclaims it — always through the caller's
//!   `on_remove` callback, so per-real counters never miss a removal;
//! * removing a connection decrements its controller's `n_control`;
//! * time: callers pass a monotonic `now` in milliseconds (any origin); the
//!   table stores expiry as a wrapping `u32` of 10 ms ticks ([`TICK_MS`]),
//!   compared with serial arithmetic: exact for timeouts up to 248 days (the
//!   longest IPVS timeout is 31 days), provided the sweep visits every slot
//!   at least once per 248 days.
//!
//! Memory (IPv4): 44-byte [`Conn`] + a cuckoo index sized for two entries per
//! connection at 90 % load (8 bytes per slot) + the embryo ring (one 8-byte
//! entry per 4 connections) = ~63.8 bytes per connection, whatever the
//! DR/NAT mix. [`ConnTable::memory_bytes`] reports the real
//! allocation sizes.

mod advice;
mod embryo;
mod expire;
mod index;
mod key;
mod pressure;
mod slab;
mod state;
mod sync;
mod table;
mod template;

use std::net::Ipv4Addr;

pub use crate::types::{Defense, DefenseMode, FwdFlag};
pub use advice::{no_advice, PageAdvice};
pub(crate) use index::Hashed;
pub use key::{ConnKey, ReplyKey, IPPROTO_IP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
pub use pressure::DEFENSE_TIMEOUT_S;
pub use slab::{
    Conn, ConnId, CTPL_S_ASSURED, F_FWD_MASK, F_HASHED, F_INACTIVE, F_IN_SEQ, F_NOOUTPUT,
    F_NO_CPORT, F_ONE_PACKET, F_OUT_SEQ, F_SYNC, F_TEMPLATE, MAX_CAPACITY,
};
pub use state::{
    record_state_name, state_name, tcp_event, tcp_flags, tcp_next, Dir, TcpEvent, TcpState,
    TcpTable, Timeouts, CONTROL_RETRY_S, MAX_TIMEOUT_S, NEW_CONN_TIMEOUT_S, TCP_DEFAULT_TIMEOUTS,
    TCP_STATES, TCP_STATES_DOS, TCP_STATE_COUNT, TCP_STATE_NAMES,
};
pub use sync::Installed;
pub use table::{ConnTable, RECLAIM_SCAN, TICK_MS};
pub use template::{persist_conn_rport, template_key, template_rport, FTP_PORT};

/// What the scheduler decided for a new connection (or template).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewConn {
    /// Client key (for a template: the template key, see [`template_key`]).
    pub key: ConnKey,
    /// Service index (control-plane id).
    pub svc: u16,
    /// Real-server index (control-plane id).
    pub real: u16,
    pub fwd: FwdFlag,
    /// Real server address and port (IPVS `daddr`, `dport`).
    pub raddr: Ipv4Addr,
    pub rport: u16,
    /// Extra IPVS flags: only [`F_SYNC`] and (UDP connections only, as
    /// `ip_vs_bind_dest`) [`F_ONE_PACKET`] are taken; the table sets the
    /// forwarding bits, `F_INACTIVE`, `F_NOOUTPUT` (non-NAT) and
    /// `F_TEMPLATE` itself.
    pub flags: u16,
}

/// Why an insert was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// All slab slots are in use by live connections (counted).
    Full,
    /// The index found no room for the key(s) (counted; practically only
    /// reachable under a hash-flooding attack, the index is sized for every
    /// slot being a NAT connection at 90 % load).
    IndexFull,
    /// A live entry with the same client (or template) key exists.
    Exists(ConnId),
}

/// Construction failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// Capacity above [`MAX_CAPACITY`].
    TooLarge,
    /// The allocator refused the up-front allocation.
    Alloc,
}

/// Result of [`ConnTable::transition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateChange {
    pub old: u8,
    pub new: u8,
    /// Counted active before (not `F_INACTIVE`).
    pub was_active: bool,
    /// Counted active now.
    pub is_active: bool,
}

impl StateChange {
    /// The caller must move the connection between the real's active and
    /// inactive counters.
    pub fn activity_changed(&self) -> bool {
        self.was_active != self.is_active
    }
}

/// Counters kept by the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    pub inserted: u64,
    pub removed: u64,
    /// Inserts refused: no free slot.
    pub refused_full: u64,
    /// Inserts refused: no index room.
    pub refused_index: u64,
    /// Timers re-armed because the entry still controlled others.
    pub control_retries: u64,
    /// Live embryonic TCP entries recycled (never completed a handshake).
    pub evicted_tcp: u64,
    /// Live embryonic UDP (and other non-TCP) entries recycled (unreplied).
    pub evicted_udp: u64,
    /// Embryonic timers armed shorter because the table was under pressure.
    pub shortened: u64,
}

#[cfg(test)]
mod tests;
