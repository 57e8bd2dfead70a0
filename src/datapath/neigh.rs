//! Per-worker neighbour (ARP) cache with a bounded queue of packets waiting
//! for resolution.
//!
//! - An entry is *reachable* for `timeout_ms` after it was learned; from 3/4
//!   of that on, using it triggers a refresh request every `retry_ms` while
//!   the old MAC stays in use; past `timeout_ms` it is unresolved again.
//! - An unresolved next hop holds at most `per_neighbor` packets (and the
//!   table at most `max_held` in all); the oldest beyond that are dropped
//!   and counted. Held packets older than 3 × `retry_ms` are dropped as
//!   unresolved.
//! - Entries are created only by an ARP request addressed to us (Linux's
//!   rule; *requested* entries) or for a next hop we resolve (*wanted*:
//!   using a requested entry as a next hop makes it wanted). Requested
//!   entries hold at most half the table: beyond that a request still gets
//!   its reply but creates nothing, so spoofed requests from many sources
//!   cannot fill the table.
//! - The table holds at most `capacity` entries and never grows. A next hop
//!   to resolve when it is full makes room: stale entries (expired, or
//!   unresolved with nothing waiting) go first, else the oldest requested
//!   entry, else the oldest wanted one nothing waits for. A next hop (a
//!   configured real's included) is refused only when every entry is static
//!   or has packets waiting.
//! - Static entries never expire.
//!
//! Memory is reserved up front; learning an entry into a table below
//! capacity does not allocate beyond that reservation.
use crate::packet::ethernet::MacAddr;
use crate::types::PortId;
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// Tunables (from `[arp]`).
#[derive(Clone, Copy, Debug)]
pub struct NeighConfig {
    pub timeout_ms: u64,
    pub retry_ms: u64,
    pub per_neighbor: usize,
    pub max_held: usize,
    pub capacity: usize,
}

impl Default for NeighConfig {
    fn default() -> Self {
        NeighConfig {
            timeout_ms: 300_000,
            retry_ms: 1000,
            per_neighbor: 64,
            max_held: 1024,
            capacity: 4096,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    mac: Option<MacAddr>,
    learned_ms: u64,
    last_request_ms: Option<u64>,
    held: usize,
    is_static: bool,
    /// Created for, or used as, a next hop (not only by an ARP request).
    wanted: bool,
}

impl Entry {
    /// A fresh unresolved or learned entry.
    fn new(learned_ms: u64, wanted: bool) -> Entry {
        Entry {
            mac: None,
            learned_ms,
            last_request_ms: None,
            held: 0,
            is_static: false,
            wanted,
        }
    }

    /// Expired, or unresolved with nothing waiting: removable at no cost.
    fn stale(&self, now_ms: u64, timeout_ms: u64) -> bool {
        !self.is_static
            && self.held == 0
            && (self.mac.is_none() || now_ms.saturating_sub(self.learned_ms) >= timeout_ms)
    }
}

/// What to do with a packet for a next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolve {
    /// Send it to this MAC; if `refresh`, also send an ARP request now.
    Known { mac: MacAddr, refresh: bool },
    /// Hold the packet; if `request`, send an ARP request now.
    Pending { request: bool },
    /// The table is full: drop the packet.
    Full,
}

/// Slots of the direct-mapped front cache (power of two).
const FRONT_SLOTS: usize = 64;

/// One front-cache slot: a next hop known to resolve to `mac` without any
/// side effect until `until_ms`, as long as the table's `epoch` is `epoch`.
#[derive(Clone, Copy, Debug)]
struct Front {
    port: PortId,
    ip: Ipv4Addr,
    mac: MacAddr,
    until_ms: u64,
    epoch: u64,
}

const FRONT_EMPTY: Front = Front {
    port: PortId(0),
    ip: Ipv4Addr::UNSPECIFIED,
    mac: MacAddr::ZERO,
    until_ms: 0,
    epoch: 0,
};

/// The cache plus the held packets.
#[derive(Debug)]
pub struct Neighbors<F> {
    cfg: NeighConfig,
    map: HashMap<(PortId, Ipv4Addr), Entry>,
    held: VecDeque<(PortId, Ipv4Addr, u64, F)>,
    /// Speed trick: a direct-mapped cache in front of `map` for the
    /// per-packet `resolve` of a reachable next hop. Valid while `epoch`
    /// matches (bumped whenever an entry may change: static install,
    /// learning, expiry sweep) and until the entry's refresh point.
    front: [Front; FRONT_SLOTS],
    epoch: u64,
    /// Entries created by an ARP request and never used as a next hop.
    requested: usize,
}

impl<F> Neighbors<F> {
    /// An empty table with its memory reserved.
    pub fn new(cfg: NeighConfig) -> Self {
        Neighbors {
            cfg,
            map: HashMap::with_capacity(cfg.capacity),
            held: VecDeque::with_capacity(cfg.max_held),
            front: [FRONT_EMPTY; FRONT_SLOTS],
            epoch: 1,
            requested: 0,
        }
    }

