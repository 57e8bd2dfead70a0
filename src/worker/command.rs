//! Commands from the management side that touch a worker's own state or
//! need its TX queues: installing synced connections, sending HA adverts and
//! gratuitous ARPs, dumping its connection table for a bulk sync. One
//! bounded ring per worker; a full ring is counted by the sender, never
//! waited on.
use crate::datapath::SyncRecord;
use crate::types::PortId;
use crossbeam::queue::ArrayQueue;
use std::net::Ipv4Addr;

/// One command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Install (or remove) a connection synced from the active director.
    Install(SyncRecord),
    /// Send an advert out of every data port.
    Advert { interval_cs: u16 },
    /// Send a gratuitous ARP for `ip` out of `port`.
    Garp { port: PortId, ip: Ipv4Addr },
    /// Dump the whole connection table as sync records (bulk sync), a
    /// slice per loop iteration, then report `HaEvent::BulkDone`.
    Bulk,
}

/// A worker's command ring.
pub type CommandRing = ArrayQueue<Command>;
