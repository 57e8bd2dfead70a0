//! Authenticated data-network adverts: encoding and verification (pure, no
//! I/O; the caller supplies clocks and randomness).
//!
//! An advert is a valid VRRPv3 message (RFC 5798: version 3 / type 1,
//! VRID, priority, count 0, max advert interval, checksum over those 8
//! bytes) followed by a trailer that proves its origin:
//!
//! | offset | size | field                                                    |
//! |--------|------|----------------------------------------------------------|
//! | 0      | 8    | VRRPv3 header                                            |
//! | 8      | 8    | sender node id: first 8 bytes of SHA-256(node name)      |
//! | 16     | 8    | sender boot id (random per process start)                |
//! | 24     | 8    | counter (big endian), strictly increasing, across boots  |
//! | 32     | 16   | HMAC-SHA256 under the pair's key, truncated              |
//!
//! The tag covers a domain label, the IPv4 source address the advert is
//! sent from and bytes 0..32 (VRID, priority, interval, node, boot, counter).
//! The counter is the sender's wall clock at start in nanoseconds plus the
//! monotonic time since, so it keeps increasing across a restart of the
//! sender (as long as its clock is not set back by more than the downtime).
//!
//! A [`Verifier`] accepts an advert only when it is well formed, comes from
//! a node other than ourselves (and, once the peer's name is known from the
//! authenticated peer link, from that node), carries a valid tag, and its
//! counter is strictly greater than the last one accepted on the same
//! receiving port. A replayed capture therefore never refreshes the peer's
//! liveness, whatever boot it came from.
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::net::Ipv4Addr;
use std::time::Duration;

/// VRRPv3 header length.
pub const HEADER_LEN: usize = 8;
/// Truncated tag length.
pub const TAG_LEN: usize = 16;
/// Whole advert (IP payload) length.
pub const LEN: usize = 48;
/// Domain separation of the tag from the peer link's tags.
const LABEL: &[u8] = b"lvsd-advert-v1";

/// Why an advert was refused (the `reason` label of
/// `lvsd_ha_adverts_refused_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a VRRPv3 advertisement with a full trailer.
    Malformed,
    /// From ourselves or from a node that is not the configured peer.
    UnknownSender,
    /// The tag does not match (forged or altered, or another key).
    BadMac,
    /// The counter is not above the last accepted one (a replay).
    Replay,
}

impl Refusal {
    /// Every reason, in metric order.
    pub const ALL: [Refusal; 4] = [
        Refusal::BadMac,
        Refusal::Malformed,
        Refusal::Replay,
        Refusal::UnknownSender,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::UnknownSender => "unknown_sender",
            Refusal::BadMac => "bad_mac",
            Refusal::Replay => "replay",
        }
    }
}

/// An accepted advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub vrid: u8,
    pub priority: u8,
    /// The sender's boot id differs from the last accepted one (it restarted).
    pub new_boot: bool,
}

/// A node's 8-byte id in adverts.
pub fn node_id(node: &str) -> [u8; 8] {
    let d = Sha256::digest(node.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

fn keyed(key: &[u8]) -> Option<Hmac<Sha256>> {
    if key.is_empty() {
        return None;
    }
    Hmac::<Sha256>::new_from_slice(key).ok()
}

fn tag(mac: &Hmac<Sha256>, src: Ipv4Addr, signed: &[u8]) -> [u8; TAG_LEN] {
    let mut m = mac.clone();
    m.update(LABEL);
    m.update(&src.octets());
    m.update(signed);
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&m.finalize().into_bytes()[..TAG_LEN]);
    out
}

/// The sending side: this node's id, boot id and counter.
#[derive(Clone)]
pub struct Signer {
    mac: Hmac<Sha256>,
    node: [u8; 8],
    boot: [u8; 8],
    epoch_ns: u64,
    last: u64,
}

impl Signer {
    /// `boot` must be random per process start; `epoch_ns` is the wall
    /// clock at start (nanoseconds since the Unix epoch). `None` for an
    /// empty key.
    pub fn new(key: &[u8], node: &str, boot: [u8; 8], epoch_ns: u64) -> Option<Signer> {
        Some(Signer {
            mac: keyed(key)?,
            node: node_id(node),
            boot,
            epoch_ns,
            last: 0,
        })
    }

    /// The counter for the adverts of one interval, `since_start` after the
    /// start: strictly above every earlier one.
    pub fn next_counter(&mut self, since_start: Duration) -> u64 {
        let ns = u64::try_from(since_start.as_nanos()).unwrap_or(u64::MAX);
        let c = self
            .epoch_ns
            .saturating_add(ns)
            .max(self.last.saturating_add(1));
        self.last = c;
        c
    }

    /// One advert sent from `src`.
    pub fn seal(
        &self,
        vrid: u8,
        priority: u8,
        interval_cs: u16,
        src: Ipv4Addr,
        counter: u64,
    ) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0] = 0x31;
        b[1] = vrid;
        b[2] = priority;
        b[4..6].copy_from_slice(&(interval_cs & 0x0fff).to_be_bytes());
        let c = checksum(&b[..HEADER_LEN]);
        b[6..8].copy_from_slice(&c.to_be_bytes());
        b[8..16].copy_from_slice(&self.node);
        b[16..24].copy_from_slice(&self.boot);
        b[24..32].copy_from_slice(&counter.to_be_bytes());
        let t = tag(&self.mac, src, &b[..LEN - TAG_LEN]);
        b[LEN - TAG_LEN..].copy_from_slice(&t);
        b
    }
}

