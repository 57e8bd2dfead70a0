//! Signals end to end: SIGUSR1 prints the connection table (ipvsadm -Lnc
//! format) on stdout, and a SIGUSR1 while stdout is closed costs nothing
//! (lvsd keeps running and later stops cleanly).
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
use lvsd::testbed::lab::{real_addr, Lab};
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

fn config(l: &Lab) -> String {
    let mut cfg = base(l, 1);
    cfg += "[metrics]\nenabled = false\n\n";
    cfg += &format!(
        "[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\nscheduler = \"rr\"\nmethod = \"nat\"\n  [[service.real]]\n  address = \"{}\"\n  port = 8080\n",
        real_addr(0)
    );
    cfg
}

fn alive(pid: u32) -> bool {
    lvsd::testbed::signal(pid, 0).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn sigusr1_dumps_connections_and_survives_a_closed_stdout() {
    if common::need_root() {
        return;
    }
    let mut l = Lab::new(1, 1).expect("lab");
    let ns = l.reals[0].clone();
    server(&mut l, &ns, "http", 8080, "r0");
    let cfg = config(&l);
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    let c = l.clients[0].clone();
    let r = client(&l, &c, &["http", "198.18.0.100", "80", "3"]);
    assert_eq!(r.errors, 0, "{r:?}");
    let pid = l.tb.pid("lvsd").expect("lvsd pid");
    lvsd::testbed::signal(pid, libc::SIGUSR1).unwrap();
    let dumped = Testbed::wait_for(Duration::from_secs(5), || {
        l.tb.log("lvsd").contains("-- 3 entries")
    });
    let log = l.tb.log("lvsd");
    assert!(dumped, "SIGUSR1 printed the table:\n{log}");
    assert!(log.contains("IPVS connection entries"), "{log}");
    assert!(log.contains("198.18.0.100:80"), "{log}");
    assert_eq!(l.stop_lvsd(), Some(0));

    // The same director with its stdout a pipe nobody reads any more
    // (a closed journal stream, `lvsd run | head`): SIGUSR1 must not kill it.
    let path = l.tb.dir.join("closed.toml");
    let sock = l.tb.dir.join("closed.sock");
    std::fs::write(
        &path,
        format!("{cfg}\n[control]\nsocket = \"{}\"\n", sock.display()),
    )
    .unwrap();
    let log_path = l.tb.dir.join("closed.log");
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", &l.dir, LVSD, "run", "-c"])
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("spawn lvsd");
    let mut guard = KillOnDrop(child);
    let pid = guard.0.id();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        Testbed::wait_for(Duration::from_secs(30), || log().contains("lvsd running")),
        "{}",
        log()
    );
    drop(guard.0.stdout.take());
    for _ in 0..3 {
        lvsd::testbed::signal(pid, libc::SIGUSR1).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        alive(pid),
        "lvsd died on SIGUSR1 with stdout closed:\n{}",
        log()
    );
    assert!(!log().contains("panicked"), "{}", log());
    lvsd::testbed::signal(pid, libc::SIGTERM).unwrap();
    let exited = Testbed::wait_for(Duration::from_secs(15), || {
        matches!(guard.0.try_wait(), Ok(Some(_)))
    });
    assert!(exited, "lvsd did not stop: {}", log());
    assert_eq!(
        guard.0.wait().ok().and_then(|s| s.code()),
        Some(0),
        "{}",
        log()
    );
}

/// Kills (by PID) and reaps the child when the test ends, also on failure.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
