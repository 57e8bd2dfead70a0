//! The control protocol, version 1: one JSON object per line over the Unix
//! socket, one response line per request, then the server closes.
//!
//! Request: `{"version":1,"op":"<op>", ...fields}`; response:
//! `{"ok":true,"data":...}` or `{"ok":false,"error":"<message naming the field>"}`.
//! Every request is validated whole before anything changes; a `batch`
//! applies all its requests as one snapshot or none of them.
pub use crate::types::ServiceKey;
use crate::types::{Method, Scheduler};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

/// Protocol version spoken by this build.
pub const VERSION: u32 = 1;

/// A request with its version.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    pub version: u32,
    #[serde(flatten)]
    pub request: Request,
}

/// Persistence of a service.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PersistSpec {
    pub timeout: u32,
    pub netmask: Ipv4Addr,
}

/// A service as `-A`/`-E` give it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    #[serde(flatten)]
    pub key: ServiceKey,
    pub scheduler: Scheduler,
    #[serde(default)]
    pub persistence: Option<PersistSpec>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub ops: bool,
}

/// A real server as `-a`/`-e` give it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RealSpec {
    pub address: IpAddr,
    pub port: u16,
    pub method: Method,
    pub weight: u32,
    #[serde(default)]
    pub upper_threshold: u32,
    #[serde(default)]
    pub lower_threshold: u32,
}

/// Every operation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Process status: version, snapshot generation, workers, ports.
    Status,
    /// Services, reals, counters, rates, timeouts (for `-L`).
    List,
    /// The connection tables of all workers (for `-Lc`).
    Connections,
    AddService {
        service: ServiceSpec,
    },
    EditService {
        service: ServiceSpec,
    },
    DeleteService {
        key: ServiceKey,
    },
    /// Delete every service.
    Clear,
    AddReal {
        key: ServiceKey,
        real: RealSpec,
    },
    EditReal {
        key: ServiceKey,
        real: RealSpec,
    },
    DeleteReal {
        key: ServiceKey,
        address: IpAddr,
        port: u16,
    },
    /// Zero the counters shown by `-L --stats` (Prometheus counters stay monotonic).
    Zero {
        key: Option<ServiceKey>,
    },
    /// `--set tcp tcpfin udp`; 0 leaves a timeout unchanged.
    SetTimeouts {
        tcp: u32,
        tcp_fin: u32,
        udp: u32,
    },
    /// Apply all or nothing (`-R`).
    Batch {
        requests: Vec<Request>,
    },
    /// Re-read the configuration file. Refused while runtime changes are
    /// unsaved, unless `discard_runtime`.
    Reload {
        discard_runtime: bool,
    },
    /// The running configuration as TOML (`lvsadm save-config`).
    SaveConfig,
    /// Health-check state of every real.
    Health,
    /// The active/backup pair's state ([`HaStatusData`]; without `[ha]`:
    /// `{"configured":false}`).
    Ha,
    /// Which real a flow reaches, and why.
    Explain {
        /// As the user typed it (`lvsadm explain tcp ...`): `explain` reads
        /// it as a [`crate::types::Protocol`] and names an unknown one.
        protocol: String,
        client: SocketAddrV4,
        vip: SocketAddrV4,
    },
}

/// The answer to one request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Response {
    /// Success with data.
    pub fn data(v: serde_json::Value) -> Response {
        Response {
            ok: true,
            error: None,
            data: Some(v),
        }
    }
    /// Success without data.
    pub fn ok() -> Response {
        Response {
            ok: true,
            error: None,
            data: None,
        }
    }
    /// Failure.
    pub fn err(e: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(e.into()),
            data: None,
        }
    }
}

/// Counters of a service or real (`--stats`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatsData {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

/// Rates from the estimator (`--rate`), per second.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RatesData {
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// One real in a listing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RealData {
    pub address: Ipv4Addr,
    pub port: u16,
    /// ipvsadm's name (`"Masq"`, `"Route"`, `"Tunnel"`), as `-L` prints it.
    pub method: String,
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    pub active: u64,
    pub inactive: u64,
    pub persistent: u64,
    pub stats: StatsData,
    pub rates: RatesData,
}

/// One service in a listing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ServiceData {
    pub name: String,
    #[serde(flatten)]
    pub key: ServiceKey,
    pub scheduler: Scheduler,
    pub flags: Vec<String>,
    pub persistence: Option<PersistSpec>,
    pub ops: bool,
    pub stats: StatsData,
    pub rates: RatesData,
    pub reals: Vec<RealData>,
}

