//! Locality-based least connection with replication (ip_vs_lblcr.c): a set
//! of dests per destination IP.
//!
//! Invariants:
//! * Per-worker cache preallocated at `State::new`: [`super::lblc::MAX_ENTRIES`]
//!   entries in the same set-associative layout as lblc; each entry holds up
//!   to [`SET_MAX`] dests, newest first (kernel: unbounded list, newest at
//!   head). Inserting into a full set drops the oldest member.
//! * Hit: `lastuse = now`; `d = ` weighted least-conn over the set (skip
//!   OVERLOAD, first member must have weight > 0 and be available); if the
//!   set has > 1 member and `now > lastmod + lblcr_expiration`, the
//!   weighted-most-loaded member is erased (`lastmod = now`); if `d` exists
//!   and is not lblc-[`overloaded`], return it; else wlc picks and is added
//!   to the set (`lastmod = now`).
//! * Miss: wlc picks; a new entry `{d}` is written (victim policy as lblc).

use super::common::{beats, overhead};
use super::lblc::{key_of, live, overloaded, set_base, MAX_ENTRIES, WAYS};
use super::{wlc, Dest, DestLoad, Flow};

/// Maximum dests remembered per destination IP.
pub const SET_MAX: usize = 8;
const FREE: u8 = u8::MAX;

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u128,
    lastuse: u64,
    lastmod: u64,
    /// Number of members, or `FREE`.
    len: u8,
    set: [u32; SET_MAX],
}

const EMPTY_ENTRY: Entry = Entry {
    key: 0,
    lastuse: 0,
    lastmod: 0,
    len: FREE,
    set: [0; SET_MAX],
};

impl Entry {
    fn members(&self) -> &[u32] {
        &self.set[..usize::from(self.len).min(SET_MAX)]
    }

    fn insert(&mut self, d: u32, now: u64) {
        if self.members().contains(&d) {
            return;
        }
        let n = usize::from(self.len).min(SET_MAX - 1);
        self.set.copy_within(0..n, 1);
        self.set[0] = d;
        self.len = (n + 1) as u8;
        self.lastmod = now;
    }

    fn erase(&mut self, d: u32, now: u64) {
        let n = self.members().len();
        if let Some(p) = self.members().iter().position(|&x| x == d) {
            self.set.copy_within(p + 1..n, p);
            self.len = (n - 1) as u8;
            self.lastmod = now;
        }
    }
}

fn get(i: u32, dests: &[Dest], load: &[DestLoad]) -> Option<(Dest, DestLoad)> {
    Some((*dests.get(i as usize)?, *load.get(i as usize)?))
}

/// `ip_vs_dest_set_min`.
fn set_min(members: &[u32], dests: &[Dest], load: &[DestLoad]) -> Option<u32> {
    let mut least: Option<(u32, u32, u64)> = None; // (idx, weight, overhead)
    for &i in members {
        let Some((d, l)) = get(i, dests, load) else {
            continue;
        };
        if l.overloaded {
            continue;
        }
        let doh = overhead(&l);
        match least {
            None if d.weight > 0 && d.available => least = Some((i, d.weight, doh)),
            Some((_, lw, loh)) if d.available && beats(doh, d.weight, loh, lw) => {
                least = Some((i, d.weight, doh))
            }
            _ => {}
        }
    }
    least.map(|x| x.0)
}

/// `ip_vs_dest_set_max`.
fn set_max(members: &[u32], dests: &[Dest], load: &[DestLoad]) -> Option<u32> {
    let mut most: Option<(u32, u32, u64)> = None;
    for &i in members {
        let Some((d, l)) = get(i, dests, load) else {
            continue;
        };
        let doh = overhead(&l);
        match most {
            None if d.weight > 0 => most = Some((i, d.weight, doh)),
            Some((_, mw, moh))
                if d.weight > 0
                    && u128::from(moh) * u128::from(d.weight)
                        < u128::from(doh) * u128::from(mw) =>
            {
                most = Some((i, d.weight, doh))
            }
            _ => {}
        }
    }
    most.map(|x| x.0)
}

/// Per-worker lblcr cache (daddr → dest set).
pub struct LblcrCache {
    e: Box<[Entry]>,
}

impl LblcrCache {
    pub fn new() -> Box<LblcrCache> {
        Box::new(LblcrCache {
            e: vec![EMPTY_ENTRY; MAX_ENTRIES].into_boxed_slice(),
        })
    }

