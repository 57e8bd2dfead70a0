//! The flood accounting of `lvsd-gen --legit N`: every frame belongs to
//! one of three disjoint client endpoint sets, told apart by its source
//! endpoint (which DR, NAT and the testpmd baseline all keep):
//!
//! - established: `0..established`, the warmed-up connections whose ACKs
//!   are measured (their loss is the figure that must stay 0);
//! - legit: `legit_base..legit_base + legit`, clients that each open one
//!   connection during the phase and complete the handshake;
//! - flood: everything else (the spoofed SYNs of `--syn-share`).
//!
//! A legit client sends its SYN (spread evenly over the phase); when the
//! director forwards it (it reaches the generator, which plays the real
//! server), the client's ACK follows at once, as it would once the real's
//! SYN-ACK (which, in DR, does not cross the director) reached the client.
//! The handshake is complete when that ACK is forwarded too.
//!
//! Invariants: each legit client sends at most one SYN and one ACK (a
//! forwarded SYN seen twice queues no second ACK); the pending ACKs are at
//! most `legit`; counts are per frame offered (frames left unsent at the
//! end of a phase are taken back with [`Legit::unsent`]).
use super::{Pacer, CLIENT_ADDRS, CLIENT_BASE, CLIENT_PORT_BASE, TCP_ACK, TCP_SYN};
use std::collections::VecDeque;

/// Which endpoint set a frame belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Established,
    Legit,
    Flood,
}

/// The endpoint index and TCP flags of a generated IPv4/TCP frame (the
/// inverse of [`super::endpoint`]), or `None` for anything else.
pub fn frame_endpoint(d: &[u8]) -> Option<(u64, u8)> {
    if d.len() < 34 || d[12] != 0x08 || d[13] != 0x00 || d[23] != 6 {
        return None;
    }
    let l4 = 14 + usize::from(d[14] & 0x0f) * 4;
    let port = u16::from_be_bytes([*d.get(l4)?, *d.get(l4 + 1)?]);
    let flags = *d.get(l4 + 13)?;
    let addr = u32::from_be_bytes([d[26], d[27], d[28], d[29]]);
    let off = u64::from(addr.wrapping_sub(CLIENT_BASE));
    if off >= CLIENT_ADDRS || port < CLIENT_PORT_BASE {
        return None;
    }
    Some((
        off + u64::from(port - CLIENT_PORT_BASE) * CLIENT_ADDRS,
        flags,
    ))
}

/// Per-class frame counts of a phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FloodTally {
    pub est_tx: u64,
    pub est_rx: u64,
    pub flood_tx: u64,
    pub flood_rx: u64,
    pub legit_syn_tx: u64,
    pub legit_syn_rx: u64,
    pub legit_ack_tx: u64,
    /// Legit ACKs forwarded back: completed handshakes.
    pub legit_done: u64,
}

impl FloodTally {
    /// Established frames offered that did not come back.
    pub fn est_lost(&self) -> u64 {
        self.est_tx.saturating_sub(self.est_rx)
    }
    /// Completed handshakes per legit SYN sent (1 when none was sent).
    pub fn legit_ratio(&self) -> f64 {
        if self.legit_syn_tx == 0 {
            1.0
        } else {
            self.legit_done as f64 / self.legit_syn_tx as f64
        }
    }
}

/// The legit clients of a phase and the per-class counts.
#[derive(Debug)]
pub struct Legit {
    established: u64,
    base: u64,
    n: u64,
    pacer: Pacer,
    syns: u64,
    /// Legit clients whose forwarded SYN came back, not yet ACKed.
    pending: VecDeque<u64>,
    /// Which legit clients already had their ACK queued.
    acked: Vec<bool>,
    pub tally: FloodTally,
}

impl Legit {
    /// `n` legit clients from endpoint `base` (after the `established`
    /// ones), their SYNs spread over the first 90 % of `duration_s` from
    /// TSC `start` (the last handshakes complete within the phase).
    pub fn new(established: u64, base: u64, n: u64, start: u64, hz: u64, duration_s: f64) -> Legit {
        let rate = (n as f64 / (0.9 * duration_s).max(1e-3)).ceil().max(1.0) as u64;
        Legit {
            established,
            base,
            n,
            pacer: Pacer::new(start, hz, rate),
            syns: 0,
            pending: VecDeque::new(),
            acked: vec![false; n as usize],
            tally: FloodTally::default(),
        }
    }

    /// The set endpoint `ep` belongs to.
    #[inline]
    pub fn class(&self, ep: u64) -> Class {
        if ep < self.established {
            Class::Established
        } else if ep >= self.base && ep - self.base < self.n {
            Class::Legit
        } else {
            Class::Flood
        }
    }

    /// The next legit frame to send at TSC `now`, if any: a pending ACK
    /// first, else a SYN that is due. Counted as sent.
    #[inline]
    pub fn next_tx(&mut self, now: u64) -> Option<(u64, u8)> {
        if let Some(ep) = self.pending.pop_front() {
            self.tally.legit_ack_tx += 1;
            return Some((ep, TCP_ACK));
        }
        if self.syns < self.n && self.pacer.allowed(now, self.syns) > self.syns {
            let ep = self.base + self.syns;
            self.syns += 1;
            self.tally.legit_syn_tx += 1;
            return Some((ep, TCP_SYN));
        }
        None
    }

