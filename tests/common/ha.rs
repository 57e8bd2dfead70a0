//! Shared helpers of the active/backup end-to-end tests: a NAT pair of
//! directors (A: priority 150, B: 100) on the standard lab, with a
//! management link, a pre-shared key and notify scripts.
#![allow(dead_code)]
use super::lab::*;
use lvsd::testbed::lab::{real_addr, Lab};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Seconds since the epoch of the RFC 3339 timestamp opening a log line.
pub fn log_time(line: &str, near: f64) -> Option<f64> {
    let ts = line.split_whitespace().next()?;
    let time = ts.split('T').nth(1)?.trim_end_matches('Z');
    let mut p = time.split(':');
    let (h, m, s): (f64, f64, f64) = (
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
    );
    Some((near / 86400.0).floor() * 86400.0 + h * 3600.0 + m * 60.0 + s)
}

pub fn config(l: &Lab, me: char, key: &std::path::Path) -> String {
    let (last, node, prio, listen, peer) = match me {
        'a' => (250, "lvs-a", 150, "198.18.9.1:5511", "198.18.9.2:5511"),
        _ => (251, "lvs-b", 100, "198.18.9.2:5511", "198.18.9.1:5511"),
    };
    let mut c = format!(
        "[dpdk]\nlcores = \"0-1\"\nmemory_mb = 256\nfile_prefix = \"{tag}{me}\"\n\n\
         [[port]]\nname = \"ext\"\ndevice = \"net_af_packet0,iface=lv-ext\"\naddress = \"198.18.0.{last}/24\"\n\n\
         [[port]]\nname = \"int\"\ndevice = \"net_af_packet1,iface=lv-int\"\naddress = \"198.18.1.{last}/24\"\nfloating = [\"198.18.1.1\"]\n\n\
         [ha]\nnode = \"{node}\"\npriority = {prio}\npreempt = true\npeer = \"{peer}\"\nlisten = \"{listen}\"\nkey_file = \"{key}\"\n\
         interval_ms = 100\ndead_interval_ms = 300\ngarp = {{ repeat = 3, delay_ms = 1000 }}\n\
         notify_active = \"{notify}.sh\"\n\n",
        tag = l.tb.tag(),
        key = key.display(),
        notify = l.tb.dir.join(format!("notify-{me}")).display()
    );
    for (port, sched, rport) in [(7000, "rr", 7000), (80, "rr", 8080), (53, "rr", 5353)] {
        let proto = if port == 53 { "udp" } else { "tcp" };
        c += &format!("[[service]]\nprotocol = \"{proto}\"\nvip = \"198.18.0.100\"\nport = {port}\nscheduler = \"{sched}\"\nmethod = \"nat\"\n");
        for i in 0..2 {
            c += &format!(
                "  [[service.real]]\n  address = \"{}\"\n  port = {rport}\n",
                real_addr(i)
            );
        }
        c += "\n";
    }
    c
}

pub fn pair_lab() -> (Lab, String, std::path::PathBuf) {
    let mut l = Lab::new(1, 2).expect("lab");
    let dirb = l.add_director("dirb").expect("second director");
    let key = l.tb.dir.join("ha.key");
    for me in ['a', 'b'] {
        let out = l.tb.dir.join(format!("notify-{me}"));
        let script = l.tb.dir.join(format!("notify-{me}.sh"));
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$*\" >> {}\n", out.display()),
        )
        .unwrap();
        let _ = lvsd::testbed::run("chmod", &["+x", &script.to_string_lossy()]);
    }
    write_key(&key, "0123456789abcdef0123456789abcdef\n");
    for (i, ns) in l.reals.clone().iter().enumerate() {
        server(&mut l, ns, "banner", 7000, &format!("r{i}"));
        server(&mut l, ns, "http", 8080, &format!("r{i}"));
        server(&mut l, ns, "udp", 5353, &format!("r{i}"));
    }
    (l, dirb, key)
}

