//! Tests of the public API: the documented full example, defaults, the
//! shipped `conf/` files, error collection and error formatting. Per-rule
//! validation tests live in `rules.rs`, `service_rules.rs` and
//! `check_rules.rs`, which use the `rule!` macro and the `check*` helpers
//! defined here.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::config::{
    load, load_file, Device, Errors, LogFormat, Method, Protocol, Scheduler, ServiceFlags,
};

/// The example from the documentation, with the `int` port it refers to.
pub const FULL: &str = r#"
[dpdk]
lcores = "0-1"              # EAL core list
memory_mb = 512
hugepages = false
file_prefix = "lvsd"
args = []
burst = 32
mbufs = 8191

[[port]]
name = "ext"
device = "net_af_xdp0,iface=lv-ext"
address = "198.18.0.1/24"
rx_queues = 1
tx_queues = 0
mtu = 1500
mac = "02:00:00:00:00:01"

[[port]]
name = "int"
device = "0000:01:00.0"
address = "198.18.1.1/24"

[[neighbor]]
port = "int"
address = "198.18.1.11"
mac = "02:00:00:00:01:0b"

[[route]]
destination = "0.0.0.0/0"
via = "198.18.0.254"

[arp]
timeout_s = 300
retry_ms = 1000
pending = 64

[log]
format = "text"
level = "info"

[timeouts]
tcp = 900
tcp_fin = 120
udp = 300

[conn]
capacity = 1048576
expire_nodest_conn = false
expire_quiescent_template = false
sloppy_tcp = false

[[service]]
name = "web"
protocol = "tcp"
vip = "198.18.0.100"
port = 80
scheduler = "wlc"
flags = []
persistence = { timeout = 360, netmask = "255.255.255.0" }
ops = false
method = "dr"
maglev_size = 65537

  [[service.real]]
  address = "198.18.1.11"
  port = 8080
  weight = 1
  method = "nat"
  upper_threshold = 0
  lower_threshold = 0
"#;

/// A valid two-port base that rule tests extend.
pub const BASE: &str = r#"[dpdk]
lcores = "0-2"

[[port]]
name = "ext"
device = "net_af_packet0,iface=lv-ext"
address = "198.18.0.1/24"

[[port]]
name = "int"
device = "net_af_packet1,iface=lv-int"
address = "198.18.1.1/24"
"#;

pub fn check(text: &str, path: &str, marker: &str, needle: &str) {
    check_at(text, path, Some(line_of(text, marker)), needle);
}

/// Like [`check`] with an explicit line (`None` for a missing top-level table).
pub fn check_at(text: &str, path: &str, line: Option<usize>, needle: &str) {
    let e = match load(text) {
        Ok(m) => panic!("expected an error at {path}, got {m:?}"),
        Err(e) => e,
    };
    assert_eq!(e.len(), 1, "expected exactly one error:\n{e}");
    let err = &e.0[0];
    assert_eq!(err.path, path, "{e}");
    assert_eq!(err.line, line, "{e}");
    assert!(err.message.contains(needle), "'{needle}' not in: {e}");
    let shown = e.to_string();
    let head = match line {
        Some(l) => format!("error: {path} (line {l}): "),
        None => format!("error: {path}: "),
    };
    assert!(shown.starts_with(&head), "{shown}");
}

/// BASE with `from` replaced by `to`.
pub fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from));
    BASE.replace(from, to)
}

/// BASE plus a valid TCP service on 198.18.0.100:80 followed by `extra` keys.
pub fn svc(extra: &str) -> String {
    format!("{BASE}\n[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\n{extra}\n")
}

/// `svc("")` followed by one real at 198.18.1.11 with `extra` keys.
pub fn real(svc_extra: &str, extra: &str) -> String {
    format!(
        "{}[[service.real]]\naddress = \"198.18.1.11\"\n{extra}\n",
        svc(svc_extra)
    )
}

macro_rules! rule {
    ($name:ident, $text:expr, $path:expr, $marker:expr, $needle:expr) => {
        #[test]
        fn $name() {
            let text: String = $text;
            check(&text, $path, $marker, $needle);
        }
    };
}

