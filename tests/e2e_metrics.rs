//! Metrics end to end: a real Prometheus server (Debian's) scrapes lvsd
//! while traffic flows, its query API returns series whose values match
//! the traffic sent, and `promtool check metrics` accepts the exposition.
mod common;
#[path = "common/lab.rs"]
mod lab;
#[path = "common/readme.rs"]
mod readme;
use lab::*;
use lvsd::testbed::lab::{real_addr, Lab};
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

fn have(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn prometheus_scrapes_lvsd() {
    if common::need_root() {
        return;
    }
    assert!(
        have("prometheus") && have("promtool") && have("curl"),
        "deploy/setup.sh installs prometheus and curl"
    );
    let mut l = Lab::new(1, 3).expect("lab");
    let mut cfg = base(&l, 1);
    cfg += "[metrics]\nlisten = \"127.0.0.1:9520\"\n\n";
    cfg += "[[service]]\nname = \"web\"\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\nscheduler = \"wrr\"\nmethod = \"nat\"\n";
    for (i, w) in [3, 2, 1].iter().enumerate() {
        cfg += &format!(
            "  [[service.real]]\n  address = \"{}\"\n  port = 8080\n  weight = {w}\n",
            real_addr(i)
        );
    }
    for (i, ns) in l.reals.clone().iter().enumerate() {
        server(&mut l, ns, "http", 8080, &format!("r{i}"));
    }
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    let dir = l.dir.clone();
    // Prometheus in the director's namespace, scraping lvsd every second.
    let prom_dir = l.tb.dir.join("prom");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let prom_cfg = prom_dir.join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: lvsd\n    static_configs:\n      - targets: ['127.0.0.1:9520']\n",
    )
    .unwrap();
    let (cfg_arg, data_arg) = (
        format!("--config.file={}", prom_cfg.display()),
        format!("--storage.tsdb.path={}", prom_dir.join("data").display()),
    );
    l.tb.spawn(
        "prometheus",
        &dir,
        "prometheus",
        &[&cfg_arg, &data_arg, "--web.listen-address=127.0.0.1:9090"],
    )
    .unwrap();

    let c = l.clients[0].clone();
    let r = client(&l, &c, &["http", "198.18.0.100", "80", "600"]);
    assert_eq!(r.errors, 0, "{r:?}");

    // The exposition itself passes promtool's checks.
    let body =
        l.tb.exec_ok(&dir, "curl", &["-sf", "http://127.0.0.1:9520/metrics"])
            .unwrap();
    let path = l.tb.dir.join("metrics.txt");
    std::fs::write(&path, &body).unwrap();
    let check =
        l.tb.exec(
            &dir,
            "sh",
            &[
                "-c",
                &format!("promtool check metrics < {}", path.display()),
            ],
        )
        .unwrap();
    assert!(check.0, "promtool check metrics: {}{}", check.1, check.2);

    // The README lists exactly the metric families lvsd exports.
    let exported: std::collections::BTreeSet<String> = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let documented = readme::metric_names();
    let undocumented: Vec<_> = exported.difference(&documented).collect();
    // The HA families exist only with `[ha]`: e2e_ha_sync holds those.
    let unexported: Vec<_> = documented
        .difference(&exported)
        .filter(|n| !n.starts_with("lvsd_ha_"))
        .collect();
    assert!(
        undocumented.is_empty() && unexported.is_empty(),
        "README misses metrics {undocumented:?} and names unexported {unexported:?}"
    );

    // Every metric the Grafana dashboard and the scrape config name exists.
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/grafana/lvsd-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut names = 0;
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("lvsd_") {
                    names += 1;
                    assert!(
                        body.lines()
                            .any(|l| l.starts_with(&format!("# TYPE {word} "))),
                        "dashboard names {word}, which lvsd does not export"
                    );
                }
            }
        }
    }
    assert!(names >= 20, "the dashboard queries lvsd metrics");

    // Prometheus' query API sees the 600 connections, split 3:2:1.
    let query = |q: &str| -> Option<serde_json::Value> {
        let arg = format!("query={q}");
        let (ok, out, _) =
            l.tb.exec(
                &dir,
                "curl",
                &[
                    "-sf",
                    "-G",
                    "http://127.0.0.1:9090/api/v1/query",
                    "--data-urlencode",
                    &arg,
                ],
            )
            .ok()?;
        if !ok {
            return None;
        }
        serde_json::from_str(&out).ok()
    };
    let value = |v: &serde_json::Value| -> Option<f64> {
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let total_ok = Testbed::wait_for(Duration::from_secs(30), || {
        query("sum(lvsd_real_connections_total)").and_then(|v| value(&v)) == Some(600.0)
    });
    assert!(
        total_ok,
        "sum(lvsd_real_connections_total) reached 600: {:?}\n{}",
        query("sum(lvsd_real_connections_total)"),
        l.tb.log("prometheus")
    );
    let per_real = query("lvsd_real_connections_total").unwrap();
    let mut got: Vec<(String, f64)> = per_real["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"]["real"].as_str().unwrap_or("").to_string(),
                s["value"][1].as_str().unwrap_or("0").parse().unwrap_or(0.0),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("198.18.1.11:8080".into(), 300.0),
            ("198.18.1.12:8080".into(), 200.0),
            ("198.18.1.13:8080".into(), 100.0)
        ]
    );
    let rx = query("sum(lvsd_worker_rx_packets_total)")
        .and_then(|v| value(&v))
        .unwrap_or(0.0);
    assert!(rx >= 600.0 * 8.0, "worker rx packets {rx}");
    let drops = query("sum(lvsd_worker_drops_total{reason=\"no_conn\"})").and_then(|v| value(&v));
    assert_eq!(drops, Some(0.0));
    assert_eq!(l.stop_lvsd(), Some(0));
}
