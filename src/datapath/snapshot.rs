//! The immutable picture of the topology that workers read: ports, the
//! addresses lvsd owns, routes, static neighbours. Built whole on the
//! management side and published as one `Arc` swap (see `worker::Published`);
//! a worker reads one generation per burst.
use super::lb::LbOptions;
use super::service::Services;
use crate::config::Ipv4Net;
use crate::conn::Timeouts;
use crate::packet::ethernet::MacAddr;
use crate::types::PortId;
use std::net::Ipv4Addr;

/// One data port as the datapath sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortView {
    pub name: String,
    pub mac: MacAddr,
    /// The director's own address and its connected subnet.
    pub addr: Ipv4Net,
    pub mtu: u16,
    /// VIPs answered (ARP) on this port: those inside its subnet.
    pub vips: Vec<Ipv4Addr>,
    /// The kernel interface (exception path) of this port, as a TX port.
    pub kernel: Option<PortId>,
    /// Addresses held only while this director is active (e.g. the reals'
    /// gateway in NAT mode).
    pub floating: Vec<Ipv4Addr>,
}

/// A static or configured route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteView {
    pub destination: Ipv4Net,
    pub via: Ipv4Addr,
    pub port: PortId,
}

/// What kind of local address a destination is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local {
    /// A port's own address.
    Own(PortId),
    /// A virtual service address.
    Vip,
}

/// The whole published state.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub generation: u64,
    pub ports: Vec<PortView>,
    /// Longest prefix first.
    pub routes: Vec<RouteView>,
    pub static_neighbors: Vec<(PortId, Ipv4Addr, MacAddr)>,
    /// All VIPs, sorted.
    pub vips: Vec<Ipv4Addr>,
    /// Virtual services and their reals.
    pub services: Services,
    /// IPVS sysctl-like switches.
    pub lb: LbOptions,
    /// Connection timeouts (`[timeouts]`, `ipvsadm --set`).
    pub timeouts: Timeouts,
    /// Active/backup state.
    pub ha: super::sync::HaView,
    /// Rate limits on generated ICMP and the kernel path (`[limits]`).
    pub limits: crate::types::RateLimits,
    /// Per-packet lookup tables derived from the fields above; built by
    /// [`Snapshot::build_index`] on the management side before publishing.
    pub fast: FastIndex,
}

/// What an entry of [`FastIndex::locals`] is (in the order `local` checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LocalKind {
    Own,
    Floating,
    Vip,
}

#[inline]
fn local_bit(a: u32) -> u64 {
    1 << (a.wrapping_mul(0x9E37_79B1) >> 26)
}

/// Speed trick: derived tables so that forwarding a packet needs no linear
/// scan. `local` becomes a binary search over a few sorted addresses, and
/// each real server's route (egress port, next hop) is computed once per
/// snapshot instead of once per packet. Empty (not built) means "use the
/// scans": snapshots built by hand in tests behave the same either way.
#[derive(Clone, Debug, Default)]
pub struct FastIndex {
    built: bool,
    /// One bit per `locals` address (`local_bit`): a clear bit proves an
    /// address is not local without searching (most sources).
    filter: u64,
    /// (address, kind, port), sorted; one entry per address, the kind
    /// `local` would find first.
    locals: Vec<(u32, LocalKind, PortId)>,
    /// By real id: (the real's address, egress port, next hop).
    real_routes: Vec<Option<(Ipv4Addr, PortId, Ipv4Addr)>>,
}

impl Snapshot {
    /// The port at `p`, if configured.
    #[inline]
    pub fn port(&self, p: PortId) -> Option<&PortView> {
        self.ports.get(usize::from(p.0))
    }

    /// Fill [`Snapshot::fast`] from the other fields (call once, after
    /// the last change, before publishing).
    pub fn build_index(&mut self) {
        let mut locals = Vec::new();
        for (i, p) in self.ports.iter().enumerate() {
            let port = PortId(i as u16);
            locals.push((u32::from(p.addr.addr), LocalKind::Own, port));
            for f in &p.floating {
                locals.push((u32::from(*f), LocalKind::Floating, port));
            }
        }
        for v in &self.vips {
            locals.push((u32::from(*v), LocalKind::Vip, PortId(0)));
        }
        // Stable: for one address, the first port of the first kind wins.
        locals.sort_by_key(|e| (e.0, e.1));
        locals.dedup_by_key(|e| e.0);
        let mut real_routes = vec![None; self.services.real_id_bound()];
        for r in self.services.list.iter().flat_map(|s| s.reals.iter()) {
            if let Some(slot) = real_routes.get_mut(usize::from(r.id)) {
                *slot = self.route(r.addr).map(|(p, nh)| (r.addr, p, nh));
            }
        }
        let filter = locals.iter().fold(0, |f, e| f | local_bit(e.0));
        self.fast = FastIndex {
            built: true,
            filter,
            locals,
            real_routes,
        };
    }

    /// Is `ip` one of ours, and how? VIPs and floating addresses are ours
    /// only while this director is active.
    #[inline]
    pub fn local(&self, ip: Ipv4Addr) -> Option<Local> {
        if self.fast.built {
            if self.fast.filter & local_bit(u32::from(ip)) == 0 {
                return None;
            }
            let l = &self.fast.locals;
            let (_, kind, port) = *l.get(l.binary_search_by_key(&u32::from(ip), |e| e.0).ok()?)?;
            return match kind {
                LocalKind::Own => Some(Local::Own(port)),
                _ if !self.ha.active => None,
                LocalKind::Floating => Some(Local::Own(port)),
                LocalKind::Vip => Some(Local::Vip),
            };
        }
        self.local_scan(ip)
    }

