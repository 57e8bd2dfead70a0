//! Table tests: model-checked random ops, churn at full load, refusals,
//! expiry, templates, real removal, flush.

use crate::conn::*;
use crate::types::Xorshift;
use std::collections::HashMap;
use std::net::Ipv4Addr;

const S: u64 = 1000;

fn nc(proto: u8, caddr: Ipv4Addr, cport: u16, vaddr: Ipv4Addr, fwd: FwdFlag, real: u16) -> NewConn {
    NewConn {
        key: ConnKey::new(proto, caddr, cport, vaddr, 80),
        svc: 0,
        real,
        fwd,
        raddr: Ipv4Addr::new(10, 1, 0, real as u8),
        rport: 8080,
        flags: 0,
    }
}

fn random_new(r: &mut Xorshift) -> NewConn {
    let caddr = Ipv4Addr::new(10, 0, r.below(8) as u8, r.below(256) as u8);
    let cport = 1024 + r.below(4) as u16;
    let vaddr = Ipv4Addr::new(192, 0, 2, 1 + r.below(2) as u8);
    let fwd = if r.below(2) == 0 {
        FwdFlag::MASQ
    } else {
        FwdFlag::DROUTE
    };
    let proto = if r.below(4) == 0 {
        IPPROTO_UDP
    } else {
        IPPROTO_TCP
    };
    nc(proto, caddr, cport, vaddr, fwd, 1 + r.below(3) as u16)
}

