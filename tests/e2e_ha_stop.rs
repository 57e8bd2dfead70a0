//! Active/backup end to end: SIGTERM of the active hands over at once. The
//! stopping active resigns on the peer link; the backup is active within
//! 2 × `interval_ms` of the signal (no `dead_interval` wait), and
//! established connections survive as in a crash.
mod common;
#[path = "common/ha.rs"]
mod ha;
#[path = "common/lab.rs"]
mod lab;
use ha::*;
use std::time::Duration;

/// 2 × the lab's `interval_ms` (100).
const BAR: f64 = 0.2;

#[test]
fn sigterm_of_the_active_hands_over_within_two_intervals() {
    if common::need_root() {
        return;
    }
    let (mut l, dirb, key) = pair_lab();
    let (ca, cb) = (config(&l, 'a', &key), config(&l, 'b', &key));
    start_pair(&mut l, &dirb, &ca, &cb, "bulk sync from the peer done", 5);
    hold_streams(&mut l, "hold", 50, 6);
    std::thread::sleep(Duration::from_secs(1));
    let signalled = now();
    assert_eq!(
        l.tb.stop("lvsd-a", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
    let after = b_active_after(&l, signalled);
    let logb = l.tb.log("lvsd-b");
    assert!(logb.contains("becoming ACTIVE"), "{logb}");
    eprintln!("SIGTERM to backup active in {:.0} ms", after * 1000.0);
    assert!(
        after < BAR,
        "backup active {after:.3} s after the SIGTERM (bar {BAR} s)\n{logb}\nA:\n{}",
        l.tb.log("lvsd-a")
    );
    streams_intact(&l, "hold", 20, "the handover");
    assert_eq!(
        l.tb.stop("lvsd-b", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
}

/// The same with the peer link cut first: the backup hears the stopping
/// active only through its priority-0 adverts on the data network, and
/// still takes over within 2 × `interval_ms` (keepalived's shutdown
/// advert), not after `dead_interval`.
#[test]
fn sigterm_with_the_peer_link_cut_hands_over_by_advert() {
    if common::need_root() {
        return;
    }
    let (mut l, dirb, key) = pair_lab();
    let (ca, cb) = (config(&l, 'a', &key), config(&l, 'b', &key));
    start_pair(&mut l, &dirb, &ca, &cb, "bulk sync from the peer done", 5);
    hold_streams(&mut l, "hold", 50, 12);
    l.mgmt_link(false).expect("cut the peer link");
    let lost = lvsd::testbed::Testbed::wait_for(Duration::from_secs(8), || {
        l.tb.log("lvsd-b").contains("HA peer disconnected")
    });
    let logb = l.tb.log("lvsd-b");
    assert!(lost, "B lost the peer link: {logb}");
    assert!(
        !logb.contains("becoming ACTIVE"),
        "A's adverts kept B backup: {logb}"
    );
    let signalled = now();
    assert_eq!(
        l.tb.stop("lvsd-a", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
    let after = b_active_after(&l, signalled);
    let logb = l.tb.log("lvsd-b");
    eprintln!(
        "SIGTERM (peer link cut) to backup active in {:.0} ms",
        after * 1000.0
    );
    assert!(
        after < BAR,
        "backup active {after:.3} s after the SIGTERM (bar {BAR} s)\n{logb}\nA:\n{}",
        l.tb.log("lvsd-a")
    );
    streams_intact(&l, "hold", 20, "the handover");
    assert_eq!(
        l.tb.stop("lvsd-b", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
}
