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

/// `lvsadm show ha` and `lvsadm show ha --json` against the lvsd started
/// as `label` (its control socket is `<label>.sock` in the lab's directory).
pub fn show_ha(l: &Lab, label: &str) -> (String, serde_json::Value) {
    let sock = l.tb.dir.join(format!("{label}.sock"));
    let sock = sock.to_string_lossy();
    let lvsadm = env!("CARGO_BIN_EXE_lvsadm");
    let text = lvsd::testbed::run_ok(lvsadm, &["--socket", &sock, "show", "ha"])
        .unwrap_or_else(|e| panic!("lvsadm show ha on {label}: {e}"));
    let json = lvsd::testbed::run_ok(lvsadm, &["--socket", &sock, "show", "ha", "--json"])
        .unwrap_or_else(|e| panic!("lvsadm show ha --json on {label}: {e}"));
    let v = serde_json::from_str(json.trim())
        .unwrap_or_else(|e| panic!("show ha --json on {label}: {e}: {json}"));
    (text, v)
}

/// The /metrics exposition of the lvsd in namespace `ns`.
pub fn scrape(l: &Lab, ns: &str) -> String {
    l.tb.exec_ok(ns, "curl", &["-sf", "http://127.0.0.1:9520/metrics"])
        .unwrap_or_default()
}

/// The value of the sample `series` (name and labels exactly as exported)
/// in the exposition `body`.
pub fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|x| x.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// `lvsadm show ha` on `label` (in namespace `ns`) against the facts: the
/// role and, newest first, the transition `(from, role, reason)` into it;
/// the peer link up or down as `connected` says; both the transition and
/// the link's last change after `after` (Unix seconds: the event that
/// caused them); and the metrics scrape carrying the same figures. Returns
/// the text for further checks.
pub fn check_show_ha(
    l: &Lab,
    label: &str,
    ns: &str,
    (from, role, reason): (&str, &str, &str),
    connected: bool,
    after: f64,
) -> String {
    use lvsd::testbed::Testbed;
    use std::time::Duration;
    // The link's state settles within a few intervals of the event.
    let settled = Testbed::wait_for(Duration::from_secs(5), || {
        let (_, v) = show_ha(l, label);
        v["peer"]["connected"] == connected && v["role"] == role
    });
    let (text, v) = show_ha(l, label);
    assert!(
        settled,
        "{label}: role {role}, link connected={connected}:\n{text}\n{v}"
    );
    let keepalived = if role == "active" {
        "ACTIVE (MASTER)".to_string()
    } else {
        role.to_uppercase()
    };
    let head = text.lines().next().unwrap_or("");
    assert!(
        head.starts_with("HA node ") && head.contains(&format!(": {keepalived} for ")),
        "{text}"
    );
    let newest = &v["transitions"][0];
    assert_eq!(
        (
            newest["from"].as_str(),
            newest["to"].as_str(),
            newest["reason"].as_str()
        ),
        (Some(from), Some(role), Some(reason)),
        "{v}"
    );
    let line = text
        .lines()
        .skip_while(|x| !x.starts_with("Transitions ("))
        .nth(1)
        .unwrap_or("");
    assert!(
        line.contains(&format!("{from} -> {role}")) && line.contains(reason),
        "newest transition first:\n{text}"
    );
    let link = if connected {
        "  link: up since "
    } else {
        "  link: down since "
    };
    assert!(text.contains(link), "{text}");
    let after_ms = (after * 1000.0) as u64;
    let (changed, at) = (&v["peer"]["link_changed_unix_ms"], &newest["at_unix_ms"]);
    assert!(
        changed.as_u64().is_some_and(|t| t >= after_ms)
            && at.as_u64().is_some_and(|t| t >= after_ms),
        "link changed at {changed} and the transition at {at}, after {after_ms}: {v}"
    );
    let body = scrape(l, ns);
    for (series, ms) in [
        ("lvsd_ha_peer_link_changed_timestamp_seconds", changed),
        ("lvsd_ha_last_transition_timestamp_seconds", at),
    ] {
        let (m, j) = (sample(&body, series), ms.as_f64().map(|t| t / 1000.0));
        assert!(
            m.zip(j).is_some_and(|(m, j)| (m - j).abs() < 0.002),
            "{series}: {m:?} against show ha {j:?}"
        );
    }
    let series = format!(
        "lvsd_ha_transitions_by_reason_total{{from=\"{from}\",to=\"{role}\",reason=\"{reason}\"}}"
    );
    assert!(
        sample(&body, &series).is_some_and(|n| n >= 1.0),
        "{series} in\n{body}"
    );
    let same = [
        (
            "lvsd_ha_peer_connected",
            &v["peer"]["connected"].as_bool().map(u64::from).into(),
        ),
        ("lvsd_ha_transitions_total", &v["transitions_total"]),
        ("lvsd_ha_priority", &v["priority"]),
        ("lvsd_ha_effective_priority", &v["effective_priority"]),
        (
            "lvsd_ha_bulk_syncs_total{direction=\"received\"}",
            &v["sync"]["bulk_syncs_received"],
        ),
        (
            "lvsd_ha_peer_link_events_total{event=\"connected\"}",
            &v["peer"]["connects"],
        ),
        (
            "lvsd_ha_peer_link_events_total{event=\"disconnected\"}",
            &v["peer"]["disconnects"],
        ),
    ];
    for (series, want) in same {
        assert_eq!(
            sample(&body, series),
            want.as_f64(),
            "{series}: metrics against show ha {v}"
        );
    }
    let active = format!("lvsd_ha_active{{role=\"{role}\"}}");
    assert!(sample(&body, &active).is_some(), "{active} in\n{body}");
    // Ages: a live peer's heartbeats come every interval, and its adverts
    // while it is the active one; a silent path's age only grows (and the
    // scrape came after the answer).
    for (series, json, live) in [
        (
            "lvsd_ha_peer_heartbeat_age_seconds",
            &v["peer"]["heartbeat_age_ms"],
            connected,
        ),
        (
            "lvsd_ha_peer_advert_age_seconds",
            &v["peer"]["advert_age_ms"],
            connected && role != "active",
        ),
    ] {
        let (m, j) = (sample(&body, series), json.as_f64().map(|ms| ms / 1000.0));
        assert_eq!(m.is_some(), j.is_some(), "{series}: {m:?} against {j:?}");
        if let (Some(m), Some(j)) = (m, j) {
            let fits = if live {
                m < 1.0 && j < 1.0
            } else {
                m >= j - 0.05 && m < j + 5.0
            };
            assert!(fits, "{series}: {m} against show ha {j} (live: {live})");
        }
    }
    text
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