    #[inline]
    fn front_slot(port: PortId, ip: Ipv4Addr) -> usize {
        let x = u32::from(ip) ^ (u32::from(port.0) << 24);
        (x.wrapping_mul(0x9E37_79B1) >> 26) as usize % FRONT_SLOTS
    }

    /// Install a static entry.
    pub fn add_static(&mut self, port: PortId, ip: Ipv4Addr, mac: MacAddr) {
        self.epoch += 1;
        let old = self.map.insert(
            (port, ip),
            Entry {
                mac: Some(mac),
                is_static: true,
                ..Entry::new(0, true)
            },
        );
        if old.is_some_and(|e| !e.wanted) {
            self.requested = self.requested.saturating_sub(1);
        }
    }

    /// Requested entries in the table (at most half its capacity).
    pub fn requested_len(&self) -> usize {
        self.requested
    }

    /// Entries in the table.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Make room for one entry in a full table (see the module header):
    /// for a next hop (`wanted`) any entry nothing waits for may go, for a
    /// requested entry only stale or requested ones. `false` when none can.
    fn make_room(&mut self, now_ms: u64, wanted: bool) -> bool {
        self.epoch += 1;
        let timeout = self.cfg.timeout_ms;
        let before = self.map.len();
        let mut freed_requested = 0;
        self.map.retain(|_, e| {
            let stale = e.stale(now_ms, timeout);
            freed_requested += usize::from(stale && !e.wanted);
            !stale
        });
        self.requested = self.requested.saturating_sub(freed_requested);
        if self.map.len() < before {
            return true;
        }
        let victim = self
            .map
            .iter()
            .filter(|(_, e)| !e.is_static && e.held == 0 && (wanted || !e.wanted))
            .min_by_key(|(_, e)| (e.wanted, e.learned_ms))
            .map(|(k, e)| (*k, e.wanted));
        let Some((key, wanted)) = victim else {
            return false;
        };
        self.map.remove(&key);
        if !wanted {
            self.requested = self.requested.saturating_sub(1);
        }
        true
    }

    /// The MAC for `ip` on `port`, if currently reachable.
    pub fn get(&self, port: PortId, ip: Ipv4Addr, now_ms: u64) -> Option<MacAddr> {
        let e = self.map.get(&(port, ip))?;
        self.usable(e, now_ms).then_some(e.mac).flatten()
    }

    fn usable(&self, e: &Entry, now_ms: u64) -> bool {
        e.mac.is_some()
            && (e.is_static || now_ms.saturating_sub(e.learned_ms) < self.cfg.timeout_ms)
    }

    /// The next hop's MAC when [`resolve`](Self::resolve) would answer
    /// `Known` without a refresh straight from its front cache; `None`
    /// otherwise. Changes nothing (the fast path's lookup).
    #[inline(always)]
    pub fn peek(&self, port: PortId, ip: Ipv4Addr, now_ms: u64) -> Option<MacAddr> {
        let f = self.front.get(Self::front_slot(port, ip))?;
        (f.epoch == self.epoch && f.ip == ip && f.port == port && now_ms < f.until_ms)
            .then_some(f.mac)
    }

