//! Tests that span `worker`'s files (one file per topic).
mod across;
mod iteration;

use super::Startup;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn startup_waits_for_every_worker_and_reports_a_failure() {
    let s = Arc::new(Startup::default());
    let t = {
        let s = s.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            s.report(true);
            s.report(true);
        })
    };
    assert_eq!(s.wait(2, Duration::from_secs(10)), Ok(()));
    t.join().unwrap();
    let e = s.wait(3, Duration::from_millis(20)).unwrap_err();
    assert!(e.contains("not ready"), "{e}");
    s.report(false);
    let e = s.wait(3, Duration::from_secs(10)).unwrap_err();
    assert!(e.contains("1 worker(s) failed"), "{e}");
}

#[test]
fn each_running_worker_gets_a_seed_of_its_own() {
    let seeds: std::collections::HashSet<u64> = (0..8).map(|_| super::fresh_seed()).collect();
    assert_eq!(seeds.len(), 8, "seeds repeat: {seeds:?}");
}
