//! Internet checksum (RFC 1071) and incremental update (RFC 1624).
//!
//! Invariants: every function here is total (no panics, no allocation) for any
//! input length, including odd lengths and empty slices. "Sums" are
//! ones-complement sums folded to 16 bits and *not* complemented; checksums
//! (what goes on the wire) are the complement of a folded sum.
//!
//! Incremental updates use RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`, which
//! never produces the "-0" error of eqn. 2. Its result equals a full
//! recomputation whenever the covered data is not entirely zero (always true
//! for IP/TCP/UDP headers).

use std::net::{Ipv4Addr, Ipv6Addr};

/// Unfolded ones-complement sum of `data` taken as big-endian 16-bit words
/// (an odd trailing byte is padded with zero on the right). Processes 8 bytes
/// per step with end-around carry. The result may be close to `u64::MAX`:
/// `fold` it before adding it to anything else.
#[inline]
pub fn sum(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        if let Ok(a) = <[u8; 8]>::try_from(c) {
            let (s, carry) = acc.overflowing_add(u64::from_be_bytes(a));
            acc = s + carry as u64;
        }
    }
    // The tail (< 8 bytes) word by word: a word's place within the 64-bit
    // accumulator does not matter, 2^16 being 1 modulo 0xffff.
    let mut tail: u64 = 0;
    let mut words = chunks.remainder().chunks_exact(2);
    for w in &mut words {
        tail += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [b] = words.remainder() {
        tail += u64::from(*b) << 8;
    }
    let (s, carry) = acc.overflowing_add(tail);
    s + carry as u64
}

/// Fold a wide ones-complement accumulator to 16 bits (not complemented).
/// Four fixed steps, no loop (2^32 ≡ 2^16 ≡ 1 mod 0xffff): at most 33,
/// 18, 17 bits, then 16. A non-zero `acc` never folds to 0, so the result
/// is the same as folding until nothing carries.
#[inline]
pub fn fold(acc: u64) -> u16 {
    let a = (acc & 0xffff_ffff) + (acc >> 32);
    let a = (a & 0xffff) + (a >> 16);
    let a = (a & 0xffff) + (a >> 16);
    ((a & 0xffff) + (a >> 16)) as u16
}

/// Folded ones-complement sum of `data` (not complemented).
#[inline]
pub fn data(data: &[u8]) -> u16 {
    fold(sum(data))
}

/// Ones-complement addition of already folded sums.
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| s as u64).sum())
}

/// The checksum to put on the wire for `data` (complement of its sum).
#[inline]
pub fn checksum(d: &[u8]) -> u16 {
    !data(d)
}

/// Folded sum of the IPv4 pseudo header (RFC 793 / 768).
#[inline]
pub fn ipv4_pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u16) -> u16 {
    let s = u32::from(src);
    let d = u32::from(dst);
    fold(
        (s >> 16) as u64
            + (s & 0xffff) as u64
            + (d >> 16) as u64
            + (d & 0xffff) as u64
            + proto as u64
            + len as u64,
    )
}

/// Folded sum of the IPv6 pseudo header (RFC 8200 §8.1).
#[inline]
pub fn ipv6_pseudo_header(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, len: u32) -> u16 {
    fold(
        data(&src.octets()) as u64
            + data(&dst.octets()) as u64
            + (len >> 16) as u64
            + (len & 0xffff) as u64
            + next_header as u64,
    )
}

/// RFC 1624 incremental update of checksum `check` when a 16-bit word changes
/// from `old` to `new`.
#[inline]
pub fn update_u16(check: u16, old: u16, new: u16) -> u16 {
    !fold((!check) as u64 + (!old) as u64 + new as u64)
}

/// RFC 1624 incremental update for a 32-bit (word-aligned) field.
#[inline]
pub fn update_u32(check: u16, old: u32, new: u32) -> u16 {
    !fold(
        (!check) as u64
            + (!(old >> 16) as u16) as u64
            + (!(old as u16)) as u64
            + (new >> 16) as u64
            + (new & 0xffff) as u64,
    )
}

/// RFC 1624 incremental update when the bytes `old` (at an even offset) are
/// replaced by `new` (same offset, normally same length: 4- or 16-byte
/// addresses). Never panics; mismatched lengths are simply summed as given.
#[inline]
pub fn update_bytes(check: u16, old: &[u8], new: &[u8]) -> u16 {
    if let (Ok(o), Ok(n)) = (<&[u8; 4]>::try_from(old), <&[u8; 4]>::try_from(new)) {
        return update_addr4(check, o, n);
    }
    !fold((!check) as u64 + (!data(old)) as u64 + data(new) as u64)
}

