//! Which client endpoint each packet uses, and whether it is a SYN (a new
//! connection) or an ACK (an established one).
//!
//! Established endpoints are `0..established`, visited round robin; SYNs
//! use `syn_base + (k mod syn_space)`, so a SYN flood with a large
//! `syn_space` opens a new connection with every packet. The SYN share is
//! an exact ratio (error accumulator, no randomness): `syn_ppm` SYNs per
//! million packets.
//!
//! [`FlowMix::random_order`] visits the established endpoints in a fixed
//! pseudo-random permutation instead (each still once per round): real
//! clients do not arrive in the order their connections were created, so
//! their records are not neighbours in memory either.

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
    perm: Option<Perm>,
}

/// A bijection of `0..n`: a 4-round Feistel network on the smallest even
/// number of bits that holds `n`, cycle-walked into range (on average
/// fewer than 4 walks, usually 1). Deterministic for a given `n`.
#[derive(Clone, Debug)]
struct Perm {
    n: u64,
    half: u32,
    mask: u64,
}

impl Perm {
    fn new(n: u64) -> Perm {
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        let half = bits.div_ceil(2).max(1);
        Perm {
            n,
            half,
            mask: (1u64 << half) - 1,
        }
    }

    #[inline]
    fn round(&self, x: u64) -> u64 {
        let (mut l, mut r) = (x >> self.half, x & self.mask);
        for k in 0..4u64 {
            let f = (r ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .wrapping_mul(0xBF58_476D_1CE4_E5B9)
                .rotate_right(29)
                & self.mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half) | r
    }

    #[inline]
    fn apply(&self, i: u64) -> u64 {
        let mut x = self.round(i);
        while x >= self.n {
            x = self.round(x);
        }
        x
    }
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
            perm: None,
        }
    }

    /// The same mix, but the established endpoints come in a fixed
    /// pseudo-random order (a permutation of `0..established`).
    pub fn random_order(mut self) -> FlowMix {
        if self.established > 1 {
            self.perm = Some(Perm::new(self.established));
        }
        self
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

    /// One warm-up chunk's SYNs: endpoints `from..from + n`, in order.
    pub fn warm_range(from: u64, n: u64) -> FlowMix {
        FlowMix::new(0, from, n, 1_000_000)
    }

    /// One warm-up chunk's ACKs: endpoints `from..from + n`, in order.
    pub fn warm_ack_range(from: u64, n: u64) -> FlowMix {
        let mut m = FlowMix::new(from + n, from + n, 1, 0);
        m.est_i = from;
        m
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
            match &self.perm {
                Some(p) => (p.apply(i), false),
                None => (i, false),
            }
        }
    }
}
