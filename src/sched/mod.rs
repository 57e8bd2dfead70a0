//! IPVS schedulers for the lvsd data path.
//!
//! Each scheduler is split into an immutable [`Table`] (built on the
//! management thread whenever the service's dest list, weights or flags
//! change, then published read-only to every worker) and a small per-worker
//! [`State`] (cursors, caches, RNG). [`Table::pick`] is the only call on the
//! fast path: it never allocates, never locks and never panics.
//!
//! # Invariants and contract
//! * `dests` is the service's dest list **in IPVS list order** (new dests are
//!   inserted at the head in IPVS, so list order is reverse insertion order).
//!   A dest with `available == false` (removed, still referenced) is treated
//!   exactly as if it were unlinked from `svc->destinations`: it is never
//!   picked and does not occupy sh/dh/mh buckets.
//! * `load[i]` is this worker's counters for `dests[i]`. Only
//!   `min(dests.len(), load.len())` entries are considered.
//! * `dests` must be the slice the `Table` was built from. A mismatch cannot
//!   panic, but picks are then unspecified (possibly `None`).
//! * When a new `Table` is published, every worker must call
//!   [`State::rebind`] (or [`State::rebind_identity`]) before its next pick.
//!   Rebind follows the IPVS `add_dest/del_dest/upd_dest` callbacks:
//!   rr keeps its cursor (moved off a removed dest like `ip_vs_rr_del_dest`),
//!   wrr resets the cursor to the head and adjusts `cw` like
//!   `ip_vs_wrr_dest_changed`, lblc/lblcr remap cached dest indices and drop
//!   removed ones; the twos RNG is kept.
//! * Eligibility (`common::eligible`): `available && weight > 0 && !overloaded`.
//! * Overhead: `(active << 8) + inactive`; weighted compare by strict `>` on
//!   cross-multiplied overheads, so ties keep the earlier list entry.
//!
//! Thresholds: [`on_bind`], [`on_unbind`] and [`on_update`] implement the
//! OVERLOAD set/clear rules of `ip_vs_bind_dest`, `ip_vs_unbind_dest` and
//! `__ip_vs_update_dest`. The datapath applies them to one total per real
//! shared by all workers (`datapath::real_load`) and copies OVERLOAD into
//! `load` before a pick; the other counts in `load` are the worker's own.

pub use crate::types::Scheduler;
use std::fmt;
use std::net::IpAddr;

pub mod common;
pub mod dh;
pub mod fo;
pub mod hash;
pub mod lblc;
pub mod lblcr;
pub mod lc;
pub mod mh;
pub mod nq;
pub mod ovf;
pub mod rr;
pub mod sed;
pub mod sh;
pub mod twos;
pub mod wlc;
pub mod wrr;

#[cfg(test)]
pub(crate) mod testutil;

/// Default Maglev table size (prime). IPVS uses 4093; lvsd defaults bigger.
pub const DEFAULT_MH_SIZE: u32 = 65537;
/// Default `lblc_expiration` / `lblcr_expiration` sysctl: 24 hours.
pub const DEFAULT_LBLC_EXPIRATION_MS: u64 = 24 * 3600 * 1000;

/// One real server as seen by the scheduler (immutable, per service).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dest {
    pub addr: IpAddr,
    pub port: u16,
    /// Current weight; 0 = quiesced (no new connections).
    pub weight: u32,
    /// Last non-zero weight (IPVS `dest->last_weight`), used only by mh so
    /// that quiescing (weight 0) keeps the dest's Maglev slots. 0 if the dest
    /// never had a non-zero weight. Maintain with [`Dest::set_weight`].
    pub last_weight: u32,
    /// Upper connection threshold (0 = none).
    pub u_threshold: u32,
    /// Lower connection threshold (0 = none, then 3/4 of `u_threshold`).
    pub l_threshold: u32,
    /// `IP_VS_DEST_F_AVAILABLE`: false once the dest was removed.
    pub available: bool,
}

impl Dest {
    /// A new, available dest without thresholds; `last_weight = weight`.
    pub fn new(addr: IpAddr, port: u16, weight: u32) -> Dest {
        Dest {
            addr,
            port,
            weight,
            last_weight: weight,
            u_threshold: 0,
            l_threshold: 0,
            available: true,
        }
    }

    /// Set the weight, keeping `last_weight` as IPVS does (only non-zero
    /// weights are remembered).
    pub fn set_weight(&mut self, weight: u32) {
        self.weight = weight;
        if weight != 0 {
            self.last_weight = weight;
        }
    }
}

/// Per-worker load counters of one dest (same index as the dest list).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestLoad {
    pub active: u32,
    pub inactive: u32,
    pub persistent: u32,
    /// `IP_VS_DEST_F_OVERLOAD`, maintained by [`on_bind`]/[`on_unbind`].
    pub overloaded: bool,
}

/// What a scheduler may look at in the packet that opens a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    pub saddr: IpAddr,
    pub sport: u16,
    pub daddr: IpAddr,
    pub dport: u16,
    /// Monotonic milliseconds (lblc/lblcr aging).
    pub now_ms: u64,
}

