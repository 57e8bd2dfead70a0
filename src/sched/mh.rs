//! Maglev hashing (ip_vs_mh.c), with `mh-fallback` and `mh-port`.
//!
//! Invariants:
//! * M (table size) is prime; default [`super::DEFAULT_MH_SIZE`] = 65537
//!   (IPVS: 4093). Every slot holds a present dest index once any present
//!   dest has `last_weight > 0`, else every slot is [`EMPTY`].
//! * Per present dest (list order): `offset = hsiphash(ntohl(addr_fold) +
//!   port, K1) % M`, `skip = hsiphash(.., K2) % (M - 1) + 1`,
//!   `turns = ((last_weight / gcd) >> rshift)`, or 1 if that is 0 and
//!   `last_weight != 0`, where `gcd` is over positive `last_weight`s and
//!   `rshift = max(0, fls(max_last_weight / gcd) - TAB_BITS)` with
//!   `TAB_BITS = ceil(log2 M) / 2` (6 for 4093, as the kernel's
//!   `CONFIG_IP_VS_MH_TAB_INDEX / 2`; 8 for 65537). Dests with turns 0
//!   (never had a weight) get no slot.
//! * Populate: round robin over the dests, each claiming `turns` slots per
//!   round at the next unused position of `offset + k * skip (mod M)`.
//! * The table is a pure function of the ordered `(addr, port, available,
//!   last_weight)` list and M, with fixed keys: every director and every
//!   rebuild produce the identical table; weight 0 (quiesce) keeps the
//!   slots because `last_weight` is used.
//! * Lookup: `slot = hsiphash(ntohl(saddr_fold) + port, K1) % M` (port =
//!   sport with `mh-port`, else 0). A dest with weight 0 or OVERLOAD gives
//!   `None`, or with `mh-fallback` the kernel probe
//!   `hsiphash(fold + port + (i + slot) % M, K1) % M`, i = 0..M, stopping at
//!   an empty slot. If no dest is usable the probe is skipped (same result).

use super::common::{fold_addr, gcd, EMPTY};
use super::hash::{hsiphash_u32, MH_KEY1, MH_KEY2};
use super::{BuildError, Dest, DestLoad, Flags, Flow};

/// Immutable Maglev lookup table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MhTable {
    m: u32,
    slots: Box<[u32]>,
}

/// Trial-division primality test (build time only).
pub fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let n = u64::from(n);
    let mut d = 2u64;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 1;
    }
    true
}

/// `TAB_BITS` for table size `m`: `ceil(log2 m) / 2`.
pub fn tab_bits(m: u32) -> u32 {
    let ceil_log2 = 32 - m.saturating_sub(1).leading_zeros();
    ceil_log2 / 2
}

#[inline]
fn hashkey(fold: u32, port: u16, key: u64, offset: u32) -> u32 {
    hsiphash_u32(key, offset.wrapping_add(u32::from(port)).wrapping_add(fold))
}

#[inline]
fn unavailable(d: &Dest, l: &DestLoad) -> bool {
    !d.available || d.weight == 0 || l.overloaded
}

