//! The management loop never stalls: with the connection table filled by
//! `lvsd-gen` over `net_memif` (perf/lvsd-perf.toml, as in
//! `e2e_perf_harness`), 50 idle TCP connections held on the metrics port
//! and a control client sending one byte per second, `lvsadm -Lnc` lists
//! every connection while the loop's longest iteration
//! (`lvsd_mgmt_loop_max_seconds`) stays within 20 ms. The count is
//! `LVSD_STALL_CONNS` (default 500,000). The same with the director as the
//! active half of a pair: `e2e_mgmt_stall_ha`.
mod common;
#[path = "common/stall.rs"]
mod stall;
use lvsd::testbed::Testbed;
use stall::{sample, scrape, METRICS};
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

/// Fill the table: `n` connections opened (SYN, then ACK) by the generator.
fn fill(tb: &Testbed, ns: &str, memif: &str, n: u64) {
    let mut args = vec!["600".to_string()];
    args.extend(stall::gen_args(tb, memif, (n, 100_000), 1000, 0.1));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, err) = tb.exec(ns, "timeout", &args).expect("lvsd-gen");
    assert!(ok, "lvsd-gen: {out}\n{err}\nlvsd: {}", tb.log("lvsd"));
}

#[test]
fn listing_a_full_table_under_idle_and_slow_clients_never_stalls_the_loop() {
    if common::need_root() {
        return;
    }
    let want = stall::wanted_conns();
    let mut tb = Testbed::new().expect("testbed");
    let ns = tb.netns("stall").expect("netns");
    let memif = tb.dir.join("memif.sock").to_string_lossy().to_string();
    let ctl = tb.dir.join("lvsd.sock").to_string_lossy().to_string();
    let conf = stall::perf_conf(&tb, &memif, "", &ctl, METRICS);
    let path = tb.dir.join("lvsd.toml");
    std::fs::write(&path, &conf).unwrap();
    let path = path.to_string_lossy().to_string();
    tb.spawn("lvsd", &ns, LVSD, &["run", "-c", &path])
        .expect("spawn lvsd");
    let up = Testbed::wait_for(Duration::from_secs(30), || {
        tb.log("lvsd").contains("lvsd running")
    });
    assert!(up, "lvsd started: {}", tb.log("lvsd"));

    fill(&tb, &ns, &memif, want);
    let entries = sample(&scrape(&tb, &ns, METRICS), "lvsd_worker_conn_table_entries") as u64;
    eprintln!("connections in the table: {entries} (asked for {want})");
    assert!(
        entries * 10 >= want * 9,
        "table filled: {entries} of {want}"
    );

    stall::listing_under_idle_and_slow_clients(&mut tb, &ns, "lvsd", &ctl, entries)
        .assert_within_bar();
    assert_eq!(
        tb.stop("lvsd", libc::SIGINT, Duration::from_secs(30)),
        Some(0)
    );
}
