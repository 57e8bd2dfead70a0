//! lvsadm against a running lvsd: ipvsadm syntax and byte-exact output,
//! `-Sn | -R` round trip, live changes and 100 reloads under 50 long-lived
//! connections with no reset or lost byte, refused bad input, and the
//! owner-only control socket.
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
use lvsd::testbed::lab::{real_addr, Lab};
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
const LVSADM: &str = env!("CARGO_BIN_EXE_lvsadm");

fn lvsadm(l: &Lab, args: &[&str]) -> (bool, String, String) {
    let sock = l.socket().to_string_lossy().to_string();
    let mut full = vec!["--socket", sock.as_str()];
    full.extend_from_slice(args);
    lvsd::testbed::run(LVSADM, &full).expect("run lvsadm")
}

fn ok(l: &Lab, args: &[&str]) -> String {
    let (ok, out, err) = lvsadm(l, args);
    assert!(ok, "lvsadm {args:?} failed: {out}{err}");
    out
}

fn lab_with_servers(reals: usize, cfg_services: &str) -> Lab {
    let mut l = Lab::new(1, reals).expect("lab");
    let cfg = base(&l, 1) + cfg_services;
    for (i, ns) in l.reals.clone().iter().enumerate() {
        server(&mut l, ns, "banner", 7000, &format!("r{i}"));
        server(&mut l, ns, "http", 8080, &format!("r{i}"));
    }
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    l
}