/// The receiving side: checks adverts and remembers the last accepted
/// counter per receiving port.
#[derive(Clone)]
pub struct Verifier {
    mac: Hmac<Sha256>,
    own: [u8; 8],
    peer: Option<[u8; 8]>,
    boot: Option<[u8; 8]>,
    last: Vec<(u16, u64)>,
}

impl Verifier {
    /// `node` is our own name (our adverts reflected back are refused).
    pub fn new(key: &[u8], node: &str) -> Option<Verifier> {
        Some(Verifier {
            mac: keyed(key)?,
            own: node_id(node),
            peer: None,
            boot: None,
            last: Vec::new(),
        })
    }

    /// The peer's node name, as learnt from the authenticated peer link:
    /// from then on only its adverts are accepted.
    pub fn set_peer(&mut self, node: &str) {
        self.peer = Some(node_id(node));
    }

    /// Is the peer's name known (the peer link authenticated once)?
    pub fn knows_peer(&self) -> bool {
        self.peer.is_some()
    }

    /// Check one advert (the IP payload) received on `port` from `src`.
    pub fn verify(&mut self, body: &[u8], src: Ipv4Addr, port: u16) -> Result<Accepted, Refusal> {
        let b = body.get(..LEN).ok_or(Refusal::Malformed)?;
        if b[0] != 0x31 || checksum(&b[..HEADER_LEN]) != 0 {
            return Err(Refusal::Malformed);
        }
        let node = &b[8..16];
        if node == self.own || self.peer.is_some_and(|p| p != node) {
            return Err(Refusal::UnknownSender);
        }
        let want = tag(&self.mac, src, &b[..LEN - TAG_LEN]);
        if !constant_eq(&want, &b[LEN - TAG_LEN..]) {
            return Err(Refusal::BadMac);
        }
        let mut counter = [0u8; 8];
        counter.copy_from_slice(&b[24..32]);
        let counter = u64::from_be_bytes(counter);
        let slot = match self.last.iter().position(|(p, _)| *p == port) {
            Some(i) => i,
            None => {
                self.last.push((port, 0));
                self.last.len() - 1
            }
        };
        if counter <= self.last[slot].1 {
            return Err(Refusal::Replay);
        }
        self.last[slot].1 = counter;
        let mut boot = [0u8; 8];
        boot.copy_from_slice(&b[16..24]);
        let new_boot = self.boot.replace(boot).is_some_and(|old| old != boot);
        Ok(Accepted {
            vrid: b[1],
            priority: b[2],
            new_boot,
        })
    }
}

