//! Rules shared by all schedulers (IPVS `ip_vs_sched.c` and the
//! `ip_vs_<name>.c` schedulers).
//!
//! Invariants: `eligible` is `available && weight > 0 && !overloaded`;
//! overheads are computed in `u64` and cross-multiplied in `u128`, so no
//! input overflows or panics; [`beats`] is the strict `>` of IPVS, so a tie
//! keeps the earlier list entry.

use super::{Dest, DestLoad};
use std::net::IpAddr;

/// Marker of an empty sh/dh bucket or Maglev slot.
pub const EMPTY: u32 = u32::MAX;

/// Eligible for a new connection: present, weight > 0, not OVERLOAD.
#[inline]
pub fn eligible(d: &Dest, l: &DestLoad) -> bool {
    d.available && d.weight > 0 && !l.overloaded
}

/// `ip_vs_dest_conn_overhead`: `(activeconns << 8) + inactconns`.
#[inline]
pub fn overhead(l: &DestLoad) -> u64 {
    (u64::from(l.active) << 8) + u64::from(l.inactive)
}

/// sed/nq overhead: `activeconns + 1`.
#[inline]
pub fn sed_overhead(l: &DestLoad) -> u64 {
    u64::from(l.active) + 1
}

/// Candidate `(doh, dw)` beats current least `(loh, lw)` iff
/// `loh * dw > doh * lw` (strict).
#[inline]
pub fn beats(doh: u64, dw: u32, loh: u64, lw: u32) -> bool {
    u128::from(loh) * u128::from(dw) > u128::from(doh) * u128::from(lw)
}

/// Weighted least-`oh` over the eligible dests (wlc/sed and the inner
/// scheduler of lblc/lblcr). First eligible dest wins ties.
#[inline]
pub fn weighted_least(
    dests: &[Dest],
    load: &[DestLoad],
    oh: impl Fn(&DestLoad) -> u64,
) -> Option<usize> {
    let mut least: Option<(usize, u64)> = None;
    for (i, (d, l)) in dests.iter().zip(load).enumerate() {
        if !eligible(d, l) {
            continue;
        }
        let doh = oh(l);
        match least {
            None => least = Some((i, doh)),
            Some((li, loh)) => {
                if beats(doh, d.weight, loh, dests[li].weight) {
                    least = Some((i, doh));
                }
            }
        }
    }
    least.map(|(i, _)| i)
}

/// The IPVS address fold in host order: IPv4 → `ntohl(addr)`, IPv6 →
/// `ntohl(w0 ^ w1 ^ w2 ^ w3)` of its four big-endian 32-bit words.
#[inline]
pub fn fold_addr(a: &IpAddr) -> u32 {
    match a {
        IpAddr::V4(v4) => u32::from_be_bytes(v4.octets()),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            w(0) ^ w(4) ^ w(8) ^ w(12)
        }
    }
}

/// Greatest common divisor (`gcd(0, x) = x`).
pub fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn overhead_formula() {
        let l = DestLoad {
            active: 2,
            inactive: 3,
            ..Default::default()
        };
        assert_eq!(overhead(&l), 2 * 256 + 3);
        assert_eq!(sed_overhead(&l), 3);
        let big = DestLoad {
            active: u32::MAX,
            inactive: u32::MAX,
            ..Default::default()
        };
        assert!(overhead(&big) > u64::from(u32::MAX));
    }

    #[test]
    fn beats_is_strict() {
        assert!(!beats(10, 1, 10, 1)); // tie keeps earlier
        assert!(beats(9, 1, 10, 1));
        assert!(beats(10, 2, 10, 1)); // 10/2 < 10/1
        assert!(!beats(u64::MAX, u32::MAX, u64::MAX, u32::MAX));
    }

    #[test]
    fn fold() {
        assert_eq!(
            fold_addr(&IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            0x0a00_0001
        );
        let v6: Ipv6Addr = "2001:db8::1:0:0:1".parse().unwrap();
        assert_eq!(
            fold_addr(&IpAddr::V6(v6)),
            0x2001_0db8 ^ 0x0001_0000 ^ 0x0000_0001
        );
    }

    #[test]
    fn gcd_works() {
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(0, 7), 7);
        assert_eq!(gcd(7, 0), 7);
    }
}
