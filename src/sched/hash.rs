//! Hash functions of the IPVS hashing schedulers, bit-exact with Linux on a
//! 64-bit little-endian host.
//!
//! * [`hash_32`]: `include/linux/hash.h`, `(val * GOLDEN_RATIO_32) >> (32 - bits)`.
//! * [`dh_hash`]: `(ntohl(addr_fold) * 2654435761) & 255` (ip_vs_dh.c).
//! * [`hsiphash_u32`]: the kernel's `hsiphash()` of one 4-byte word on a
//!   64-bit host, i.e. SipHash-1-3 with a 128-bit key, message = the 4 bytes
//!   of the word in little-endian order, output truncated to 32 bits.
//!   The Maglev keys are fixed ([`MH_KEY1`], [`MH_KEY2`], both words equal,
//!   as in `generate_hash_secret`), so two directors with the same ordered
//!   dest list build identical tables.
//!
//! All functions are total (wrapping arithmetic, no panics).

/// `GOLDEN_RATIO_32` of include/linux/hash.h.
pub const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// ip_vs_mh.c `hash1` key word (both key words).
pub const MH_KEY1: u64 = 2_654_435_761;
/// ip_vs_mh.c `hash2` key word (both key words).
pub const MH_KEY2: u64 = 2_654_446_892;

/// Linux `hash_32(val, bits)`; `bits` in 1..=32 (clamped).
#[inline]
pub fn hash_32(val: u32, bits: u32) -> u32 {
    let bits = bits.clamp(1, 32);
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// ip_vs_dh.c bucket index of a folded (host order) address.
#[inline]
pub fn dh_hash(addr_fold: u32) -> usize {
    (addr_fold.wrapping_mul(2_654_435_761) & 255) as usize
}

#[inline(always)]
fn sipround(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

#[inline(always)]
fn init(k0: u64, k1: u64) -> [u64; 4] {
    [
        0x736f_6d65_7073_6575 ^ k0,
        0x646f_7261_6e64_6f6d ^ k1,
        0x6c79_6765_6e65_7261 ^ k0,
        0x7465_6462_7974_6573 ^ k1,
    ]
}

/// Generic SipHash-c-d over bytes (reference implementation; used by tests
/// to check [`hsiphash_u32`] against the published SipHash-2-4 vectors).
pub fn siphash(k0: u64, k1: u64, msg: &[u8], c: usize, d: usize) -> u64 {
    let mut v = init(k0, k1);
    let mut chunks = msg.chunks_exact(8);
    for ch in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(ch);
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        for _ in 0..c {
            sipround(&mut v);
        }
        v[0] ^= m;
    }
    let mut b = (msg.len() as u64) << 56;
    for (i, &byte) in chunks.remainder().iter().enumerate() {
        b |= u64::from(byte) << (8 * i);
    }
    v[3] ^= b;
    for _ in 0..c {
        sipround(&mut v);
    }
    v[0] ^= b;
    v[2] ^= 0xff;
    for _ in 0..d {
        sipround(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Kernel `hsiphash(&v, 4, {key, key})` on a 64-bit host (SipHash-1-3).
#[inline]
pub fn hsiphash_u32(key: u64, v: u32) -> u32 {
    let mut s = init(key, key);
    let b = (4u64 << 56) | u64::from(v);
    s[3] ^= b;
    sipround(&mut s);
    s[0] ^= b;
    s[2] ^= 0xff;
    sipround(&mut s);
    sipround(&mut s);
    sipround(&mut s);
    (s[0] ^ s[1] ^ s[2] ^ s[3]) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const K0: u64 = 0x0706_0504_0302_0100;
    const K1: u64 = 0x0f0e_0d0c_0b0a_0908;

    #[test]
    fn siphash24_reference_vectors() {
        // From the SipHash paper / reference vectors.h (key 00..0f).
        assert_eq!(siphash(K0, K1, &[], 2, 4), 0x726f_db47_dd0e_0e31);
        let m: Vec<u8> = (0..8).collect();
        assert_eq!(siphash(K0, K1, &m, 2, 4), 0x93f5_f579_9a93_2462);
        let m: Vec<u8> = (0..15).collect();
        assert_eq!(siphash(K0, K1, &m, 2, 4), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn hsiphash_matches_generic_siphash13() {
        for v in [0u32, 1, 0x0a00_0001, 0xdead_beef, u32::MAX] {
            for key in [MH_KEY1, MH_KEY2] {
                let g = siphash(key, key, &v.to_le_bytes(), 1, 3) as u32;
                assert_eq!(hsiphash_u32(key, v), g);
            }
        }
    }

    #[test]
    fn hash32_known_values() {
        assert_eq!(hash_32(0, 8), 0);
        assert_eq!(hash_32(1, 8), 0x61);
        assert_eq!(hash_32(1, 32), GOLDEN_RATIO_32);
        assert_eq!(hash_32(2, 8), (2u32.wrapping_mul(GOLDEN_RATIO_32)) >> 24);
    }

    #[test]
    fn dh_hash_known_values() {
        assert_eq!(dh_hash(0), 0);
        assert_eq!(dh_hash(1), 2_654_435_761u32 as usize & 255);
        // 10.0.0.1
        assert_eq!(
            dh_hash(0x0a00_0001),
            ((0x0a00_0001u64 * 2_654_435_761u64) & 255) as usize
        );
    }
}