    /// A frame of the established mix or the flood was sent.
    #[inline]
    pub fn sent_mix(&mut self, syn: bool) {
        if syn {
            self.tally.flood_tx += 1;
        } else {
            self.tally.est_tx += 1;
        }
    }

    /// A built frame was never sent (end of phase): take back its count
    /// (a legit ACK goes back to the pending queue).
    pub fn unsent(&mut self, d: &[u8]) {
        let Some((ep, flags)) = frame_endpoint(d) else {
            return;
        };
        let class = self.class(ep);
        let t = &mut self.tally;
        match (class, flags & TCP_SYN != 0) {
            (Class::Established, _) => t.est_tx = t.est_tx.saturating_sub(1),
            (Class::Flood, _) => t.flood_tx = t.flood_tx.saturating_sub(1),
            (Class::Legit, true) => {
                t.legit_syn_tx = t.legit_syn_tx.saturating_sub(1);
            }
            (Class::Legit, false) => {
                t.legit_ack_tx = t.legit_ack_tx.saturating_sub(1);
                self.pending.push_back(ep);
            }
        }
    }

    /// A frame came back (forwarded by the device under test).
    #[inline]
    pub fn received(&mut self, d: &[u8]) {
        let Some((ep, flags)) = frame_endpoint(d) else {
            return;
        };
        let class = self.class(ep);
        let t = &mut self.tally;
        match class {
            Class::Established => t.est_rx += 1,
            Class::Flood => t.flood_rx += 1,
            Class::Legit if flags & TCP_SYN != 0 => {
                t.legit_syn_rx += 1;
                let seen = &mut self.acked[(ep - self.base) as usize];
                if !*seen {
                    *seen = true;
                    self.pending.push_back(ep);
                }
            }
            Class::Legit => t.legit_done += 1,
        }
    }

    /// ACKs waiting to be sent.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perfgen::{FrameSpec, Protocol, Template};
    use std::net::Ipv4Addr;

    fn frame(t: &Template, ep: u64, flags: u8) -> Vec<u8> {
        let mut v = vec![0u8; t.len()];
        t.write(&mut v, ep, flags, 7, 9);
        v
    }

    fn tmpl() -> Template {
        Template::new(&FrameSpec {
            dst_mac: [2, 0, 0, 0, 0, 1],
            src_mac: [2, 0, 0, 0, 0, 2],
            dst_ip: Ipv4Addr::new(198, 19, 0, 100),
            dst_port: 80,
            proto: Protocol::Tcp,
            size: 64,
        })
        .unwrap()
    }

    #[test]
    fn frame_endpoint_inverts_endpoint() {
        let t = tmpl();
        for ep in [0, 1, 65_535, 65_536, 1_000_000, 9_999_999] {
            assert_eq!(frame_endpoint(&frame(&t, ep, TCP_SYN)), Some((ep, TCP_SYN)));
        }
        let mut udp = frame(&t, 5, TCP_ACK);
        udp[23] = 17;
        assert_eq!(frame_endpoint(&udp), None);
    }

    #[test]
    fn legit_handshake_completes_once_per_client() {
        let t = tmpl();
        // 10 established, 3 legit from 10, all SYNs due at once (1 ms).
        let mut l = Legit::new(10, 10, 3, 0, 1000, 0.001);
        assert_eq!(l.next_tx(0), None, "nothing due at the start");
        let mut syns = vec![];
        while let Some((ep, f)) = l.next_tx(5) {
            assert_eq!(f, TCP_SYN);
            syns.push(ep);
        }
        assert_eq!(syns, vec![10, 11, 12]);
        // Client 11's SYN is forwarded twice, client 12's never.
        l.received(&frame(&t, 11, TCP_SYN));
        l.received(&frame(&t, 11, TCP_SYN));
        l.received(&frame(&t, 10, TCP_SYN));
        assert_eq!(l.pending(), 2, "one ACK per client");
        let (a, _) = l.next_tx(6).unwrap();
        let (b, fb) = l.next_tx(6).unwrap();
        assert_eq!((a, b, fb), (11, 10, TCP_ACK));
        // Client 10's ACK was left unsent: queued again.
        l.unsent(&frame(&t, 10, TCP_ACK));
        assert_eq!(l.next_tx(7), Some((10, TCP_ACK)));
        l.received(&frame(&t, 10, TCP_ACK));
        l.received(&frame(&t, 11, TCP_ACK));
        // The mix: established ACKs and flood SYNs.
        l.sent_mix(false);
        l.sent_mix(false);
        l.sent_mix(true);
        l.received(&frame(&t, 3, TCP_ACK));
        l.received(&frame(&t, 500, TCP_SYN));
        let s = l.tally;
        assert_eq!(
            (s.legit_syn_tx, s.legit_syn_rx, s.legit_ack_tx, s.legit_done),
            (3, 3, 2, 2)
        );
        assert_eq!((s.est_tx, s.est_rx, s.est_lost()), (2, 1, 1));
        assert_eq!((s.flood_tx, s.flood_rx), (1, 1));
        assert!((s.legit_ratio() - 2.0 / 3.0).abs() < 1e-9);
    }
}