impl MhTable {
    pub fn build(dests: &[Dest], m: u32) -> Result<MhTable, BuildError> {
        if !is_prime(m) {
            return Err(BuildError::MaglevSizeNotPrime(m));
        }
        let mu = m as usize;
        let present: Vec<usize> = (0..dests.len()).filter(|&i| dests[i].available).collect();
        if present.len() > mu {
            return Err(BuildError::TooManyDests {
                dests: present.len(),
                max: mu,
            });
        }
        let mut slots = vec![EMPTY; mu].into_boxed_slice();
        let g = present
            .iter()
            .map(|&i| dests[i].last_weight)
            .filter(|&w| w > 0)
            .fold(0, gcd);
        if g == 0 {
            return Ok(MhTable { m, slots });
        }
        let mw = present
            .iter()
            .map(|&i| dests[i].last_weight)
            .max()
            .unwrap_or(0)
            / g;
        let fls = 32 - mw.leading_zeros();
        let rshift = fls.saturating_sub(tab_bits(m));
        // (dest index, skip, perm, turns)
        let mut setup: Vec<(u32, u32, u32, u32)> = present
            .iter()
            .map(|&i| {
                let d = &dests[i];
                let fold = fold_addr(&d.addr);
                let offset = hashkey(fold, d.port, MH_KEY1, 0) % m;
                let skip = hashkey(fold, d.port, MH_KEY2, 0) % (m - 1).max(1) + 1;
                let lw = d.last_weight;
                let t = (lw / g) >> rshift;
                let turns = if t != 0 { t } else { u32::from(lw != 0) };
                (i as u32, skip, offset, turns)
            })
            .filter(|s| s.3 > 0)
            .collect();
        let mut used = vec![false; mu];
        let mut n = 0usize;
        'fill: loop {
            for ds in setup.iter_mut() {
                for _ in 0..ds.3 {
                    let mut c = ds.2 as usize;
                    while used[c] {
                        ds.2 += ds.1;
                        if ds.2 >= m {
                            ds.2 -= m;
                        }
                        c = ds.2 as usize;
                    }
                    used[c] = true;
                    slots[c] = ds.0;
                    n += 1;
                    if n == mu {
                        break 'fill;
                    }
                }
            }
        }
        Ok(MhTable { m, slots })
    }

    pub fn size(&self) -> u32 {
        self.m
    }

    pub fn slots(&self) -> &[u32] {
        &self.slots
    }

    #[inline]
    fn slot(&self, s: u32) -> u32 {
        self.slots.get(s as usize).copied().unwrap_or(EMPTY)
    }

    pub fn pick(
        &self,
        flags: Flags,
        dests: &[Dest],
        load: &[DestLoad],
        flow: &Flow,
    ) -> Option<usize> {
        let m = self.m;
        let fold = fold_addr(&flow.saddr);
        let port = if flags.port { flow.sport } else { 0 };
        let check = |i: u32| -> Option<bool> {
            let i = i as usize;
            Some(!unavailable(dests.get(i)?, load.get(i)?))
        };
        let ihash = hashkey(fold, port, MH_KEY1, 0) % m;
        let first = self.slot(ihash);
        if first == EMPTY {
            return None;
        }
        if check(first) == Some(true) {
            return Some(first as usize);
        }
        if !flags.fallback || !dests.iter().zip(load).any(|(d, l)| !unavailable(d, l)) {
            return None;
        }
        for off in 0..m {
            let roffset = ((u64::from(off) + u64::from(ihash)) % u64::from(m)) as u32;
            let i = self.slot(hashkey(fold, port, MH_KEY1, roffset) % m);
            if i == EMPTY {
                break;
            }
            if check(i) == Some(true) {
                return Some(i as usize);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Flags, Scheduler, State, Table, DEFAULT_MH_SIZE};
    use super::*;

    #[test]
    fn sizes() {
        assert!(is_prime(65537) && is_prime(4093) && is_prime(2));
        assert!(!is_prime(65536) && !is_prime(1) && !is_prime(0));
        assert_eq!(tab_bits(4093), 6);
        assert_eq!(tab_bits(65521), 8);
        assert_eq!(tab_bits(65537), 8);
        assert_eq!(tab_bits(251), 4);
        assert_eq!(
            MhTable::build(&dests(&[1]), 65536),
            Err(BuildError::MaglevSizeNotPrime(65536))
        );
        assert_eq!(
            MhTable::build(&dests(&[1, 1, 1, 1]), 3),
            Err(BuildError::TooManyDests { dests: 4, max: 3 })
        );
    }

    #[test]
    fn empty_and_zero_weights() {
        let t = MhTable::build(&[], 251).unwrap();
        assert!(t.slots().iter().all(|&s| s == EMPTY));
        let d = dests(&[0, 0]);
        let t = MhTable::build(&d, 251).unwrap();
        assert!(t.slots().iter().all(|&s| s == EMPTY));
        assert_eq!(
            t.pick(
                Flags {
                    fallback: true,
                    port: true
                },
                &d,
                &idle(2),
                &flow()
            ),
            None
        );
    }

    #[test]
    fn weights_proportional_with_turns() {
        // last_weight 1 and 3: turns 1 and 3.
        let t = MhTable::build(&dests(&[1, 3]), 4093).unwrap();
        let c1 = t.slots().iter().filter(|&&s| s == 1).count();
        assert!((3060..=3080).contains(&c1), "{c1}");
        // Large weights are shifted to <= 63 turns: 1 and 1000 → rshift 4 → 0→1, 62.
        let t = MhTable::build(&dests(&[1, 1000]), 4093).unwrap();
        let c0 = t.slots().iter().filter(|&&s| s == 0).count();
        assert_eq!(c0, 4093 / 63 + usize::from(4093 % 63 > 0));
    }

    #[test]
    fn fallback_and_port() {
        let d = dests(&[1, 1, 1]);
        let mut l = idle(3);
        let plain = Table::build(Scheduler::Mh, Flags::default(), &d, DEFAULT_MH_SIZE).unwrap();
        let fb = Table::build(
            Scheduler::Mh,
            Flags {
                fallback: true,
                port: false,
            },
            &d,
            DEFAULT_MH_SIZE,
        )
        .unwrap();
        let mut st = State::new(&plain);
        let f = flow();
        let home = plain.pick(&mut st, &d, &l, &f).unwrap();
        let slot = hsiphash_u32(MH_KEY1, fold_addr(&f.saddr)) % DEFAULT_MH_SIZE;
        assert_eq!(plain.maglev_slots().unwrap()[slot as usize] as usize, home);
        l[home].overloaded = true;
        assert_eq!(plain.pick(&mut st, &d, &l, &f), None);
        let alt = fb.pick(&mut st, &d, &l, &f).unwrap();
        assert_ne!(alt, home);
        // Deterministic kernel probe: first usable of hash(fold + (i+slot)%M).
        let want = (0..DEFAULT_MH_SIZE)
            .map(|i| {
                let r = (i + slot) % DEFAULT_MH_SIZE;
                plain.maglev_slots().unwrap()[(hsiphash_u32(
                    MH_KEY1,
                    fold_addr(&f.saddr).wrapping_add(r),
                ) % DEFAULT_MH_SIZE) as usize]
            })
            .find(|&i| i as usize != home)
            .unwrap();
        assert_eq!(alt, want as usize);
        // Port flag: sport enters the hash.
        let pt = Table::build(
            Scheduler::Mh,
            Flags {
                fallback: false,
                port: true,
            },
            &d,
            DEFAULT_MH_SIZE,
        )
        .unwrap();
        let l = idle(3);
        let mut f2 = f;
        let seen: std::collections::HashSet<_> = (0..64u16)
            .map(|p| {
                f2.sport = 1000 + p;
                pt.pick(&mut st, &d, &l, &f2).unwrap()
            })
            .collect();
        assert_eq!(seen.len(), 3);
        let mut f3 = f;
        f3.sport = 1;
        assert_eq!(
            plain.pick(&mut st, &d, &l, &f3),
            plain.pick(&mut st, &d, &l, &f)
        );
    }
}
