//! Bring-up and shutdown as a unit: a failure injected once the workers
//! run (the test-only `LVSD_TEST_FAIL_AFTER=workers`) ends the real binary
//! cleanly: a non-zero exit code, no signal, every mbuf back in the pool,
//! no hugepage files left. Two workers poll `net_null` ports, which return
//! a burst of frames on every poll, so mbufs are in flight (and between
//! workers) when the failure strikes. No namespace needed.
mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

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
kernel_iface = ""

[[port]]
name = "b"
device = "net_null1"
address = "198.18.1.1/24"
kernel_iface = ""

[control]
socket = "{}"

[metrics]
enabled = false
"#,
        dir.join("lvsd.sock").display()
    );
    let path = dir.join("lvsd.toml");
    std::fs::write(&path, config).expect("write config");
    let (out, err) = (dir.join("out"), dir.join("err"));
    let mut child = Command::new(LVSD)
        .args(["run", "-c", &path.to_string_lossy()])
        .env("LVSD_TEST_FAIL_AFTER", "workers")
        .stdout(std::fs::File::create(&out).expect("out"))
        .stderr(std::fs::File::create(&err).expect("err"))
        .spawn()
        .expect("run lvsd");
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = format!(
        "{}{}",
        std::fs::read_to_string(&out).unwrap_or_default(),
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    let hugepage_files = || -> Vec<String> {
        std::fs::read_dir("/dev/hugepages")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.starts_with(&prefix))
                    .collect()
            })
            .unwrap_or_default()
    };
    let left = hugepage_files();
    if status.is_none() {
        // Do not leave the hung run's pages reserved.
        for f in &left {
            let _ = std::fs::remove_file(std::path::Path::new("/dev/hugepages").join(f));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let status = status.unwrap_or_else(|| panic!("lvsd did not exit within 60 s:\n{log}"));
    assert!(
        status.code().is_some(),
        "killed by a signal: {status:?}\n{log}"
    );
    assert_ne!(status.code(), Some(0), "{log}");
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
        assert!(left.is_empty(), "hugepage files left: {left:?}");
    } else {
        eprintln!("note: no hugepages on this machine; ran with --no-huge");
    }
}