/// Scheduler flags: `sh-fallback`/`mh-fallback` (IP_VS_SVC_F_SCHED1, 0x08)
/// and `sh-port`/`mh-port` (IP_VS_SVC_F_SCHED2, 0x10). Ignored by others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub fallback: bool,
    pub port: bool,
}

/// Why a [`Table`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The Maglev table size is not a prime number (>= 2).
    MaglevSizeNotPrime(u32),
    /// More dests than the table can hold (mh: more than M; all: > u32::MAX-1).
    TooManyDests { dests: usize, max: usize },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MaglevSizeNotPrime(m) => {
                write!(f, "maglev table size {m} is not a prime number")
            }
            BuildError::TooManyDests { dests, max } => {
                write!(f, "{dests} destinations exceed the maximum of {max}")
            }
        }
    }
}

impl std::error::Error for BuildError {}

enum Imm {
    Plain,
    Wrr(wrr::WrrTable),
    Sh(sh::ShTable),
    Dh(dh::DhTable),
    Mh(mh::MhTable),
}

/// Immutable scheduler data of one service (shared read-only by workers).
pub struct Table {
    kind: Scheduler,
    flags: Flags,
    n_dests: usize,
    lblc_expiration_ms: u64,
    imm: Imm,
}

impl Table {
    /// Build the immutable part for `dests` (IPVS list order).
    /// `maglev_size` is only used (and validated) for [`Scheduler::Mh`].
    pub fn build(
        kind: Scheduler,
        flags: Flags,
        dests: &[Dest],
        maglev_size: u32,
    ) -> Result<Table, BuildError> {
        let max = (u32::MAX - 1) as usize;
        if dests.len() > max {
            return Err(BuildError::TooManyDests {
                dests: dests.len(),
                max,
            });
        }
        let imm = match kind {
            Scheduler::Wrr => Imm::Wrr(wrr::WrrTable::build(dests)),
            Scheduler::Sh => Imm::Sh(sh::ShTable::build(dests)),
            Scheduler::Dh => Imm::Dh(dh::DhTable::build(dests)),
            Scheduler::Mh => Imm::Mh(mh::MhTable::build(dests, maglev_size)?),
            _ => Imm::Plain,
        };
        Ok(Table {
            kind,
            flags,
            n_dests: dests.len(),
            lblc_expiration_ms: DEFAULT_LBLC_EXPIRATION_MS,
            imm,
        })
    }

    /// Set the `lblc_expiration` (lblc) / `lblcr_expiration` (lblcr) sysctl.
    pub fn with_expiration_ms(mut self, ms: u64) -> Table {
        self.lblc_expiration_ms = ms;
        self
    }

    pub fn kind(&self) -> Scheduler {
        self.kind
    }

    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// Number of dests the table was built for.
    pub fn len(&self) -> usize {
        self.n_dests
    }

    pub fn is_empty(&self) -> bool {
        self.n_dests == 0
    }

    /// The Maglev lookup table (dest index per slot, [`common::EMPTY`] = empty), for
    /// the explain tool and for pushing deltas. `None` unless kind is mh.
    pub fn maglev_slots(&self) -> Option<&[u32]> {
        match &self.imm {
            Imm::Mh(t) => Some(t.slots()),
            _ => None,
        }
    }

    /// The sh/dh bucket table (dest index per bucket, [`common::EMPTY`] = none).
    pub fn buckets(&self) -> Option<&[u32]> {
        match &self.imm {
            Imm::Sh(t) => Some(t.buckets()),
            Imm::Dh(t) => Some(t.buckets()),
            _ => None,
        }
    }

    /// Pick a dest index for a new connection, or `None` (no destination).
    pub fn pick(
        &self,
        st: &mut State,
        dests: &[Dest],
        load: &[DestLoad],
        flow: &Flow,
    ) -> Option<usize> {
        if st.kind != self.kind {
            return None;
        }
        let n = dests.len().min(load.len());
        let (dests, load) = (&dests[..n], &load[..n]);
        match (&self.imm, &mut st.inner) {
            (Imm::Plain, StInner::Rr(s)) if self.kind == Scheduler::Rr => rr::pick(s, dests, load),
            (Imm::Wrr(t), StInner::Wrr(s)) => t.pick(s, dests, load),
            (Imm::Plain, _) if self.kind == Scheduler::Lc => lc::pick(dests, load),
            (Imm::Plain, _) if self.kind == Scheduler::Wlc => wlc::pick(dests, load),
            (Imm::Plain, _) if self.kind == Scheduler::Sed => sed::pick(dests, load),
            (Imm::Plain, _) if self.kind == Scheduler::Nq => nq::pick(dests, load),
            (Imm::Plain, _) if self.kind == Scheduler::Fo => fo::pick(dests, load),
            (Imm::Plain, _) if self.kind == Scheduler::Ovf => ovf::pick(dests, load),
            (Imm::Sh(t), _) => t.pick(self.flags, dests, load, flow),
            (Imm::Dh(t), _) => t.pick(dests, load, flow),
            (Imm::Mh(t), _) => t.pick(self.flags, dests, load, flow),
            (Imm::Plain, StInner::Lblc(c)) => c.pick(dests, load, flow, self.lblc_expiration_ms),
            (Imm::Plain, StInner::Lblcr(c)) => c.pick(dests, load, flow, self.lblc_expiration_ms),
            (Imm::Plain, StInner::Twos(r)) => twos::pick(r, dests, load),
            // State built for another kind: no destination (no panic).
            _ => None,
        }
    }
}

