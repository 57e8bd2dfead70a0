//! Active/backup end to end: SIGTERM of the active hands over at once. The
//! stopping active resigns on the peer link; the backup is active within
//! 2 × `interval_ms` of the signal (no `dead_interval` wait), and
//! established connections survive as in a crash.
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
/// 2 × the lab's `interval_ms` (100).
const BAR: f64 = 0.2;

#[test]
fn sigterm_of_the_active_hands_over_within_two_intervals() {
    if common::need_root() {
        return;
    }
    let (mut l, dirb, key) = pair_lab();
    let dira = l.dir.clone();
    let (ca, cb) = (config(&l, 'a', &key), config(&l, 'b', &key));
    l.start_lvsd_in("lvsd-a", &dira, LVSD, &ca).expect("lvsd a");
    let active = Testbed::wait_for(Duration::from_secs(5), || {
        l.tb.log("lvsd-a").contains("becoming ACTIVE")
    });
    assert!(active, "{}", l.tb.log("lvsd-a"));
    l.start_lvsd_in("lvsd-b", &dirb, LVSD, &cb).expect("lvsd b");
    let synced = Testbed::wait_for(Duration::from_secs(5), || {
        l.tb.log("lvsd-b").contains("bulk sync from the peer done")
    });
    assert!(synced, "{}", l.tb.log("lvsd-b"));
    let c = l.clients[0].clone();
    let script = format!("{TOOLS}/client.py");
    l.tb.spawn(
        "hold",
        &c,
        "python3",
        &[&script, "hold", "198.18.0.100", "7000", "50", "6"],
    )
    .unwrap();
    let up = Testbed::wait_for(Duration::from_secs(20), || {
        established_at(&l.tb.log("hold")).is_some()
    });
    assert!(up, "{}", l.tb.log("hold"));
    std::thread::sleep(Duration::from_secs(1));
    let signalled = now();
    assert_eq!(
        l.tb.stop("lvsd-a", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
    let took = Testbed::wait_for(Duration::from_secs(3), || {
        l.tb.log("lvsd-b").contains("becoming ACTIVE")
    });
    let logb = l.tb.log("lvsd-b");
    assert!(took, "{logb}");
    let line = logb
        .lines()
        .find(|x| x.contains("becoming ACTIVE"))
        .unwrap_or("");
    let after = log_time(line, signalled).unwrap_or(f64::MAX) - signalled;
    eprintln!("SIGTERM to backup active in {:.0} ms", after * 1000.0);
    assert!(
        after < BAR,
        "backup active {after:.3} s after the SIGTERM (bar {BAR} s)\n{logb}\nA:\n{}",
        l.tb.log("lvsd-a")
    );
    assert!(
        Testbed::wait_for(Duration::from_secs(20), || l
            .tb
            .log("hold")
            .contains("counts")),
        "hold finished"
    );
    let h = last_json(&l.tb.log("hold"));
    assert_eq!(
        (h["errors"].as_u64(), h["echo_errors"].as_u64()),
        (Some(0), Some(0)),
        "every stream survived the handover: {h}"
    );
    assert_eq!(
        l.tb.stop("lvsd-b", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
}