    /// Look up a next hop for an outgoing packet.
    #[inline]
    pub fn resolve(&mut self, port: PortId, ip: Ipv4Addr, now_ms: u64) -> Resolve {
        let i = Self::front_slot(port, ip);
        if let Some(f) = self.front.get(i) {
            if f.epoch == self.epoch && f.ip == ip && f.port == port && now_ms < f.until_ms {
                return Resolve::Known {
                    mac: f.mac,
                    refresh: false,
                };
            }
        }
        let r = self.resolve_slow(port, ip, now_ms);
        if let Resolve::Known {
            mac,
            refresh: false,
        } = r
        {
            // Until the refresh point nothing in `resolve_slow` would change.
            let until_ms = match self.map.get(&(port, ip)) {
                Some(e) if e.is_static => u64::MAX,
                Some(e) => e.learned_ms.saturating_add(self.cfg.timeout_ms / 4 * 3),
                None => 0,
            };
            if let Some(f) = self.front.get_mut(i) {
                *f = Front {
                    port,
                    ip,
                    mac,
                    until_ms,
                    epoch: self.epoch,
                };
            }
        }
        r
    }

    fn resolve_slow(&mut self, port: PortId, ip: Ipv4Addr, now_ms: u64) -> Resolve {
        let cfg = self.cfg;
        if !self.map.contains_key(&(port, ip))
            && self.map.len() >= cfg.capacity
            && !self.make_room(now_ms, true)
        {
            return Resolve::Full;
        }
        let e = self
            .map
            .entry((port, ip))
            .or_insert_with(|| Entry::new(0, true));
        if !e.wanted {
            e.wanted = true;
            self.requested = self.requested.saturating_sub(1);
        }
        let due = e
            .last_request_ms
            .is_none_or(|t| now_ms.saturating_sub(t) >= cfg.retry_ms);
        let age = now_ms.saturating_sub(e.learned_ms);
        match e.mac {
            Some(mac) if e.is_static || age < cfg.timeout_ms => {
                let refresh = !e.is_static && age >= cfg.timeout_ms / 4 * 3 && due;
                if refresh {
                    e.last_request_ms = Some(now_ms);
                }
                Resolve::Known { mac, refresh }
            }
            _ => {
                e.mac = None;
                if due {
                    e.last_request_ms = Some(now_ms);
                }
                Resolve::Pending { request: due }
            }
        }
    }

    /// Queue a packet for an unresolved next hop. Returns the packet back
    /// if it cannot be held (per-neighbour or global limit).
    pub fn hold(&mut self, port: PortId, ip: Ipv4Addr, now_ms: u64, frame: F) -> Result<(), F> {
        let Some(e) = self.map.get_mut(&(port, ip)) else {
            return Err(frame);
        };
        if e.held >= self.cfg.per_neighbor || self.held.len() >= self.cfg.max_held {
            return Err(frame);
        }
        e.held += 1;
        self.held.push_back((port, ip, now_ms, frame));
        Ok(())
    }

    /// Learn `ip` → `mac` on `port`. With `create` (an ARP request
    /// addressed to us) a missing entry is created as *requested* while
    /// those hold less than half the table (and a full table has a stale
    /// entry to give); otherwise only an existing entry is updated (Linux's
    /// rule for unsolicited ARP). Held packets for it are handed to
    /// `release`.
    pub fn learn(
        &mut self,
        port: PortId,
        ip: Ipv4Addr,
        mac: MacAddr,
        now_ms: u64,
        create: bool,
        mut release: impl FnMut(PortId, MacAddr, F),
    ) {
        self.epoch += 1;
        if !self.map.contains_key(&(port, ip)) {
            if !create || self.requested >= self.cfg.capacity / 2 {
                return;
            }
            if self.map.len() >= self.cfg.capacity && !self.make_room(now_ms, false) {
                return;
            }
            self.requested += 1;
        }
        let e = self
            .map
            .entry((port, ip))
            .or_insert_with(|| Entry::new(now_ms, false));
        if e.is_static {
            return;
        }
        e.mac = Some(mac);
        e.learned_ms = now_ms;
        e.last_request_ms = None;
        if e.held == 0 {
            return;
        }
        e.held = 0;
        // Release in arrival order, keep the rest in order.
        let n = self.held.len();
        for _ in 0..n {
            let Some(item) = self.held.pop_front() else {
                break;
            };
            if item.0 == port && item.1 == ip {
                release(port, mac, item.3);
            } else {
                self.held.push_back(item);
            }
        }
    }

