//! Health checking end to end: checks run from the director's kernel over
//! the exception path to real servers in namespaces; lvsd stops scheduling
//! a failed real within interval × fall and takes it back after rise
//! successes; http vs tcp vs send-expect; sorry server; exec dynamic weights.
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
use lvsd::testbed::lab::{real_addr, Lab};
use lvsd::testbed::Testbed;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
const LVSADM: &str = env!("CARGO_BIN_EXE_lvsadm");

fn health(l: &Lab) -> serde_json::Value {
    let sock = l.socket().to_string_lossy().to_string();
    let out =
        lvsd::testbed::run_ok(LVSADM, &["--socket", &sock, "show", "health"]).expect("show health");
    serde_json::from_str(&out).expect("health JSON")
}

fn up(h: &serde_json::Value, real: &str) -> Option<bool> {
    h["reals"].as_array()?.iter().find(|r| r["real"] == real)?["up"].as_bool()
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp from lvsd's log
/// (same day as `now`).
fn log_time(line: &str, now: f64) -> Option<f64> {
    let ts = line.split_whitespace().next()?;
    let time = ts.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let (h, m, s): (f64, f64, f64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    let midnight = (now / 86400.0).floor() * 86400.0;
    Some(midnight + h * 3600.0 + m * 60.0 + s)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[test]
fn failed_real_is_detected_and_taken_back() {
    if common::need_root() {
        return;
    }
    let mut l = Lab::new(1, 3).expect("lab");
    let mut cfg = base(&l, 1);
    cfg += "[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\nscheduler = \"rr\"\nmethod = \"nat\"\n\n";
    cfg += "  [service.check]\n  type = \"http\"\n  path = \"/health\"\n  status = [200]\n  interval_ms = 200\n  timeout_ms = 500\n  rise = 2\n  fall = 2\n\n";
    for i in 0..3 {
        cfg += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 8080\n",
            real_addr(i)
        );
    }
    cfg += "\n[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 7000\nscheduler = \"rr\"\nmethod = \"nat\"\n";
    for i in [0, 2] {
        cfg += &format!("  [[service.real]]\n  address = \"{}\"\n", real_addr(i));
    }
    for (i, ns) in l.reals.clone().iter().enumerate() {
        server(&mut l, ns, "http", 8080, &format!("r{i}"));
        server(&mut l, ns, "banner", 7000, &format!("r{i}"));
    }
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    assert!(
        Testbed::wait_for(Duration::from_secs(5), || (0..3)
            .all(|i| up(&health(&l), &format!("{}:8080", real_addr(i))) == Some(true))),
        "all reals up: {}",
        health(&l)
    );
    let c = l.clients[0].clone();
    let script = format!("{TOOLS}/client.py");
    // Established connections to the other reals, echoing throughout.
    l.tb.spawn(
        "hold",
        &c,
        "python3",
        &[&script, "hold", "198.18.0.100", "7000", "10", "9"],
    )
    .unwrap();
    l.tb.spawn(
        "load",
        &c,
        "python3",
        &[&script, "httplog", "198.18.0.100", "80", "8"],
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    // Stop real 1's HTTP server.
    let killed_at = now();
    l.tb.stop("srv-r1-http-8080", libc::SIGKILL, Duration::from_secs(5));
    assert!(Testbed::wait_for(Duration::from_secs(5), || l
        .tb
        .log("lvsd")
        .contains("real server down")));
    let log = l.tb.log("lvsd");
    let down_line = log
        .lines()
        .find(|x| x.contains("real server down"))
        .unwrap_or("");
    let detected_at = log_time(down_line, killed_at).unwrap_or(killed_at);
    let detection = detected_at - killed_at;
    eprintln!(
        "detection time with interval 200 ms, fall 2: {:.0} ms",
        detection * 1000.0
    );
    assert!(
        detection < 0.2 * 2.0 + 1.0,
        "detected within interval x fall + 1 s: {detection:.3} s"
    );
    assert!(down_line.contains(&real_addr(1)), "{down_line}");
    // Restart it: traffic returns after `rise` successes.
    std::thread::sleep(Duration::from_secs(2));
    let ns1 = l.reals[1].clone();
    server(&mut l, &ns1, "http", 8080, "r1");
    let restarted_at = now();
    assert!(
        Testbed::wait_for(Duration::from_secs(20), || last_json(&l.tb.log("load"))
            ["log"]
            .is_array()),
        "load finished"
    );
    let v = last_json(&l.tb.log("load"));
    let entries = v["log"].as_array().unwrap();
    let after_detection: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e[0].as_f64().unwrap_or(0.0) > detected_at + 0.05)
        .collect();
    let failures: Vec<_> = after_detection.iter().filter(|e| e[1] == "ERR").collect();
    assert!(
        failures.is_empty(),
        "no request fails after detection: {failures:?}"
    );
    assert!(
        !after_detection
            .iter()
            .any(|e| e[1] == "r1" && e[0].as_f64().unwrap_or(0.0) < restarted_at),
        "the failed real got no new connection while down"
    );
    let back = entries
        .iter()
        .any(|e| e[1] == "r1" && e[0].as_f64().unwrap_or(0.0) > restarted_at);
    assert!(back, "r1 gets traffic again after rise successes");
    assert!(Testbed::wait_for(Duration::from_secs(15), || l
        .tb
        .log("hold")
        .contains("counts")));
    let h = last_json(&l.tb.log("hold"));
    assert_eq!(
        (h["errors"].as_u64(), h["echo_errors"].as_u64()),
        (Some(0), Some(0)),
        "established connections untouched: {h}"
    );
    assert_eq!(l.stop_lvsd(), Some(0));
}

#[test]
fn checkers_http_tcp_send_expect_sorry_and_dynamic_weights() {
    if common::need_root() {
        return;
    }
    let mut l = Lab::new(1, 3).expect("lab");
    // r0 answers 200, r1 answers 500 on 8080; r2 is the sorry server on 9090.
    let (ns0, ns1, ns2) = (l.reals[0].clone(), l.reals[1].clone(), l.reals[2].clone());
    server(&mut l, &ns0, "http", 8080, "r0");
    server(&mut l, &ns1, "http500", 8080, "r1");
    server(&mut l, &ns2, "http", 9090, "sorry");
    let weight_file = |i: usize| l.tb.dir.join(format!("exit{i}"));
    std::fs::write(weight_file(0), "5").unwrap(); // weight 3
    std::fs::write(weight_file(1), "3").unwrap(); // weight 1
    let mut cfg = base(&l, 1);
    let svc = |port: u16, sched: &str| {
        format!("[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = {port}\nscheduler = \"{sched}\"\nmethod = \"nat\"\n\n")
    };
    let reals = |port: u16| {
        (0..2)
            .map(|i| {
                format!(
                    "  [[service.real]]\n  address = \"{}\"\n  port = {port}\n",
                    real_addr(i)
                )
            })
            .collect::<String>()
    };
    let timers = "  interval_ms = 200\n  timeout_ms = 500\n";
    cfg += &(svc(80, "rr")
        + "  [service.check]\n  type = \"http\"\n  status = [200]\n"
        + timers
        + &reals(8080));
    cfg += &(svc(81, "rr") + "  [service.check]\n  type = \"tcp\"\n" + timers + &reals(8080));
    cfg += &(svc(82, "rr")
        + "  [service.check]\n  type = \"send-expect\"\n  send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n  expect = \"^HTTP/1.0 999\"\n"
        + timers
        + &reals(8080));
    cfg += &(svc(83, "rr")
        + "  [service.check]\n  type = \"tcp\"\n  interval_ms = 200\n  timeout_ms = 300\n\n  [service.sorry]\n  address = \"198.18.1.13\"\n  port = 9090\n\n"
        + &reals(9999));
    let mut dynamic = svc(84, "wrr");
    for i in 0..2 {
        dynamic += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 8080\n  weight = 1\n\n  [service.real.check]\n  type = \"exec\"\n  command = \"/bin/sh\"\n  args = [\"-c\", \"exit $(cat {})\"]\n  dynamic = true\n  interval_ms = 200\n  timeout_ms = 1000\n\n",
            real_addr(i),
            weight_file(i).display()
        );
    }
    cfg += &dynamic;
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    let r0 = format!("{}:8080", real_addr(0));
    let r1 = format!("{}:8080", real_addr(1));
    let settled = Testbed::wait_for(Duration::from_secs(8), || {
        let h = health(&l);
        let rows = h["reals"].as_array().map(|a| a.len()).unwrap_or(0);
        rows == 10
            && h["reals"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| !r["last_check"].is_null())
    });
    assert!(settled, "every check ran: {}", health(&l));
    std::thread::sleep(Duration::from_millis(600));
    let h = health(&l);
    let state =
        |svc_port: u16, real: &str| -> Option<bool> {
            h["reals"].as_array()?.iter().find(|r| {
                r["real"] == real && r["service"] == format!("tcp-198.18.0.100-{svc_port}")
            })?["up"]
                .as_bool()
        };
    assert_eq!(
        (state(80, &r0), state(80, &r1)),
        (Some(true), Some(false)),
        "http: 500 is down\n{h}"
    );
    assert_eq!(
        (state(81, &r0), state(81, &r1)),
        (Some(true), Some(true)),
        "tcp: an open port is up\n{h}"
    );
    assert_eq!(
        (state(82, &r0), state(82, &r1)),
        (Some(false), Some(false)),
        "send-expect with a wrong expectation\n{h}"
    );
    let c = l.clients[0].clone();
    let http = client(&l, &c, &["http", "198.18.0.100", "80", "20"]);
    assert_eq!(
        http.counts.get("r0"),
        Some(&20),
        "only the healthy real serves: {http:?}"
    );
    // All reals of :83 are down (nothing listens on 9999): the sorry server answers.
    let sorry = client(&l, &c, &["http", "198.18.0.100", "83", "10"]);
    assert_eq!(
        sorry.counts.get("sorry"),
        Some(&10),
        "{sorry:?}\n{}",
        health(&l)
    );
    // exec dynamic: exit 5 → weight 3, exit 3 → weight 1; wrr follows.
    let dynamic = client(&l, &c, &["http", "198.18.0.100", "84", "40"]);
    assert_eq!(
        (dynamic.counts.get("r0"), dynamic.counts.get("r1")),
        (Some(&30), Some(&10)),
        "wrr 3:1 from exec weights: {dynamic:?}"
    );
    // The weights show in -Ln too.
    let sock = l.socket().to_string_lossy().to_string();
    let listing =
        lvsd::testbed::run_ok(LVSADM, &["--socket", &sock, "-Ln", "-t", "198.18.0.100:84"])
            .unwrap();
    assert!(
        listing.contains(&format!("{r0}             Masq    3")),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("{r1}             Masq    1")),
        "{listing}"
    );
    // Recovery hands back from the sorry server: start servers on 9999.
    server(&mut l, &ns0, "http", 9999, "r0-9999");
    let back = Testbed::wait_for(Duration::from_secs(5), || {
        client(&l, &c, &["http", "198.18.0.100", "83", "3"])
            .counts
            .get("r0-9999")
            == Some(&3)
    });
    assert!(back, "the recovered real takes over from the sorry server");
    assert_eq!(l.stop_lvsd(), Some(0));
}
