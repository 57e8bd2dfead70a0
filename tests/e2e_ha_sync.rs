//! Active/backup end to end (sync, authentication, split brain): two lvsd processes on the same client and
//! real-server networks (NAT, the reals' gateway floating), authenticated
//! peer link, connection sync; kill -9 the active under 200 long-lived
//! streams; control-link cut; wrong key; bulk sync.
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
#[path = "common/ha.rs"]
mod ha;
#[path = "common/readme.rs"]
mod readme;
use ha::*;
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

#[test]
fn control_link_cut_wrong_key_and_bulk_sync() {
    if common::need_root() {
        return;
    }
    let (mut l, dirb, key) = pair_lab();
    let dira = l.dir.clone();
    l.start_lvsd_in("lvsd-a", &dira, LVSD, &config(&l, 'a', &key))
        .expect("lvsd a");
    assert!(Testbed::wait_for(Duration::from_secs(5), || l
        .tb
        .log("lvsd-a")
        .contains("becoming ACTIVE")));
    // 10,000 UDP connections exist before the backup starts.
    let c = l.clients[0].clone();
    let u = client(&l, &c, &["udp", "198.18.0.100", "53", "10000"]);
    assert_eq!(u.errors, 0, "{u:?}");
    // A backup with the wrong key is refused and gets nothing.
    let bad = l.tb.dir.join("bad.key");
    write_key(&bad, "ffffffffffffffffffffffffffffffff\n");
    let cfg_bad = config(&l, 'b', &bad);
    l.start_lvsd_in("lvsd-bad", &dirb, LVSD, &cfg_bad)
        .expect("lvsd bad");
    std::thread::sleep(Duration::from_secs(2));
    let loga = l.tb.log("lvsd-a");
    assert!(
        loga.contains("refused (authentication)"),
        "the wrong key is refused and logged: {loga}"
    );
    let logbad = l.tb.log("lvsd-bad");
    assert!(
        !logbad.contains("bulk sync from the peer done"),
        "nothing installed from a refused peer"
    );
    assert!(
        !logbad.contains("becoming ACTIVE"),
        "adverts on the data network keep it backup"
    );
    assert_eq!(
        l.tb.stop("lvsd-bad", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
    // The right key: bulk sync brings all 10,000 connections.
    l.start_lvsd_in("lvsd-b", &dirb, LVSD, &config(&l, 'b', &key))
        .expect("lvsd b");
    let synced = Testbed::wait_for(Duration::from_secs(15), || {
        l.tb.log("lvsd-b").contains("bulk sync from the peer done")
    });
    assert!(synced, "{}", l.tb.log("lvsd-b"));
    let logb = l.tb.log("lvsd-b");
    let line = logb
        .lines()
        .find(|x| x.contains("bulk sync from the peer done"))
        .unwrap_or("");
    let count: u64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("count="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(count >= 10_000, "bulk sync carried {count} records: {line}");
    // Sync under a burst of new connections: records/s and lag to the backup.
    let metric = |ns: &str, name: &str| -> u64 {
        let body =
            l.tb.exec_ok(ns, "curl", &["-sf", "http://127.0.0.1:9520/metrics"])
                .unwrap_or_default();
        body.lines()
            .find(|x| x.starts_with(name))
            .and_then(|x| x.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    // Every HA metric family the README names is exported by a director with `[ha]`.
    let body =
        l.tb.exec_ok(&dirb, "curl", &["-sf", "http://127.0.0.1:9520/metrics"])
            .unwrap_or_default();
    for name in readme::metric_names()
        .iter()
        .filter(|n| n.starts_with("lvsd_ha_"))
    {
        assert!(
            body.lines()
                .any(|x| x.starts_with(&format!("# TYPE {name} "))),
            "README names {name}, which an HA director does not export"
        );
    }
    // Sync under bursts of new connections: records/s and lag to the
    // backup. 5,000 from the client's address (ports 40000..44999), then
    // 50,000 from a second address (ports 10000..59999), all new.
    let burst = |n: u64, base: &str, src: &str| {
        let before = metric(&dirb, "lvsd_ha_sync_records_received_total");
        let t0 = now();
        let out = lvsd::testbed::run_ok(
            "ip",
            &[
                "netns",
                "exec",
                &c,
                "python3",
                &format!("{TOOLS}/client.py"),
                "udp",
                "198.18.0.100",
                "53",
                &n.to_string(),
                base,
                src,
            ],
        );
        let out: serde_json::Value =
            serde_json::from_str(out.unwrap_or_default().trim()).unwrap_or_default();
        assert_eq!(
            out["errors"].as_u64(),
            Some(0),
            "burst of {n} answered: {out}"
        );
        let t_sent = now();
        let all = Testbed::wait_for(Duration::from_secs(20), || {
            metric(&dirb, "lvsd_ha_sync_records_received_total") >= before + n
        });
        let t_done = now();
        assert!(all, "the backup received the burst's {n} records");
        eprintln!(
            "sync burst: {n} new connections in {:.2} s ({:.0} conn/s offered); all records on the backup {:.0} ms after the last was created ({:.0} records/s end to end)",
            t_sent - t0,
            n as f64 / (t_sent - t0),
            (t_done - t_sent) * 1000.0,
            n as f64 / (t_done - t0)
        );
    };
    burst(5_000, "40000", "0.0.0.0");
    l.tb.exec_ok(&c, "ip", &["addr", "add", "198.18.0.60/24", "dev", "eth0"])
        .expect("second client address");
    burst(50_000, "10000", "198.18.0.60");
    // The dropped-records series exist per reason (a missing series must
    // fail here, not read as 0), and none fell behind.
    let body =
        l.tb.exec_ok(&dira, "curl", &["-sf", "http://127.0.0.1:9520/metrics"])
            .unwrap_or_default();
    let dropped = |reason: &str| -> Option<u64> {
        let series = format!("lvsd_ha_sync_records_dropped_total{{reason=\"{reason}\"}} ");
        body.lines()
            .find_map(|x| x.strip_prefix(&series))
            .and_then(|v| v.trim().parse().ok())
    };
    for reason in ["behind", "no_peer", "install_full"] {
        assert!(dropped(reason).is_some(), "no {reason} series:\n{body}");
    }
    assert_eq!(dropped("behind"), Some(0), "sync kept up");
    // Cut only the control link: the backup must not become active.
    l.mgmt_link(false).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !l.tb.log("lvsd-b").contains("becoming ACTIVE"),
        "no split brain: {}",
        l.tb.log("lvsd-b")
    );
    // On the data network only the active answers for the VIP: the client,
    // asking again, still resolves it to the active's MAC, and traffic flows.
    let mac_a =
        l.tb.exec_ok(&dira, "cat", &["/sys/class/net/lv-ext/address"])
            .unwrap();
    let _ = l.tb.exec(&c, "ip", &["neigh", "flush", "dev", "eth0"]);
    let u2 = client(&l, &c, &["udp", "198.18.0.100", "53", "20", "50000"]);
    assert_eq!(u2.errors, 0, "{u2:?}");
    let neigh =
        l.tb.exec_ok(&c, "ip", &["neigh", "show", "198.18.0.100"])
            .unwrap();
    assert!(
        neigh.contains(mac_a.trim()),
        "the VIP resolves to the active only: {neigh}"
    );
    l.mgmt_link(true).unwrap();
    assert_eq!(
        l.tb.stop("lvsd-b", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
    assert_eq!(
        l.tb.stop("lvsd-a", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
    let installed = log_field(&l.tb.log("lvsd-b"), "worker counters", "conn_table").unwrap_or(0);
    assert!(
        installed >= 10_000,
        "backup table held the synced connections: {installed}"
    );
}