    /// Periodic work: drop held packets older than 3 × retry, and list next
    /// hops whose ARP request is due again. Bounded by the held queue length.
    pub fn tick(
        &mut self,
        now_ms: u64,
        mut expired: impl FnMut(F),
        mut request: impl FnMut(PortId, Ipv4Addr),
    ) {
        let max_age = self.cfg.retry_ms.saturating_mul(3);
        while let Some(front) = self.held.front() {
            if now_ms.saturating_sub(front.2) < max_age {
                break;
            }
            let Some((port, ip, _, f)) = self.held.pop_front() else {
                break;
            };
            if let Some(e) = self.map.get_mut(&(port, ip)) {
                e.held = e.held.saturating_sub(1);
            }
            expired(f);
        }
        let retry = self.cfg.retry_ms;
        for (&(port, ip), e) in self.map.iter_mut() {
            if e.mac.is_none()
                && e.held > 0
                && e.last_request_ms
                    .is_none_or(|t| now_ms.saturating_sub(t) >= retry)
            {
                e.last_request_ms = Some(now_ms);
                request(port, ip);
            }
        }
        // Forget unresolved entries nobody waits for, so the table does not fill up.
        if self.map.len() > self.cfg.capacity / 2 {
            self.epoch += 1;
            let timeout = self.cfg.timeout_ms;
            let mut freed_requested = 0;
            self.map.retain(|_, e| {
                let stale = e.stale(now_ms, timeout);
                freed_requested += usize::from(stale && !e.wanted);
                !stale
            });
            self.requested = self.requested.saturating_sub(freed_requested);
        }
    }

