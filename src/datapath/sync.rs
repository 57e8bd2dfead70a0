//! Connection-state sync and HA events between a worker and the management
//! side. Workers push [`HaEvent`]s into their own bounded ring (a full ring
//! is counted, never waited on); the management side drains them and sends
//! sync records to the peer director, and feeds adverts to the role
//! machine. Synced connections are keyed by addresses and ports, never by
//! the process-local service/real ids.
use crate::conn::Conn;
use crate::types::{ConnRecord, PortId};
use crossbeam::queue::ArrayQueue;
use std::net::Ipv4Addr;

/// One sync operation for the peer: install or refresh `conn`, or remove it
/// (the active removed it). `conn.expires_ms` is the remaining lifetime on
/// the active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncRecord {
    pub remove: bool,
    pub conn: ConnRecord,
}

impl SyncRecord {
    /// The record for `c`, `remaining_ms` left.
    pub fn of(c: &Conn, remove: bool, remaining_ms: u64) -> SyncRecord {
        SyncRecord {
            remove,
            conn: c.record(remaining_ms),
        }
    }
}

/// What a worker reports to the HA machinery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HaEvent {
    Sync(SyncRecord),
    /// A VRRP-style advert from another director seen on a data port.
    Advert {
        port: PortId,
        src: Ipv4Addr,
        vrid: u8,
        priority: u8,
    },
    /// This worker finished a bulk dump of its table.
    BulkDone,
}

/// A worker's event ring.
pub type EventRing = ArrayQueue<HaEvent>;

/// HA state as the datapath sees it (part of the snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HaView {
    /// `[ha]` is configured.
    pub enabled: bool,
    /// This director serves VIPs and floating addresses now.
    pub active: bool,
    pub vrid: u8,
    pub priority: u8,
}

impl Default for HaView {
    fn default() -> Self {
        HaView {
            enabled: false,
            active: true,
            vrid: 0,
            priority: 0,
        }
    }
}

/// IP protocol of the adverts (VRRP).
pub const ADVERT_PROTO: u8 = 112;
/// Destination of the adverts (VRRP's 224.0.0.18).
pub const ADVERT_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// Its multicast MAC.
pub const ADVERT_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];

/// Write a VRRPv3-format advert body (8 bytes, no addresses) into `b`:
/// version 3 / type 1, VRID, priority, count 0, max advert interval in
/// centiseconds, checksum over the message.
pub fn emit_advert(b: &mut [u8], vrid: u8, priority: u8, interval_cs: u16) -> bool {
    let Some(b) = b.get_mut(..8) else {
        return false;
    };
    b[0] = 0x31;
    b[1] = vrid;
    b[2] = priority;
    b[3] = 0;
    b[4..6].copy_from_slice(&(interval_cs & 0x0fff).to_be_bytes());
    b[6] = 0;
    b[7] = 0;
    let c = crate::packet::checksum::checksum(b);
    b[6..8].copy_from_slice(&c.to_be_bytes());
    true
}

/// Parse an advert body: (vrid, priority).
pub fn parse_advert(b: &[u8]) -> Option<(u8, u8)> {
    let b = b.get(..8)?;
    (b[0] >> 4 == 3 && b[0] & 0x0f == 1 && crate::packet::checksum::checksum(b) == 0)
        .then_some((b[1], b[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advert_round_trip() {
        let mut b = [0u8; 8];
        assert!(emit_advert(&mut b, 51, 150, 10));
        assert_eq!(parse_advert(&b), Some((51, 150)));
        b[2] ^= 1;
        assert_eq!(parse_advert(&b), None, "checksum");
        assert_eq!(parse_advert(&b[..5]), None);
    }
}
