//! The validated, typed configuration model produced by
//! [`crate::config::load`]. Every default is filled in, every cross reference
//! is resolved (ports are referred to by index into [`Model::ports`]), and
//! every value is within its documented range.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::config::net::{Ipv4Net, Mac};
pub use crate::types::{Method, Protocol, Rate, RateLimits, Scheduler, Timeouts};

/// The whole validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    pub dpdk: Dpdk,
    /// At least one; indices are used by [`Neighbor::port`] and [`Route::port`].
    pub ports: Vec<Port>,
    pub neighbors: Vec<Neighbor>,
    pub routes: Vec<Route>,
    pub arp: Arp,
    pub log: Log,
    pub timeouts: Timeouts,
    pub conn: Conn,
    /// `[limits]`: rate limits on generated ICMP and the kernel path.
    pub limits: RateLimits,
    pub services: Vec<Service>,
    pub control: Control,
    pub metrics: Metrics,
    /// `[ha]`: active/backup pairing; `None` = standalone (always active).
    pub ha: Option<super::ha::Ha>,
    /// `[children]`: the user child processes run as.
    pub children: super::children::Children,
}

/// `[control]`: the control socket lvsadm talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Control {
    /// Unix socket path, default `/run/lvsd/lvsd.sock`; created mode 0600.
    pub socket: std::path::PathBuf,
}

/// `[metrics]`: Prometheus exposition over HTTP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metrics {
    /// `None` when disabled (`enabled = false`).
    pub listen: Option<std::net::SocketAddr>,
}

impl Model {
    /// Index of the port with this name.
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }
}

/// `[dpdk]`: EAL and packet-buffer settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dpdk {
    /// Sorted, deduplicated, at least two entries.
    pub lcores: Vec<u32>,
    pub memory_mb: u32,
    /// `false` means EAL `--no-huge`.
    pub hugepages: bool,
    pub file_prefix: String,
    /// Extra EAL arguments, verbatim.
    pub args: Vec<String>,
    /// 1..=512.
    pub burst: u16,
    /// At least 1023 and what the ports and workers need (see
    /// `config::mbufs`); unset in the file means that need.
    pub mbufs: u32,
}

impl Dpdk {
    /// The management (EAL main) lcore: the first of `lcores`.
    pub fn main_lcore(&self) -> u32 {
        self.lcores.first().copied().unwrap_or(0)
    }

    /// The worker lcores: all but the first.
    pub fn worker_lcores(&self) -> &[u32] {
        self.lcores.get(1..).unwrap_or(&[])
    }
}

/// How a port's device is named to DPDK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Device {
    /// A virtual device spec passed to `--vdev`, e.g. `net_af_xdp0,iface=lv-ext`.
    Vdev(String),
    /// A PCI address in full `DDDD:BB:DD.F` form (lower-case hex).
    Pci(String),
}

impl Device {
    /// The string handed to the EAL (`--vdev` value or PCI allow-list entry).
    pub fn as_str(&self) -> &str {
        match self {
            Device::Vdev(s) | Device::Pci(s) => s,
        }
    }

    /// For a vdev, the driver instance name before the first comma (`net_af_xdp0`).
    pub fn vdev_name(&self) -> Option<&str> {
        match self {
            Device::Vdev(s) => s.split(',').next(),
            Device::Pci(_) => None,
        }
    }
}

/// `[[port]]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub device: Device,
    /// The director's own address and the connected subnet.
    pub address: Ipv4Net,
    /// 1..=64.
    pub rx_queues: u16,
    /// 0..=64; 0 means one per worker lcore (see [`Port::tx_queue_count`]).
    pub tx_queues: u16,
    /// 68..=9000.
    pub mtu: u16,
    /// `None`: use the device's own MAC.
    pub mac: Option<Mac>,
    /// Kernel interface (DPDK `net_tap`) carrying the port's own address
    /// for the exception path; `None` when disabled (`kernel_iface = ""`).
    pub kernel_iface: Option<String>,
    /// Addresses held by the active director only (moved by gratuitous ARP),
    /// e.g. the real servers' gateway on the inside in NAT mode.
    pub floating: Vec<std::net::Ipv4Addr>,
}

