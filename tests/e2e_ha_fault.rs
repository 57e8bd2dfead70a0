//! Active/backup end to end: the active's client-side data port loses its
//! link under 100 long-lived streams. The active enters FAULT (heartbeats say
//! so, adverts stop, it resigns), runs `notify_fault` with the reason, and
//! the backup serves the VIP within `dead_interval` + 0.5 s; the streams
//! survive. When the link returns the old active rejoins as backup, then
//! preempts after its bulk sync.
mod common;
#[path = "common/ha.rs"]
mod ha;
#[path = "common/lab.rs"]
mod lab;
use ha::*;
use lvsd::testbed::Testbed;
use std::time::Duration;

/// The lab's `dead_interval_ms` (300) + 0.5 s.
const BAR: f64 = 0.8;

#[test]
fn data_port_link_down_moves_the_role_to_the_backup() {
    if common::need_root() {
        return;
    }
    let (mut l, dirb, key) = pair_lab();
    let dira = l.dir.clone();
    let with_notify = |c: String, me: char| {
        let n = l.tb.dir.join(format!("notify-{me}.sh"));
        c.replacen(
            "\n\n[[service]]",
            &format!(
                "\nnotify_backup = \"{0}\"\nnotify_fault = \"{0}\"\n\n[[service]]",
                n.display()
            ),
            1,
        )
    };
    let ca = with_notify(config(&l, 'a', &key), 'a');
    let cb = with_notify(config(&l, 'b', &key), 'b');
    assert!(ca.contains("notify_fault"), "{ca}");
    start_pair(&mut l, &dirb, &ca, &cb, "bulk sync from the peer done", 5);
    hold_streams(&mut l, "hold", 100, 8);
    start_fetches(&mut l, "load", 4);
    std::thread::sleep(Duration::from_secs(1));
    let down = now();
    l.tb.exec_ok(&dira, "ip", &["link", "set", "lv-ext", "down"])
        .expect("link down");
    let after = b_active_after(&l, down);
    let (la, lb) = (l.tb.log("lvsd-a"), l.tb.log("lvsd-b"));
    assert!(lb.contains("becoming ACTIVE"), "B:\n{lb}\nA:\n{la}");
    eprintln!("link down to backup active in {:.0} ms", after * 1000.0);
    assert!(
        after < BAR,
        "backup active {after:.3} s after the link went down (bar {BAR} s)\nB:\n{lb}\nA:\n{la}"
    );
    let faulted = Testbed::wait_for(Duration::from_secs(2), || {
        std::fs::read_to_string(l.tb.dir.join("notify-a"))
            .unwrap_or_default()
            .contains("fault lvs-a link down: ext")
    });
    let notified = std::fs::read_to_string(l.tb.dir.join("notify-a")).unwrap_or_default();
    assert!(faulted, "notify_fault ran with the reason: {notified:?}");
    // The VIP is served again through B: every fetch that started later
    // than the bar after the link went down succeeded.
    let (ok, failed) = fetches_after(&l, "load", down + BAR);
    assert!(
        ok >= 10 && failed == 0,
        "fetches started {BAR} s after the link went down: {ok} ok, {failed} failed\n{}",
        l.tb.log("load")
    );
    streams_intact(&l, "hold", 20, "the fault");
    // The link returns: A rejoins as backup, then (preempt, priority 150)
    // takes the role back after its bulk sync.
    l.tb.exec_ok(&dira, "ip", &["link", "set", "lv-ext", "up"])
        .expect("link up");
    let back = Testbed::wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(l.tb.dir.join("notify-a"))
            .unwrap_or_default()
            .contains("backup lvs-a fault cleared")
    });
    let notified = std::fs::read_to_string(l.tb.dir.join("notify-a")).unwrap_or_default();
    assert!(
        back,
        "rejoined as backup: {notified:?}\n{}",
        l.tb.log("lvsd-a")
    );
    let again = Testbed::wait_for(Duration::from_secs(5), || {
        l.tb.log("lvsd-a").matches("becoming ACTIVE").count() == 2
    });
    let la = l.tb.log("lvsd-a");
    assert!(again, "preempted after the link returned: {la}");
    let synced = la.rfind("bulk sync from the peer done");
    assert!(
        synced.is_some() && synced < la.rfind("becoming ACTIVE"),
        "bulk sync before preempting: {la}"
    );
    // B stepped down on hearing A: notify_backup ran with the reason.
    let stepped = Testbed::wait_for(Duration::from_secs(3), || {
        std::fs::read_to_string(l.tb.dir.join("notify-b"))
            .unwrap_or_default()
            .contains("backup lvs-b HigherRankActive")
    });
    let nb = std::fs::read_to_string(l.tb.dir.join("notify-b")).unwrap_or_default();
    assert!(stepped, "notify_backup ran on the step-down: {nb:?}");
    for label in ["lvsd-a", "lvsd-b"] {
        assert_eq!(
            l.tb.stop(label, libc::SIGTERM, Duration::from_secs(10)),
            Some(0)
        );
    }
}
