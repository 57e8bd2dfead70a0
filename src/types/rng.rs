//! The crate's one small pseudo-random generator.

/// xorshift64* (Vigna): fast, deterministic for a seed, not cryptographic.
/// Used by the twos scheduler (per worker), health-check jitter and DNS
/// ids, and by tests that need reproducible streams. The state is never
/// zero (a zero seed is replaced by a fixed constant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Xorshift(pub(crate) u64);

/// The xorshift64* multiplier, also the replacement for a zero seed.
const MUL: u64 = 0x2545_F491_4F6C_DD1D;

impl Xorshift {
    /// A generator seeded with `seed` (0 is replaced by a non-zero constant).
    pub const fn new(seed: u64) -> Xorshift {
        Xorshift(if seed == 0 { MUL } else { seed })
    }

    /// Seeded from std's per-process random hasher keys.
    pub fn from_entropy() -> Xorshift {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        Xorshift::new(h.finish() | 1)
    }

    /// The next 64-bit output.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(MUL)
    }

    /// The high 32 bits of the next output.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// The next output reduced to `0..n` (`n > 0`; modulo bias accepted).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::Xorshift;

    #[test]
    fn known_sequence_and_zero_seed() {
        // xorshift64* from state 1: the reference implementation's outputs.
        let mut r = Xorshift::new(1);
        assert_eq!(r.next_u64(), 0x47E4_CE4B_896C_DD1D);
        assert_ne!(Xorshift::new(0), Xorshift(0));
        let mut z = Xorshift::new(0);
        assert_ne!(z.next_u64(), 0);
    }
}