/// Writes a pre-shared key file readable by its owner only (lvsd refuses a
/// key that group or others can read).
pub fn write_key(path: &std::path::Path, key: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, key).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Start A (`ca`) and wait until it is active, then B (`cb`) in `dirb` and
/// wait up to `b_wait` for `b_ready` in its log.
pub fn start_pair(l: &mut Lab, dirb: &str, ca: &str, cb: &str, b_ready: &str, b_wait: u64) {
    use lvsd::testbed::Testbed;
    use std::time::Duration;
    let lvsd = env!("CARGO_BIN_EXE_lvsd");
    let dira = l.dir.clone();
    l.start_lvsd_in("lvsd-a", &dira, lvsd, ca).expect("lvsd a");
    let active = Testbed::wait_for(Duration::from_secs(5), || {
        l.tb.log("lvsd-a").contains("becoming ACTIVE")
    });
    assert!(active, "{}", l.tb.log("lvsd-a"));
    l.start_lvsd_in("lvsd-b", dirb, lvsd, cb).expect("lvsd b");
    let ready = Testbed::wait_for(Duration::from_secs(b_wait), || {
        l.tb.log("lvsd-b").contains(b_ready)
    });
    assert!(ready, "{}", l.tb.log("lvsd-b"));
}

/// `client.py hold` from the first client as process `label`: `n`
/// long-lived streams for `secs`; returns once they are established.
pub fn hold_streams(l: &mut Lab, label: &str, n: u32, secs: u32) {
    use lvsd::testbed::Testbed;
    use std::time::Duration;
    let c = l.clients[0].clone();
    let script = format!("{TOOLS}/client.py");
    let (n, secs) = (n.to_string(), secs.to_string());
    l.tb.spawn(
        label,
        &c,
        "python3",
        &[&script, "hold", "198.18.0.100", "7000", &n, &secs],
    )
    .unwrap();
    let up = Testbed::wait_for(Duration::from_secs(20), || {
        established_at(&l.tb.log(label)).is_some()
    });
    assert!(up, "{}", l.tb.log(label));
}

/// Wait for the streams of `label` to finish and assert every one of them
/// survived (`what` names the event in the message).
pub fn streams_intact(l: &Lab, label: &str, wait: u64, what: &str) {
    use lvsd::testbed::Testbed;
    use std::time::Duration;
    assert!(
        Testbed::wait_for(Duration::from_secs(wait), || l
            .tb
            .log(label)
            .contains("counts")),
        "{label} finished"
    );
    let h = last_json(&l.tb.log(label));
    assert_eq!(
        (h["errors"].as_u64(), h["echo_errors"].as_u64()),
        (Some(0), Some(0)),
        "every stream survived {what}: {h}"
    );
}

/// Seconds from `since` to B's "becoming ACTIVE" log line (waits up to
/// 3 s for it; `f64::MAX` when it never came).
pub fn b_active_after(l: &Lab, since: f64) -> f64 {
    use lvsd::testbed::Testbed;
    use std::time::Duration;
    Testbed::wait_for(Duration::from_secs(3), || {
        l.tb.log("lvsd-b").contains("becoming ACTIVE")
    });
    let logb = l.tb.log("lvsd-b");
    let line = logb
        .lines()
        .find(|x| x.contains("becoming ACTIVE"))
        .unwrap_or("");
    log_time(line, since).unwrap_or(f64::MAX) - since
}

/// `client.py httplog` from the first client as process `label`: HTTP
/// fetches through the VIP back to back for `secs`.
pub fn start_fetches(l: &mut Lab, label: &str, secs: u32) {
    let c = l.clients[0].clone();
    let script = format!("{TOOLS}/client.py");
    let secs = secs.to_string();
    l.tb.spawn(
        label,
        &c,
        "python3",
        &[&script, "httplog", "198.18.0.100", "80", &secs],
    )
    .unwrap();
}

/// Waits for the fetches of `label` to finish; returns how many of those
/// that started after `from` (seconds since the epoch) succeeded and how
/// many failed.
pub fn fetches_after(l: &Lab, label: &str, from: f64) -> (usize, usize) {
    use lvsd::testbed::Testbed;
    use std::time::Duration;
    let done = Testbed::wait_for(Duration::from_secs(30), || {
        last_json(&l.tb.log(label))["log"].is_array()
    });
    assert!(done, "{label} finished: {}", l.tb.log(label));
    let v = last_json(&l.tb.log(label));
    let after: Vec<&serde_json::Value> = v["log"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e[0].as_f64().unwrap_or(0.0) > from)
                .collect()
        })
        .unwrap_or_default();
    let failed = after.iter().filter(|e| e[1] == "ERR").count();
    (after.len() - failed, failed)
}
