//! Data model shared by the ipvsadm parser and formatter: service identity,
//! forwarding methods, scheduler flags, and the read-only snapshot of the
//! IPVS table (`SvcInfo`, `RealInfo`, `ConnInfo`, ...) that `format` prints.
//!
//! Only IPv4 is modelled for now; the parser rejects IPv6 input explicitly.

use crate::types::Scheduler;
pub use crate::types::{FwdFlag, Protocol, ServiceKey, Timeouts};
use std::net::Ipv4Addr;

/// Identity of a virtual service (`-t`/`-u` address or `-f` firewall mark).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SvcId {
    Addr(ServiceKey),
    Fwmark(u32),
}

impl SvcId {
    /// Virtual port (0 for fwmark services).
    pub fn port(&self) -> u16 {
        match self {
            SvcId::Addr(k) => k.port,
            SvcId::Fwmark(_) => 0,
        }
    }
}

/// The 14 scheduler names accepted by `-s`, in the order ipvsadm's error
/// message lists them.
pub const SCHEDULERS: [&str; 14] = {
    use Scheduler::*;
    let order = [
        Rr, Wrr, Lc, Wlc, Lblc, Lblcr, Dh, Sh, Sed, Nq, Fo, Ovf, Mh, Twos,
    ];
    let mut names = [""; 14];
    let mut i = 0;
    while i < order.len() {
        names[i] = order[i].as_str();
        i += 1;
    }
    names
};

/// Default scheduler (`DEF_SCHED`).
pub const DEFAULT_SCHEDULER: &str = Scheduler::Wlc.as_str();
/// Default persistence timeout for a bare `-p` (`IPVS_SVC_PERSISTENT_TIMEOUT`).
pub const DEFAULT_PERSISTENT_TIMEOUT: u32 = 360;
/// Largest timeout accepted by `-p` and `--set` (`MAX_TIMEOUT`, 31 days).
pub const MAX_TIMEOUT: u32 = 86400 * 31;

/// Scheduler flag bits (`IP_VS_SVC_F_SCHED1..3`).
pub const SCHED_FLAG1: u8 = 1;
pub const SCHED_FLAG2: u8 = 2;
pub const SCHED_FLAG3: u8 = 4;

/// Bit for one `-b` flag name, whatever the scheduler (`sh-fallback` and
/// `mh-fallback` are aliases of `flag-1`, `sh-port`/`mh-port` of `flag-2`).
pub fn sched_flag_bit(name: &str) -> Option<u8> {
    match name {
        "flag-1" | "sh-fallback" | "mh-fallback" => Some(SCHED_FLAG1),
        "flag-2" | "sh-port" | "mh-port" => Some(SCHED_FLAG2),
        "flag-3" => Some(SCHED_FLAG3),
        _ => None,
    }
}

/// OR of the bits of all known names in `flags` (unknown names ignored).
pub fn sched_flag_bits(flags: &[String]) -> u8 {
    flags
        .iter()
        .filter_map(|f| sched_flag_bit(f))
        .fold(0, |a, b| a | b)
}

/// Canonical flag names for `bits` under scheduler `sched`, in the order
/// ipvsadm's `print_sched_flags` prints them.
pub fn sched_flag_names(sched: &str, bits: u8) -> Vec<String> {
    let (n1, n2) = match sched {
        "sh" => ("sh-fallback", "sh-port"),
        "mh" => ("mh-fallback", "mh-port"),
        _ => ("flag-1", "flag-2"),
    };
    let mut out = Vec::new();
    for (bit, name) in [
        (SCHED_FLAG1, n1),
        (SCHED_FLAG2, n2),
        (SCHED_FLAG3, "flag-3"),
    ] {
        if bits & bit != 0 {
            out.push(name.to_string());
        }
    }
    out
}

/// Cumulative counters (`ip_vs_stats_user` / stats64).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

/// Estimated rates (per second).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// One real server as reported for listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealInfo {
    pub addr: Ipv4Addr,
    pub port: u16,
    pub fwd: FwdFlag,
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub active: u32,
    pub inactive: u32,
    pub persistent: u32,
    pub stats: Stats,
    pub rates: Rates,
}

/// One virtual service as reported for listing.
///
/// `flags` holds `-b` flag names; the formatter maps them to bits and prints
/// the canonical names for `scheduler` (so `flag-1` on an `sh` service is
/// shown as `sh-fallback`, exactly like ipvsadm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvcInfo {
    pub id: SvcId,
    pub scheduler: String,
    pub flags: Vec<String>,
    /// `Some(timeout)` when persistent.
    pub persistent: Option<u32>,
    pub netmask: Ipv4Addr,
    pub ops: bool,
    pub pe: Option<String>,
    pub reals: Vec<RealInfo>,
    pub stats: Stats,
    pub rates: Rates,
}

/// One connection entry (a line of `/proc/net/ip_vs_conn`). Not
/// `types::ConnRecord`: this is what ipvsadm prints for any IPVS table,
/// decoded from the control protocol's text fields (state name, whole
/// seconds, protocol name incl. `IP`), not lvsd's worker record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// `None` = IPPROTO_IP (persistence template of a fwmark service),
    /// printed as `IP`.
    pub proto: Option<Protocol>,
    /// State name as the kernel prints it (`ESTABLISHED`, `NONE`, `UDP`, ...).
    pub state: String,
    pub expires_secs: u64,
    pub caddr: Ipv4Addr,
    pub cport: u16,
    pub vaddr: Ipv4Addr,
    pub vport: u16,
    pub raddr: Ipv4Addr,
    pub rport: u16,
}

/// Sync daemon role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    Master,
    Backup,
}

/// One running sync daemon as reported by `--daemon`; zero/None fields are
/// omitted from the output like ipvsadm does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonInfo {
    pub state: SyncState,
    pub mcast_ifn: String,
    pub syncid: u8,
    pub sync_maxlen: u16,
    pub mcast_group: Option<Ipv4Addr>,
    pub mcast_port: u16,
    pub mcast_ttl: u8,
}
