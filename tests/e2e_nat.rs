//! NAT load balancing end to end: real kernel TCP/UDP clients and servers
//! in namespaces, lvsd between them on af_packet vdevs.
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
use lvsd::testbed::lab::{real_addr, Lab};

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

fn nat_lab(workers: usize, scheduler: &str) -> Lab {
    let mut l = Lab::new(1, 3).expect("lab");
    let mut cfg = base(&l, workers);
    cfg += &format!(
        "[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\nscheduler = \"{scheduler}\"\nmethod = \"nat\"\n"
    );
    for (i, w) in [3, 2, 1].iter().enumerate() {
        cfg += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 8080\n  weight = {w}\n",
            real_addr(i)
        );
    }
    cfg += "\n[[service]]\nprotocol = \"udp\"\nvip = \"198.18.0.100\"\nport = 53\nscheduler = \"rr\"\nmethod = \"nat\"\n";
    for i in 0..3 {
        cfg += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 5353\n",
            real_addr(i)
        );
    }
    cfg += "\n[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 7000\nscheduler = \"lc\"\nmethod = \"nat\"\n";
    for i in 0..3 {
        cfg += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 7000\n",
            real_addr(i)
        );
    }
    for (i, ns) in l.reals.clone().iter().enumerate() {
        let name = format!("r{i}");
        server(&mut l, ns, "http", 8080, &name);
        server(&mut l, ns, "udp", 5353, &name);
        server(&mut l, ns, "banner", 7000, &name);
    }
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    l
}

fn counts(r: &ClientResult) -> Vec<u64> {
    (0..3)
        .map(|i| r.counts.get(&format!("r{i}")).copied().unwrap_or(0))
        .collect()
}

#[test]
fn nat_wrr_lc_udp_one_worker() {
    if common::need_root() {
        return;
    }
    let mut l = nat_lab(1, "wrr");
    let c = l.clients[0].clone();
    let r = client(&l, &c, &["http", "198.18.0.100", "80", "600"]);
    assert_eq!(r.errors, 0, "{r:?}\n{}", l.tb.log("lvsd"));
    assert_eq!(
        counts(&r),
        vec![300, 200, 100],
        "wrr 3:2:1 over 600 requests"
    );
    let h = client(&l, &c, &["hold", "198.18.0.100", "7000", "30", "1"]);
    assert_eq!((h.errors, h.echo_errors), (0, 0), "{h:?}");
    assert_eq!(
        counts(&h),
        vec![10, 10, 10],
        "lc spreads 30 long-lived connections"
    );
    let u = client(&l, &c, &["udp", "198.18.0.100", "53", "30"]);
    assert_eq!(u.errors, 0, "{u:?}");
    assert_eq!(counts(&u), vec![10, 10, 10], "UDP echo through NAT, rr");
    assert_eq!(l.stop_lvsd(), Some(0));
    let log = l.tb.log("lvsd");
    assert_eq!(
        log_field(&log, "mempool at exit", "mempool_in_use"),
        Some(0),
        "{log}"
    );
}

#[test]
fn nat_two_workers() {
    if common::need_root() {
        return;
    }
    let mut l = nat_lab(2, "wrr");
    let c = l.clients[0].clone();
    let r = client(&l, &c, &["http", "198.18.0.100", "80", "600"]);
    assert_eq!(r.errors, 0, "{r:?}\n{}", l.tb.log("lvsd"));
    let got = counts(&r);
    assert_eq!(got.iter().sum::<u64>(), 600);
    // Each worker runs its own wrr cursor over the flows it owns, so the
    // total is 3:2:1 within one partial cycle (6 picks) per worker.
    for (g, want) in got.iter().zip([300u64, 200, 100]) {
        assert!(g.abs_diff(want) <= 12, "wrr with 2 workers: {got:?}");
    }
    let h = client(&l, &c, &["hold", "198.18.0.100", "7000", "30", "1"]);
    assert_eq!((h.errors, h.echo_errors), (0, 0), "{h:?}");
    assert_eq!(l.stop_lvsd(), Some(0));
    let log = l.tb.log("lvsd");
    assert_eq!(
        log_field(&log, "mempool at exit", "mempool_in_use"),
        Some(0),
        "{log}"
    );
    let per_worker: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("worker counters"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("conns_created="))
                .and_then(|v| v.parse().ok())
        })
        .collect();
    assert_eq!(per_worker.len(), 2, "{log}");
    assert!(
        per_worker.iter().all(|&n| n > 100),
        "both workers own connections: {per_worker:?}"
    );
    eprintln!("2 workers, wrr 3:2:1 over 600 requests: {got:?}");
}

#[test]
fn persistence_keeps_a_client_net_on_one_real() {
    if common::need_root() {
        return;
    }
    let mut l = Lab::new(2, 3).expect("lab");
    let mut cfg = base(&l, 1);
    cfg += "[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\nscheduler = \"rr\"\nmethod = \"nat\"\n\
            persistence = { timeout = 60, netmask = \"255.255.255.0\" }\n";
    for i in 0..3 {
        cfg += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 8080\n",
            real_addr(i)
        );
    }
    cfg += "\n[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 81\nscheduler = \"rr\"\nmethod = \"nat\"\n";
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
    let (c0, c1) = (l.clients[0].clone(), l.clients[1].clone());
    let a = client(&l, &c0, &["http", "198.18.0.100", "80", "30"]);
    let b = client(&l, &c1, &["http", "198.18.0.100", "80", "30"]);
    assert_eq!((a.errors, b.errors), (0, 0));
    assert_eq!(a.counts.len(), 1, "one real for 198.18.0.2: {a:?}");
    assert_eq!(
        a.counts,
        b.counts.keys().map(|k| (k.clone(), 30)).collect(),
        "198.18.0.3 is in the same /24: {a:?} {b:?}"
    );
    // Without persistence the same clients spread over all three reals.
    let spread = client(&l, &c0, &["http", "198.18.0.100", "81", "30"]);
    assert_eq!(counts(&spread), vec![10, 10, 10], "{spread:?}");
    assert_eq!(l.stop_lvsd(), Some(0));
}
