//! Authenticated adverts end to end: a host on the client LAN forges the
//! pair's adverts (priority 255 spoofing the backup, then priority 0
//! spoofing the active) while a client fetches through the VIP: nothing
//! changes and the refusals are counted. Then a replay of captured genuine
//! adverts after the active is killed does not delay the takeover.
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
#[path = "common/ha.rs"]
mod ha;
use ha::*;
use lvsd::testbed::Testbed;
use std::time::Duration;

const PY: &str = "/usr/bin/python3";

fn refused(l: &lvsd::testbed::lab::Lab, ns: &str) -> u64 {
    let body =
        l.tb.exec_ok(ns, "curl", &["-sf", "http://127.0.0.1:9520/metrics"])
            .unwrap_or_default();
    body.lines()
        .filter(|x| x.starts_with("lvsd_ha_adverts_refused_total{"))
        .filter_map(|x| x.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

fn mac(l: &lvsd::testbed::lab::Lab, ns: &str) -> String {
    l.tb.exec_ok(ns, "cat", &["/sys/class/net/lv-ext/address"])
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Run the advert tool in `ns` to completion (at most `secs` + 10 s).
fn tool(l: &mut lvsd::testbed::lab::Lab, label: &str, ns: &str, args: &[&str], secs: u64) {
    let script = format!("{TOOLS}/advert.py");
    let mut a = vec![script.as_str()];
    a.extend_from_slice(args);
    l.tb.spawn(label, ns, PY, &a).unwrap();
    let done = Testbed::wait_for(Duration::from_secs(secs + 10), || {
        l.tb.log(label).contains('{')
    });
    assert!(done, "{label}: {}", l.tb.log(label));
}

#[test]
fn forged_and_replayed_adverts_change_nothing() {
    if common::need_root() {
        return;
    }
    let (mut l, dirb, key) = pair_lab();
    let dira = l.dir.clone();
    let (ca, cb) = (config(&l, 'a', &key), config(&l, 'b', &key));
    start_pair(&mut l, &dirb, &ca, &cb, "bulk sync from the peer done", 10);
    std::thread::sleep(Duration::from_secs(1));
    let (mac_a, mac_b) = (mac(&l, &dira), mac(&l, &dirb));
    assert!(mac_a.len() == 17 && mac_b.len() == 17, "{mac_a} {mac_b}");
    let c = l.clients[0].clone();
    let client = format!("{TOOLS}/client.py");
    l.tb.spawn(
        "load",
        &c,
        "python3",
        &[&client, "httplog", "198.18.0.100", "80", "12"],
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    // Priority 255 "from the backup" at the active; priority 0 "from the
    // active" at the backup (a director drops frames from its own MAC).
    let (vrid, secs) = ("51", "5");
    tool(
        &mut l,
        "forge255",
        &c,
        &["forge", "eth0", "198.18.0.251", &mac_b, vrid, "255", secs],
        5,
    );
    tool(
        &mut l,
        "forge0",
        &c,
        &["forge", "eth0", "198.18.0.250", &mac_a, vrid, "0", secs],
        5,
    );
    assert!(
        Testbed::wait_for(Duration::from_secs(20), || last_json(&l.tb.log("load"))
            ["log"]
            .is_array()),
        "load finished"
    );
    let v = last_json(&l.tb.log("load"));
    let entries = v["log"].as_array().unwrap();
    let ok = entries.iter().filter(|e| e[1] != "ERR").count();
    eprintln!("{ok} of {} fetches succeeded", entries.len());
    assert!(!entries.is_empty() && ok * 100 >= entries.len() * 99, "{v}");
    let (loga, logb) = (l.tb.log("lvsd-a"), l.tb.log("lvsd-b"));
    assert!(!loga.contains("leaving active role"), "{loga}");
    assert!(!logb.contains("becoming ACTIVE"), "{logb}");
    let (ra, rb) = (refused(&l, &dira), refused(&l, &dirb));
    eprintln!("adverts refused: a {ra}, b {rb}");
    assert!(ra > 0 && rb > 0, "refusals counted: a {ra}, b {rb}");

    // Genuine adverts captured on the client LAN, replayed once the active
    // is dead: the backup still takes over.
    let cap = l.tb.dir.join("adverts.hex");
    let cap = cap.to_string_lossy().to_string();
    tool(&mut l, "capture", &c, &["capture", "eth0", "2", &cap], 2);
    let n: u64 = last_json(&l.tb.log("capture"))["captured"]
        .as_u64()
        .unwrap_or(0);
    assert!(n >= 10, "captured {n} adverts");
    let before = refused(&l, &dirb);
    let killed = now();
    l.tb.stop("lvsd-a", libc::SIGKILL, Duration::from_secs(5));
    let script = format!("{TOOLS}/advert.py");
    l.tb.spawn("replay", &c, PY, &[&script, "replay", "eth0", &cap, "4"])
        .unwrap();
    assert!(
        Testbed::wait_for(Duration::from_secs(5), || l
            .tb
            .log("lvsd-b")
            .contains("becoming ACTIVE")),
        "replayed adverts kept the dead active alive: {}",
        l.tb.log("lvsd-b")
    );
    let logb = l.tb.log("lvsd-b");
    let line = logb
        .lines()
        .find(|x| x.contains("becoming ACTIVE"))
        .unwrap_or("");
    let takeover = log_time(line, killed).unwrap_or(killed) - killed;
    eprintln!("takeover under replay in {:.0} ms", takeover * 1000.0);
    assert!(takeover < 1.5, "takeover {takeover:.3} s");
    assert!(Testbed::wait_for(Duration::from_secs(10), || l
        .tb
        .log("replay")
        .contains('{')));
    let after = refused(&l, &dirb);
    assert!(after > before, "replays refused: {before} -> {after}");
    assert_eq!(
        l.tb.stop("lvsd-b", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
}
