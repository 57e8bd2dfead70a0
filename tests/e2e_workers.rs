//! Exact with several workers, end to end: two workers (lcores 1 and 2 on
//! this 2-CPU machine), two RX queues per port, real kernel clients and
//! servers. Persistence holds for one client's connections whichever queue
//! they arrive on, and a real's `upper_threshold` limits the real, as
//! `lvsadm -Ln` shows while the connections are held open.
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
use lvsd::testbed::lab::{real_addr, Lab};
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
const LVSADM: &str = env!("CARGO_BIN_EXE_lvsadm");

#[test]
fn two_workers_send_one_clients_200_connections_to_one_persistent_real() {
    if common::need_root() {
        return;
    }
    let mut l = Lab::new(2, 3).expect("lab");
    let mut cfg = base(&l, 2);
    cfg += "[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\nscheduler = \"rr\"\nmethod = \"nat\"\n\
            persistence = { timeout = 300 }\n";
    for i in 0..3 {
        cfg += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 8080\n",
            real_addr(i)
        );
    }
    for (i, ns) in l.reals.clone().iter().enumerate() {
        server(&mut l, ns, "http", 8080, &format!("r{i}"));
    }
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    // Another client's connection first moves one worker's rr cursor, so
    // that workers scheduling one client on their own pick different reals.
    let other = client(&l, &l.clients[1], &["http", "198.18.0.100", "80", "1"]);
    assert_eq!(other.errors, 0, "{other:?}");
    let c = l.clients[0].clone();
    let r = client(&l, &c, &["http", "198.18.0.100", "80", "200"]);
    assert_eq!(r.errors, 0, "{r:?}\n{}", l.tb.log("lvsd"));
    assert_eq!(r.counts.len(), 1, "one real for the client: {r:?}");
    assert_eq!(r.counts.values().sum::<u64>(), 200);
    assert_eq!(l.stop_lvsd(), Some(0));
    let log = l.tb.log("lvsd");
    assert_eq!(
        log.matches("worker counters").count(),
        2,
        "two workers ran: {log}"
    );
}

/// (ActiveConn, InActConn) of each real of the listing, by address.
fn real_conns(listing: &str) -> Vec<(String, u64, u64)> {
    listing
        .lines()
        .filter(|l| l.trim_start().starts_with("->") && !l.contains("RemoteAddress"))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let addr = w.get(1)?.to_string();
            let active = w.get(w.len().checked_sub(2)?)?.parse().ok()?;
            let inactive = w.last()?.parse().ok()?;
            Some((addr, active, inactive))
        })
        .collect()
}

#[test]
fn two_workers_hold_a_real_to_its_upper_threshold() {
    if common::need_root() {
        return;
    }
    let mut l = Lab::new(1, 2).expect("lab");
    let mut cfg = base(&l, 2);
    cfg += "[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 7000\nscheduler = \"rr\"\nmethod = \"nat\"\n";
    for i in 0..2 {
        cfg += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 7000\n  upper_threshold = 10\n",
            real_addr(i)
        );
    }
    for (i, ns) in l.reals.clone().iter().enumerate() {
        server(&mut l, ns, "banner", 7000, &format!("r{i}"));
    }
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    let c = l.clients[0].clone();
    // 30 connections held open for 8 s: 20 fit under the thresholds.
    let script = format!("{TOOLS}/client.py");
    l.tb.spawn(
        "hold",
        &c,
        "python3",
        &[&script, "hold", "198.18.0.100", "7000", "30", "8"],
    )
    .unwrap();
    let sock = l.socket().to_string_lossy().to_string();
    let listing = || lvsd::testbed::run_ok(LVSADM, &["--socket", &sock, "-Ln"]).unwrap();
    let mut most = 0;
    let mut last = String::new();
    let established = Testbed::wait_for(Duration::from_secs(30), || {
        last = listing();
        let reals = real_conns(&last);
        for (addr, active, _) in &reals {
            assert!(*active <= 10, "{addr} holds {active} > 10:\n{last}");
            most = most.max(*active);
        }
        l.tb.log("hold").contains("established")
    });
    assert!(established, "hold client: {}", l.tb.log("hold"));
    // While the 20 are held, each real shows exactly its limit.
    let mut held: Vec<(String, u64)> = (real_conns(&listing()).into_iter())
        .map(|r| (r.0, r.1))
        .collect();
    held.sort();
    let want: Vec<(String, u64)> = (0..2)
        .map(|i| (format!("{}:7000", real_addr(i)), 10))
        .collect();
    assert_eq!(held, want, "{last}");
    let done = Testbed::wait_for(Duration::from_secs(40), || {
        l.tb.log("hold").contains("counts")
    });
    assert!(done, "hold client finished: {}", l.tb.log("hold"));
    let v = last_json(&l.tb.log("hold"));
    assert_eq!(v["counts"]["r0"], 10, "{v}");
    assert_eq!(v["counts"]["r1"], 10, "{v}");
    assert_eq!(v["errors"], 10, "the 10 beyond the limits are refused: {v}");
    assert_eq!(v["echo_errors"], 0, "{v}");
    assert_eq!(l.stop_lvsd(), Some(0));
}
