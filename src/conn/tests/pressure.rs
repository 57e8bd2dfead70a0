//! The table-pressure policy: which entries are embryonic, eviction order,
//! timeouts under pressure, and that proven entries are never evicted.

use crate::conn::*;
use crate::types::{Defense, DefenseMode};
use std::net::Ipv4Addr;

const S: u64 = 1000;
const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);

fn nc(proto: u8, i: u32, fwd: FwdFlag) -> NewConn {
    NewConn {
        key: ConnKey::new(proto, Ipv4Addr::from_bits(0xc612_0000 + i), 1024, VIP, 80),
        svc: 0,
        real: 1,
        fwd,
        raddr: Ipv4Addr::new(198, 18, 1, 10),
        rport: 8080,
        flags: 0,
    }
}

fn table(cap: usize, mode: DefenseMode, pct: u8) -> ConnTable {
    let mut t = ConnTable::with_seed(cap, Timeouts::default(), 7).unwrap();
    t.set_defense(Defense {
        mode,
        threshold_pct: pct,
    });
    t
}

/// A TCP SYN that stays SYN_RECV (a spoofed source).
fn syn(
    t: &mut ConnTable,
    i: u32,
    now: u64,
    removed: &mut Vec<Conn>,
) -> Result<ConnId, InsertError> {
    let id = t.insert(&nc(IPPROTO_TCP, i, FwdFlag::MASQ), now, |c| {
        removed.push(*c)
    })?;
    t.transition(id, Dir::Input, tcp_flags::SYN, now);
    Ok(id)
}

/// A full NAT handshake plus the real's first data: proven.
fn established(t: &mut ConnTable, i: u32, now: u64) -> ConnId {
    let id = syn(t, i, now, &mut Vec::new()).unwrap();
    t.transition(id, Dir::Output, tcp_flags::SYN | tcp_flags::ACK, now);
    t.transition(id, Dir::Input, tcp_flags::ACK, now);
    t.transition(id, Dir::Output, tcp_flags::ACK, now);
    id
}

fn embryonic(t: &ConnTable, id: ConnId) -> bool {
    // The fast path refuses exactly the embryos among steady connections.
    let mut copy_flags = t.get(id).unwrap().flags();
    copy_flags &= F_ONE_PACKET;
    copy_flags == 0 && !t.rearm_steady_probe(id)
}

impl ConnTable {
    /// `rearm_steady` on a throwaway copy: would the fast path take an
    /// ACK of `id`?
    fn rearm_steady_probe(&self, id: ConnId) -> bool {
        let mut t = ConnTable::with_seed(1, Timeouts::default(), 1).unwrap();
        let c = *self.get(id).unwrap();
        t.slab.alloc(c);
        t.rearm_steady(ConnId(0), Dir::Input, tcp_flags::ACK, 0)
    }
}

#[test]
fn full_table_recycles_oldest_embryo_never_established() {
    let cap = 64; // ring of 16
    let mut t = table(cap, DefenseMode::Auto, 90);
    let est: Vec<ConnId> = (0..50).map(|i| established(&mut t, i, 0)).collect();
    let mut removed = Vec::new();
    for i in 100..114 {
        syn(&mut t, i, S, &mut removed).unwrap();
    }
    assert_eq!(t.len(), cap);
    assert!(
        removed.is_empty(),
        "nothing evicted before the table is full"
    );
    // Each further SYN recycles the oldest embryo, in insertion order.
    for (n, i) in (1000..1100u32).enumerate() {
        syn(&mut t, i, 2 * S, &mut removed).unwrap();
        assert_eq!(removed.len(), n + 1);
    }
    assert_eq!(t.len(), cap);
    let order: Vec<u32> = removed.iter().map(|c| c.caddr - 0xc612_0000).collect();
    let want: Vec<u32> = (100..114).chain(1000..).take(100).collect();
    assert_eq!(order, want, "oldest first");
    for id in est {
        let c = t.get(id).unwrap();
        assert_eq!(c.state(), TcpState::Established as u8, "established kept");
    }
    assert_eq!(t.stats().evicted_tcp, 100);
    assert_eq!(t.stats().refused_full, 0);
}

#[test]
fn table_full_of_established_refuses_and_off_keeps_old_behaviour() {
    let cap = 16;
    let mut t = table(cap, DefenseMode::Auto, 90);
    for i in 0..cap as u32 {
        established(&mut t, i, 0);
    }
    let mut removed = Vec::new();
    assert_eq!(syn(&mut t, 999, S, &mut removed), Err(InsertError::Full));
    assert!(removed.is_empty());
    let mut off = table(cap, DefenseMode::Off, 90);
    for i in 0..cap as u32 {
        syn(&mut off, i, 0, &mut removed).unwrap();
    }
    assert_eq!(syn(&mut off, 999, S, &mut removed), Err(InsertError::Full));
    assert!(removed.is_empty());
    assert_eq!(off.stats().evicted_tcp, 0);
}

