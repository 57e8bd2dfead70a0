//! Virtual services and real servers as the workers see them (part of the
//! [`Snapshot`](super::Snapshot)). Ids are stable across snapshots: a
//! connection records its service and real by id, so a reload that keeps a
//! real keeps its connections, and a real that is removed and re-added gets
//! its id (and its connections) back, as IPVS's dest trash does.
use crate::sched;
pub use crate::types::Method;
use crate::types::{Protocol, ServiceKey};
use hashbrown::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Stable service id.
pub type ServiceId = u16;
/// Stable real-server id.
pub type RealId = u16;

/// One real server of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealView {
    pub id: RealId,
    pub addr: Ipv4Addr,
    pub port: u16,
    pub method: Method,
}

/// Persistence settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Persist {
    pub timeout_s: u32,
    pub netmask: Ipv4Addr,
}

/// One virtual service.
#[derive(Clone)]
pub struct ServiceView {
    pub id: ServiceId,
    pub name: String,
    pub proto: u8,
    pub vip: Ipv4Addr,
    pub port: u16,
    /// Scheduler tables built on the management side.
    pub table: Arc<sched::Table>,
    /// IPVS list order (reverse insertion order); `reals[i]` ↔ `dests[i]`.
    pub dests: Vec<sched::Dest>,
    pub reals: Vec<RealView>,
    pub persistence: Option<Persist>,
    /// One-packet scheduling (UDP).
    pub ops: bool,
}

impl ServiceView {
    /// The service's key. `proto` is TCP or UDP for every service the
    /// snapshot builder makes (it comes from a [`Protocol`]).
    pub fn key(&self) -> ServiceKey {
        ServiceKey {
            protocol: Protocol::from_number(self.proto).unwrap_or(Protocol::Tcp),
            vip: IpAddr::V4(self.vip),
            port: self.port,
        }
    }
}

impl std::fmt::Debug for ServiceView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceView")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("proto", &self.proto)
            .field("vip", &self.vip)
            .field("port", &self.port)
            .field("scheduler", &self.table.kind())
            .field("reals", &self.reals)
            .finish()
    }
}

/// All services with their lookup indexes.
#[derive(Clone, Debug, Default)]
pub struct Services {
    pub list: Vec<ServiceView>,
    by_key: HashMap<(u8, Ipv4Addr, u16), usize>,
    by_id: Vec<Option<usize>>,
    real_loc: Vec<Option<(usize, usize)>>,
    real_addrs: hashbrown::HashSet<Ipv4Addr>,
    /// Reals taken out by health checking (`on_failure = "remove"`): their
    /// connections are expired on their next packet.
    removed: hashbrown::HashSet<RealId>,
    /// Which flows are owned by the client's masked address (persistence).
    pub grouping: super::owner::Grouping,
}

impl Services {
    /// Index a list of services.
    pub fn new(list: Vec<ServiceView>, removed: Vec<RealId>) -> Services {
        let mut s = Services {
            grouping: super::owner::Grouping::build(&list),
            list,
            removed: removed.into_iter().collect(),
            ..Default::default()
        };
        for (i, v) in s.list.iter().enumerate() {
            s.by_key.insert((v.proto, v.vip, v.port), i);
            let id = usize::from(v.id);
            if s.by_id.len() <= id {
                s.by_id.resize(id + 1, None);
            }
            s.by_id[id] = Some(i);
            for (d, r) in v.reals.iter().enumerate() {
                s.real_addrs.insert(r.addr);
                let rid = usize::from(r.id);
                if s.real_loc.len() <= rid {
                    s.real_loc.resize(rid + 1, None);
                }
                s.real_loc[rid] = Some((i, d));
            }
        }
        s
    }

    /// The service for a packet to `(proto, vip, port)`: exact match first,
    /// then the port-0 (all ports) service of that VIP. Always inlined:
    /// it is on every new flow's path (`Lb::to_vip`).
    #[inline(always)]
    pub fn find(&self, proto: u8, vip: Ipv4Addr, port: u16) -> Option<usize> {
        self.by_key
            .get(&(proto, vip, port))
            .or_else(|| self.by_key.get(&(proto, vip, 0)))
            .copied()
    }

    /// Position of a service by id.
    #[inline]
    pub fn by_id(&self, id: ServiceId) -> Option<usize> {
        self.by_id.get(usize::from(id)).copied().flatten()
    }

    /// (service position, dest index) of a real by id; `None` once removed.
    #[inline]
    pub fn real(&self, id: RealId) -> Option<(usize, usize)> {
        self.real_loc.get(usize::from(id)).copied().flatten()
    }

    /// Was real `id` removed by health checking (expire its connections)?
    #[inline]
    pub fn removed_by_health(&self, id: RealId) -> bool {
        self.removed.contains(&id)
    }

    /// Is `ip` a real server of some service?
    pub fn is_real_addr(&self, ip: Ipv4Addr) -> bool {
        self.real_addrs.contains(&ip)
    }

    /// Highest real id + 1 (size for per-real arrays).
    pub fn real_id_bound(&self) -> usize {
        self.real_loc.len()
    }
}