#[test]
fn ipvsadm_commands_and_exact_listing() {
    if common::need_root() {
        return;
    }
    let l = lab_with_servers(3, "");
    ok(&l, &["-A", "-t", "198.18.0.100:80", "-s", "wrr"]);
    // Without [ha], `show ha` says so and succeeds; `--json` is the
    // control protocol's answer.
    let shown = ok(&l, &["show", "ha"]);
    assert!(shown.starts_with("HA is not configured"), "{shown}");
    assert_eq!(shown, lvsd::ctl::ha_show::NOT_CONFIGURED);
    let json = ok(&l, &["show", "ha", "--json"]);
    assert_eq!(json, "{\n  \"configured\": false\n}\n");
    ok(
        &l,
        &[
            "-a",
            "-t",
            "198.18.0.100:80",
            "-r",
            "198.18.1.11:8080",
            "-m",
            "-w",
            "3",
        ],
    );
    ok(
        &l,
        &[
            "-a",
            "-t",
            "198.18.0.100:80",
            "-r",
            "198.18.1.12:8080",
            "-m",
            "-w",
            "2",
        ],
    );
    ok(
        &l,
        &[
            "-A",
            "-u",
            "198.18.0.100:53",
            "-s",
            "sh",
            "-b",
            "sh-fallback,sh-port",
        ],
    );
    ok(
        &l,
        &[
            "-a",
            "-u",
            "198.18.0.100:53",
            "-r",
            "198.18.1.13:5353",
            "-m",
        ],
    );
    ok(
        &l,
        &[
            "-A",
            "-t",
            "198.18.0.100:443",
            "-s",
            "rr",
            "-p",
            "600",
            "-M",
            "255.255.255.0",
        ],
    );
    ok(
        &l,
        &[
            "-a",
            "-t",
            "198.18.0.100:443",
            "-r",
            "198.18.1.11",
            "-g",
            "-w",
            "0",
        ],
    );
    let listing = ok(&l, &["-Ln"]);
    let expected = concat!(
        "IP Virtual Server version 1.2.1 (size=4096)\n",
        "Prot LocalAddress:Port Scheduler Flags\n",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        "TCP  198.18.0.100:80 wrr\n",
        "  -> 198.18.1.11:8080             Masq    3      0          0         \n",
        "  -> 198.18.1.12:8080             Masq    2      0          0         \n",
        "TCP  198.18.0.100:443 rr persistent 600 mask 255.255.255.0\n",
        "  -> 198.18.1.11:443              Route   0      0          0         \n",
        "UDP  198.18.0.100:53 sh (sh-fallback,sh-port)\n",
        "  -> 198.18.1.13:5353             Masq    1      0          0         \n",
    );
    assert_eq!(listing, expected);
    let saved = ok(&l, &["-Sn"]);
    assert_eq!(
        saved,
        "-A -t 198.18.0.100:80 -s wrr\n\
-a -t 198.18.0.100:80 -r 198.18.1.11:8080 -m -w 3\n\
-a -t 198.18.0.100:80 -r 198.18.1.12:8080 -m -w 2\n\
-A -t 198.18.0.100:443 -s rr -p 600 -M 255.255.255.0\n\
-a -t 198.18.0.100:443 -r 198.18.1.11:443 -g -w 0\n\
-A -u 198.18.0.100:53 -s sh -b sh-fallback,sh-port\n\
-a -u 198.18.0.100:53 -r 198.18.1.13:5353 -m -w 1\n"
    );
    // Round trip: -Sn | -R into an emptied lvsd (no connections yet) gives the same -Ln.
    ok(&l, &["-C"]);
    assert_eq!(ok(&l, &["-Ln"]).lines().count(), 3, "cleared");
    let sock = l.socket().to_string_lossy().to_string();
    let restore = lvsd::testbed::sh_ok(&format!(
        "printf '%s' '{}' | {LVSADM} --socket {sock} -R",
        saved.replace('\'', "")
    ));
    assert!(restore.is_ok(), "{restore:?}");
    assert_eq!(ok(&l, &["-Ln"]), expected, "-Sn | -R round trip");
    // Traffic, then --stats and -c reflect it.
    let c = l.clients[0].clone();
    let r = client(&l, &c, &["http", "198.18.0.100", "80", "50"]);
    assert_eq!(r.errors, 0, "{r:?}");
    let stats = ok(&l, &["-Ln", "--stats"]);
    let row = stats
        .lines()
        .find(|x| x.contains("198.18.1.11:8080"))
        .unwrap_or("");
    assert!(
        row.split_whitespace().nth(2) == Some("30"),
        "30 of 50 conns on the weight-3 real: {stats}"
    );
    let after_traffic = ok(&l, &["-Ln"]);
    let conns = ok(&l, &["-Lnc"]);
    assert!(conns.starts_with("IPVS connection entries\npro expire state       source             virtual            destination\n"), "{conns}");
    assert_eq!(
        conns
            .lines()
            .filter(|x| x.contains("198.18.0.100:80"))
            .count(),
        50,
        "{conns}"
    );
    // Invalid commands change nothing and name the problem.
    for bad in [
        vec!["-A", "-t", "198.18.0.100:80", "-s", "wrr"],
        vec![
            "-a",
            "-t",
            "198.18.0.100:80",
            "-r",
            "198.18.1.11:8080",
            "-w",
            "70000",
        ],
        vec!["-A", "-t", "198.18.0.100:81", "-s", "nosuch"],
        vec!["-a", "-t", "198.18.0.100:81", "-r", "198.18.1.11"],
    ] {
        let (good, out, err) = lvsadm(&l, &bad);
        assert!(!good, "{bad:?} must fail: {out}");
        assert!(!err.trim().is_empty(), "{bad:?}: an error message");
        assert_eq!(ok(&l, &["-Ln"]), after_traffic, "{bad:?} changed nothing");
    }
    // explain: computed by the scheduler code against the live snapshot.
    let ex: serde_json::Value = serde_json::from_str(&ok(
        &l,
        &["explain", "tcp", "198.18.0.2:40000", "198.18.0.100:80"],
    ))
    .unwrap();
    assert_eq!(ex["scheduler"], "wrr", "{ex}");
    assert!(
        ex["real"]
            .as_str()
            .is_some_and(|r| r.starts_with("198.18.1.1")),
        "{ex}"
    );
    let none: serde_json::Value = serde_json::from_str(&ok(
        &l,
        &["explain", "tcp", "198.18.0.2:40000", "198.18.0.100:9999"],
    ))
    .unwrap();
    assert!(none["service"].is_null(), "{none}");
    // -Z zeroes what --stats shows.
    ok(&l, &["-Z"]);
    let zeroed = ok(&l, &["-Ln", "--stats"]);
    let row = zeroed
        .lines()
        .find(|x| x.contains("198.18.1.11:8080"))
        .unwrap_or("");
    assert_eq!(row.split_whitespace().nth(2), Some("0"), "{zeroed}");
    // Owner-only socket: nobody is refused.
    let (refused, _, err) = lvsd::testbed::run(
        "setpriv",
        &[
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            LVSADM,
            "--socket",
            &sock,
            "-Ln",
        ],
    )
    .unwrap();
    assert!(!refused, "a non-root user must be refused");
    assert!(err.to_lowercase().contains("permission denied"), "{err}");
    socket_discovery(&l, &zeroed);
}

