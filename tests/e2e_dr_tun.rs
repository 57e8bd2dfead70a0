//! DR and TUN end to end: real servers on the client segment hold the VIP
//! on `lo`; replies go straight to the client, so lvsd sees one direction.
//! TUN reals decapsulate IPIP with a userspace helper (no ipip module here).
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
use lvsd::testbed::lab::Lab;
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
const VIP: &str = "198.18.0.100";

fn direct_lab(method: &str) -> Lab {
    let mut l = Lab::new(1, 0).expect("lab");
    let mut cfg = base(&l, 1);
    cfg += &format!("[[service]]\nprotocol = \"tcp\"\nvip = \"{VIP}\"\nport = 80\nscheduler = \"rr\"\nmethod = \"{method}\"\n");
    for i in 0..3 {
        let addr = format!("198.18.0.{}", 11 + i);
        // DR reals are prepared by the shipped script; TUN reals in Rust
        // (the script's tun mode needs the ipip module this kernel lacks).
        let ns = if method == "dr" {
            let ns = l.add_direct_real(&addr, None).expect("real");
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/realserver.sh");
            l.tb.exec_ok(&ns, script, &["dr", VIP])
                .expect("deploy/realserver.sh dr");
            ns
        } else {
            l.add_direct_real(&addr, Some(VIP)).expect("real")
        };
        if method == "tun" {
            let label = format!("decap{i}");
            let script = format!("{TOOLS}/ipip_decap.py");
            l.tb.spawn(&label, &ns, "python3", &[&script, "tun0"])
                .expect("decap");
            let ok = Testbed::wait_for(Duration::from_secs(10), || {
                l.tb.log(&label).contains("ready")
            });
            assert!(ok, "decap helper: {}", l.tb.log(&label));
        }
        server(&mut l, &ns, "http", 80, &format!("r{i}"));
        cfg += &format!("  [[service.real]]\n  address = \"{addr}\"\n");
    }
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    l
}

fn check(method: &str) {
    let mut l = direct_lab(method);
    let c = l.clients[0].clone();
    let r = client(&l, &c, &["http", VIP, "80", "90"]);
    assert_eq!(r.errors, 0, "{r:?}\n{}", l.tb.log("lvsd"));
    let got: Vec<u64> = (0..3)
        .map(|i| r.counts.get(&format!("r{i}")).copied().unwrap_or(0))
        .collect();
    assert_eq!(got, vec![30, 30, 30], "rr over three {method} reals");
    // The client learned the VIP's MAC from lvsd, not from a real server.
    let neigh = l.tb.exec_ok(&c, "ip", &["neigh", "show", VIP]).unwrap();
    let dir_mac =
        l.tb.exec_ok(&l.dir, "cat", &["/sys/class/net/lv-ext/address"])
            .unwrap();
    assert!(
        neigh.contains(dir_mac.trim()),
        "VIP at the director's MAC: {neigh}"
    );
    assert_eq!(l.stop_lvsd(), Some(0));
    let log = l.tb.log("lvsd");
    let rx = log_field(&log, "worker counters", "rx").unwrap_or(0);
    let tx = log_field(&log, "worker counters", "tx").unwrap_or(0);
    // 90 connections of ~5 client segments each pass lvsd one way; the
    // server's segments (SYN-ACK, data, FIN) never reach it.
    assert!(rx >= 90 * 4 && tx >= 90 * 4, "rx {rx} tx {tx}: {log}");
    assert!(
        rx <= 90 * 8,
        "only the client's segments reach lvsd (rx {rx})"
    );
    let nat_no_conn = log.contains("nat_no_conn=");
    assert!(!nat_no_conn, "no reply crossed the director: {log}");
    eprintln!("{method}: 90 requests {got:?}; director rx {rx} tx {tx} (one direction)");
}

#[test]
fn dr_replies_bypass_the_director() {
    if common::need_root() {
        return;
    }
    check("dr");
}

#[test]
fn tun_ipip_to_decapsulating_reals() {
    if common::need_root() {
        return;
    }
    check("tun");
}
