//! Configuration model → datapath [`Snapshot`], with stable service and
//! real ids kept in a [`Registry`] for the life of the process: a service
//! or real that stays (same protocol/VIP/port, same address/port) keeps its
//! id across reloads, so its connections stay bound; one that is removed
//! and re-added gets its old id back (IPVS's dest trash).
use super::service::{Persist, RealView, ServiceView, Services};
use super::{HaView, LbOptions, PortView, RouteView, Snapshot, MAX_REALS};
use crate::config::{self, Model};
use crate::packet::ethernet::MacAddr;
use crate::sched::{Dest, Flags, Table};
use crate::types::PortId;
use hashbrown::HashMap;
use std::net::{IpAddr, Ipv4Addr};

type SvcKey = (u8, IpAddr, u16);

/// Stable ids for services and reals.
#[derive(Debug, Default)]
pub struct Registry {
    services: HashMap<SvcKey, u16>,
    reals: HashMap<(SvcKey, IpAddr, u16), u16>,
}

/// Health-derived changes to apply on top of the configuration.
#[derive(Debug, Default)]
pub struct Overrides {
    /// Real id → (effective weight, removed).
    pub reals: HashMap<u16, (u32, bool)>,
    /// Service ids whose sorry server is active.
    pub sorry: hashbrown::HashSet<u16>,
    /// With `[ha]`: this director is active (serves VIPs and floating
    /// addresses). Ignored without `[ha]` (always active).
    pub active: bool,
}

impl Registry {
    /// The id of a service (allocated on first use).
    pub fn service_id(&mut self, k: SvcKey) -> u16 {
        let n = self.services.len() as u16;
        *self.services.entry(k).or_insert(n)
    }
    /// The id of a real of a service (allocated on first use).
    pub fn real_id(&mut self, k: (SvcKey, IpAddr, u16)) -> anyhow::Result<u16> {
        let n = self.reals.len();
        if n >= MAX_REALS && !self.reals.contains_key(&k) {
            anyhow::bail!(
                "more than {MAX_REALS} distinct real servers over the life of the process"
            );
        }
        Ok(*self.reals.entry(k).or_insert(n as u16))
    }
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(_) => None,
    }
}

/// Build one service: dests in IPVS list order (reverse of insertion, i.e.
/// of the order in the file), scheduler tables built here.
fn service(
    reg: &mut Registry,
    s: &config::Service,
    ov: &Overrides,
    removed: &mut Vec<u16>,
) -> anyhow::Result<ServiceView> {
    let proto = s.protocol.number();
    let skey = (proto, s.vip, s.port);
    let id = reg.service_id(skey);
    let vip = v4(s.vip)
        .ok_or_else(|| anyhow::anyhow!("service {}: IPv6 is not supported yet", s.name))?;
    let mut dests = Vec::new();
    let mut reals = Vec::new();
    for r in s.reals.iter().rev() {
        let addr = v4(r.address).ok_or_else(|| anyhow::anyhow!("service {}: IPv6 real", s.name))?;
        let rid = reg.real_id((skey, r.address, r.port))?;
        let (weight, gone) = ov.reals.get(&rid).copied().unwrap_or((r.weight, false));
        if gone {
            // Health: on_failure = "remove" (or the sorry server took over).
            removed.push(rid);
            continue;
        }
        // Built with the configured weight, then set to the effective one:
        // Maglev keeps a quiesced real's slots (last_weight).
        let mut d = Dest::new(r.address, r.port, r.weight);
        d.set_weight(weight);
        d.u_threshold = r.upper_threshold;
        d.l_threshold = r.lower_threshold;
        dests.push(d);
        reals.push(RealView {
            id: rid,
            addr,
            port: r.port,
            method: r.method,
        });
    }
    if let (true, Some(so)) = (ov.sorry.contains(&id), &s.sorry) {
        let addr = v4(so.address)
            .ok_or_else(|| anyhow::anyhow!("service {}: IPv6 sorry server", s.name))?;
        let rid = reg.real_id((skey, so.address, so.port))?;
        dests.push(Dest::new(so.address, so.port, 1));
        reals.push(RealView {
            id: rid,
            addr,
            port: so.port,
            method: s.method,
        });
    }
    let flags = Flags {
        fallback: s.flags.contains(config::ServiceFlags::SCHED1),
        port: s.flags.contains(config::ServiceFlags::SCHED2),
    };
    let table = Table::build(s.scheduler, flags, &dests, s.maglev_size)
        .map_err(|e| anyhow::anyhow!("service {}: scheduler table: {e:?}", s.name))?;
    Ok(ServiceView {
        id,
        name: s.name.clone(),
        proto,
        vip,
        port: s.port,
        table: std::sync::Arc::new(table),
        dests,
        reals,
        persistence: s.persistence.as_ref().map(|p| Persist {
            timeout_s: p.timeout.as_secs() as u32,
            netmask: p.netmask,
        }),
        ops: s.ops,
    })
}

/// The datapath snapshot for a model and the ports' MACs.
pub fn build(
    m: &Model,
    macs: &[MacAddr],
    generation: u64,
    reg: &mut Registry,
    ov: &Overrides,
) -> anyhow::Result<Snapshot> {
    // Kernel (tap) ports follow the data ports, in port order.
    let mut next = m.ports.len() as u16;
    let kernel_ports: Vec<Option<PortId>> = m
        .ports
        .iter()
        .map(|p| {
            p.kernel_iface.as_ref().map(|_| {
                next += 1;
                PortId(next - 1)
            })
        })
        .collect();
    let mut vips: Vec<Ipv4Addr> = m.services.iter().filter_map(|s| v4(s.vip)).collect();
    vips.sort();
    vips.dedup();
    let ports = m
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| PortView {
            name: p.name.clone(),
            mac: p
                .mac
                .map(MacAddr)
                .unwrap_or_else(|| macs.get(i).copied().unwrap_or(MacAddr::ZERO)),
            addr: p.address,
            mtu: p.mtu,
            vips: vips
                .iter()
                .copied()
                .filter(|v| p.address.contains(*v))
                .collect(),
            kernel: kernel_ports.get(i).copied().flatten(),
            floating: p.floating.clone(),
        })
        .collect();
    let mut routes: Vec<RouteView> = m
        .routes
        .iter()
        .map(|r| RouteView {
            destination: r.destination,
            via: r.via,
            port: PortId(r.port as u16),
        })
        .collect();
    routes.sort_by_key(|r| std::cmp::Reverse(r.destination.prefix));
    let mut removed = Vec::new();
    let services = m
        .services
        .iter()
        .map(|s| service(reg, s, ov, &mut removed))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut snap = Snapshot {
        generation,
        ports,
        routes,
        static_neighbors: m
            .neighbors
            .iter()
            .map(|n| (PortId(n.port as u16), n.address, MacAddr(n.mac)))
            .collect(),
        vips,
        services: Services::new(services, removed),
        lb: LbOptions {
            sloppy_tcp: m.conn.sloppy_tcp,
            expire_nodest_conn: m.conn.expire_nodest_conn,
            expire_quiescent_template: m.conn.expire_quiescent_template,
        },
        timeouts: m.timeouts,
        ha: HaView {
            enabled: m.ha.is_some(),
            active: m.ha.is_none() || ov.active,
            vrid: m.ha.as_ref().map_or(0, |h| h.vrid),
            priority: m.ha.as_ref().map_or(0, |h| h.priority),
        },
        limits: m.limits,
        fast: Default::default(),
    };
    snap.build_index();
    Ok(snap)
}
