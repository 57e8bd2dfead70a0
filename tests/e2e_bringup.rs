//! Bring-up and shutdown as a unit: a failure injected once the workers
//! run (the test-only `LVSD_TEST_FAIL_AFTER=workers`) ends the real binary
//! cleanly: a non-zero exit code, no signal, every mbuf back in the pool,
//! no hugepage files left. Two workers poll `net_null` ports, which return
//! a burst of frames on every poll, so mbufs are in flight (and between
//! workers) when the failure strikes. No namespace needed.
mod common;
use common::*;
use std::process::Command;

#[test]
fn a_failure_after_the_workers_start_shuts_down_cleanly() {
    if need_root() {
        return;
    }
    let huge = hugepages_available();
    let prefix = format!("lvsdfail{}", std::process::id());
    let dir = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = format!(
        r#"[dpdk]
lcores = "0-2"
memory_mb = 256
hugepages = {huge}
file_prefix = "{prefix}"

[[port]]
name = "a"
device = "net_null0"
address = "198.18.0.1/24"

[[port]]
name = "b"
device = "net_null1"
address = "198.18.1.1/24"

[control]
socket = "{}"
"#,
        dir.join("lvsd.sock").display()
    );
    let path = dir.join("lvsd.toml");
    std::fs::write(&path, config).expect("write config");
    let out = Command::new(LVSD)
        .args(["run", "-c", &path.to_string_lossy()])
        .env("LVSD_TEST_FAIL_AFTER", "workers")
        .output()
        .expect("run lvsd");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {:?}\n{log}",
        out.status
    );
    assert_ne!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("injected failure after workers"), "{log}");
    assert!(!log.contains("lvsd running"), "{log}");
    assert!(
        log.contains("worker stopped"),
        "the workers were joined: {log}"
    );
    assert!(
        log.contains("mempool_in_use=0"),
        "every mbuf back in the pool: {log}"
    );
    assert!(!log.contains("leaked"), "{log}");
    if huge {
        let ours: Vec<String> = std::fs::read_dir("/dev/hugepages")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.starts_with(&prefix))
                    .collect()
            })
            .unwrap_or_default();
        assert!(ours.is_empty(), "hugepage files left: {ours:?}");
    } else {
        eprintln!("note: no hugepages on this machine; ran with --no-huge");
    }
}
