//! The kernel exception path: each port gets a kernel interface (net_tap)
//! carrying the director's own address; kernel tools on the director (ping,
//! curl) reach real servers over the data network through lvsd while it
//! forwards traffic, and ARP stays consistent.
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
use lvsd::testbed::lab::{real_addr, Lab};

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

#[test]
fn kernel_tools_on_the_director_work_while_forwarding() {
    if common::need_root() {
        return;
    }
    let mut l = Lab::new(1, 2).expect("lab");
    let mut cfg = base(&l, 1);
    cfg += "[limits]\nicmp_rate = 50\nicmp_burst = 10\n\n";
    cfg += "[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\nscheduler = \"rr\"\nmethod = \"nat\"\n";
    for i in 0..2 {
        cfg += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 8080\n",
            real_addr(i)
        );
    }
    for (i, ns) in l.reals.clone().iter().enumerate() {
        server(&mut l, ns, "http", 8080, &format!("r{i}"));
    }
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    let dir = l.dir.clone();
    let script = format!("{TOOLS}/client.py");
    let c = l.clients[0].clone();
    l.tb.spawn(
        "load",
        &c,
        "python3",
        &[&script, "http", "198.18.0.100", "80", "300"],
    )
    .unwrap();
    // A client pings the director's own address: lvsd answers, and the
    // kernel, which sees every frame of the af_packet port too, must not
    // answer as well (no duplicates).
    let (ok, out, err) =
        l.tb.exec(
            &c,
            "ping",
            &["-c", "20", "-i", "0.05", "-W", "2", "198.18.0.1"],
        )
        .unwrap();
    assert!(ok, "ping the director: {out}{err}");
    assert!(out.contains("20 received"), "{out}");
    assert!(!out.contains("DUP!"), "duplicate echo replies:\n{out}");
    // A ping flood (up to 1000 a second) gets at most the bucket's burst
    // and rate of replies (10 + 50 a second), the rest counted.
    let (_, out, err) =
        l.tb.exec(
            &c,
            "ping",
            &["-q", "-c", "2000", "-i", "0.001", "-W", "1", "198.18.0.1"],
        )
        .unwrap();
    let field = |after: &str| -> Option<f64> {
        let i = out.find(after)?;
        let num: String = out[..i]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        num.chars().rev().collect::<String>().parse().ok()
    };
    let (received, ms) = (
        field(" received"),
        out.find("time ")
            .and_then(|i| out[i + 5..].split("ms").next()?.trim().parse::<f64>().ok()),
    );
    let (Some(received), Some(ms)) = (received, ms) else {
        panic!("ping flood summary: {out}{err}");
    };
    let most = 10.0 + 50.0 * (ms / 1000.0 + 1.0);
    assert!(
        (50.0..=most).contains(&received),
        "{received} replies in {ms} ms, at most {most}: {out}"
    );
    let metrics =
        l.tb.exec_ok(&dir, "curl", &["-sf", "http://127.0.0.1:9520/metrics"])
            .unwrap_or_default();
    let limited: f64 = metrics
        .lines()
        .filter(|x| x.contains("reason=\"icmp_rate_limited\""))
        .filter_map(|x| x.split_whitespace().last()?.parse::<f64>().ok())
        .sum();
    eprintln!("ping flood: {received} replies in {ms} ms, {limited} requests over the limit");
    assert!(
        limited >= (2000.0 - received) * 0.9,
        "{limited} counted:\n{metrics}"
    );
    // The director's own kernel: ping and HTTP to a real, over lvsd's port.
    let (ok, out, err) =
        l.tb.exec(
            &dir,
            "ping",
            &["-c", "3", "-i", "0.2", "-W", "2", &real_addr(1)],
        )
        .unwrap();
    assert!(
        ok,
        "ping from the director's kernel: {out}{err}\n{}",
        l.tb.log("lvsd")
    );
    let body =
        l.tb.exec_ok(
            &dir,
            "curl",
            &[
                "-sf",
                "--max-time",
                "5",
                &format!("http://{}:8080/", real_addr(0)),
            ],
        )
        .unwrap();
    assert_eq!(body.trim(), "r0");
    // The kernel resolved the real's MAC through lvsd's port (ARP replies
    // reach it), on the kernel interface that carries 198.18.1.1.
    let neigh =
        l.tb.exec_ok(&dir, "ip", &["neigh", "show", &real_addr(0)])
            .unwrap();
    assert!(
        neigh.contains("lvk-int") && neigh.contains("lladdr"),
        "{neigh}"
    );
    let addr =
        l.tb.exec_ok(&dir, "ip", &["-4", "addr", "show", "dev", "lvk-int"])
            .unwrap();
    assert!(addr.contains("198.18.1.1/24"), "{addr}");
    // Forwarding was not disturbed.
    let done = lvsd::testbed::Testbed::wait_for(std::time::Duration::from_secs(30), || {
        l.tb.log("load").contains("counts")
    });
    assert!(done);
    let v = last_json(&l.tb.log("load"));
    assert_eq!(v["errors"], 0, "{v}");
    // The kernel-input drop is lvsd's while it runs, and gone after.
    let tables = |l: &Lab| l.tb.exec_ok(&l.dir, "nft", &["list", "tables"]).unwrap();
    assert!(tables(&l).contains("table netdev lvsd_"), "{}", tables(&l));
    assert_eq!(l.stop_lvsd(), Some(0));
    assert!(!tables(&l).contains("lvsd_"), "{}", tables(&l));
    let log = l.tb.log("lvsd");
    assert_eq!(
        log_field(&log, "mempool at exit", "mempool_in_use"),
        Some(0),
        "{log}"
    );
}
