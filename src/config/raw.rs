//! Raw mirror of the configuration file, as read by `read.rs`.
//!
//! Every field is optional and kept as a plain string or `i64`: a value of
//! the wrong TOML type and an unknown key are reported by the reader, range
//! checks, address parsing, required-key checks and cross references by the
//! section validators, so that *all* mistakes are reported in one pass.

/// The whole file.
#[derive(Debug, Default)]
pub struct RawConfig {
    pub dpdk: Option<RawDpdk>,
    pub port: Vec<RawPort>,
    pub neighbor: Vec<RawNeighbor>,
    pub route: Vec<RawRoute>,
    pub arp: RawArp,
    pub log: RawLog,
    pub timeouts: RawTimeouts,
    pub conn: RawConn,
    pub limits: RawLimits,
    pub service: Vec<RawService>,
    pub control: RawControl,
    pub metrics: RawMetrics,
    pub ha: Option<RawHa>,
    pub children: RawChildren,
}

/// `[children]`
#[derive(Debug, Default)]
pub struct RawChildren {
    pub run_as: Option<String>,
}

/// `[ha]`
#[derive(Debug, Default)]
pub struct RawHa {
    pub node: Option<String>,
    pub priority: Option<i64>,
    pub preempt: Option<bool>,
    pub preempt_delay_ms: Option<i64>,
    pub peer: Option<String>,
    pub listen: Option<String>,
    pub key_file: Option<String>,
    pub interval_ms: Option<i64>,
    pub dead_interval_ms: Option<i64>,
    pub garp: Option<RawGarp>,
    pub vrid: Option<i64>,
    pub notify_active: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    pub track: Vec<RawTrack>,
}

/// `ha.track = [{ command, interval_ms, fall, rise }]`
#[derive(Debug, Default)]
pub struct RawTrack {
    pub command: Option<String>,
    pub interval_ms: Option<i64>,
    pub fall: Option<i64>,
    pub rise: Option<i64>,
}

/// `ha.garp = { repeat, delay_ms }`
#[derive(Debug, Default)]
pub struct RawGarp {
    pub repeat: Option<i64>,
    pub delay_ms: Option<i64>,
}

/// `[control]`
#[derive(Debug, Default)]
pub struct RawControl {
    pub socket: Option<String>,
}

/// `[metrics]`
#[derive(Debug, Default)]
pub struct RawMetrics {
    pub listen: Option<String>,
    pub enabled: Option<bool>,
}

/// `[dpdk]`
#[derive(Debug, Default)]
pub struct RawDpdk {
    pub lcores: Option<String>,
    pub memory_mb: Option<i64>,
    pub hugepages: Option<bool>,
    pub file_prefix: Option<String>,
    pub args: Option<Vec<String>>,
    pub burst: Option<i64>,
    pub mbufs: Option<i64>,
}

/// `[[port]]`
#[derive(Debug, Default)]
pub struct RawPort {
    pub name: Option<String>,
    pub device: Option<String>,
    pub address: Option<String>,
    pub rx_queues: Option<i64>,
    pub tx_queues: Option<i64>,
    pub mtu: Option<i64>,
    pub mac: Option<String>,
    pub kernel_iface: Option<String>,
    pub floating: Option<Vec<String>>,
}

/// `[[neighbor]]`
#[derive(Debug, Default)]
pub struct RawNeighbor {
    pub port: Option<String>,
    pub address: Option<String>,
    pub mac: Option<String>,
}

/// `[[route]]`
#[derive(Debug, Default)]
pub struct RawRoute {
    pub destination: Option<String>,
    pub via: Option<String>,
}

/// `[arp]`
#[derive(Debug, Default)]
pub struct RawArp {
    pub timeout_s: Option<i64>,
    pub retry_ms: Option<i64>,
    pub pending: Option<i64>,
}

/// `[log]`
#[derive(Debug, Default)]
pub struct RawLog {
    pub format: Option<String>,
    pub level: Option<String>,
}

/// `[timeouts]`
#[derive(Debug, Default)]
pub struct RawTimeouts {
    pub tcp: Option<i64>,
    pub tcp_fin: Option<i64>,
    pub udp: Option<i64>,
}

/// `[conn]`
#[derive(Debug, Default)]
pub struct RawConn {
    pub capacity: Option<i64>,
    pub expire_nodest_conn: Option<bool>,
    pub expire_quiescent_template: Option<bool>,
    pub sloppy_tcp: Option<bool>,
}

/// `[[service]]`
#[derive(Debug, Default)]
pub struct RawService {
    pub name: Option<String>,
    pub protocol: Option<String>,
    pub vip: Option<String>,
    pub port: Option<i64>,
    pub scheduler: Option<String>,
    pub flags: Option<Vec<String>>,
    pub persistence: Option<RawPersistence>,
    pub ops: Option<bool>,
    pub method: Option<String>,
    pub maglev_size: Option<i64>,
    pub quorum: Option<i64>,
    pub hysteresis: Option<i64>,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    pub check: Option<RawCheck>,
    pub sorry: Option<RawSorry>,
    pub real: Vec<RawReal>,
}

/// `[service.check]` / `[service.real.check]`
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RawCheck {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<RawStatus>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_regex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rise: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fall: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_up: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_down: Option<String>,
}

/// `[service.sorry]`
#[derive(Debug, Default)]
pub struct RawSorry {
    pub address: Option<String>,
    pub port: Option<i64>,
}

/// `service.persistence = { timeout, netmask }`
#[derive(Debug, Default)]
pub struct RawPersistence {
    pub timeout: Option<i64>,
    pub netmask: Option<String>,
}

/// `[[service.real]]`
#[derive(Debug, Default)]
pub struct RawReal {
    pub address: Option<String>,
    pub port: Option<i64>,
    pub weight: Option<i64>,
    pub method: Option<String>,
    pub upper_threshold: Option<i64>,
    pub lower_threshold: Option<i64>,
    pub check: Option<RawCheck>,
}

/// A status entry: `200` or `"200-299"`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum RawStatus {
    Code(i64),
    Range(String),
}

/// `[limits]`
#[derive(Debug, Default)]
pub struct RawLimits {
    pub icmp_rate: Option<i64>,
    pub icmp_burst: Option<i64>,
    pub kernel_rate: Option<i64>,
    pub kernel_burst: Option<i64>,
}
