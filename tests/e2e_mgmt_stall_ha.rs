//! The management loop never stalls, as the active half of a pair: the
//! stall measurement of `e2e_mgmt_stall` (table filled by `lvsd-gen` over
//! `net_memif`, 50 idle metrics connections, a control client trickling
//! one byte per second, `lvsadm -Lnc` of the whole table, the loop's
//! longest iteration within 20 ms) while a live backup holds the peer link
//! and receives the table by state sync, and the backup never takes over.
//!
//! The active's data port is the generator's memif: with `[ha]`, a port
//! without link is a fault that hands the role over, so the generator stays
//! connected (paced ACKs after its warm-up) until the end. The backup's data
//! port is `net_null` (link up, no peer process needed); its evidence of a
//! live active is the peer link's heartbeats (127.0.0.1, one port each),
//! which keep a backup from taking over without adverts (src/ha/role.rs).
mod common;
#[path = "common/stall.rs"]
mod stall;
use lvsd::testbed::Testbed;
use serde_json::Value;
use stall::{sample, scrape, METRICS};
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
const LVSADM: &str = env!("CARGO_BIN_EXE_lvsadm");
const METRICS_B: &str = "127.0.0.1:9532";

/// `lvsadm show ha --json` on the control socket `ctl`.
fn show_ha(ctl: &str) -> Value {
    let json = lvsd::testbed::run_ok(LVSADM, &["--socket", ctl, "show", "ha", "--json"])
        .unwrap_or_else(|e| panic!("lvsadm show ha --json on {ctl}: {e}"));
    serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("show ha --json: {e}: {json}"))
}

/// The `[ha]` section of node `me` (`a`: priority 150, `b`: 100).
fn ha_section(me: char, key: &std::path::Path) -> String {
    let (node, prio, listen, peer) = match me {
        'a' => ("lvs-a", 150, "127.0.0.1:5511", "127.0.0.1:5512"),
        _ => ("lvs-b", 100, "127.0.0.1:5512", "127.0.0.1:5511"),
    };
    format!(
        "\n[ha]\nnode = \"{node}\"\npriority = {prio}\npreempt = false\npeer = \"{peer}\"\n\
         listen = \"{listen}\"\nkey_file = \"{}\"\ninterval_ms = 100\ndead_interval_ms = 300\n",
        key.display()
    )
}

/// Write the configuration of node `me` and start it as `lvsd-<me>`.
fn start(tb: &mut Testbed, ns: &str, me: char, conf: &str) {
    let path = tb.dir.join(format!("lvsd-{me}.toml"));
    std::fs::write(&path, conf).unwrap();
    let path = path.to_string_lossy().to_string();
    let label = format!("lvsd-{me}");
    tb.spawn(&label, ns, LVSD, &["run", "-c", &path])
        .expect("spawn lvsd");
    let up = Testbed::wait_for(Duration::from_secs(30), || {
        tb.log(&label).contains("lvsd running")
    });
    assert!(up, "{label} started: {}", tb.log(&label));
}

/// Waits (up to `secs`) until `scrape` shows a table of at least `least`
/// entries that no longer grows; its size.
fn settled_entries(tb: &Testbed, ns: &str, addr: &str, least: u64, secs: u64) -> u64 {
    let mut last = 0;
    Testbed::wait_for(Duration::from_secs(secs), || {
        std::thread::sleep(Duration::from_secs(1));
        let n = sample(&scrape(tb, ns, addr), "lvsd_worker_conn_table_entries") as u64;
        let done = n >= least && n == last;
        last = n;
        done
    });
    last
}

/// Role, transitions and peer-link changes of one node, as compared
/// before and after the measurement.
fn pair_facts(v: &Value) -> (Value, Value, Value, Value) {
    (
        v["role"].clone(),
        v["transitions_total"].clone(),
        v["peer"]["connected"].clone(),
        v["peer"]["disconnects"].clone(),
    )
}

#[test]
#[ignore = "7-17 min on a 2-CPU machine (three DPDK processes and a niced lvsadm share it): \
            run with `cargo test --test e2e_mgmt_stall_ha -- --ignored`"]
