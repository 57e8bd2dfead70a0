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
    /// A VRRP-style advert from another director seen on a data port: its
    /// first `len` bytes (at most [`ADVERT_LEN`]) of IP payload, checked
    /// (origin, freshness) where the event is consumed.
    Advert {
        port: PortId,
        src: Ipv4Addr,
        len: u8,
        body: [u8; ADVERT_LEN],
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

/// Length of an advert's IP payload: the VRRPv3 header and the trailer
/// that authenticates it (built and checked by the management side, see
/// "Adverts" in ARCHITECTURE.md).
pub const ADVERT_LEN: usize = 48;

/// The advert in IP payload `b` when its VRRPv3 header is valid (version
/// 3 / type 1, checksum over the 8 header bytes): its first bytes, at most
/// [`ADVERT_LEN`], and their count. The trailer is not looked at here.
pub fn parse_advert(b: &[u8]) -> Option<([u8; ADVERT_LEN], u8)> {
    let h = b.get(..8)?;
    if h[0] >> 4 != 3 || h[0] & 0x0f != 1 || crate::packet::checksum::checksum(h) != 0 {
        return None;
    }
    let n = b.len().min(ADVERT_LEN);
    let mut body = [0u8; ADVERT_LEN];
    body[..n].copy_from_slice(&b[..n]);
    Some((body, n as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advert_round_trip() {
        let mut b = [0u8; 8];
        b[0] = 0x31;
        b[1] = 51;
        b[2] = 150;
        b[5] = 10;
        let c = crate::packet::checksum::checksum(&b);
        b[6..8].copy_from_slice(&c.to_be_bytes());
        let (body, n) = parse_advert(&b).unwrap();
        assert_eq!((n, &body[..3]), (8, &[0x31, 51, 150][..]));
        let mut long = [0xeeu8; 60];
        long[..8].copy_from_slice(&b);
        assert_eq!(parse_advert(&long).unwrap().1 as usize, ADVERT_LEN);
        b[2] ^= 1;
        assert_eq!(parse_advert(&b), None, "checksum");
        assert_eq!(parse_advert(&b[..5]), None);
    }
}