    fn local_scan(&self, ip: Ipv4Addr) -> Option<Local> {
        if let Some(i) = self.ports.iter().position(|p| p.addr.addr == ip) {
            return Some(Local::Own(PortId(i as u16)));
        }
        if !self.ha.active {
            return None;
        }
        if let Some(i) = self.ports.iter().position(|p| p.floating.contains(&ip)) {
            return Some(Local::Own(PortId(i as u16)));
        }
        self.vips.binary_search(&ip).ok().map(|_| Local::Vip)
    }

    /// Is `ip` a VIP or floating address (served only while active)?
    pub fn is_shared(&self, ip: Ipv4Addr) -> bool {
        self.vips.binary_search(&ip).is_ok() || self.ports.iter().any(|p| p.floating.contains(&ip))
    }

    /// Is `ip` the address of some real server?
    pub fn is_real(&self, ip: Ipv4Addr) -> bool {
        self.services.is_real_addr(ip)
    }

    /// Should port `p` answer ARP for `ip`?
    pub fn answers_arp(&self, p: PortId, ip: Ipv4Addr) -> bool {
        self.port(p).is_some_and(|v| {
            v.addr.addr == ip
                || (self.ha.active && (v.vips.contains(&ip) || v.floating.contains(&ip)))
        })
    }

    /// Egress port and next hop towards real server `id` at `addr` (cached
    /// per snapshot; falls back to [`Snapshot::route`]).
    #[inline(always)]
    pub fn route_to_real(
        &self,
        id: super::service::RealId,
        addr: Ipv4Addr,
    ) -> Option<(PortId, Ipv4Addr)> {
        match self.fast.real_routes.get(usize::from(id)) {
            Some(Some((a, p, nh))) if *a == addr => Some((*p, *nh)),
            _ => self.route(addr),
        }
    }

    /// Egress port and next hop for `dst`: a connected subnet (next hop =
    /// `dst`) or the longest matching route.
    pub fn route(&self, dst: Ipv4Addr) -> Option<(PortId, Ipv4Addr)> {
        let mut best: Option<(u8, PortId, Ipv4Addr)> = None;
        for (i, p) in self.ports.iter().enumerate() {
            if p.addr.contains(dst) && best.is_none_or(|b| p.addr.prefix > b.0) {
                best = Some((p.addr.prefix, PortId(i as u16), dst));
            }
        }
        for r in &self.routes {
            if r.destination.contains(dst) && best.is_none_or(|b| r.destination.prefix > b.0) {
                best = Some((r.destination.prefix, r.port, r.via));
            }
        }
        best.map(|(_, p, nh)| (p, nh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(a: [u8; 4], p: u8) -> Ipv4Net {
        Ipv4Net::new(Ipv4Addr::from(a), p).unwrap()
    }

    pub(crate) fn sample() -> Snapshot {
        Snapshot {
            generation: 1,
            ports: vec![
                PortView {
                    name: "ext".into(),
                    mac: MacAddr([2, 0, 0, 0, 0, 1]),
                    addr: net([198, 18, 0, 1], 24),
                    mtu: 1500,
                    vips: vec![Ipv4Addr::new(198, 18, 0, 100)],
                    kernel: None,
                    floating: vec![],
                },
                PortView {
                    name: "int".into(),
                    mac: MacAddr([2, 0, 0, 0, 1, 1]),
                    addr: net([198, 18, 1, 1], 24),
                    mtu: 1500,
                    vips: vec![],
                    kernel: None,
                    floating: vec![],
                },
            ],
            routes: vec![RouteView {
                destination: net([0, 0, 0, 0], 0),
                via: Ipv4Addr::new(198, 18, 0, 254),
                port: PortId(0),
            }],
            static_neighbors: vec![],
            vips: vec![Ipv4Addr::new(198, 18, 0, 100)],
            ..Default::default()
        }
    }

    #[test]
    fn index_agrees_with_scans() {
        let mut s = sample();
        s.ports[1].floating = vec![Ipv4Addr::new(198, 18, 1, 254)];
        s.vips.push(Ipv4Addr::new(198, 18, 1, 254));
        s.vips.sort();
        for active in [true, false] {
            s.ha.active = active;
            let mut f = s.clone();
            f.build_index();
            for last in 0..=255u8 {
                for net in [0u8, 1] {
                    let ip = Ipv4Addr::new(198, 18, net, last);
                    assert_eq!(f.local(ip), s.local(ip), "{ip} active={active}");
                }
            }
        }
    }

    #[test]
    fn locals_and_routes() {
        let s = sample();
        assert_eq!(
            s.local(Ipv4Addr::new(198, 18, 1, 1)),
            Some(Local::Own(PortId(1)))
        );
        assert_eq!(s.local(Ipv4Addr::new(198, 18, 0, 100)), Some(Local::Vip));
        assert_eq!(s.local(Ipv4Addr::new(198, 18, 0, 2)), None);
        assert!(s.answers_arp(PortId(0), Ipv4Addr::new(198, 18, 0, 100)));
        assert!(!s.answers_arp(PortId(1), Ipv4Addr::new(198, 18, 0, 100)));
        assert_eq!(
            s.route(Ipv4Addr::new(198, 18, 1, 7)),
            Some((PortId(1), Ipv4Addr::new(198, 18, 1, 7)))
        );
        assert_eq!(
            s.route(Ipv4Addr::new(8, 8, 8, 8)),
            Some((PortId(0), Ipv4Addr::new(198, 18, 0, 254)))
        );
    }
}