impl Port {
    /// Effective TX queue count given the number of worker lcores.
    pub fn tx_queue_count(&self, workers: usize) -> usize {
        if self.tx_queues == 0 {
            workers
        } else {
            usize::from(self.tx_queues)
        }
    }
}

/// `[[neighbor]]`: a static ARP entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbor {
    /// Index into [`Model::ports`].
    pub port: usize,
    pub address: Ipv4Addr,
    pub mac: Mac,
}

/// `[[route]]`: a static route through a gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Host bits are zero.
    pub destination: Ipv4Net,
    pub via: Ipv4Addr,
    /// Egress port: index into [`Model::ports`] whose subnet contains `via`.
    pub port: usize,
}

/// `[arp]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arp {
    /// Reachable lifetime of a learned entry; refresh begins at 3/4 of it.
    pub timeout: Duration,
    /// Re-send interval for unresolved neighbours.
    pub retry: Duration,
    /// Packets held per unresolved neighbour, 1..=4096.
    pub pending: u32,
}

/// `log.format`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// `[log]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    pub format: LogFormat,
    /// `tracing` env-filter directive string, passed through.
    pub level: String,
}

/// `[conn]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conn {
    /// Connection-table entries per worker, >= 1024.
    pub capacity: u32,
    pub expire_nodest_conn: bool,
    pub expire_quiescent_template: bool,
    pub sloppy_tcp: bool,
}

/// Scheduler flags of a service, with the IPVS `IP_VS_SVC_F_SCHED*` bit values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ServiceFlags(u32);

impl ServiceFlags {
    /// No flags.
    pub const EMPTY: ServiceFlags = ServiceFlags(0);
    /// `flag-1` (`IP_VS_SVC_F_SCHED1`).
    pub const SCHED1: ServiceFlags = ServiceFlags(0x0008);
    /// `flag-2` (`IP_VS_SVC_F_SCHED2`).
    pub const SCHED2: ServiceFlags = ServiceFlags(0x0010);
    /// `flag-3` (`IP_VS_SVC_F_SCHED3`).
    pub const SCHED3: ServiceFlags = ServiceFlags(0x0020);
    /// `sh-fallback` = SCHED1.
    pub const SH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `sh-port` = SCHED2.
    pub const SH_PORT: ServiceFlags = Self::SCHED2;
    /// `mh-fallback` = SCHED1.
    pub const MH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `mh-port` = SCHED2.
    pub const MH_PORT: ServiceFlags = Self::SCHED2;

    /// Raw IPVS bit value.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: ServiceFlags) {
        self.0 |= other.0;
    }

    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// `service.persistence`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Persistence {
    pub timeout: Duration,
    /// Contiguous netmask applied to client addresses.
    pub netmask: Ipv4Addr,
}

/// `[[service]]`: an IPVS virtual service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Given name or `"<proto>-<vip>-<port>"`.
    pub name: String,
    pub protocol: Protocol,
    pub vip: IpAddr,
    /// 0 = all ports (only with persistence).
    pub port: u16,
    pub scheduler: Scheduler,
    pub flags: ServiceFlags,
    pub persistence: Option<Persistence>,
    /// One-packet scheduling (UDP only).
    pub ops: bool,
    /// Default forwarding method of the reals.
    pub method: Method,
    /// Maglev lookup-table size (prime); meaningful only for [`Scheduler::Mh`].
    pub maglev_size: u32,
    pub reals: Vec<Real>,
    /// Live weight needed for the service to be up (keepalived `quorum`).
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    /// `[service.check]` as written (reals inherit it).
    pub check_raw: Option<super::raw::RawCheck>,
    /// `[service.sorry]`: takes over while quorum is lost.
    pub sorry: Option<super::check_def::Sorry>,
}

/// `[[service.real]]`: a real (destination) server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Real {
    pub address: IpAddr,
    /// Equals the service port for `dr`/`tun`.
    pub port: u16,
    /// 0..=65535; 0 = quiesced.
    pub weight: u32,
    pub method: Method,
    /// 0 = no upper connection threshold.
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    /// `[service.real.check]` as written (overrides the service's).
    pub check_raw: Option<super::raw::RawCheck>,
    /// The effective check (service's, overridden by the real's), if any.
    pub check: Option<super::check_def::Check>,
}
