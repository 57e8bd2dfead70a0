//! Load-balancing end-to-end helpers over `lvsd::testbed::lab::Lab`: config
//! text for the lab, test servers and clients from `tests/tools/`.
#![allow(dead_code)]
use lvsd::testbed::lab::Lab;
use lvsd::testbed::Testbed;
use std::collections::BTreeMap;
use std::time::Duration;

pub const TOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools");

/// `[dpdk]` + ports for the lab; `workers` worker lcores (1 or 2 on this
/// machine: lcores 0-1 or 0-2 map onto 2 CPUs) and that many queue pairs.
pub fn base(lab: &Lab, workers: usize) -> String {
    let lcores = if workers == 1 {
        "0-1".to_string()
    } else {
        format!("0-{workers}")
    };
    let q = if workers > 1 {
        format!(",qpairs={workers}")
    } else {
        String::new()
    };
    format!(
        "[dpdk]\nlcores = \"{lcores}\"\nmemory_mb = 256\nfile_prefix = \"{tag}\"\n\n\
         [[port]]\nname = \"ext\"\ndevice = \"net_af_packet0,iface=lv-ext{q}\"\naddress = \"198.18.0.1/24\"\nrx_queues = {workers}\n\n\
         [[port]]\nname = \"int\"\ndevice = \"net_af_packet1,iface=lv-int{q}\"\naddress = \"198.18.1.1/24\"\nrx_queues = {workers}\n\n",
        tag = lab.tb.tag()
    )
}

/// Start `server.py MODE PORT NAME` in `ns` and wait until it listens.
pub fn server(lab: &mut Lab, ns: &str, mode: &str, port: u16, name: &str) {
    let label = format!("srv-{name}-{mode}-{port}");
    let script = format!("{TOOLS}/server.py");
    lab.tb
        .spawn(
            &label,
            ns,
            "python3",
            &[&script, mode, &port.to_string(), name],
        )
        .expect("spawn server");
    let ok = Testbed::wait_for(Duration::from_secs(10), || {
        lab.tb.log(&label).contains("listening")
    });
    assert!(ok, "server {label} did not start: {}", lab.tb.log(&label));
}

/// Result of a client run.
#[derive(Debug)]
pub struct ClientResult {
    pub counts: BTreeMap<String, u64>,
    pub errors: u64,
    pub echo_errors: u64,
}

/// Run `client.py ARGS...` in `ns` and parse its JSON.
pub fn client(lab: &Lab, ns: &str, args: &[&str]) -> ClientResult {
    let script = format!("{TOOLS}/client.py");
    let mut full = vec![script.as_str()];
    full.extend_from_slice(args);
    let out = lab.tb.exec_ok(ns, "python3", &full).expect("client");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("client JSON");
    let counts = v["counts"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    ClientResult {
        counts,
        errors: v["errors"].as_u64().unwrap_or(0),
        echo_errors: v["echo_errors"].as_u64().unwrap_or(0),
    }
}

/// The `name=value` field of the last log line containing `marker`.
pub fn log_field(log: &str, marker: &str, field: &str) -> Option<u64> {
    let line = log.lines().rev().find(|l| l.contains(marker))?;
    let key = format!("{field}=");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&key))
        .and_then(|v| v.parse().ok())
}

/// The JSON object on the last line of a spawned client's log.
pub fn last_json(log: &str) -> serde_json::Value {
    log.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l.trim()).ok())
        .unwrap_or_default()
}

/// When a hold client had all its connections established (unix time).
pub fn established_at(log: &str) -> Option<f64> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .find_map(|v| v["at"].as_f64())
}
