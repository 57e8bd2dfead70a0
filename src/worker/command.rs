//! Commands from the management side that touch a worker's own state or
//! need its TX queues: installing synced connections, sending HA adverts and
//! gratuitous ARPs, dumping its connection table for a bulk sync. One
//! bounded ring per worker; a full ring is counted by the sender, never
//! waited on.
use crate::datapath::{SyncRecord, ADVERT_LEN};
use crate::types::PortId;
use crossbeam::queue::ArrayQueue;
use std::net::Ipv4Addr;

/// One command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Install (or remove) a connection synced from the active director.
    Install(SyncRecord),
    /// Send an advert (the IP payload, built and authenticated by the
    /// management side) out of `port`.
    Advert {
        port: PortId,
        body: [u8; ADVERT_LEN],
    },
    /// Send a gratuitous ARP for `ip` out of `port`.
    Garp { port: PortId, ip: Ipv4Addr },
    /// Dump the whole connection table as sync records (bulk sync), a
    /// slice per loop iteration, then report `HaEvent::BulkDone`.
    Bulk,
}

/// A worker's command ring.
pub type CommandRing = ArrayQueue<Command>;
