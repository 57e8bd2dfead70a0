//! The pure datapath: `Engine::rx` takes one received frame and decides
//! what happens to it, with no DPDK, no locks and no allocation beyond
//! reservations made at start. Generic over [`Frame`] so tests run it on
//! `VecFrame`s.
//!
//! Pipeline per frame: L2 checks (our MAC or broadcast, not looped) → ARP
//! (answer for our addresses and VIPs on this port, learn neighbours) or
//! IPv4 (header validation, then local delivery: ICMP echo) → output
//! (neighbour resolution, Ethernet header, TX list). Everything else is a
//! counted drop with a [`DropReason`].
//!
//! Established connections take a shortcut first (`fast.rs`): one pass
//! over fixed offsets that either does exactly what the pipeline would do
//! or hands the frame to it untouched.
mod counters;
mod engine;
mod fast;
pub mod lb;
pub mod neigh;
pub mod owner;
pub mod ratelimit;
pub mod real_load;
mod reason;
pub mod service;
mod snapshot;
pub mod sync;
pub mod topology;

pub use counters::{Counter, Counters, RealCounters, MAX_REALS};
pub use engine::Engine;
pub use fast::Hint;
pub use lb::{Lb, LbOptions};
pub use reason::DropReason;
pub use snapshot::{Local, PortView, RouteView, Snapshot};
pub use sync::{EventRing, HaEvent, HaView, SyncRecord, ADVERT_LEN};

use crate::types::PortId;
use std::net::Ipv4Addr;

/// What happens to a frame after processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Ready to go out of this port (L2 header written).
    Tx(PortId),
    /// L3 packet ready; needs the next hop's MAC on `port`.
    Route { port: PortId, next_hop: Ipv4Addr },
    /// Used up here (e.g. an ARP reply we learned from).
    Consumed,
    /// Dropped, counted by reason.
    Drop(DropReason),
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