#[test]
fn handshake_rules_per_method_and_protocol() {
    let mut t = table(64, DefenseMode::Auto, 90);
    // NAT TCP: the client's ACK alone (ESTABLISHED) is not proof.
    let id = syn(&mut t, 1, 0, &mut Vec::new()).unwrap();
    t.transition(id, Dir::Output, tcp_flags::SYN | tcp_flags::ACK, 0);
    t.transition(id, Dir::Input, tcp_flags::ACK, 0);
    assert_eq!(t.get(id).unwrap().state(), TcpState::Established as u8);
    assert!(embryonic(&t, id));
    t.transition(id, Dir::Output, tcp_flags::ACK, 0);
    assert!(
        !embryonic(&t, id),
        "the real's packet in ESTABLISHED proves it"
    );
    // A blind ACK answered by the real's RST stays embryonic.
    let id = syn(&mut t, 2, 0, &mut Vec::new()).unwrap();
    t.transition(id, Dir::Input, tcp_flags::ACK, 0);
    t.transition(id, Dir::Output, tcp_flags::RST, 0);
    assert!(embryonic(&t, id));
    // DR TCP: ESTABLISHED is proof.
    let id = t
        .insert(&nc(IPPROTO_TCP, 3, FwdFlag::DROUTE), 0, |_| {})
        .unwrap();
    t.transition(id, Dir::Input, tcp_flags::SYN, 0);
    assert!(embryonic(&t, id));
    t.transition(id, Dir::Input, tcp_flags::ACK, 0);
    assert!(!embryonic(&t, id));
    // NAT UDP: a client packet after a reply.
    let id = t
        .insert(&nc(IPPROTO_UDP, 4, FwdFlag::MASQ), 0, |_| {})
        .unwrap();
    t.transition(id, Dir::Input, 0, 0);
    t.transition(id, Dir::Input, 0, 0);
    assert!(embryonic(&t, id));
    t.transition(id, Dir::Output, 0, 0);
    t.transition(id, Dir::Output, 0, 0);
    assert!(
        embryonic(&t, id),
        "a reply to a forged source proves nothing"
    );
    t.transition(id, Dir::Input, 0, 0);
    assert!(!embryonic(&t, id));
    // DR UDP: the second packet.
    let id = t
        .insert(&nc(IPPROTO_UDP, 5, FwdFlag::DROUTE), 0, |_| {})
        .unwrap();
    t.transition(id, Dir::Input, 0, 0);
    assert!(embryonic(&t, id));
    t.transition(id, Dir::Input, 0, 0);
    assert!(!embryonic(&t, id));
}

#[test]
fn timeouts_shrink_under_pressure_only() {
    let cap = 20; // auto at 50 %: pressure from 10 entries
    let mut t = table(cap, DefenseMode::Auto, 50);
    let id = syn(&mut t, 0, 0, &mut Vec::new()).unwrap();
    assert_eq!(
        t.get(id).unwrap().remaining_ms(0),
        60 * S,
        "SYN_RECV normal"
    );
    let u = t
        .insert(&nc(IPPROTO_UDP, 1, FwdFlag::MASQ), 0, |_| {})
        .unwrap();
    t.transition(u, Dir::Input, 0, 0);
    assert_eq!(t.get(u).unwrap().remaining_ms(0), 300 * S);
    let e = established(&mut t, 2, 0);
    for i in 3..9 {
        established(&mut t, i, 0);
    }
    assert!(!t.under_pressure());
    established(&mut t, 9, 0);
    assert!(t.under_pressure());
    let base = t.stats().shortened;
    let d = DEFENSE_TIMEOUT_S as u64 * S;
    t.transition(id, Dir::Output, tcp_flags::SYN | tcp_flags::ACK, S);
    assert_eq!(t.get(id).unwrap().remaining_ms(S), d, "SYN_RECV shrunk");
    t.transition(u, Dir::Input, 0, S);
    assert_eq!(t.get(u).unwrap().remaining_ms(S), d, "unreplied UDP shrunk");
    t.transition(e, Dir::Input, tcp_flags::ACK, S);
    assert_eq!(t.get(e).unwrap().remaining_ms(S), 900 * S, "proven: normal");
    t.transition(u, Dir::Output, 0, S);
    t.transition(u, Dir::Input, 0, S);
    assert_eq!(
        t.get(u).unwrap().remaining_ms(S),
        300 * S,
        "replied: normal"
    );
    assert_eq!(t.stats().shortened, base + 3, "SYN_RECV, UDP, UDP reply");
    // The sweep cuts the timer of an embryo armed before the pressure.
    let late = syn(&mut t, 10, 0, &mut Vec::new()).unwrap();
    let late_ms = t.get(late).unwrap().remaining_ms(0);
    assert_eq!(late_ms, d, "armed under pressure");
    t.set_defense(Defense {
        mode: DefenseMode::Auto,
        threshold_pct: 100,
    });
    let before = syn(&mut t, 11, 0, &mut Vec::new()).unwrap();
    assert_eq!(t.get(before).unwrap().remaining_ms(0), 60 * S);
    let cut = t.stats().shortened;
    t.set_defense(Defense {
        mode: DefenseMode::Auto,
        threshold_pct: 50,
    });
    t.expire_some(S, cap, |_| {});
    assert_eq!(t.get(before).unwrap().remaining_ms(S), d);
    assert_eq!(
        t.get(e).unwrap().remaining_ms(S),
        900 * S,
        "proven: untouched"
    );
    assert_eq!(t.stats().shortened, cut + 1);
    // `always` shrinks in an empty table; `off` never.
    let mut a = table(cap, DefenseMode::Always, 90);
    let id = syn(&mut a, 0, 0, &mut Vec::new()).unwrap();
    assert_eq!(a.get(id).unwrap().remaining_ms(0), d);
    let mut o = table(cap, DefenseMode::Off, 1);
    let id = syn(&mut o, 0, 0, &mut Vec::new()).unwrap();
    assert!(!o.under_pressure());
    assert_eq!(o.get(id).unwrap().remaining_ms(0), 60 * S);
}

