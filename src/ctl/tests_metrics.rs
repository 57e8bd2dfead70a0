//! The /metrics exposition, byte for byte, for a director with two ports,
//! two services, two workers with counts and `[ha]`.
use super::metrics::render_text;
use super::runtime::Runtime;
use crate::datapath::{Counters, DropReason};
use crate::dpdk::port::PortStats;
use std::sync::Arc;

const CONFIG: &str = r#"
[dpdk]
lcores = "0-2"

[[port]]
name = "ext"
device = "net_null0"
address = "198.18.0.2/24"

[[port]]
name = "int"
device = "net_null1"
address = "198.18.1.2/24"

[ha]
node = "lvs-a"
priority = 150
peer = "127.0.0.1:9"
listen = "127.0.0.1:0"
key_file = "KEY"

[[service]]
name = "web"
protocol = "tcp"
vip = "198.18.0.100"
port = 80
scheduler = "wlc"
method = "nat"

  [[service.real]]
  address = "198.18.1.10"
  port = 8080
  weight = 3

  [[service.real]]
  address = "198.18.1.11"
  port = 8080
  weight = 0

[[service]]
name = "dns"
protocol = "udp"
vip = "198.18.0.101"
port = 53
method = "dr"

  [[service.real]]
  address = "198.18.0.20"
  port = 53
"#;

fn runtime() -> Runtime {
    let dir = std::env::temp_dir().join(format!("lvsd-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = dir.join("ha.key");
    std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").expect("key file");
    let text = CONFIG.replace("KEY", &key.display().to_string());
    let m = crate::config::load(&text).expect("config");
    let mut rt = Runtime::new(dir.join("lvsd.toml"), m, Vec::new()).expect("runtime");
    let _ = std::fs::remove_dir_all(&dir);
    for w in 0..2u64 {
        let c = Counters::default();
        c.rx_packets.add(100 + w);
        c.rx_bytes.add(6400 + w);
        c.tx_packets.add(90 + w);
        c.fast_path.add(70);
        c.conn_table_len.add(5);
        c.sync_dropped.add(w);
        c.count_drop(DropReason::ALL[0]);
        c.count_drop(DropReason::ALL[DropReason::ALL.len() - 1]);
        if let Some(r) = c.real(0) {
            r.conns.add(7 + w);
            r.in_pkts.add(30);
            r.out_bytes.add(999);
            r.active.set(2);
            r.inactive.set(1);
        }
        rt.counters.push(Arc::new(c));
    }
    rt.reloads_ok = 3;
    rt.reloads_failed = 1;
    rt
}

fn ports() -> Vec<(String, PortStats)> {
    let s = |k: u64| PortStats {
        ipackets: k,
        opackets: k + 1,
        ibytes: k + 2,
        obytes: k + 3,
        imissed: k + 4,
        ierrors: k + 5,
        oerrors: k + 6,
        rx_nombuf: k + 7,
    };
    vec![("ext".into(), s(10)), ("int".into(), s(20))]
}

/// The golden text is `tests_metrics.prom`; with LVSD_WRITE_METRICS_GOLDEN
/// set to a path, the current exposition is also written there (to review a
/// deliberate change with `git diff`).
#[test]
fn exposition_is_byte_for_byte_as_before() {
    let text = render_text(&runtime(), &ports(), 4098);
    if let Ok(path) = std::env::var("LVSD_WRITE_METRICS_GOLDEN") {
        std::fs::write(path, &text).expect("write golden");
    }
    assert_eq!(text, include_str!("tests_metrics.prom"));
}