/// The answer to `list`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ListData {
    pub services: Vec<ServiceData>,
    pub timeouts: (u32, u32, u32),
    /// Connection-table capacity summed over workers.
    pub conn_capacity: u64,
}

/// One connection (for `-Lc`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConnData {
    /// ipvsadm's name (`"TCP"`, `"UDP"`, `"IP"`), as `-Lc` prints it.
    pub protocol: String,
    pub state: String,
    pub expires_ms: u64,
    pub client: SocketAddrV4,
    pub vip: SocketAddrV4,
    pub real: SocketAddrV4,
}

/// The answer to `ha` on a director with `[ha]` (`lvsadm show ha`). Ages
/// are milliseconds before the answer; wall-clock times are Unix
/// milliseconds; `None` where it never happened.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HaStatusData {
    /// Always true here (a director without `[ha]` answers `{"configured":false}`).
    pub configured: bool,
    pub node: String,
    /// `init`, `backup`, `active` or `fault`.
    pub role: String,
    /// Time in the current role (since the start while it never changed).
    pub role_age_ms: u64,
    pub priority: u8,
    /// The priority this director claims with now (0 in fault).
    pub effective_priority: u8,
    pub preempt: bool,
    pub preempt_delay_ms: u64,
    pub interval_ms: u64,
    pub dead_interval_ms: u64,
    /// The local fault, while there is one.
    pub fault: Option<String>,
    pub peer: HaPeerData,
    pub sync: HaSyncData,
    /// Role changes since the start.
    pub transitions_total: u64,
    /// The last role changes, newest first.
    pub transitions: Vec<HaTransitionData>,
}

/// The peer and the link to it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HaPeerData {
    /// The configured `[ha] peer` address.
    pub address: String,
    /// Its node name, role and priority from its last heartbeat.
    pub node: Option<String>,
    pub role: Option<String>,
    pub priority: Option<u8>,
    /// The authenticated peer link is up.
    pub connected: bool,
    /// When the link last came up or went down.
    pub link_changed_unix_ms: Option<u64>,
    pub link_changed_age_ms: Option<u64>,
    /// Age of the last heartbeat (peer link) and of the last accepted
    /// advert (data network) from the peer.
    pub heartbeat_age_ms: Option<u64>,
    pub advert_age_ms: Option<u64>,
    /// Sessions established and lost.
    pub connects: u64,
    pub disconnects: u64,
    /// Data-network adverts refused, by reason.
    pub adverts_refused: BTreeMap<String, u64>,
    /// Peer-link connections and frames refused, by reason.
    pub link_refused: BTreeMap<String, u64>,
}

/// Connection-state replication.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HaSyncData {
    pub records_sent: u64,
    pub records_received: u64,
    /// Records not replicated, by reason (`behind`, `no_peer`, `install_full`).
    pub dropped: BTreeMap<String, u64>,
    /// Bulk syncs completed to and from the peer, and their records.
    pub bulk_syncs_sent: u64,
    pub bulk_syncs_received: u64,
    pub bulk_records_sent: u64,
    pub bulk_records_received: u64,
    /// A bulk dump to the peer is in progress.
    pub bulk_in_progress: bool,
    /// Lag: bytes in the peer link's send queue, and records the workers
    /// made that the management loop has not taken yet.
    pub queued_bytes: u64,
    pub backlog_records: u64,
    /// Age of the last records received from the peer.
    pub last_received_age_ms: Option<u64>,
}

/// One role change.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HaTransitionData {
    pub at_unix_ms: u64,
    pub age_ms: u64,
    pub from: String,
    pub to: String,
    /// `ha::role::Reason::as_str`.
    pub reason: String,
    /// What the reason does not say (for a fault: which one).
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape() {
        let e = Envelope {
            version: 1,
            request: Request::DeleteReal {
                key: ServiceKey {
                    protocol: crate::types::Protocol::Tcp,
                    vip: Ipv4Addr::new(198, 18, 0, 100).into(),
                    port: 80,
                },
                address: Ipv4Addr::new(198, 18, 1, 11).into(),
                port: 8080,
            },
        };
        let s = serde_json::to_string(&e).unwrap();
        assert_eq!(
            s,
            r#"{"version":1,"op":"delete_real","key":{"protocol":"tcp","vip":"198.18.0.100","port":80},"address":"198.18.1.11","port":8080}"#
        );
        assert_eq!(serde_json::from_str::<Envelope>(&s).unwrap(), e);
        let bad = serde_json::from_str::<Envelope>(
            r#"{"version":1,"op":"delete_real","key":{"protocol":"tcp","vip":"x","port":80}}"#,
        );
        assert!(bad.is_err());
    }
}
