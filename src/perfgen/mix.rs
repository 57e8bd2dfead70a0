//! Which client endpoint each packet uses, and whether it is a SYN (a new
//! connection) or an ACK (an established one).
//!
//! Established endpoints are `0..established`, visited round robin; SYNs
//! use `syn_base + (k mod syn_space)`, so a SYN flood with a large
//! `syn_space` opens a new connection with every packet. The SYN share is
//! an exact ratio (error accumulator, no randomness): `syn_ppm` SYNs per
//! million packets.

/// The endpoint / flag sequence of a phase.
#[derive(Clone, Debug)]
pub struct FlowMix {
    established: u64,
    syn_base: u64,
    syn_space: u64,
    syn_ppm: u32,
    acc: u32,
    est_i: u64,
    syn_i: u64,
}

impl FlowMix {
    /// `syn_ppm` is clamped to 1e6; with no established endpoints every
    /// packet is a SYN; `syn_space` 0 is treated as 1.
    pub fn new(established: u64, syn_base: u64, syn_space: u64, syn_ppm: u32) -> FlowMix {
        FlowMix {
            established,
            syn_base,
            syn_space: syn_space.max(1),
            syn_ppm: if established == 0 {
                1_000_000
            } else {
                syn_ppm.min(1_000_000)
            },
            acc: 0,
            est_i: 0,
            syn_i: 0,
        }
    }

    /// The warm-up's first pass: one SYN to each of endpoints `0..n`, in
    /// order.
    pub fn warm(n: u64) -> FlowMix {
        FlowMix::new(0, 0, n, 1_000_000)
    }

    /// The warm-up's second pass: one ACK to each of endpoints `0..n`, in
    /// order (the client's third segment of the handshake: the director's
    /// connections are ESTABLISHED before the measured phase, which then
    /// sends only packets of established connections).
    pub fn warm_ack(n: u64) -> FlowMix {
        FlowMix::new(n, n, 1, 0)
    }

    /// Next packet: `(endpoint index, is_syn)`.
    #[inline]
    pub fn next_flow(&mut self) -> (u64, bool) {
        self.acc += self.syn_ppm;
        if self.acc >= 1_000_000 {
            self.acc -= 1_000_000;
            let i = self.syn_base + self.syn_i;
            self.syn_i += 1;
            if self.syn_i == self.syn_space {
                self.syn_i = 0;
            }
            (i, true)
        } else {
            let i = self.est_i;
            self.est_i += 1;
            if self.est_i == self.established {
                self.est_i = 0;
            }
            (i, false)
        }
    }
}
