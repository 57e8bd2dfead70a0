//! Memory accounting: bytes per connection counting slab + index, measured
//! from the real allocation sizes (`memory_bytes`), plus an optional 1M
//! fill with lookup timings (`cargo test --release -- --ignored --nocapture`).

use crate::conn::*;
use std::net::Ipv4Addr;
use std::time::Instant;

fn conn(i: u32, fwd: FwdFlag) -> NewConn {
    NewConn {
        key: ConnKey::new(
            IPPROTO_TCP,
            Ipv4Addr::from_bits(0x0a00_0000 + (i >> 6)),
            1024 + (i & 63) as u16,
            Ipv4Addr::new(192, 0, 2, 1),
            80,
        ),
        svc: 0,
        real: (i % 16) as u16,
        fwd,
        raddr: Ipv4Addr::new(10, 1, 0, (i % 16) as u8),
        rport: 80,
        flags: 0,
    }
}

fn fill(n: usize, fwd: FwdFlag) -> (ConnTable, f64) {
    let mut t = ConnTable::with_seed(n, Timeouts::default(), 99).unwrap();
    for i in 0..n as u32 {
        let id = t.insert(&conn(i, fwd), 0, |_| {}).unwrap();
        t.transition(id, Dir::Input, tcp_flags::SYN, 0);
    }
    assert_eq!(t.len(), n);
    let per = t.memory_bytes() as f64 / n as f64;
    (t, per)
}

#[test]
fn bytes_per_conn_within_budget_100k() {
    assert_eq!(std::mem::size_of::<Conn>(), 44);
    let n = 100_000;
    for (fwd, budget) in [(FwdFlag::DROUTE, 64.0), (FwdFlag::MASQ, 128.0)] {
        let (t, per) = fill(n, fwd);
        eprintln!(
            "{fwd:?}: {n} conns, {} bytes, {per:.2} bytes/conn",
            t.memory_bytes()
        );
        assert!(per <= budget, "{fwd:?} {per}");
        assert_eq!(t.stats().refused_index, 0);
    }
}

fn rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

#[test]
#[ignore = "1M fill: run in release with --ignored --nocapture"]
fn one_million_dr_and_nat() {
    let n = 1_000_000;
    for (fwd, budget) in [(FwdFlag::DROUTE, 64.0), (FwdFlag::MASQ, 128.0)] {
        let rss0 = rss_kb().unwrap_or(0);
        let t0 = Instant::now();
        let (t, per) = fill(n, fwd);
        let fill_ns = t0.elapsed().as_nanos() as f64 / n as f64;
        let rss = rss_kb().unwrap_or(0).saturating_sub(rss0);
        eprintln!(
            "{fwd:?}: {n} conns, memory_bytes {} = {per:.2} bytes/conn (slab 44 B/conn; index {} slots, {} used); RSS delta {:.2} bytes/conn; insert+transition {fill_ns:.0} ns/conn",
            t.memory_bytes(),
            t.index_slots(),
            t.index_len(),
            rss as f64 * 1024.0 / n as f64
        );
        assert!(per <= budget);
        // Lookups in a scattered order (hits), then misses.
        let order: Vec<u32> = (0..n as u32)
            .map(|i| i.wrapping_mul(2_654_435_761) % n as u32)
            .collect();
        let t0 = Instant::now();
        let mut found = 0usize;
        for &i in &order {
            found += t.lookup(&conn(i, fwd).key, 1).is_some() as usize;
        }
        let hit_ns = t0.elapsed().as_nanos() as f64 / n as f64;
        assert_eq!(found, n);
        let t0 = Instant::now();
        let mut missed = 0usize;
        for &i in &order {
            let mut k = conn(i, fwd).key;
            k.vport = 81;
            missed += t.lookup(&k, 1).is_none() as usize;
        }
        let miss_ns = t0.elapsed().as_nanos() as f64 / n as f64;
        assert_eq!(missed, n);
        let mut reply_ns = 0.0;
        if fwd == FwdFlag::MASQ {
            let rks: Vec<ReplyKey> = order
                .iter()
                .map(|&i| {
                    let c = conn(i, fwd);
                    ReplyKey::new(IPPROTO_TCP, c.raddr, c.rport, c.key.caddr, c.key.cport)
                })
                .collect();
            let t0 = Instant::now();
            let hits = rks
                .iter()
                .filter(|rk| t.lookup_reply(rk, 1).is_some())
                .count();
            reply_ns = t0.elapsed().as_nanos() as f64 / n as f64;
            assert_eq!(hits, n);
        }
        eprintln!("{fwd:?}: lookup hit {hit_ns:.0} ns, miss {miss_ns:.0} ns, reply hit {reply_ns:.0} ns (single thread, 1M random keys)");
    }
}