mod check_rules;
mod ha_rules;
mod model_rules;
mod rules;
mod service_rules;

/// 1-based line of the first occurrence of `marker` in `text`.
pub fn line_of(text: &str, marker: &str) -> usize {
    let at = text.find(marker).expect("marker present in test text");
    text[..at].matches('\n').count() + 1
}

fn errs(text: &str) -> Errors {
    match load(text) {
        Ok(m) => panic!("expected errors, got {m:?}"),
        Err(e) => e,
    }
}

#[test]
fn full_example_loads() {
    let m = load(FULL).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.dpdk.lcores, vec![0, 1]);
    assert_eq!(m.dpdk.main_lcore(), 0);
    assert_eq!(m.dpdk.worker_lcores(), &[1]);
    assert_eq!(m.dpdk.memory_mb, 512);
    assert!(!m.dpdk.hugepages);
    assert_eq!(m.dpdk.file_prefix, "lvsd");
    assert!(m.dpdk.args.is_empty());
    assert_eq!((m.dpdk.burst, m.dpdk.mbufs), (32, 8191));

    assert_eq!(m.ports.len(), 2);
    let ext = &m.ports[0];
    assert_eq!(ext.name, "ext");
    assert_eq!(ext.device, Device::Vdev("net_af_xdp0,iface=lv-ext".into()));
    assert_eq!(ext.address.addr, Ipv4Addr::new(198, 18, 0, 1));
    assert_eq!(ext.address.prefix, 24);
    assert_eq!((ext.rx_queues, ext.tx_queues, ext.mtu), (1, 0, 1500));
    assert_eq!(ext.tx_queue_count(m.dpdk.worker_lcores().len()), 1);
    assert_eq!(ext.mac, Some([2, 0, 0, 0, 0, 1]));
    assert_eq!(m.ports[1].device, Device::Pci("0000:01:00.0".into()));
    assert_eq!(m.port_index("int"), Some(1));

    assert_eq!(m.neighbors.len(), 1);
    assert_eq!(m.neighbors[0].port, 1);
    assert_eq!(m.neighbors[0].address, Ipv4Addr::new(198, 18, 1, 11));
    assert_eq!(m.neighbors[0].mac, [2, 0, 0, 0, 1, 0x0b]);

    assert_eq!(m.routes.len(), 1);
    assert_eq!(m.routes[0].destination.prefix, 0);
    assert_eq!(m.routes[0].via, Ipv4Addr::new(198, 18, 0, 254));
    assert_eq!(m.routes[0].port, 0);

    assert_eq!(m.arp.timeout, Duration::from_secs(300));
    assert_eq!(m.arp.retry, Duration::from_millis(1000));
    assert_eq!(m.arp.pending, 64);
    assert_eq!(m.log.format, LogFormat::Text);
    assert_eq!(m.log.level, "info");
    assert_eq!(m.timeouts.tcp, Duration::from_secs(900));
    assert_eq!(m.timeouts.tcp_fin, Duration::from_secs(120));
    assert_eq!(m.timeouts.udp, Duration::from_secs(300));
    assert_eq!(m.conn.capacity, 1_048_576);
    assert!(!m.conn.expire_nodest_conn && !m.conn.expire_quiescent_template && !m.conn.sloppy_tcp);

    assert_eq!(m.services.len(), 1);
    let s = &m.services[0];
    assert_eq!(s.name, "web");
    assert_eq!(s.protocol, Protocol::Tcp);
    assert_eq!(s.protocol.number(), 6);
    assert_eq!(s.vip, IpAddr::V4(Ipv4Addr::new(198, 18, 0, 100)));
    assert_eq!(s.port, 80);
    assert_eq!(s.scheduler, Scheduler::Wlc);
    assert_eq!(s.scheduler.as_str(), "wlc");
    assert!(s.flags.is_empty());
    let p = s.persistence.as_ref().expect("persistence");
    assert_eq!(p.timeout, Duration::from_secs(360));
    assert_eq!(p.netmask, Ipv4Addr::new(255, 255, 255, 0));
    assert!(!s.ops);
    assert_eq!(s.method, Method::Dr);
    assert_eq!(s.maglev_size, 65537);
    assert_eq!(s.reals.len(), 1);
    let r = &s.reals[0];
    assert_eq!(r.address, IpAddr::V4(Ipv4Addr::new(198, 18, 1, 11)));
    assert_eq!((r.port, r.weight, r.method), (8080, 1, Method::Nat));
    assert_eq!((r.upper_threshold, r.lower_threshold), (0, 0));
}