    /// Packets currently held.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Entries, for display: (port, ip, mac, static).
    pub fn entries(&self) -> impl Iterator<Item = (PortId, Ipv4Addr, Option<MacAddr>, bool)> + '_ {
        self.map
            .iter()
            .map(|(&(p, ip), e)| (p, ip, e.mac, e.is_static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PortId = PortId(0);
    const IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    fn cfg() -> NeighConfig {
        NeighConfig {
            timeout_ms: 1000,
            retry_ms: 100,
            per_neighbor: 2,
            max_held: 3,
            capacity: 4,
        }
    }

    #[test]
    fn resolve_hold_learn_release() {
        let mut n: Neighbors<u32> = Neighbors::new(cfg());
        assert_eq!(n.resolve(P, IP, 0), Resolve::Pending { request: true });
        assert_eq!(n.hold(P, IP, 0, 1), Ok(()));
        assert_eq!(n.resolve(P, IP, 10), Resolve::Pending { request: false });
        assert_eq!(n.hold(P, IP, 10, 2), Ok(()));
        assert_eq!(n.hold(P, IP, 10, 3), Err(3), "per-neighbour bound");
        let mut out = vec![];
        n.learn(P, IP, MAC, 20, false, |p, m, f| out.push((p, m, f)));
        assert_eq!(out, vec![(P, MAC, 1), (P, MAC, 2)]);
        assert_eq!(n.held_len(), 0);
        assert_eq!(
            n.resolve(P, IP, 30),
            Resolve::Known {
                mac: MAC,
                refresh: false
            }
        );
        // refresh from 3/4 of the lifetime, then every retry
        assert_eq!(
            n.resolve(P, IP, 800),
            Resolve::Known {
                mac: MAC,
                refresh: true
            }
        );
        assert_eq!(
            n.resolve(P, IP, 850),
            Resolve::Known {
                mac: MAC,
                refresh: false
            }
        );
        assert_eq!(
            n.resolve(P, IP, 900),
            Resolve::Known {
                mac: MAC,
                refresh: true
            }
        );
        // expired
        assert_eq!(n.get(P, IP, 1020), None);
        assert!(matches!(n.resolve(P, IP, 1020), Resolve::Pending { .. }));
    }

    #[test]
    fn unsolicited_does_not_create_and_static_wins() {
        let mut n: Neighbors<u32> = Neighbors::new(cfg());
        n.learn(P, IP, MAC, 0, false, |_, _, _| {});
        assert_eq!(n.get(P, IP, 0), None);
        n.learn(P, IP, MAC, 0, true, |_, _, _| {});
        assert_eq!(n.get(P, IP, 0), Some(MAC));
        let other = MacAddr([2, 0, 0, 0, 0, 9]);
        n.add_static(P, IP, other);
        n.learn(P, IP, MAC, 5, true, |_, _, _| {});
        assert_eq!(n.get(P, IP, 1_000_000), Some(other));
    }

    #[test]
    fn capacity_and_expiry() {
        let mut n: Neighbors<u32> = Neighbors::new(NeighConfig {
            max_held: 4,
            ..cfg()
        });
        // Full, and every entry has a packet waiting: nothing can go.
        for i in 0..4 {
            assert!(matches!(
                n.resolve(P, Ipv4Addr::new(10, 0, 0, i), 0),
                Resolve::Pending { .. }
            ));
            n.hold(P, Ipv4Addr::new(10, 0, 0, i), 0, u32::from(i))
                .unwrap();
        }
        assert_eq!(n.resolve(P, Ipv4Addr::new(10, 0, 0, 9), 0), Resolve::Full);
        let (mut exp, mut req) = (vec![], vec![]);
        n.tick(150, |f| exp.push(f), |p, ip| req.push((p, ip)));
        assert!(exp.is_empty());
        req.sort();
        assert_eq!(
            req,
            (0..4)
                .map(|i| (P, Ipv4Addr::new(10, 0, 0, i)))
                .collect::<Vec<_>>()
        );
        n.tick(400, |f| exp.push(f), |_, _| {});
        assert_eq!(exp, vec![0, 1, 2, 3]);
        // unresolved entries without waiters are forgotten
        assert!(matches!(
            n.resolve(P, Ipv4Addr::new(10, 0, 0, 9), 400),
            Resolve::Pending { .. }
        ));
    }

    const MAC2: MacAddr = MacAddr([2, 0, 0, 0, 0, 3]);

    fn big() -> NeighConfig {
        NeighConfig {
            capacity: 64,
            ..cfg()
        }
    }

    fn ip(i: u32) -> Ipv4Addr {
        Ipv4Addr::from(0xC612_0000 + i)
    }

    #[test]
    fn spoofed_requests_fill_at_most_half_the_table() {
        let mut n: Neighbors<u32> = Neighbors::new(big());
        for i in 0..1000 {
            n.learn(P, ip(i), MAC2, 10, true, |_, _, _| {});
        }
        assert_eq!((n.requested_len(), n.len()), (32, 32));
        // Unsolicited replies (create false) create nothing.
        n.learn(P, ip(5000), MAC2, 10, false, |_, _, _| {});
        assert_eq!(n.len(), 32);
        // The other half is free for next hops.
        for i in 0..32 {
            let r = n.resolve(P, ip(10_000 + i), 20);
            assert!(
                matches!(r, Resolve::Pending { request: true }),
                "{i}: {r:?}"
            );
        }
        assert_eq!(n.len(), 64);
        // A requested entry used as a next hop becomes wanted.
        assert!(matches!(n.resolve(P, ip(0), 20), Resolve::Known { .. }));
        assert_eq!(n.requested_len(), 31);
    }

    #[test]
    fn a_full_table_never_refuses_a_next_hop_nothing_waits_for() {
        let mut n: Neighbors<u32> = Neighbors::new(big());
        // Fresh, resolved next hops fill the table...
        for i in 0..64 {
            assert!(matches!(n.resolve(P, ip(i), 0), Resolve::Pending { .. }));
            n.learn(P, ip(i), MAC2, i.into(), false, |_, _, _| {});
        }
        assert_eq!(n.len(), 64);
        // ...and spoofed requests cannot push them out.
        for i in 0..100 {
            n.learn(P, ip(1000 + i), MAC2, 100, true, |_, _, _| {});
        }
        assert_eq!((n.len(), n.requested_len()), (64, 0));
        assert!((0..64).all(|i| n.get(P, ip(i), 100).is_some()));
        // A real's next hop: the oldest entry nothing waits for makes room.
        let real = Ipv4Addr::new(198, 18, 1, 11);
        assert!(matches!(
            n.resolve(P, real, 100),
            Resolve::Pending { request: true }
        ));
        assert_eq!(n.get(P, ip(0), 100), None, "the oldest went");
        assert!((1..64).all(|i| n.get(P, ip(i), 100).is_some()));
        n.hold(P, real, 100, 1).unwrap();
        let mut out = vec![];
        n.learn(P, real, MAC, 110, false, |_, m, f| out.push((m, f)));
        assert_eq!(out, vec![(MAC, 1)]);
    }

    #[test]
    fn stale_entries_go_first_and_requested_ones_before_wanted() {
        let mut n: Neighbors<u32> = Neighbors::new(big());
        for i in 0..32 {
            n.learn(P, ip(i), MAC2, 0, true, |_, _, _| {});
        }
        for i in 32..64 {
            assert!(matches!(n.resolve(P, ip(i), 0), Resolve::Pending { .. }));
            n.learn(P, ip(i), MAC2, 0, false, |_, _, _| {});
        }
        // At 500 nothing is stale: the oldest requested entry goes.
        n.learn(P, ip(0), MAC2, 400, true, |_, _, _| {});
        assert!(matches!(
            n.resolve(P, ip(100), 500),
            Resolve::Pending { .. }
        ));
        assert_eq!(
            (1..32).filter(|&i| n.get(P, ip(i), 500).is_none()).count(),
            1
        );
        assert!(
            n.get(P, ip(0), 500).is_some(),
            "refreshed at 400: not the oldest"
        );
        assert_eq!(n.requested_len(), 31);
        assert!((32..64).all(|i| n.get(P, ip(i), 500).is_some()));
        // Past the lifetime (1000 ms) every expired entry goes at once.
        assert!(matches!(
            n.resolve(P, ip(101), 1100),
            Resolve::Pending { .. }
        ));
        assert_eq!(n.requested_len(), 1, "only ip(0), learned at 400, is fresh");
        assert_eq!(
            n.len(),
            2,
            "ip(0) and ip(101); ip(100), unresolved, waited for nothing"
        );
    }

    #[test]
    fn random_operations_keep_the_counts_and_bounds() {
        let mut n: Neighbors<u32> = Neighbors::new(NeighConfig {
            max_held: 16,
            ..big()
        });
        let mut x = crate::types::Xorshift::new(0x5eed);
        let mut now = 0u64;
        for step in 0..20_000u32 {
            now += x.next_u64() % 7;
            let a = ip((x.next_u64() % 200) as u32);
            match x.next_u64() % 5 {
                0 | 1 => n.learn(
                    P,
                    a,
                    MAC2,
                    now,
                    x.next_u64().is_multiple_of(2),
                    |_, _, _| {},
                ),
                2 => {
                    if matches!(n.resolve(P, a, now), Resolve::Pending { .. }) {
                        let _ = n.hold(P, a, now, step);
                    }
                }
                3 => n.tick(now, |_| {}, |_, _| {}),
                _ => n.add_static(P, ip(300 + (x.next_u64() % 4) as u32), MAC),
            }
            let requested = n.map.values().filter(|e| !e.wanted).count();
            assert_eq!(n.requested, requested, "step {step}");
            assert!(requested <= 32 && n.map.len() <= 64, "step {step}");
            assert!(n.map.values().all(|e| !e.is_static || e.wanted));
        }
    }
}