#[test]
fn ring_overflow_recycles_under_pressure_and_skips_stale_entries() {
    let cap = 40; // ring of 10
    let mut t = table(cap, DefenseMode::Always, 90);
    let mut removed = Vec::new();
    // Ten embryos that prove their peer leave stale ring entries behind.
    for i in 0..10 {
        established(&mut t, i, 0);
    }
    for i in 10..20 {
        syn(&mut t, i, 0, &mut removed).unwrap();
    }
    assert!(removed.is_empty(), "stale entries dropped, nothing evicted");
    syn(&mut t, 20, 0, &mut removed).unwrap();
    assert_eq!(removed.len(), 1, "under pressure the ring's oldest goes");
    assert_eq!(removed[0].caddr - 0xc612_0000, 10);
    assert_eq!(t.len(), 20);
    // A freed slot reused by a newer embryo is not mistaken for the old
    // one: b is older than c, which took the slot of the expired a.
    let mut t = table(12, DefenseMode::Auto, 100); // ring of 3
    let a = syn(&mut t, 1, 0, &mut removed).unwrap();
    syn(&mut t, 2, 0, &mut removed).unwrap();
    assert!(t.expire_now(a, 0, |_| {}));
    let c = syn(&mut t, 3, 0, &mut removed).unwrap();
    assert_eq!(a, c, "LIFO slot reuse");
    t.set_defense(Defense::OFF);
    for i in 10..20 {
        syn(&mut t, i, 0, &mut removed).unwrap();
    }
    t.set_defense(Defense {
        mode: DefenseMode::Auto,
        threshold_pct: 100,
    });
    removed.clear();
    syn(&mut t, 99, 0, &mut removed).unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(
        removed[0].caddr - 0xc612_0000,
        2,
        "b, the oldest live embryo"
    );
}

#[test]
fn a_ring_head_of_proven_entries_is_pruned_by_the_sweep_and_never_refuses() {
    // A warm-up: the table nearly full of proven connections, whose ring
    // entries are all stale; then a flood of SYNs fills the slab.
    let cap = 1024; // ring of 256
    let mut t = table(cap, DefenseMode::Auto, 90);
    for i in 0..1000 {
        established(&mut t, i, 0);
    }
    let mut removed = Vec::new();
    for i in 10_000..10_024 {
        syn(&mut t, i, S, &mut removed).unwrap();
    }
    assert_eq!(t.len(), cap);
    assert!(removed.is_empty());
    // The worker's periodic expiry sweep (nothing has expired yet) drops
    // the stale head, so the next inserts find the live embryos behind it.
    t.expire_some(2 * S, 64, |_| {});
    for i in 20_000..20_024 {
        syn(&mut t, i, 2 * S, &mut removed).expect("a flood SYN recycles an embryo");
    }
    assert_eq!(t.stats().refused_full, 0, "no insert refused");
    let order: Vec<u32> = removed.iter().map(|c| c.caddr - 0xc612_0000).collect();
    assert_eq!(order, (10_000..10_024).collect::<Vec<_>>(), "oldest first");
    assert_eq!(t.len(), cap);
}
