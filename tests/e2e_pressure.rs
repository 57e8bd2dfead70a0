//! Table pressure end to end: NAT, one worker, a 1,024-entry table. 50
//! long-lived streams run; 4,000 spoofed SYNs from 120 forged sources, then
//! 3,000 spoofed UDP datagrams hit the VIP; meanwhile a real client opens
//! 100 new HTTP connections. With `[conn] defense = "auto"` at least 99
//! succeed and every stream stays intact (with `"off"` the flood holds the
//! table: 80 of 100 were served when this test was written).
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
use lvsd::testbed::lab::{real_addr, Lab};
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
const VIP: &str = "198.18.0.100";

fn pressure_lab(defense: &str) -> Lab {
    let mut l = Lab::new(1, 1).expect("lab");
    let mut cfg = base(&l, 1);
    cfg += &format!("[conn]\ncapacity = 1024\ndefense = \"{defense}\"\n\n");
    cfg += "[metrics]\nlisten = \"127.0.0.1:9520\"\n\n";
    for (proto, port, rport) in [("tcp", 80, 8080), ("tcp", 7000, 7000), ("udp", 53, 5353)] {
        cfg += &format!(
            "[[service]]\nprotocol = \"{proto}\"\nvip = \"{VIP}\"\nport = {port}\nscheduler = \"rr\"\nmethod = \"nat\"\n  [[service.real]]\n  address = \"{}\"\n  port = {rport}\n\n",
            real_addr(0)
        );
    }
    let ns = l.reals[0].clone();
    server(&mut l, &ns, "http", 8080, "r0");
    server(&mut l, &ns, "banner", 7000, "r0");
    server(&mut l, &ns, "udp", 5353, "r0");
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    l
}

/// A metric's value in lvsd's exposition (0 when absent).
fn metric(l: &Lab, line_start: &str) -> u64 {
    let body =
        l.tb.exec_ok(&l.dir, "curl", &["-sf", "http://127.0.0.1:9520/metrics"])
            .unwrap_or_default();
    body.lines()
        .find(|s| s.starts_with(line_start))
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn syn_and_udp_flood_leave_new_and_established_connections_served() {
    if common::need_root() {
        return;
    }
    let mut l = pressure_lab("auto");
    let c = l.clients[0].clone();
    let tools = lab::TOOLS;
    let hold = format!("{tools}/client.py");
    l.tb.spawn(
        "hold",
        &c,
        "python3",
        &[&hold, "hold", VIP, "7000", "50", "25"],
    )
    .expect("hold client");
    let up = Testbed::wait_for(Duration::from_secs(20), || {
        established_at(&l.tb.log("hold")).is_some()
    });
    assert!(up, "50 streams set up: {}", l.tb.log("hold"));

    let flood = format!("{tools}/flood.py");
    l.tb.spawn(
        "flood",
        &c,
        "python3",
        &[
            &flood, "eth0", VIP, // the VIP is on the client's subnet: its MAC is lvsd's
            VIP, "80", "4000", "53", "3000", "120",
        ],
    )
    .expect("flood");
    // The table is full of embryos once ~1,000 SYNs went through.
    let filling = Testbed::wait_for(Duration::from_secs(20), || {
        l.tb.log("flood").contains("sent syn 1500")
    });
    assert!(filling, "flood runs: {}", l.tb.log("flood"));
    let r = client(&l, &c, &["http", VIP, "80", "100"]);
    let done = Testbed::wait_for(Duration::from_secs(30), || {
        l.tb.log("flood").contains("\"udp\": 3000")
    });
    assert!(done, "flood finished: {}", l.tb.log("flood"));
    let evicted_tcp = metric(&l, "lvsd_conn_evicted_total{reason=\"tcp_embryonic\"}");
    let evicted_udp = metric(&l, "lvsd_conn_evicted_total{reason=\"udp_embryonic\"}");
    let ended = Testbed::wait_for(Duration::from_secs(40), || {
        last_json(&l.tb.log("hold")).get("counts").is_some()
    });
    let h = last_json(&l.tb.log("hold"));
    let served: u64 = r.counts.values().sum();
    eprintln!(
        "legit {served}/100 served ({} errors); evicted tcp {evicted_tcp} udp {evicted_udp}; streams {h}",
        r.errors
    );
    assert!(served >= 99, "{r:?}\n{}", l.tb.log("lvsd"));
    assert!(ended, "hold client ended: {}", l.tb.log("hold"));
    assert_eq!(h["counts"]["r0"].as_u64(), Some(50), "{h}");
    assert_eq!(
        (h["errors"].as_u64(), h["echo_errors"].as_u64()),
        (Some(0), Some(0)),
        "every stream intact: {h}"
    );
    assert!(evicted_tcp > 0 && evicted_udp > 0, "the policy ran");
    assert_eq!(l.stop_lvsd(), Some(0));
}
