//! Active/backup end to end: two lvsd processes on the same client and
//! real-server networks (NAT, the reals' gateway floating), authenticated
//! peer link, connection sync; kill -9 the active under 200 long-lived
//! streams; control-link cut; wrong key; bulk sync.
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
#[path = "common/ha.rs"]
mod ha;
use ha::*;
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

#[test]
fn failover_keeps_every_established_connection() {
    if common::need_root() {
        return;
    }
    let (mut l, dirb, key) = pair_lab();
    let dira = l.dir.clone();
    let (ca, cb) = (config(&l, 'a', &key), config(&l, 'b', &key));
    start_pair(&mut l, &dirb, &ca, &cb, "HA peer connected", 5);
    let c = l.clients[0].clone();
    let script = format!("{TOOLS}/client.py");
    // 200 long-lived connections echoing a numbered line every 0.2 s for
    // 12 s (every byte checked), and new connections all along.
    l.tb.spawn(
        "hold",
        &c,
        "python3",
        &[&script, "hold", "198.18.0.100", "7000", "200", "12"],
    )
    .unwrap();
    l.tb.spawn(
        "load",
        &c,
        "python3",
        &[&script, "httplog", "198.18.0.100", "80", "14"],
    )
    .unwrap();
    let up = Testbed::wait_for(Duration::from_secs(20), || {
        established_at(&l.tb.log("hold")).is_some()
    });
    assert!(up, "200 connections established: {}", l.tb.log("hold"));
    assert_eq!(
        last_json(&l.tb.log("hold"))["established"].as_u64(),
        Some(200),
        "{}",
        l.tb.log("hold")
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !l.tb.log("lvsd-b").contains("becoming ACTIVE"),
        "the backup stayed backup while the active lived"
    );
    let killed = now();
    l.tb.stop("lvsd-a", libc::SIGKILL, Duration::from_secs(5));
    assert!(
        Testbed::wait_for(Duration::from_secs(5), || l
            .tb
            .log("lvsd-b")
            .contains("becoming ACTIVE")),
        "{}",
        l.tb.log("lvsd-b")
    );
    let logb = l.tb.log("lvsd-b");
    let line = logb
        .lines()
        .find(|x| x.contains("becoming ACTIVE"))
        .unwrap_or("");
    let takeover = log_time(line, killed).unwrap_or(killed) - killed;
    eprintln!(
        "takeover: kill -9 to backup active in {:.0} ms",
        takeover * 1000.0
    );
    // `lvsadm show ha` on the new active: its role, the takeover and its
    // reason, the link to the dead peer down, the peer's last word; the
    // metrics carry the same figures.
    let b = ("backup", "active", "no_active_peer");
    let shown = check_show_ha(&l, "lvsd-b", &dirb, b, false, killed);
    assert!(
        shown.contains("(said ACTIVE (MASTER), priority 150)"),
        "{shown}"
    );
    eprintln!("lvsadm show ha on the new active:\n{shown}");
    assert!(
        Testbed::wait_for(Duration::from_secs(25), || l
            .tb
            .log("hold")
            .contains("counts")),
        "hold finished"
    );
    let h = last_json(&l.tb.log("hold"));
    assert_eq!(h["errors"].as_u64(), Some(0), "{h}");
    assert_eq!(
        h["echo_errors"].as_u64(),
        Some(0),
        "all 200 streams intact through the failover: {h}\n{logb}"
    );
    let n: u64 = h["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(n, 200);
    assert!(
        Testbed::wait_for(Duration::from_secs(20), || last_json(&l.tb.log("load"))
            ["log"]
            .is_array()),
        "load finished"
    );
    let v = last_json(&l.tb.log("load"));
    let entries = v["log"].as_array().unwrap();
    let first_ok_after = entries
        .iter()
        .filter(|e| e[0].as_f64().unwrap_or(0.0) > killed && e[1] != "ERR")
        .map(|e| e[0].as_f64().unwrap_or(0.0))
        .fold(f64::MAX, f64::min);
    eprintln!(
        "new connections succeed again {:.0} ms after the kill",
        (first_ok_after - killed) * 1000.0
    );
    let late_failures = entries
        .iter()
        .filter(|e| e[0].as_f64().unwrap_or(0.0) > killed + 2.0 && e[1] == "ERR")
        .count();
    assert_eq!(late_failures, 0, "new connections work after the takeover");
    assert!(takeover < 1.0, "takeover {takeover:.3} s");
    let synced = logb.contains("bulk sync from the peer done");
    assert!(synced, "the backup was bulk-synced at start: {logb}");
    // The old active returns with preempt: it takes the VIPs back after its
    // bulk sync, and again no established connection is lost.
    l.tb.spawn(
        "hold2",
        &c,
        "python3",
        &[&script, "hold", "198.18.0.100", "7000", "100", "10"],
    )
    .unwrap();
    let up = Testbed::wait_for(Duration::from_secs(20), || {
        established_at(&l.tb.log("hold2")).is_some()
    });
    assert!(up, "{}", l.tb.log("hold2"));
    let restarted = now();
    l.start_lvsd_in("lvsd-a", &dira, LVSD, &ca)
        .expect("lvsd a again");
    let back = Testbed::wait_for(Duration::from_secs(10), || {
        l.tb.log("lvsd-a").contains("becoming ACTIVE")
    });
    assert!(back, "{}", l.tb.log("lvsd-a"));
    let loga = l.tb.log("lvsd-a");
    let synced_at = loga
        .lines()
        .position(|x| x.contains("bulk sync from the peer done"));
    let active_at = loga.lines().position(|x| x.contains("becoming ACTIVE"));
    assert!(
        synced_at.is_some() && synced_at < active_at,
        "bulk sync before taking over: {loga}"
    );
    assert!(Testbed::wait_for(Duration::from_secs(5), || l
        .tb
        .log("lvsd-b")
        .contains("leaving active role")));
    let a = ("backup", "active", "preempt");
    check_show_ha(&l, "lvsd-a", &dira, a, true, restarted);
    let b = ("active", "backup", "higher_rank_active");
    check_show_ha(&l, "lvsd-b", &dirb, b, true, restarted);
    assert!(
        Testbed::wait_for(Duration::from_secs(25), || l
            .tb
            .log("hold2")
            .contains("counts")),
        "hold2 finished"
    );
    let h2 = last_json(&l.tb.log("hold2"));
    assert_eq!(
        (h2["errors"].as_u64(), h2["echo_errors"].as_u64()),
        (Some(0), Some(0)),
        "preempt kept every connection: {h2}"
    );
    let notified = std::fs::read_to_string(l.tb.dir.join("notify-b")).unwrap_or_default();
    assert!(
        notified.contains("active lvs-b"),
        "notify_active ran on the backup's takeover: {notified:?}"
    );
    assert_eq!(
        l.tb.stop("lvsd-b", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
    assert_eq!(
        l.tb.stop("lvsd-a", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
}
