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