fn listing_a_full_table_on_the_active_never_makes_the_backup_take_over() {
    if common::need_root() {
        return;
    }
    let want = stall::wanted_conns();
    let mut tb = Testbed::new().expect("testbed");
    let ns = tb.netns("stallha").expect("netns");
    let memif = tb.dir.join("memif.sock").to_string_lossy().to_string();
    let key = tb.dir.join("ha.key");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let ctl = |me: char| {
        tb.dir
            .join(format!("lvsd-{me}.sock"))
            .to_string_lossy()
            .to_string()
    };
    let (ctl_a, ctl_b) = (ctl('a'), ctl('b'));
    let conf_a = stall::perf_conf(&tb, &memif, "a", &ctl_a, METRICS) + &ha_section('a', &key);
    let memif_line =
        format!("device = \"net_memif0,role=server,socket={memif},mac=02:00:00:00:00:01\"");
    let conf_b = stall::perf_conf(&tb, &memif, "b", &ctl_b, METRICS_B) + &ha_section('b', &key);
    assert!(conf_b.contains(&memif_line), "{conf_b}");
    let conf_b = conf_b
        .replace(&memif_line, "device = \"net_null0\"")
        .replace("address = \"198.19.0.1/24\"", "address = \"198.19.0.2/24\"")
        .replace("mac = \"02:00:00:00:00:01\"\n", "");

    // A, then the generator on its port (the link comes up, A becomes
    // active), then B while the generator fills A's table: B receives a
    // bulk sync of what is there and the rest live.
    start(&mut tb, &ns, 'a', &conf_a);
    // The warm-up is bounded in time: on a busy machine not every SYN
    // goes out, and those before A is active are not served.
    let warm = want * 7 / 5;
    // Half the single director's warm-up rate: three busy-polling DPDK
    // processes share the CPUs here, and the warm-up's time is bounded.
    // The paced phase outlasts the listing (minutes on a busy machine); the
    // generator is stopped by PID at the end.
    let gen = stall::gen_args(&tb, &memif, (warm, 50_000), 100, 1200.0);
    let gen: Vec<&str> = gen.iter().map(String::as_str).collect();
    tb.spawn("gen", &ns, gen[0], &gen[1..]).expect("lvsd-gen");
    let active = Testbed::wait_for(Duration::from_secs(30), || {
        tb.log("lvsd-a").contains("becoming ACTIVE")
    });
    assert!(active, "A active: {}\n{}", tb.log("lvsd-a"), tb.log("gen"));
    start(&mut tb, &ns, 'b', &conf_b);
    let backup = Testbed::wait_for(Duration::from_secs(10), || {
        let v = show_ha(&ctl_b);
        v["role"] == "backup" && v["peer"]["connected"] == true
    });
    assert!(
        backup,
        "B backup with the peer link up: {}",
        show_ha(&ctl_b)
    );

    let entries = settled_entries(&tb, &ns, METRICS, want * 9 / 10, 90);
    eprintln!("connections in A's table: {entries} (asked for {want}, sent {warm})");
    if entries * 10 < want * 9 {
        let text = scrape(&tb, &ns, METRICS);
        let counted: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.ends_with(" 0"))
            .filter(|l| l.contains("drop") || l.contains("missed") || l.contains("transition"))
            .collect();
        panic!(
            "table filled: {entries} of {want}: {counted:#?}\nA: {}",
            tb.log("lvsd-a")
        );
    }
    let synced = settled_entries(&tb, &ns, METRICS_B, entries * 99 / 100, 60);
    let sync = &show_ha(&ctl_b)["sync"];
    eprintln!(
        "backup: {synced} connections installed; {} records received live, {} in {} bulk syncs",
        sync["records_received"], sync["bulk_records_received"], sync["bulk_syncs_received"]
    );
    assert!(
        synced * 100 >= entries * 99,
        "the backup holds {synced} of the active's {entries} connections: {sync}"
    );

    // The pair has settled: from here on, nothing changes.
    let (a0, b0) = (show_ha(&ctl_a), show_ha(&ctl_b));
    assert_eq!(a0["role"], "active", "{a0}");
    assert_eq!(b0["role"], "backup", "{b0}");
    let b_takeovers = |tb: &Testbed| tb.log("lvsd-b").matches("becoming ACTIVE").count();
    let b_settled = b_takeovers(&tb);
    if b_settled > 0 {
        eprintln!("B was active {b_settled} times before the pair settled");
    }
    let stall = stall::listing_under_idle_and_slow_clients(&mut tb, &ns, "lvsd-a", &ctl_a, entries);
    let (a1, b1) = (show_ha(&ctl_a), show_ha(&ctl_b));
    eprintln!(
        "transitions: A {} -> {}, B {} -> {}",
        a0["transitions_total"],
        a1["transitions_total"],
        b0["transitions_total"],
        b1["transitions_total"]
    );
    let why = format!("gen: {}\nB: {}", tb.log("gen"), tb.log("lvsd-b"));
    assert_eq!(pair_facts(&a1), pair_facts(&a0), "A: {a1}\n{why}");
    assert_eq!(pair_facts(&b1), pair_facts(&b0), "B: {b1}\n{why}");
    assert_eq!(
        b_takeovers(&tb),
        b_settled,
        "B never took over: {}",
        tb.log("lvsd-b")
    );

    stall.assert_within_bar();

    assert_eq!(
        tb.stop("lvsd-b", libc::SIGINT, Duration::from_secs(30)),
        Some(0)
    );
    let _ = tb.stop("gen", libc::SIGINT, Duration::from_secs(10));
    assert_eq!(
        tb.stop("lvsd-a", libc::SIGINT, Duration::from_secs(30)),
        Some(0)
    );
}
