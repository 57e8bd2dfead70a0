//! Exec-check tests: real child processes (`true`, `false`, `sh`, `sleep`).
//!
//! Invariants: every loop is bounded in time; children are reaped or killed.

use super::net::{detail, params, run_for, target, up};
use crate::health::check::{CheckKind, CheckParams};
use crate::health::engine::HealthEngine;
use crate::health::state::Event;
use std::time::{Duration, Instant};

fn exec(cmd: &str, args: &[&str], dynamic: bool) -> CheckKind {
    CheckKind::Exec {
        command: cmd.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        dynamic,
    }
}

#[test]
fn true_false_and_dynamic_weight() {
    let mut eng = HealthEngine::new().unwrap();
    let p = CheckParams {
        timeout: Duration::from_secs(2),
        ..params(50, 1, 1)
    };
    eng.add_target(target(1, 80, exec("true", &[], false), p.clone()))
        .unwrap();
    eng.add_target(target(2, 80, exec("false", &[], false), p.clone()))
        .unwrap();
    eng.add_target(target(
        3,
        80,
        exec("sh", &["-c", "exit 7"], true),
        p.clone(),
    ))
    .unwrap();
    eng.add_target(target(
        4,
        80,
        exec("sh", &["-c", "exit 7"], false),
        p.clone(),
    ))
    .unwrap();
    eng.add_target(target(
        5,
        80,
        exec("/nonexistent/lvsd-check", &[], false),
        p,
    ))
    .unwrap();
    let evs = run_for(&mut eng, Duration::from_millis(400));
    assert!(up(&eng, 1));
    assert!(!up(&eng, 2));
    assert_eq!(detail(&eng, 2), "exit 1");
    assert!(up(&eng, 3));
    assert_eq!(eng.target_status(3).unwrap().weight_override, Some(5));
    assert_eq!(
        evs.iter().filter(|e| **e == Event::Weight(3, 5)).count(),
        1,
        "{evs:?}"
    );
    assert!(!up(&eng, 4));
    assert_eq!(detail(&eng, 4), "exit 7");
    assert!(!up(&eng, 5));
    assert!(
        detail(&eng, 5).starts_with("spawn failed"),
        "{}",
        detail(&eng, 5)
    );
}

#[test]
fn real_address_in_args_and_env() {
    let script = r#"[ "$1" = 127.0.0.1 ] && [ "$2" = 8080 ] && [ "$LVSD_REAL_ADDR" = 127.0.0.1 ] \
        && [ "$LVSD_REAL_PORT" = 8080 ] && [ "$LVSD_REAL" = 127.0.0.1:8080 ]"#;
    let mut eng = HealthEngine::new().unwrap();
    let p = CheckParams {
        alpha: true,
        timeout: Duration::from_secs(2),
        ..params(50, 1, 1)
    };
    let kind = exec("sh", &["-c", script, "check", "%h", "%p"], false);
    eng.add_target(target(1, 8080, kind.clone(), p.clone()))
        .unwrap();
    eng.add_target(target(2, 8081, kind, p)).unwrap();
    let evs = run_for(&mut eng, Duration::from_millis(400));
    assert!(evs.contains(&Event::Up(1)), "{evs:?}");
    assert!(!up(&eng, 2), "port 8081 must fail the script");
}

#[test]
fn timeout_kills_and_slots_are_bounded() {
    let mut eng = HealthEngine::with_max_exec(2).unwrap();
    let slow = CheckParams {
        timeout: Duration::from_millis(100),
        ..params(10_000, 1, 1)
    };
    eng.add_target(target(1, 80, exec("sleep", &["5"], false), slow))
        .unwrap();
    let p = CheckParams {
        timeout: Duration::from_secs(2),
        ..params(10_000, 1, 1)
    };
    for id in 2..8 {
        eng.add_target(target(id, 80, exec("sleep", &["0.05"], false), p.clone()))
            .unwrap();
    }
    let t0 = Instant::now();
    let mut max_running = 0;
    let mut evs = Vec::new();
    while t0.elapsed() < Duration::from_secs(3) {
        evs.extend(eng.run_once(Duration::from_millis(5)));
        max_running = max_running.max(eng.stats().exec_running);
        let done = eng.status().iter().all(|s| s.last_result.is_some());
        if done {
            break;
        }
    }
    assert!(max_running <= 2, "{max_running}");
    assert!(
        eng.status().iter().all(|s| s.last_result.is_some()),
        "{:?}",
        eng.status()
    );
    assert_eq!(detail(&eng, 1), "timeout after 100ms");
    assert!(evs.contains(&Event::Down(1, "timeout after 100ms".into())));
    let r1 = eng.target_status(1).unwrap().last_result.unwrap();
    assert!(r1.duration < Duration::from_millis(500), "{r1:?}");
    for id in 2..8 {
        assert!(up(&eng, id), "{id}: {}", detail(&eng, id));
    }
    // The killed child gets reaped.
    let t1 = Instant::now();
    while eng.stats().exec_running > 0 && t1.elapsed() < Duration::from_secs(1) {
        eng.run_once(Duration::from_millis(5));
    }
}

#[test]
fn timeout_kills_the_checks_grandchildren() {
    let dir = std::env::temp_dir().join(format!("lvsd-exec-group-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("grandchild");
    let script = format!("sleep 30 & echo $! > {}; sleep 30", pidfile.display());
    let mut eng = HealthEngine::new().unwrap();
    let p = CheckParams {
        timeout: Duration::from_millis(150),
        ..params(10_000, 1, 1)
    };
    eng.add_target(target(1, 80, exec("sh", &["-c", &script], false), p))
        .unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while eng.target_status(1).unwrap().last_result.is_none() {
        eng.run_once(Duration::from_millis(5));
        assert!(Instant::now() < end, "the check never timed out");
    }
    assert_eq!(detail(&eng, 1), "timeout after 150ms");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let stat = format!("/proc/{}/stat", pid.trim());
    // Gone, or a zombie waiting for its new parent: not sleeping on.
    loop {
        eng.run_once(Duration::from_millis(5));
        let state = std::fs::read_to_string(&stat).unwrap_or_default();
        let state = state.rsplit(')').next().unwrap_or("").trim_start();
        if state.is_empty() || state.starts_with('Z') {
            break;
        }
        assert!(Instant::now() < end, "grandchild still runs: {state}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