#[test]
fn minimal_gets_defaults() {
    let text = "[dpdk]\nlcores = \"1-3,6\"\n[[port]]\nname = \"ext\"\ndevice = \"net_tap0\"\naddress = \"10.0.0.1/8\"\n";
    let m = load(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.dpdk.lcores, vec![1, 2, 3, 6]);
    assert_eq!(m.dpdk.main_lcore(), 1);
    assert_eq!(m.dpdk.worker_lcores(), &[2, 3, 6]);
    assert_eq!(m.dpdk.memory_mb, 512);
    assert!(!m.dpdk.hugepages);
    assert_eq!(m.dpdk.file_prefix, "lvsd");
    assert!(m.dpdk.args.is_empty());
    assert_eq!(m.dpdk.burst, 32);
    // Unset: sized for 3 workers (4096 port + 3072 kernel-interface
    // descriptors, 1440 in bursts, 1536 in caches), rounded to 2^k - 1.
    assert_eq!(m.dpdk.mbufs, 16383);
    let p = &m.ports[0];
    assert_eq!((p.rx_queues, p.tx_queues, p.mtu, p.mac), (1, 0, 1500, None));
    assert_eq!(p.tx_queue_count(3), 3);
    assert!(m.neighbors.is_empty() && m.routes.is_empty() && m.services.is_empty());
    assert_eq!(m.arp.timeout, Duration::from_secs(300));
    assert_eq!(m.arp.retry, Duration::from_millis(1000));
    assert_eq!(m.arp.pending, 64);
    assert_eq!(m.log.format, LogFormat::Text);
    assert_eq!(m.log.level, "info");
    assert_eq!(m.timeouts.tcp, Duration::from_secs(900));
    assert_eq!(m.timeouts.tcp_fin, Duration::from_secs(120));
    assert_eq!(m.timeouts.udp, Duration::from_secs(300));
    assert_eq!(m.conn.capacity, 1_048_576);
    assert!(!m.conn.expire_nodest_conn && !m.conn.expire_quiescent_template && !m.conn.sloppy_tcp);
}

#[test]
fn service_defaults() {
    let text = format!("{BASE}\n[[service]]\nprotocol = \"udp\"\nvip = \"198.18.0.53\"\nport = 53\nops = true\n[[service.real]]\naddress = \"198.18.1.20\"\n");
    let m = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let s = &m.services[0];
    assert_eq!(s.name, "udp-198.18.0.53-53");
    assert_eq!(s.protocol.number(), 17);
    assert_eq!(s.scheduler, Scheduler::Wlc);
    assert_eq!(s.method, Method::Dr);
    assert_eq!(s.maglev_size, 65537);
    assert!(s.ops && s.persistence.is_none());
    let r = &s.reals[0];
    assert_eq!((r.port, r.weight, r.method), (53, 1, Method::Dr));
}

#[test]
fn persistence_defaults_and_all_ports() {
    let text = format!("{BASE}\n[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.9\"\nport = 0\nscheduler = \"mh\"\nflags = [\"mh-port\", \"flag-3\"]\nmaglev_size = 251\n[service.persistence]\n");
    let m = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let s = &m.services[0];
    let p = s.persistence.as_ref().expect("persistence");
    assert_eq!(p.timeout, Duration::from_secs(360));
    assert_eq!(p.netmask, Ipv4Addr::BROADCAST);
    assert_eq!(s.maglev_size, 251);
    assert!(s.flags.contains(ServiceFlags::MH_PORT));
    assert!(s.flags.contains(ServiceFlags::SCHED3));
    assert_eq!(s.flags.bits(), 0x30);
}