/// lvsadm finds the socket as the README says: `--socket`, `$LVSD_SOCKET`,
/// the `[control] socket` of `--config FILE` (or a leading `-c FILE`), then
/// the default.
fn socket_discovery(l: &Lab, stats: &str) {
    let cfg = l.tb.dir.join("lvsd.toml").to_string_lossy().to_string();
    let run_env = |env: Option<&str>, args: &[&str]| {
        let mut c = std::process::Command::new(LVSADM);
        c.args(args).env_remove("LVSD_SOCKET");
        if let Some(v) = env {
            c.env("LVSD_SOCKET", v);
        }
        let o = c.output().expect("run lvsadm");
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let listing = |o: (bool, String, String)| {
        assert!(o.0, "lvsadm failed: {}{}", o.1, o.2);
        o.1
    };
    let want = listing(run_env(
        None,
        &["--socket", &l.socket().to_string_lossy(), "-Ln", "--stats"],
    ));
    assert_eq!(want, stats);
    assert_eq!(
        listing(run_env(None, &["--config", &cfg, "-Ln", "--stats"])),
        want
    );
    assert_eq!(
        listing(run_env(None, &["-c", &cfg, "-Ln", "--stats"])),
        want
    );
    let sock = l.socket().to_string_lossy().to_string();
    assert_eq!(listing(run_env(Some(&sock), &["-Ln", "--stats"])), want);
    // $LVSD_SOCKET wins over the file; --socket wins over both.
    let (ok, _, err) = run_env(Some("/nonexistent/lvsd.sock"), &["--config", &cfg, "-Ln"]);
    assert!(!ok && err.contains("/nonexistent/lvsd.sock"), "{err}");
    let o = run_env(
        Some("/nonexistent/lvsd.sock"),
        &["--socket", &sock, "-Ln", "--stats"],
    );
    assert_eq!(listing(o), want);
    // Without any of them: the default path, named in the error.
    let (ok, _, err) = run_env(None, &["-Ln"]);
    assert!(ok || err.contains("/run/lvsd/lvsd.sock"), "{err}");
}

#[test]
fn live_changes_and_reloads_keep_established_connections() {
    if common::need_root() {
        return;
    }
    let mut svc = String::from("[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 7000\nscheduler = \"rr\"\nmethod = \"nat\"\n");
    for i in 0..2 {
        svc += &format!("  [[service.real]]\n  address = \"{}\"\n", real_addr(i));
    }
    svc += "\n[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\nscheduler = \"wrr\"\nmethod = \"nat\"\n";
    for i in 0..3 {
        svc += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 8080\n",
            real_addr(i)
        );
    }
    let mut l = lab_with_servers(4, &svc);
    let c = l.clients[0].clone();
    // 50 long-lived connections echoing every 0.2 s for 20 s.
    let script = format!("{TOOLS}/client.py");
    l.tb.spawn(
        "hold",
        &c,
        "python3",
        &[&script, "hold", "198.18.0.100", "7000", "50", "20"],
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // Add a real, change weights, remove an unrelated real, reload 100 times.
    ok(
        &l,
        &[
            "-a",
            "-t",
            "198.18.0.100:7000",
            "-r",
            &format!("{}:7000", real_addr(2)),
            "-m",
        ],
    );
    ok(
        &l,
        &[
            "-e",
            "-t",
            "198.18.0.100:80",
            "-r",
            &format!("{}:8080", real_addr(0)),
            "-m",
            "-w",
            "5",
        ],
    );
    ok(
        &l,
        &[
            "-d",
            "-t",
            "198.18.0.100:80",
            "-r",
            &format!("{}:8080", real_addr(2)),
        ],
    );
    ok(
        &l,
        &[
            "-a",
            "-t",
            "198.18.0.100:80",
            "-r",
            &format!("{}:8080", real_addr(3)),
            "-m",
            "-w",
            "1",
        ],
    );
    // Runtime changes are unsaved: a reload is refused, naming the way out.
    let (good, _, err) = lvsadm(&l, &["reload"]);
    assert!(!good && err.contains("save-config"), "{err}");
    // Save them to the file, then reload 100 times.
    let saved = ok(&l, &["save-config"]);
    std::fs::write(l.tb.dir.join("lvsd.toml"), &saved).unwrap();
    for _ in 0..100 {
        ok(&l, &["reload"]);
    }
    // An invalid file is rejected whole; the running state stays.
    let before = ok(&l, &["-Ln"]);
    std::fs::write(
        l.tb.dir.join("lvsd.toml"),
        saved.replace("scheduler = \"wrr\"", "scheduler = \"nope\""),
    )
    .unwrap();
    let (good, _, err) = lvsadm(&l, &["reload"]);
    assert!(!good && err.contains("scheduler"), "{err}");
    assert_eq!(ok(&l, &["-Ln"]), before);
    std::fs::write(l.tb.dir.join("lvsd.toml"), &saved).unwrap();
    // New connections follow the new weights: 5:1:1 over reals 0, 1, 3.
    let r = client(&l, &c, &["http", "198.18.0.100", "80", "70"]);
    assert_eq!(r.errors, 0, "{r:?}");
    let got: Vec<u64> = [0, 1, 3]
        .iter()
        .map(|i| r.counts.get(&format!("r{i}")).copied().unwrap_or(0))
        .collect();
    assert_eq!(got, vec![50, 10, 10], "{r:?}");
    assert_eq!(r.counts.get("r2"), None, "the removed real gets nothing");
    let done = Testbed::wait_for(Duration::from_secs(40), || {
        l.tb.log("hold").contains("counts")
    });
    assert!(done, "hold client finished: {}", l.tb.log("hold"));
    let v = last_json(&l.tb.log("hold"));
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(
        v["echo_errors"], 0,
        "no reset, no lost byte on any of the 50: {v}"
    );
    let n: u64 = v["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(n, 50);
    let log = l.tb.log("lvsd");
    assert!(
        log.matches("configuration reloaded").count() >= 100,
        "reloads logged"
    );
}