    /// Members (newest first) of the live entry for `daddr` (diagnostics).
    pub fn members(&self, daddr: &std::net::IpAddr, now: u64, exp: u64) -> Option<Vec<usize>> {
        let (k, b) = (key_of(daddr), set_base(daddr));
        self.e
            .get(b..b + WAYS)?
            .iter()
            .find(|x| x.len != FREE && x.key == k && live(x.lastuse, now, exp))
            .map(|x| x.members().iter().map(|&i| i as usize).collect())
    }

    pub(crate) fn remap(&mut self, map: &dyn Fn(usize) -> Option<usize>) {
        for x in self.e.iter_mut().filter(|x| x.len != FREE) {
            let mut out = [0u32; SET_MAX];
            let mut n = 0;
            for &i in x.members() {
                if let Some(j) = map(i as usize) {
                    out[n] = j as u32;
                    n += 1;
                }
            }
            x.set = out;
            x.len = n as u8;
        }
    }

    pub fn pick(
        &mut self,
        dests: &[Dest],
        load: &[DestLoad],
        flow: &Flow,
        exp: u64,
    ) -> Option<usize> {
        let (k, b, now) = (key_of(&flow.daddr), set_base(&flow.daddr), flow.now_ms);
        let set = self.e.get_mut(b..b + WAYS)?;
        if let Some(x) = set
            .iter_mut()
            .find(|x| x.len != FREE && x.key == k && live(x.lastuse, now, exp))
        {
            x.lastuse = now;
            let d = set_min(x.members(), dests, load);
            if x.members().len() > 1 && now > x.lastmod.saturating_add(exp) {
                if let Some(m) = set_max(x.members(), dests, load) {
                    x.erase(m, now);
                }
            }
            if let Some(d) = d {
                if !overloaded(d as usize, dests, load) {
                    return Some(d as usize);
                }
            }
            let i = wlc::pick(dests, load)?;
            x.insert(i as u32, now);
            return Some(i);
        }
        let i = wlc::pick(dests, load)?;
        let v = set
            .iter()
            .position(|x| x.len == FREE || !live(x.lastuse, now, exp))
            .or_else(|| (0..set.len()).min_by_key(|&v| set[v].lastuse))
            .unwrap_or(0);
        let mut e = EMPTY_ENTRY;
        e.key = k;
        e.lastuse = now;
        e.len = 0;
        e.insert(i as u32, now);
        set[v] = e;
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Flags, Scheduler, State, Table};
    use super::*;

    fn fl(now: u64) -> Flow {
        let mut f = flow();
        f.daddr = ip(4242);
        f.now_ms = now;
        f
    }

    #[test]
    fn set_grows_on_overload_and_shrinks_after_expiration() {
        let d = dests(&[2, 2, 2]);
        let t = Table::build(Scheduler::Lblcr, Flags::default(), &d, 0)
            .unwrap()
            .with_expiration_ms(1000);
        let mut st = State::new(&t);
        let c = |st: &State, now| match &st.inner {
            super::super::StInner::Lblcr(c) => c.members(&ip(4242), now, 1000).unwrap(),
            _ => panic!(),
        };
        // Miss → wlc → {0}.
        assert_eq!(t.pick(&mut st, &d, &idle(3), &fl(0)), Some(0));
        // 0 has active 3 > weight 2 and 2 is idle → overloaded → wlc adds 1.
        let l = loads(&[(3, 0), (1, 0), (0, 0)]);
        assert_eq!(t.pick(&mut st, &d, &l, &fl(10)), Some(2));
        assert_eq!(c(&st, 10), vec![2, 0]);
        // Set min picks the least loaded member (2), not wlc over all.
        let l = loads(&[(1, 0), (0, 0), (1, 0)]);
        // Set is [2, 0] (newest first); 2 and 0 tie → first member, 2;
        // wlc over all dests would have said 1.
        assert_eq!(t.pick(&mut st, &d, &l, &fl(20)), Some(2));
        // After lastmod + exp, the most loaded member is erased.
        let l = loads(&[(2, 0), (0, 0), (1, 0)]);
        assert_eq!(t.pick(&mut st, &d, &l, &fl(1011)), Some(2));
        assert_eq!(c(&st, 1011), vec![2]);
    }
}