#[test]
fn conf_files_load() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/conf");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("conf dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = load_file(&path) {
                panic!("{}:\n{e}", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 2, "expected at least minimal.toml and nat-web.toml");
}

#[test]
fn nat_web_values() {
    let m = load_file(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/nat-web.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let s = &m.services[0];
    assert_eq!(s.scheduler, Scheduler::Wrr);
    assert_eq!(s.method, Method::Nat);
    let w: Vec<(IpAddr, u16, u32, Method)> = s
        .reals
        .iter()
        .map(|r| (r.address, r.port, r.weight, r.method))
        .collect();
    let ip = |d| IpAddr::V4(Ipv4Addr::new(198, 18, 1, d));
    assert_eq!(
        w,
        vec![
            (ip(11), 80, 3, Method::Nat),
            (ip(12), 80, 2, Method::Nat),
            (ip(13), 80, 1, Method::Nat)
        ]
    );
}

#[test]
fn missing_file_is_an_error() {
    let e = load_file("/nonexistent/lvsd.toml").unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(e.to_string().contains("cannot read configuration file"));
}

#[test]
fn three_mistakes_three_errors() {
    let text = format!(
        "{}\n[arp]\npending = 0\n",
        BASE.replace("198.18.1.1/24", "198.18.1.1/33")
            .replace("lcores = \"0-2\"", "lcores = \"7-3\"")
    );
    let e = errs(&text);
    assert_eq!(e.len(), 3, "{e}");
    let paths: Vec<&str> = e.iter().map(|x| x.path.as_str()).collect();
    assert_eq!(paths, ["dpdk.lcores", "port[1].address", "arp.pending"]);
    assert_eq!(e.0[0].line, Some(line_of(&text, "lcores")));
    assert_eq!(e.0[1].line, Some(line_of(&text, "198.18.1.1/33")));
    assert_eq!(e.0[2].line, Some(line_of(&text, "pending")));
    let shown = e.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[1],
        format!(
            "error: port[1].address (line {}): invalid IPv4 prefix '198.18.1.1/33': prefix length must be 0..=32",
            line_of(&text, "198.18.1.1/33")
        )
    );
}

#[test]
fn many_semantic_mistakes_are_all_reported() {
    let text = format!(
        "{BASE}\n[[service]]\nprotocol = \"sctp\"\nvip = \"198.18.0.1\"\nport = 70000\nscheduler = \"xx\"\n[[service.real]]\nweight = -1\n"
    );
    let e = errs(&text);
    for p in [
        "service[0].protocol",
        "service[0].vip",
        "service[0].port",
        "service[0].scheduler",
        "service[0].real[0].address",
        "service[0].real[0].weight",
    ] {
        assert!(e.has_path(p), "missing {p} in:\n{e}");
    }
    assert!(e.iter().all(|x| x.line.is_some()), "{e}");
}

#[test]
fn unknown_key_names_key_and_line() {
    let text = BASE.replace("name = \"int\"", "name = \"int\"\nspeed = 100");
    let e = errs(&text);
    assert_eq!(e.len(), 1);
    assert_eq!(e.0[0].path, "port[1].speed");
    assert_eq!(e.0[0].line, Some(line_of(&text, "speed")));
    assert!(e.0[0].message.contains("unknown key `speed`"), "{e}");
    let text = format!("{BASE}\n[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.9\"\nport = 1\n[[service.real]]\naddress = \"198.18.1.9\"\nwieght = 2\n");
    let e = errs(&text);
    assert_eq!(e.0[0].path, "service[0].real[0].wieght");
    assert_eq!(e.0[0].line, Some(line_of(&text, "wieght")));
}

#[test]
fn unknown_table_and_wrong_type() {
    let e = errs(&format!("{BASE}\n[bogus]\nx = 1\n"));
    assert_eq!(e.0[0].path, "bogus");
    assert!(e.to_string().contains("unknown key `bogus`"));
    let text = BASE.replace("lcores = \"0-2\"", "lcores = \"0-2\"\nburst = \"many\"");
    let e = errs(&text);
    assert_eq!(e.0[0].path, "dpdk.burst");
    assert_eq!(e.0[0].line, Some(3));
    assert!(e.0[0].message.contains("expected an integer"), "{e}");
}