#[test]
fn random_ops_match_hashmap_model() {
    let cap = 3000;
    let mut t = ConnTable::with_seed(cap, Timeouts::default(), 42).unwrap();
    let mut r = Xorshift::new(0x9E37_79B9_7F4A_7C15);
    let mut model: HashMap<ConnKey, (ConnId, NewConn)> = HashMap::new();
    let mut present: Vec<ConnKey> = Vec::new();
    let mut replies: HashMap<ReplyKey, Vec<ConnId>> = HashMap::new();
    let (mut full, mut exists, mut removed) = (0, 0, 0);
    for op in 0..200_000u32 {
        match r.below(10) {
            0..=4 => {
                let n = random_new(&mut r);
                match t.insert(&n, 0, |_| panic!("nothing is stale")) {
                    Ok(id) => {
                        assert!(!model.contains_key(&n.key));
                        assert!(model.len() < cap);
                        let c = *t.get(id).unwrap();
                        if n.fwd == FwdFlag::MASQ {
                            replies.entry(c.reply_key()).or_default().push(id);
                        }
                        model.insert(n.key, (id, n));
                        present.push(n.key);
                    }
                    Err(InsertError::Exists(id)) => {
                        exists += 1;
                        assert_eq!(model[&n.key].0, id);
                    }
                    Err(InsertError::Full) => {
                        full += 1;
                        assert!(!model.contains_key(&n.key));
                        assert_eq!(model.len(), cap);
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
            5..=6 if !present.is_empty() => {
                let i = r.below(present.len() as u64) as usize;
                let key = present.swap_remove(i);
                let (id, n) = model.remove(&key).unwrap();
                let mut seen = None;
                assert!(t.expire_now(id, 0, |c| seen = Some(*c)));
                assert_eq!(seen.unwrap().key(), key);
                if n.fwd == FwdFlag::MASQ {
                    let v = replies.get_mut(&seen.unwrap().reply_key()).unwrap();
                    v.retain(|&x| x != id);
                }
                assert_eq!(t.lookup(&key, 0), None);
                removed += 1;
            }
            _ => {
                let n = random_new(&mut r);
                assert_eq!(t.lookup(&n.key, 0), model.get(&n.key).map(|e| e.0));
                let rk = ReplyKey::new(n.key.proto, n.raddr, n.rport, n.key.caddr, n.key.cport);
                let got = t.lookup_reply(&rk, 0);
                match replies.get(&rk).filter(|v| !v.is_empty()) {
                    // Several NAT connections may share a reply key: the newest answers.
                    Some(v) => assert_eq!(got, v.last().copied()),
                    None => assert_eq!(got, None),
                }
            }
        }
        if op % 10_000 == 0 {
            assert_eq!(t.len(), model.len());
            let entries: usize = model
                .values()
                .map(|(_, n)| 1 + (n.fwd == FwdFlag::MASQ) as usize)
                .sum();
            assert_eq!(t.index_len(), entries);
        }
    }
    assert!(
        full > 100 && exists > 100 && removed > 30_000,
        "{full} {exists} {removed}"
    );
    assert_eq!(t.stats().refused_full, full);
    assert_eq!(t.stats().refused_index, 0);
    let mut n = 0;
    t.for_each(|id, c| {
        assert_eq!(model[&c.key()].0, id);
        n += 1;
    });
    assert_eq!(n, model.len());
}

#[test]
fn shared_reply_key_goes_to_the_newest_connection() {
    // One client port reused for two VIP ports NATed to the same real:port
    // (the first in TIME_WAIT): the real's replies belong to the new one.
    let mut t = ConnTable::with_seed(64, Timeouts::default(), 7).unwrap();
    let c = Ipv4Addr::new(198, 18, 0, 2);
    let v = Ipv4Addr::new(198, 18, 0, 100);
    let mut a = nc(IPPROTO_TCP, c, 40000, v, FwdFlag::MASQ, 1);
    a.key.vport = 80;
    let mut b = a;
    b.key.vport = 81;
    let ia = t.insert(&a, 0, |_| {}).unwrap();
    let rk = t.get(ia).unwrap().reply_key();
    assert_eq!(t.lookup_reply(&rk, 0), Some(ia));
    let ib = t.insert(&b, 10, |_| {}).unwrap();
    assert_eq!(t.lookup_reply(&rk, 10), Some(ib));
    assert_eq!(t.get(ib).unwrap().flags() & 0x4000, 0, "private bit hidden");
    // A third, then the newest goes: the one before it answers again.
    let mut d = a;
    d.key.vport = 82;
    let id = t.insert(&d, 20, |_| {}).unwrap();
    assert_eq!(t.lookup_reply(&rk, 20), Some(id));
    assert!(t.expire_now(id, 20, |_| {}));
    assert_eq!(t.lookup_reply(&rk, 20), Some(ib));
    assert!(t.expire_now(ib, 20, |_| {}));
    assert_eq!(t.lookup_reply(&rk, 20), Some(ia));
    // A stale record sharing the key is reclaimed by the next insert.
    let mut gone = Vec::new();
    let later = 10 * S; // `a` (3 s NONE timer) has expired
    let ib2 = t.insert(&b, later, |c| gone.push(c.key())).unwrap();
    assert_eq!(gone, vec![a.key]);
    assert_eq!(t.lookup_reply(&rk, later), Some(ib2));
    assert_eq!(t.len(), 1);
}

#[test]
fn record_prefetch_points_at_the_record_a_lookup_finds() {
    let mut t = ConnTable::with_seed(1024, Timeouts::default(), 7).unwrap();
    let v = Ipv4Addr::new(198, 18, 0, 100);
    let (mut exact, mut lookups) = (0, 0);
    for i in 0..500u16 {
        let c = Ipv4Addr::new(198, 18, 1, (i % 250) as u8);
        let n = nc(IPPROTO_TCP, c, 1000 + i, v, FwdFlag::MASQ, 1);
        let id = t.insert(&n, 0, |_| {}).unwrap();
        let conn = t.get(id).unwrap();
        let rec = (conn as *const Conn).cast::<u8>();
        let want = vec![rec, rec.wrapping_add(std::mem::size_of::<Conn>() - 1)];
        // Both the client key (every method) and the NAT reply key.
        for hh in [t.position(&n.key), t.position_reply(&conn.reply_key())] {
            let mut got = Vec::new();
            t.prefetch_record_at(hh, |p| got.push(p));
            assert!(got.len() == 2 || got.is_empty(), "{got:?}");
            lookups += 1;
            exact += usize::from(got == want);
        }
    }
    // Misses only where a 16-bit tag collides first in the bucket or the
    // entry sits in its alternate bucket: rare at half load.
    assert!(exact * 100 >= lookups * 99, "{exact} of {lookups}");
    let mut none = Vec::new();
    let absent = nc(
        IPPROTO_TCP,
        Ipv4Addr::new(198, 18, 2, 1),
        9,
        v,
        FwdFlag::MASQ,
        1,
    );
    t.prefetch_record_at(t.position(&absent.key), |p| none.push(p));
    assert!(none.len() <= 2);
}

#[test]
fn delete_heavy_churn_all_nat_at_full_load() {
    // All NAT: 2 index entries per conn ⇒ the index runs at its 90 % design load.
    let cap = 8000;
    let mut t = ConnTable::with_seed(cap, Timeouts::default(), 1).unwrap();
    let mut r = Xorshift::new(12345);
    let mut live: Vec<(ConnKey, ConnId)> = Vec::new();
    let mut next = 0u32;
    let mut fresh = |r: &mut Xorshift| {
        next += 1;
        let a = Ipv4Addr::from_bits(0x0a00_0000 | (next >> 4));
        let mut n = nc(
            IPPROTO_TCP,
            a,
            (next & 15) as u16 + 2000,
            Ipv4Addr::new(192, 0, 2, 1),
            FwdFlag::MASQ,
            1,
        );
        n.raddr = Ipv4Addr::new(10, 1, 0, 1 + r.below(4) as u8);
        n
    };
    for round in 0..8 {
        while live.len() < cap {
            let n = fresh(&mut r);
            let id = t.insert(&n, 0, |_| {}).unwrap();
            live.push((n.key, id));
        }
        assert!(t.insert(&fresh(&mut r), 0, |_| {}) == Err(InsertError::Full));
        assert_eq!(t.index_len(), 2 * cap);
        for (k, id) in &live {
            assert_eq!(t.lookup(k, 0), Some(*id));
            let rk = t.get(*id).unwrap().reply_key();
            assert_eq!(t.lookup_reply(&rk, 0), Some(*id));
        }
        // Remove 60 % at random.
        for _ in 0..cap * 6 / 10 {
            let i = r.below(live.len() as u64) as usize;
            let (k, id) = live.swap_remove(i);
            assert!(t.expire_now(id, 0, |_| {}));
            assert_eq!(t.lookup(&k, 0), None, "round {round}");
        }
    }
    assert_eq!(t.stats().refused_index, 0);
    assert_eq!(t.stats().refused_full, 8);
}

#[test]
fn full_table_refuses_and_reclaims_expired() {
    let mut t = ConnTable::with_seed(4, Timeouts::default(), 3).unwrap();
    let a = Ipv4Addr::new(1, 2, 3, 4);
    let v = Ipv4Addr::new(192, 0, 2, 1);
    for p in 0..4 {
        let id = t
            .insert(&nc(IPPROTO_TCP, a, p, v, FwdFlag::DROUTE, 1), 0, |_| {})
            .unwrap();
        t.transition(id, Dir::Input, tcp_flags::SYN, 0);
    }
    assert_eq!(
        t.insert(&nc(IPPROTO_TCP, a, 9, v, FwdFlag::DROUTE, 1), 0, |_| {}),
        Err(InsertError::Full)
    );
    assert_eq!(
        t.insert(
            &nc(IPPROTO_TCP, a, 10, v, FwdFlag::DROUTE, 1),
            59 * S,
            |_| {}
        ),
        Err(InsertError::Full)
    );
    assert_eq!(t.stats().refused_full, 2);
    // SYN_RECV lasts 60 s: at 60 s a full-table insert sweeps and reclaims.
    let mut gone = Vec::new();
    let id = t
        .insert(
            &nc(IPPROTO_TCP, a, 11, v, FwdFlag::DROUTE, 1),
            60 * S,
            |c| gone.push(c.key().cport),
        )
        .unwrap();
    assert_eq!(gone, vec![0, 1, 2, 3]);
    assert_eq!((t.len(), t.get(id).unwrap().key().cport), (1, 11));
    // Zero capacity never panics.
    let mut z = ConnTable::with_seed(0, Timeouts::default(), 3).unwrap();
    assert_eq!(
        z.insert(&nc(IPPROTO_TCP, a, 1, v, FwdFlag::DROUTE, 1), 0, |_| {}),
        Err(InsertError::Full)
    );
    assert_eq!(z.expire_some(0, 100, |_| {}), 0);
    assert!(ConnTable::new(MAX_CAPACITY + 1, Timeouts::default()).is_err());
}

#[test]
fn expired_conns_are_invisible_and_reclaimed_on_reinsert() {
    let mut t = ConnTable::with_seed(16, Timeouts::default(), 4).unwrap();
    let n = nc(
        IPPROTO_TCP,
        Ipv4Addr::new(1, 1, 1, 1),
        5000,
        Ipv4Addr::new(192, 0, 2, 1),
        FwdFlag::MASQ,
        1,
    );
    let id = t.insert(&n, 0, |_| {}).unwrap();
    let rk = t.get(id).unwrap().reply_key();
    assert_eq!(t.lookup(&n.key, 2_990), Some(id)); // 3 s initial timer
    assert_eq!(t.lookup(&n.key, 3_000), None);
    t.transition(id, Dir::Input, tcp_flags::SYN, 0); // SYN_RECV: 60 s
    assert_eq!(t.lookup(&n.key, 59_990), Some(id));
    assert_eq!(t.lookup_reply(&rk, 59_990), Some(id));
    assert_eq!(t.lookup(&n.key, 60_000), None);
    assert_eq!(t.lookup_reply(&rk, 60_000), None);
    assert_eq!(t.insert(&n, 59_000, |_| {}), Err(InsertError::Exists(id)));
    let mut old = None;
    let id2 = t.insert(&n, 61_000, |c| old = Some(*c)).unwrap();
    assert_eq!(old.unwrap().state_name(), "SYN_RECV");
    assert_eq!(t.len(), 1);
    assert_eq!(t.lookup(&n.key, 61_000), Some(id2));
    assert_eq!(t.index_len(), 2);
    // touch re-arms with the state's timeout (O(1) store).
    t.transition(id2, Dir::Input, tcp_flags::SYN, 61_000);
    assert!(t.touch(id2, 100_000));
    assert_eq!(t.get(id2).unwrap().remaining_ms(100_000), 60 * S);
    // Wrapping ticks: still exact across the u32 tick wrap.
    let base = (u32::MAX as u64 - 100) * TICK_MS;
    t.transition(id2, Dir::Input, tcp_flags::ACK, base);
    assert_eq!(t.lookup(&n.key, base + 899 * S), Some(id2));
    assert_eq!(t.lookup(&n.key, base + 900 * S), None);
}

#[test]
fn expire_some_is_bounded_and_complete() {
    let cap = 1000;
    let mut t = ConnTable::with_seed(cap, Timeouts::default(), 5).unwrap();
    let v = Ipv4Addr::new(192, 0, 2, 1);
    for i in 0..cap as u32 {
        let id = t
            .insert(
                &nc(IPPROTO_UDP, Ipv4Addr::from_bits(i), 1, v, FwdFlag::MASQ, 1),
                0,
                |_| {},
            )
            .unwrap();
        // Half expire at 300 s (UDP), half at 3 s (never transitioned).
        if i % 2 == 0 {
            t.transition(id, Dir::Input, 0, 0);
        }
    }
    assert_eq!(
        t.expire_some(2_000, cap, |_| panic!("nothing expired yet")),
        0
    );
    let mut calls = 0;
    let mut total = 0;
    while t.len() > cap / 2 {
        let before = t.len();
        let n = t.expire_some(10 * S, 10, |c| assert_eq!(c.remaining_ms(10 * S), 0));
        assert!(n <= 10 && before - t.len() == n);
        total += n;
        calls += 1;
        assert!(calls <= cap / 10 + 1, "sweep must finish in one pass");
    }
    assert_eq!(total, cap / 2);
    let mut cb = 0;
    t.expire_some(300 * S, 2 * cap, |_| cb += 1);
    assert_eq!((cb, t.len(), t.index_len()), (cap / 2, 0, 0));
    assert_eq!(t.stats().removed, cap as u64);
}

fn persist_setup(t: &mut ConnTable) -> (ConnId, ConnId, NewConn) {
    let n = nc(
        IPPROTO_TCP,
        Ipv4Addr::new(203, 0, 113, 9),
        40000,
        Ipv4Addr::new(192, 0, 2, 1),
        FwdFlag::DROUTE,
        2,
    );
    let mask = Ipv4Addr::new(255, 255, 255, 0);
    let tk = template_key(IPPROTO_TCP, n.key.caddr, mask, n.key.vaddr, 80, 80, 0);
    assert_eq!(
        tk,
        ConnKey::new(6, Ipv4Addr::new(203, 0, 113, 0), 0, n.key.vaddr, 80)
    );
    let tn = NewConn {
        key: tk,
        rport: template_rport(80, 80, 8080),
        ..n
    };
    let tpl = t.insert_template(&tn, 360, 0, |_| {}).unwrap();
    let id = t.insert(&n, 0, |_| {}).unwrap();
    assert!(t.link_template(id, tpl));
    (tpl, id, tn)
}

#[test]
fn templates_cannot_expire_while_controlling() {
    let mut t = ConnTable::with_seed(64, Timeouts::default(), 6).unwrap();
    let (tpl, id, tn) = persist_setup(&mut t);
    let c = *t.get(tpl).unwrap();
    assert!(c.is_template() && c.flags() & F_NOOUTPUT != 0);
    assert_eq!((c.n_control(), c.template_timeout()), (1, Some(360)));
    assert_eq!(t.get(id).unwrap().control(), Some(tpl));
    assert_eq!(t.lookup_template(&tn.key, 0), Some(tpl));
    assert_eq!(
        t.lookup(&tn.key, 0),
        None,
        "templates live in their own key space"
    );
    // Conn reaches ESTABLISHED (900 s); template would expire at 360 s.
    t.transition(id, Dir::Input, tcp_flags::SYN, 0);
    t.transition(id, Dir::Input, tcp_flags::ACK, 0);
    let mut removed = Vec::new();
    t.expire_some(400 * S, 64, |c| removed.push(*c));
    assert!(removed.is_empty());
    assert_eq!(t.lookup_template(&tn.key, 400 * S), Some(tpl));
    assert_eq!(t.get(tpl).unwrap().template_timeout(), Some(60));
    assert_eq!(t.get(tpl).unwrap().remaining_ms(400 * S), 60 * S);
    assert!(t.stats().control_retries >= 1);
    assert!(!t.expire_now(tpl, 400 * S, |_| {}));
    // Conn expires at 900 s; template's n_control drops, it goes at next expiry.
    t.expire_some(900 * S, 64, |c| removed.push(*c));
    assert_eq!(removed.len(), 1);
    assert!(!removed[0].is_template());
    assert_eq!(t.get(tpl).unwrap().n_control(), 0);
    // The sweep met the template first and re-armed it once more (960 s).
    assert_eq!(t.lookup_template(&tn.key, 900 * S), Some(tpl));
    t.expire_some(959 * S, 64, |c| removed.push(*c));
    assert_eq!(removed.len(), 1);
    assert_eq!(t.lookup_template(&tn.key, 960 * S), None);
    t.expire_some(960 * S, 64, |c| removed.push(*c));
    assert_eq!((removed.len(), t.len(), t.index_len()), (2, 0, 0));
    // A template is re-armed with its own timeout by touch.
    let (tpl, _, _) = persist_setup(&mut t);
    assert!(t.touch(tpl, 1000 * S));
    assert_eq!(t.get(tpl).unwrap().remaining_ms(1000 * S), 360 * S);
}

#[test]
fn link_unlink_and_invalidate_template() {
    let mut t = ConnTable::with_seed(64, Timeouts::default(), 8).unwrap();
    let (tpl, id, tn) = persist_setup(&mut t);
    assert!(!t.link_template(tpl, id), "templates are never controlled");
    assert!(!t.link_template(id, id));
    assert!(t.link_template(id, tpl)); // idempotent
    assert_eq!(t.get(tpl).unwrap().n_control(), 1);
    assert!(t.unlink_control(id));
    assert!(!t.unlink_control(id));
    assert_eq!(t.get(tpl).unwrap().n_control(), 0);
    assert!(t.link_template(id, tpl));
    assert_eq!(
        t.insert_template(&tn, 360, 0, |_| {}),
        Err(InsertError::Exists(tpl))
    );
    // Invalidate: unhashed, re-keyed, still controlling, timer untouched.
    let before = t.get(tpl).unwrap().expires_tick();
    assert!(t.invalidate_template(tpl));
    assert!(!t.invalidate_template(tpl));
    let c = *t.get(tpl).unwrap();
    assert!(c.is_dead_template());
    assert_eq!(
        (c.key().cport, c.key().vport, c.rport(), c.n_control()),
        (0, 0xffff, 0xffff, 1)
    );
    assert_eq!(c.expires_tick(), before);
    assert_eq!(t.lookup_template(&tn.key, 0), None);
    let tpl2 = t.insert_template(&tn, 360, 0, |_| {}).unwrap();
    assert_ne!(tpl2, tpl);
    assert_eq!(t.index_len(), 2); // conn (DR) + new template
                                  // Dead template still goes away normally once nothing controls it.
    assert!(t.expire_now(id, 0, |_| {}));
    let mut gone = Vec::new();
    t.expire_some(360 * S, 64, |c| gone.push(c.is_dead_template()));
    assert_eq!(gone, vec![true, false]);
    assert!(t.is_empty());
}

#[test]
fn template_key_rules() {
    let c = Ipv4Addr::new(198, 51, 100, 77);
    let m = Ipv4Addr::new(255, 255, 0, 0);
    let v = Ipv4Addr::new(192, 0, 2, 1);
    let snet = Ipv4Addr::new(198, 51, 0, 0);
    assert_eq!(
        template_key(6, c, m, v, 443, 443, 0),
        ConnKey::new(6, snet, 0, v, 443)
    );
    assert_eq!(
        template_key(6, c, m, v, 21, 21, 0),
        ConnKey::new(6, snet, 0, v, 0)
    );
    assert_eq!(
        template_key(6, c, m, v, 8080, 0, 0),
        ConnKey::new(6, snet, 0, v, 0)
    );
    let fw = template_key(6, c, m, v, 8080, 0, 7);
    assert_eq!(
        fw,
        ConnKey::new(IPPROTO_IP, snet, 0, Ipv4Addr::from_bits(7), 0)
    );
    assert_eq!(
        (
            template_rport(80, 80, 8080),
            template_rport(21, 21, 21),
            template_rport(99, 0, 80)
        ),
        (8080, 0, 0)
    );
    assert_eq!(
        (
            persist_conn_rport(80, 80, 8080),
            persist_conn_rport(99, 0, 80),
            persist_conn_rport(80, 80, 0)
        ),
        (8080, 99, 80)
    );
}

#[test]
fn expire_real_and_flush() {
    let mut t = ConnTable::with_seed(64, Timeouts::default(), 9).unwrap();
    let (tpl, id, _) = persist_setup(&mut t); // real 2
    let v = Ipv4Addr::new(192, 0, 2, 1);
    let other = t
        .insert(
            &nc(
                IPPROTO_TCP,
                Ipv4Addr::new(5, 5, 5, 5),
                1,
                v,
                FwdFlag::MASQ,
                3,
            ),
            0,
            |_| {},
        )
        .unwrap();
    let solo = t
        .insert(
            &nc(
                IPPROTO_TCP,
                Ipv4Addr::new(6, 6, 6, 6),
                1,
                v,
                FwdFlag::MASQ,
                2,
            ),
            0,
            |_| {},
        )
        .unwrap();
    let mut gone = Vec::new();
    assert_eq!(t.expire_real(2, |c| gone.push(*c)), 3);
    assert!(t.get(tpl).is_none() && t.get(id).is_none() && t.get(solo).is_none());
    assert!(gone.iter().any(|c| c.is_template()));
    assert!(t.get(other).is_some());
    assert_eq!(t.index_len(), 2);
    let mut n = 0;
    t.for_each(|_, _| n += 1);
    assert_eq!(n, 1);
    t.flush();
    assert_eq!((t.len(), t.index_len()), (0, 0));
    assert!(t.get(other).is_none());
    // Usable again after flush.
    assert!(t
        .insert(
            &nc(
                IPPROTO_TCP,
                Ipv4Addr::new(5, 5, 5, 5),
                1,
                v,
                FwdFlag::MASQ,
                3
            ),
            0,
            |_| {}
        )
        .is_ok());
}

#[test]
fn bogus_ids_and_inputs_never_panic() {
    let mut t = ConnTable::with_seed(8, Timeouts::default(), 10).unwrap();
    for id in [
        ConnId(0),
        ConnId(7),
        ConnId(8),
        ConnId(u32::MAX),
        ConnId(0x8000_0001),
    ] {
        assert!(t.get(id).is_none());
        assert!(t.transition(id, Dir::Output, 0xff, 0).is_none());
        assert!(!t.touch(id, 0));
        assert!(t.inc_in_pkts(id).is_none());
        assert!(!t.expire_now(id, 0, |_| {}));
        assert!(!t.link_template(id, ConnId(1)));
        assert!(!t.invalidate_template(id));
        assert!(!t.set_sync(id, true));
    }
    let id = t
        .insert(
            &nc(
                IPPROTO_SCTP,
                Ipv4Addr::LOCALHOST,
                1,
                Ipv4Addr::LOCALHOST,
                FwdFlag::BYPASS,
                1,
            ),
            0,
            |_| {},
        )
        .unwrap();
    assert_eq!(t.inc_in_pkts(id), Some(1));
    assert!(t.set_sync(id, true));
    assert_ne!(t.get(id).unwrap().flags() & F_SYNC, 0);
    assert_eq!(t.get(id).unwrap().fwd(), FwdFlag::BYPASS);
    t.transition(id, Dir::Input, 0xff, 0).unwrap();
    assert_eq!(t.get(id).unwrap().remaining_ms(0), 300 * S);
}

/// Random templates + links + time: `n_control` and index counts stay exact.
#[test]
fn random_persistence_keeps_invariants() {
    let mut t = ConnTable::with_seed(500, Timeouts::default(), 11).unwrap();
    let mut r = Xorshift::new(777);
    let mask = Ipv4Addr::new(255, 255, 255, 0);
    let mut now = 0u64;
    for step in 0..20_000u32 {
        now += r.below(400);
        let n = random_new(&mut r);
        let tk = template_key(n.key.proto, n.key.caddr, mask, n.key.vaddr, 80, 80, 0);
        let tpl = match t.lookup_template(&tk, now) {
            Some(id) => Some(id),
            None => t
                .insert_template(
                    &NewConn { key: tk, ..n },
                    1 + r.below(30) as u32,
                    now,
                    |_| {},
                )
                .ok(),
        };
        if let Some(tpl) = tpl {
            t.touch(tpl, now);
            if let Ok(id) = t.insert(&n, now, |_| {}) {
                assert!(t.link_template(id, tpl));
                t.transition(id, Dir::Input, tcp_flags::SYN, now);
            }
        }
        if r.below(50) == 0 {
            if let Some(tpl) = tpl {
                t.invalidate_template(tpl);
            }
        }
        t.expire_some(now, 7, |_| {});
        if step % 500 == 0 {
            let mut ctl = HashMap::new();
            let (mut entries, mut n_ctl) = (0, HashMap::new());
            t.for_each(|id, c| {
                if let Some(p) = c.control() {
                    *ctl.entry(p).or_insert(0u32) += 1;
                }
                n_ctl.insert(id, c.n_control());
                if c.flags() & F_HASHED != 0 {
                    entries += 1 + (c.fwd() == FwdFlag::MASQ && !c.is_template()) as usize;
                }
            });
            for (id, n) in n_ctl {
                assert_eq!(ctl.get(&id).copied().unwrap_or(0), n);
            }
            assert_eq!(t.index_len(), entries);
        }
    }
    assert!(t.stats().control_retries > 0 && t.stats().removed > 1000);
}
