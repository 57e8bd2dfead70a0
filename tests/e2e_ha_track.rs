//! Active/backup end to end: a tracked command (`[ha] track`, keepalived's
//! `track_script`) that checks for a file. The file removed on the active:
//! after `fall` failures it enters FAULT, runs `notify_fault` naming the
//! command, and the backup takes over at once (resign message and
//! priority-0 adverts). The file back: after `rise` successes it rejoins as
//! backup.
mod common;
#[path = "common/ha.rs"]
mod ha;
#[path = "common/lab.rs"]
mod lab;
use ha::*;
use lvsd::testbed::Testbed;
use std::time::Duration;

/// `fall` (2) × the track's `interval_ms` (100) + the lab's
/// `dead_interval_ms` (300) + 0.5 s.
const BAR: f64 = 1.0;

#[test]
fn a_failing_track_command_moves_the_role_to_the_backup() {
    if common::need_root() {
        return;
    }
    let (mut l, dirb, key) = pair_lab();
    let flag = l.tb.dir.join("track-a");
    std::fs::write(&flag, "ok\n").unwrap();
    let track = format!("/usr/bin/test -e {}", flag.display());
    let notify = l.tb.dir.join("notify-a.sh");
    let ca = config(&l, 'a', &key).replacen(
        "\n\n[[service]]",
        &format!(
            "\nnotify_backup = \"{n}\"\nnotify_fault = \"{n}\"\n\
             track = [{{ command = \"{track}\", interval_ms = 100, fall = 2, rise = 2 }}]\n\n[[service]]",
            n = notify.display()
        ),
        1,
    );
    assert!(ca.contains("track = ["), "{ca}");
    let cb = config(&l, 'b', &key);
    start_pair(&mut l, &dirb, &ca, &cb, "bulk sync from the peer done", 5);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !l.tb.log("lvsd-b").contains("becoming ACTIVE"),
        "B stays backup while A's track command succeeds"
    );
    let removed = now();
    std::fs::remove_file(&flag).unwrap();
    let after = b_active_after(&l, removed);
    let (la, lb) = (l.tb.log("lvsd-a"), l.tb.log("lvsd-b"));
    assert!(lb.contains("becoming ACTIVE"), "B:\n{lb}\nA:\n{la}");
    eprintln!("track failing to backup active in {:.0} ms", after * 1000.0);
    assert!(
        after < BAR,
        "backup active {after:.3} s after the file was removed (bar {BAR} s)\nB:\n{lb}\nA:\n{la}"
    );
    let notified = || std::fs::read_to_string(l.tb.dir.join("notify-a")).unwrap_or_default();
    let want = format!("fault lvs-a track {track} failed: exit 1");
    let faulted = Testbed::wait_for(Duration::from_secs(2), || notified().contains(&want));
    assert!(faulted, "notify_fault names the command: {:?}", notified());
    // The file back: A leaves FAULT after `rise` successes, as backup.
    std::fs::write(&flag, "ok\n").unwrap();
    let back = Testbed::wait_for(Duration::from_secs(5), || {
        notified().contains("backup lvs-a fault cleared")
    });
    assert!(
        back,
        "rejoined as backup: {:?}\n{}",
        notified(),
        l.tb.log("lvsd-a")
    );
    for label in ["lvsd-a", "lvsd-b"] {
        assert_eq!(
            l.tb.stop(label, libc::SIGTERM, Duration::from_secs(10)),
            Some(0)
        );
    }
}