/// [`update_bytes`] for 4-byte fields (IPv4 addresses in a pseudo
/// header), with the same result bit for bit: [`data`] of two 16-bit words
/// is their sum with one end-around carry.
#[inline]
pub fn update_addr4(check: u16, old: &[u8; 4], new: &[u8; 4]) -> u16 {
    let data4 = |x: &[u8; 4]| {
        let s = u32::from(u16::from_be_bytes([x[0], x[1]]))
            + u32::from(u16::from_be_bytes([x[2], x[3]]));
        ((s & 0xffff) + (s >> 16)) as u16
    };
    !fold((!check) as u64 + (!data4(old)) as u64 + data4(new) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Xorshift;

    #[test]
    fn fold_equals_folding_until_no_carry() {
        let reference = |mut acc: u64| {
            while acc >> 16 != 0 {
                acc = (acc & 0xffff) + (acc >> 16);
            }
            acc as u16
        };
        let mut r = Xorshift::new(0x0f0f_1234_5678_9abc);
        let edge = [
            0,
            1,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0x2_fffe,
            0xffff_ffff,
            0x1_ffff_fffe,
            0xffff_0000_ffff,
            u64::MAX,
            u64::MAX - 1,
        ];
        for acc in edge.into_iter().chain((0..200_000).map(|_| r.next_u64())) {
            assert_eq!(fold(acc), reference(acc), "{acc:#x}");
            // Narrow accumulators too (the common case: a few 16-bit words).
            let small = acc >> (acc % 48);
            assert_eq!(fold(small), reference(small), "{small:#x}");
        }
    }

    #[test]
    fn update_addr4_equals_generic_update() {
        let mut r = Xorshift::new(0x1234_5678_9abc_def1);
        let generic =
            |c: u16, o: &[u8], n: &[u8]| !fold((!c) as u64 + (!data(o)) as u64 + data(n) as u64);
        let edge = [
            [0u8; 4],
            [0xff; 4],
            [0xff, 0xff, 0, 0],
            [0, 0, 0xff, 0xff],
            [0x80, 0, 0x80, 0],
        ];
        for i in 0..200_000u32 {
            let x = r.next_u64();
            let c = if i % 7 == 0 {
                [0u16, 0xffff][i as usize % 2]
            } else {
                x as u16
            };
            let o: [u8; 4] = if i % 11 == 0 {
                edge[i as usize % 5]
            } else {
                ((x >> 16) as u32).to_be_bytes()
            };
            let n: [u8; 4] = if i % 13 == 0 {
                edge[(i as usize / 13) % 5]
            } else {
                ((x >> 32) as u32 ^ (x >> 40) as u32).to_be_bytes()
            };
            assert_eq!(
                update_addr4(c, &o, &n),
                generic(c, &o, &n),
                "{c:04x} {o:?} {n:?}"
            );
            assert_eq!(update_bytes(c, &o, &n), generic(c, &o, &n));
        }
    }

    fn naive(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for c in data.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            s += w as u32;
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn sum_matches_naive_all_lengths() {
        let mut r = Xorshift::new(0x1234_5678_9abc_def1);
        for len in 0..200 {
            let mut buf = [0u8; 200];
            for b in buf.iter_mut().take(len) {
                *b = r.next_u64() as u8;
            }
            assert_eq!(data(&buf[..len]), naive(&buf[..len]), "len {len}");
        }
        let ff = [0xffu8; 1500];
        assert_eq!(data(&ff), 0xffff);
        assert_eq!(data(&[]), 0);
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 -> sum 0xddf2
        assert_eq!(
            data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn rfc1624_example() {
        // Sum of other octets 0xCD7A, m 0x5555 -> 0x3285: HC' must be 0x0000.
        let hc = !combine(&[0xcd7a, 0x5555]);
        assert_eq!(hc, 0xdd2f);
        assert_eq!(update_u16(hc, 0x5555, 0x3285), 0x0000);
        assert_eq!(!combine(&[0xcd7a, 0x3285]), 0x0000);
    }

    #[test]
    fn pseudo_headers() {
        let a = Ipv4Addr::new(192, 168, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        let mut ph = [0u8; 12];
        ph[..4].copy_from_slice(&a.octets());
        ph[4..8].copy_from_slice(&b.octets());
        ph[9] = 6;
        ph[10..12].copy_from_slice(&1234u16.to_be_bytes());
        assert_eq!(ipv4_pseudo_header(a, b, 6, 1234), data(&ph));

        let a6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let b6: Ipv6Addr = "fe80::abcd:1".parse().unwrap();
        let mut ph6 = [0u8; 40];
        ph6[..16].copy_from_slice(&a6.octets());
        ph6[16..32].copy_from_slice(&b6.octets());
        ph6[32..36].copy_from_slice(&70000u32.to_be_bytes());
        ph6[39] = 58;
        assert_eq!(ipv6_pseudo_header(&a6, &b6, 58, 70000), data(&ph6));
    }

    #[test]
    fn incremental_matches_full_random() {
        let mut r = Xorshift::new(0xdead_beef_cafe_f00d);
        for _ in 0..20_000 {
            let mut buf = [0u8; 40];
            for b in buf.iter_mut() {
                *b = r.next_u64() as u8;
            }
            // Bias toward edge values now and then.
            match r.next_u64() % 8 {
                0 => buf.iter_mut().for_each(|b| *b = 0),
                1 => buf.iter_mut().for_each(|b| *b = 0xff),
                _ => {}
            }
            buf[0] |= 0x45; // never all-zero (like an IPv4 header)
            let check = checksum(&buf);
            // 16-bit field at offset 10
            let off = ((r.next_u64() % 19) as usize + 1) * 2;
            let old16 = u16::from_be_bytes([buf[off], buf[off + 1]]);
            let new16 = match r.next_u64() % 4 {
                0 => 0,
                1 => 0xffff,
                2 => !old16,
                _ => r.next_u64() as u16,
            };
            let mut b2 = buf;
            b2[off..off + 2].copy_from_slice(&new16.to_be_bytes());
            assert_eq!(update_u16(check, old16, new16), checksum(&b2));

            // 32-bit field
            let off = ((r.next_u64() % 9) as usize + 1) * 4;
            let old32 = u32::from_be_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]);
            let new32 = match r.next_u64() % 3 {
                0 => 0,
                1 => u32::MAX,
                _ => r.next_u64() as u32,
            };
            let mut b3 = buf;
            b3[off..off + 4].copy_from_slice(&new32.to_be_bytes());
            assert_eq!(update_u32(check, old32, new32), checksum(&b3));

            // 16-byte field via update_bytes
            let mut new = [0u8; 16];
            new.iter_mut().for_each(|b| *b = r.next_u64() as u8);
            let mut b4 = buf;
            b4[8..24].copy_from_slice(&new);
            assert_eq!(update_bytes(check, &buf[8..24], &new), checksum(&b4));
            assert_eq!(
                update_bytes(check, &buf[4..8], &new[..4]),
                checksum(&{
                    let mut b5 = buf;
                    b5[4..8].copy_from_slice(&new[..4]);
                    b5
                })
            );
        }
    }

    #[test]
    fn incremental_edge_cases() {
        // Field becomes such that checksum must be 0x0000 (not 0xFFFF, RFC 1624 §3).
        let mut buf = [0u8; 4];
        buf[0] = 0x12;
        buf[1] = 0x34;
        buf[2] = 0x00;
        buf[3] = 0x01;
        let check = checksum(&buf);
        let new = !0x1234u16; // sums to 0xFFFF -> checksum 0x0000
        let mut b = buf;
        b[2..4].copy_from_slice(&new.to_be_bytes());
        assert_eq!(checksum(&b), 0x0000);
        assert_eq!(update_u16(check, 0x0001, new), 0x0000);
        // Unchanged value leaves any realistic checksum unchanged (0xFFFF is only
        // produced for all-zero data and is normalised to 0x0000).
        for c in [0x0000u16, 0xfffe, 0x1234] {
            for v in [0x0000u16, 0xffff, 0x8000] {
                assert_eq!(update_u16(c, v, v), c);
                assert_eq!(
                    update_u32(c, (v as u32) << 16 | v as u32, (v as u32) << 16 | v as u32),
                    c
                );
            }
        }
        assert_eq!(update_u16(0xffff, 0x1234, 0x1234), 0x0000);
        // 0x0000 <-> 0xFFFF are both ones-complement zero: no change to the sum.
        assert_eq!(update_u16(0x1234, 0x0000, 0xffff), 0x1234);
        assert_eq!(update_u16(0x1234, 0xffff, 0x0000), 0x1234);
    }
}
