//! Active/backup end to end: both directors started in the same instant,
//! five times in a row. Each time exactly one is active and the VIP is
//! served within `dead_interval` + 1 s of the later director running (two
//! directors that both asked for a bulk sync used to wait in FAULT).
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
#[path = "common/ha.rs"]
mod ha;
use ha::*;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
/// `dead_interval_ms` of the lab's config (300) + 1 s.
const BAR: f64 = 1.3;

/// Is the director active per its log (last role line)?
fn active_in(log: &str) -> bool {
    log.lines()
        .rev()
        .find(|x| x.contains("becoming ACTIVE") || x.contains("leaving active role"))
        .is_some_and(|x| x.contains("becoming ACTIVE"))
}

fn running_at(log: &str) -> Option<f64> {
    let line = log.lines().find(|x| x.contains("lvsd running"))?;
    log_time(line, now())
}

#[test]
fn started_together_five_times_one_active_and_served() {
    if common::need_root() {
        return;
    }
    let (mut l, dirb, key) = pair_lab();
    let dira = l.dir.clone();
    let (ca, cb) = (config(&l, 'a', &key), config(&l, 'b', &key));
    let c = l.clients[0].clone();
    for round in 1..=5 {
        l.start_lvsd_together(LVSD, &[("lvsd-a", &dira, &ca), ("lvsd-b", &dirb, &cb)])
            .expect("both lvsd");
        let (la, lb) = (l.tb.log("lvsd-a"), l.tb.log("lvsd-b"));
        let ready = running_at(&la)
            .zip(running_at(&lb))
            .map(|(a, b)| a.max(b))
            .expect("running lines");
        let wait = ready + BAR - now();
        if wait > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(wait));
        }
        let (la, lb) = (l.tb.log("lvsd-a"), l.tb.log("lvsd-b"));
        let actives = [active_in(&la), active_in(&lb)];
        assert_eq!(
            actives.iter().filter(|a| **a).count(),
            1,
            "round {round}: exactly one active {BAR} s after both run ({actives:?})\nA:\n{la}\nB:\n{lb}"
        );
        let r = client(&l, &c, &["http", "198.18.0.100", "80", "10"]);
        assert_eq!(
            r.errors, 0,
            "round {round}: the VIP is served\nA:\n{la}\nB:\n{lb}"
        );
        for label in ["lvsd-a", "lvsd-b"] {
            assert_eq!(
                l.tb.stop(label, libc::SIGTERM, Duration::from_secs(10)),
                Some(0),
                "round {round}: {label} stops"
            );
        }
        eprintln!("round {round}: one active, VIP served");
    }
}
