//! Foundation end to end: kernel hosts ping the director's address on each
//! port through lvsd on net_af_packet vdevs, learn its MAC by ARP, and
//! lvsd stops cleanly on SIGTERM under traffic with every mbuf returned.
mod common;
use common::*;
use std::time::Duration;

#[test]
fn hosts_ping_each_port_and_learn_its_mac() {
    if need_root() {
        return;
    }
    let mut t = Topo::new(&[
        ("ext", "client", "198.18.0.2/24"),
        ("int", "real", "198.18.1.11/24"),
    ]);
    let cfg = t.base_config(&[("ext", "198.18.0.1/24"), ("int", "198.18.1.1/24")], false);
    t.start_lvsd(&cfg);
    for (port, addr) in [("ext", "198.18.0.1"), ("int", "198.18.1.1")] {
        let host = t.host(port);
        let (ok, out, err) =
            t.tb.exec(&host, "ping", &["-c", "3", "-i", "0.2", "-W", "2", addr])
                .unwrap();
        assert!(
            ok,
            "ping {addr} from {host} failed: {out}{err}\nlvsd log:\n{}",
            t.tb.log("lvsd")
        );
        assert!(out.contains("3 received"), "{out}");
        let neigh = t.tb.exec_ok(&host, "ip", &["neigh", "show", addr]).unwrap();
        let mac = t.port_mac(port);
        assert!(
            neigh.contains(&mac),
            "ARP table of {host} shows {neigh:?}, expected the port's MAC {mac}"
        );
    }
    // The VIP-less director does not answer for a foreign address.
    let host = t.host("ext");
    let (ok, _, _) =
        t.tb.exec(&host, "ping", &["-c", "1", "-W", "1", "198.18.0.77"])
            .unwrap();
    assert!(!ok, "nobody owns 198.18.0.77");
    assert_eq!(t.stop_lvsd(libc::SIGINT), Some(0), "{}", t.tb.log("lvsd"));
    let log = t.tb.log("lvsd");
    assert!(
        log.contains("arp_not_for_us="),
        "the foreign ARP was counted: {log}"
    );
}

#[test]
fn sigterm_under_traffic_exits_cleanly() {
    if need_root() {
        return;
    }
    let huge = hugepages_available();
    let mut t = Topo::new(&[("ext", "client", "198.18.0.2/24")]);
    let cfg = t.base_config(&[("ext", "198.18.0.1/24")], huge);
    t.start_lvsd(&cfg);
    let host = t.host("ext");
    // A bounded flood: at most 200k echo requests or 20 s.
    t.tb.spawn(
        "flood",
        &host,
        "ping",
        &["-f", "-q", "-c", "200000", "-w", "20", "198.18.0.1"],
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        t.tb.running("flood"),
        "flood ping still running when lvsd is stopped"
    );
    assert_eq!(t.stop_lvsd(libc::SIGTERM), Some(0), "{}", t.tb.log("lvsd"));
    let log = t.tb.log("lvsd");
    assert!(
        log.contains("mempool_in_use=0"),
        "every mbuf back in the pool: {log}"
    );
    assert!(!log.contains("leaked"), "{log}");
    let echo: u64 = log
        .split("echo_replies=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(echo > 100, "lvsd was under traffic (echo replies {echo})");
    if huge {
        let left: Vec<_> = std::fs::read_dir("/dev/hugepages")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let ours: Vec<_> = left.iter().filter(|n| n.starts_with(t.tb.tag())).collect();
        assert!(ours.is_empty(), "hugepage files left: {ours:?}");
    } else {
        eprintln!("note: no hugepages on this machine; ran with --no-huge");
    }
    eprintln!("echo replies under flood before SIGTERM: {echo}");
}