enum StInner {
    None,
    Rr(rr::RrState),
    Wrr(wrr::WrrState),
    Lblc(Box<lblc::LblcCache>),
    Lblcr(Box<lblcr::LblcrCache>),
    Twos(crate::types::Xorshift),
}

/// Per-worker mutable scheduler state of one service.
pub struct State {
    kind: Scheduler,
    n_dests: usize,
    inner: StInner,
}

impl State {
    /// Fresh state (cursors at the list head, empty caches). lblc/lblcr
    /// preallocate their fixed-size caches here. twos uses a fixed seed;
    /// prefer [`State::with_seed`] with a per-worker seed.
    pub fn new(table: &Table) -> State {
        State::with_seed(table, 0x9E37_79B9_7F4A_7C15)
    }

    /// As [`State::new`] with an explicit twos RNG seed.
    pub fn with_seed(table: &Table, seed: u64) -> State {
        let inner = match (table.kind, &table.imm) {
            (Scheduler::Rr, _) => StInner::Rr(rr::RrState::new()),
            (Scheduler::Wrr, Imm::Wrr(t)) => StInner::Wrr(t.new_state()),
            (Scheduler::Lblc, _) => StInner::Lblc(lblc::LblcCache::new()),
            (Scheduler::Lblcr, _) => StInner::Lblcr(lblcr::LblcrCache::new()),
            (Scheduler::Twos, _) => StInner::Twos(crate::types::Xorshift::new(seed)),
            _ => StInner::None,
        };
        State {
            kind: table.kind,
            n_dests: table.n_dests,
            inner,
        }
    }

    pub fn kind(&self) -> Scheduler {
        self.kind
    }

    /// Adopt a newly published `table`. `map(old_index)` gives the new index
    /// of each dest of the previous list (`None` = removed). A state of a
    /// different kind is re-created.
    pub fn rebind(&mut self, table: &Table, map: &dyn Fn(usize) -> Option<usize>) {
        if table.kind != self.kind {
            *self = State::new(table);
            return;
        }
        let old_n = self.n_dests;
        let new_n = table.n_dests;
        let remap = |i: usize| map(i).filter(|&j| j < new_n);
        match (&mut self.inner, &table.imm) {
            (StInner::Rr(s), _) => s.rebind(old_n, new_n, &remap),
            (StInner::Wrr(s), Imm::Wrr(t)) => t.rebind(s),
            (StInner::Lblc(c), _) => c.remap(&remap),
            (StInner::Lblcr(c), _) => c.remap(&remap),
            _ => {}
        }
        self.n_dests = new_n;
    }

    /// [`State::rebind`] when indices did not move (weight/threshold edits,
    /// removals marked `available = false` in place, dests appended).
    pub fn rebind_identity(&mut self, table: &Table) {
        self.rebind(table, &Some);
    }
}

/// Call after a connection was bound to `dest` (after incrementing
/// `active` or `inactive`): sets OVERLOAD when `u_threshold` is reached
/// (`ip_vs_bind_dest`).
pub fn on_bind(dest: &Dest, load: &mut DestLoad) {
    let total = u64::from(load.active) + u64::from(load.inactive);
    if dest.u_threshold != 0 && total >= u64::from(dest.u_threshold) {
        load.overloaded = true;
    }
}

/// Call after a connection was unbound from `dest` (after decrementing):
/// clears OVERLOAD per `ip_vs_unbind_dest` — below `l_threshold` if set,
/// else below 3/4 of `u_threshold` if set, else unconditionally.
pub fn on_unbind(dest: &Dest, load: &mut DestLoad) {
    let total = u64::from(load.active) + u64::from(load.inactive);
    let clear = if dest.l_threshold != 0 {
        total < u64::from(dest.l_threshold)
    } else if dest.u_threshold != 0 {
        total * 4 < u64::from(dest.u_threshold) * 3
    } else {
        true
    };
    if clear {
        load.overloaded = false;
    }
}

/// Call when a dest is edited (`__ip_vs_update_dest`): a new `u_threshold`
/// of 0 or higher than `old_u_threshold` clears OVERLOAD.
pub fn on_update(old_u_threshold: u32, new: &Dest, load: &mut DestLoad) {
    if new.u_threshold == 0 || new.u_threshold > old_u_threshold {
        load.overloaded = false;
    }
}

#[cfg(test)]
mod tests;