/// The Internet checksum (RFC 1071) of `b`; 0 over a message that carries
/// its own correct checksum.
pub fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 251);

    fn pair() -> (Signer, Verifier) {
        let s = Signer::new(KEY, "lvs-b", [7; 8], 1_000_000).unwrap();
        let mut v = Verifier::new(KEY, "lvs-a").unwrap();
        v.set_peer("lvs-b");
        (s, v)
    }

    #[test]
    fn good_advert_is_accepted_and_valid_vrrpv3() {
        let (mut s, mut v) = pair();
        let c = s.next_counter(Duration::from_millis(1));
        let b = s.seal(51, 150, 10, SRC, c);
        assert_eq!(b[0], 0x31, "VRRPv3 advertisement");
        assert_eq!(checksum(&b[..HEADER_LEN]), 0);
        assert_eq!(
            v.verify(&b, SRC, 0),
            Ok(Accepted {
                vrid: 51,
                priority: 150,
                new_boot: false
            })
        );
        // The same counter on another receiving port is fresh there.
        assert!(v.verify(&b, SRC, 1).is_ok());
    }

    #[test]
    fn every_altered_field_is_refused() {
        let (mut s, v0) = pair();
        let c = s.next_counter(Duration::ZERO);
        let good = s.seal(51, 150, 10, SRC, c);
        for i in 0..LEN {
            let mut b = good;
            b[i] ^= 0x01;
            // Keep the VRRP checksum right so the tag is what refuses it.
            if i < 6 {
                b[6] = 0;
                b[7] = 0;
                let ck = checksum(&b[..HEADER_LEN]);
                b[6..8].copy_from_slice(&ck.to_be_bytes());
            }
            let want = match i {
                0 | 6 | 7 => Refusal::Malformed,
                8..=15 => Refusal::UnknownSender,
                _ => Refusal::BadMac,
            };
            assert_eq!(v0.clone().verify(&b, SRC, 0), Err(want), "byte {i}");
        }
        // Another source address (spoofed or a capture moved elsewhere).
        let other = Ipv4Addr::new(198, 18, 0, 250);
        assert_eq!(v0.clone().verify(&good, other, 0), Err(Refusal::BadMac));
        // Short, or the bare 8-byte VRRPv3 header.
        assert_eq!(
            v0.clone().verify(&good[..LEN - 1], SRC, 0),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            v0.clone().verify(&good[..HEADER_LEN], SRC, 0),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn replays_are_refused() {
        let (mut s, mut v) = pair();
        let first = s.seal(51, 150, 10, SRC, s.clone().next_counter(Duration::ZERO));
        let c1 = s.next_counter(Duration::ZERO);
        let c2 = s.next_counter(Duration::ZERO);
        assert!(c2 > c1, "strictly increasing even without time passing");
        let a = s.seal(51, 150, 10, SRC, c1);
        let b = s.seal(51, 150, 10, SRC, c2);
        assert!(v.verify(&a, SRC, 0).is_ok());
        assert_eq!(v.verify(&a, SRC, 0), Err(Refusal::Replay));
        assert!(v.verify(&b, SRC, 0).is_ok());
        assert_eq!(v.verify(&a, SRC, 0), Err(Refusal::Replay));
        assert_eq!(v.verify(&first, SRC, 0), Err(Refusal::Replay));
        assert_eq!(v.verify(&b, SRC, 0), Err(Refusal::Replay));
    }

    #[test]
    fn wrong_key_or_wrong_sender_is_refused() {
        let mut s = Signer::new(b"another key of 16+ bytes", "lvs-b", [1; 8], 5).unwrap();
        let (_, mut v) = pair();
        let c = s.next_counter(Duration::ZERO);
        assert_eq!(
            v.verify(&s.seal(51, 150, 10, SRC, c), SRC, 0),
            Err(Refusal::BadMac)
        );
        // Our own adverts reflected back, and a third node with the key.
        for node in ["lvs-a", "lvs-c"] {
            let mut s = Signer::new(KEY, node, [1; 8], 5).unwrap();
            let c = s.next_counter(Duration::ZERO);
            assert_eq!(
                v.verify(&s.seal(51, 150, 10, SRC, c), SRC, 0),
                Err(Refusal::UnknownSender),
                "{node}"
            );
        }
        // Before the peer is known, any other keyed node is the peer.
        let mut v = Verifier::new(KEY, "lvs-a").unwrap();
        let mut s = Signer::new(KEY, "lvs-c", [1; 8], 5).unwrap();
        let c = s.next_counter(Duration::ZERO);
        assert!(!v.knows_peer());
        assert!(v.verify(&s.seal(51, 150, 10, SRC, c), SRC, 0).is_ok());
        v.set_peer("lvs-b");
        assert!(v.knows_peer());
        assert!(Signer::new(b"", "x", [0; 8], 0).is_none());
        assert!(Verifier::new(b"", "x").is_none());
    }

    #[test]
    fn counter_keeps_increasing_across_a_restart() {
        let (mut s, mut v) = pair();
        let up = Duration::from_secs(30);
        let old = s.seal(51, 150, 10, SRC, s.clone().next_counter(Duration::ZERO));
        let c = s.next_counter(up);
        assert!(v.verify(&s.seal(51, 150, 10, SRC, c), SRC, 0).is_ok());
        // The sender restarts 1 s after its last advert: new boot id, its
        // wall clock moved on.
        let epoch = 1_000_000 + up.as_nanos() as u64 + 1_000_000_000;
        let mut s2 = Signer::new(KEY, "lvs-b", [9; 8], epoch).unwrap();
        let c2 = s2.next_counter(Duration::ZERO);
        assert!(c2 > c);
        let got = v.verify(&s2.seal(51, 150, 10, SRC, c2), SRC, 0).unwrap();
        assert!(got.new_boot);
        // Adverts captured during the first boot stay refused.
        assert_eq!(v.verify(&old, SRC, 0), Err(Refusal::Replay));
        let again = s.seal(51, 150, 10, SRC, c);
        assert_eq!(v.verify(&again, SRC, 0), Err(Refusal::Replay));
        // A new boot id with a forged tag is not accepted.
        let mut forged = s2.seal(51, 255, 10, SRC, c2 + 10);
        forged[16] ^= 0xff;
        assert_eq!(v.verify(&forged, SRC, 0), Err(Refusal::BadMac));
    }
}