#[test]
fn syntax_error_has_line() {
    let text = "[dpdk]\nlcores = \"0-1\"\n\nmemory_mb = = 3\n";
    let e = errs(text);
    assert_eq!(e.len(), 1);
    assert_eq!(e.0[0].line, Some(4));
    assert!(
        e.to_string()
            .starts_with("error: line 4: TOML syntax error"),
        "{e}"
    );
    let e = errs("[dpdk\n");
    assert_eq!(e.0[0].line, Some(1));
}

#[test]
fn hostile_inputs_do_not_panic() {
    for t in [
        "",
        "\u{0}",
        "[[port]]\n[[port]]\n[[neighbor]]\n[[route]]\n[[service]]\n[[service.real]]\n",
        "[dpdk]\nlcores = \"0-1023,0-1023\"\n",
        "[dpdk]\nlcores = \"-\"\n",
        "[dpdk]\nlcores = \",,,\"\n",
        "[dpdk]\nlcores = \"99999999999999999999\"\n",
        "[[service]]\nport = -9223372036854775808\nmaglev_size = 9223372036854775807\n",
        "[[service]]\nvip = \"::1\"\n[[service.real]]\naddress = \"::1\"\nport = 65536\n",
        "[[route]]\ndestination = \"1.2.3.4/\"\nvia = \"\"\n",
        "[[port]]\nname = \"é\"\ndevice = \"0000:zz:00.0\"\naddress = \"/\"\nmac = \"::::::\"\n",
    ] {
        let _ = load(t);
    }
}

/// One file, seven mistakes of seven kinds (a wrong type, an unknown key, a
/// bad CIDR, a duplicate port name, a bad listen address, an unknown
/// scheduler, a negative weight): one `load` names them all, in file order.
pub const SEVEN: &str = include_str!("../../../tests/data/seven-mistakes.toml");

#[test]
fn seven_mistakes_of_seven_kinds_in_one_pass() {
    let e = errs(SEVEN);
    let got: Vec<(&str, Option<usize>)> = e.iter().map(|x| (x.path.as_str(), x.line)).collect();
    let at = |m| Some(line_of(SEVEN, m));
    assert_eq!(
        got,
        [
            ("dpdk.burst", at("burst")),
            ("port[0].speed", at("speed")),
            (
                "port[1].name",
                at("name = \"ext\"\ndevice = \"net_af_packet1")
            ),
            ("port[1].address", at("/33")),
            ("metrics.listen", at("localhost")),
            ("service[0].scheduler", at("fastest")),
            ("service[0].real[0].weight", at("weight = -1")),
        ],
        "{e}"
    );
    let shown = e.to_string();
    for needle in [
        "invalid type: string \"many\", expected an integer",
        "unknown key `speed`",
        "duplicate port name 'ext'",
        "invalid IPv4 prefix '198.18.1.1/33'",
        "invalid listen address 'localhost'",
        "unknown scheduler 'fastest'",
        "invalid value -1",
    ] {
        assert!(shown.contains(needle), "'{needle}' not in:\n{shown}");
    }
}

#[test]
fn wrong_type_of_a_required_key_is_one_error() {
    let text = BASE.replace("name = \"ext\"", "name = 5");
    check(
        &text,
        "port[0].name",
        "name = 5",
        "invalid type: integer `5`, expected a string",
    );
    let text = svc("flags = [\"flag-1\", 3]\nsorry = 7\n");
    let e = errs(&text);
    let got: Vec<(&str, &str)> = e
        .iter()
        .map(|x| (x.path.as_str(), x.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "service[0].flags[1]",
                "invalid type: integer `3`, expected a string"
            ),
            (
                "service[0].sorry",
                "invalid type: integer `7`, expected a table"
            ),
        ],
        "{e}"
    );
}
