//! Which worker owns a flow: a pure function of the *client* endpoint, so
//! the request and the reply direction of a NAT connection, ICMP errors
//! about it, and a connection installed by state sync all land on the same
//! worker (and the same function on both directors).
//!
//! - To a VIP: the client is the source.
//! - Anything else (replies from real servers): the client is the destination.
//! - ICMP errors: the client endpoint inside the quoted packet — the quoted
//!   packet was sent by the client (to the VIP or, NAT-rewritten, to the
//!   real) or to the client.
//! - Non-IP (ARP) and traffic to the director's own addresses: no owner
//!   (any worker may handle it).
//!
//! Persistence groups ([`Grouping`]): the flows of a persistent service are
//! owned by the client's address under the persistence netmask, port left
//! out, so every connection of a client (and its template) lives on one
//! worker. Reply frames do not name their service, only their real: so
//! services that share a real address form one group, owned under the
//! widest netmask (the AND of the masks) of the persistent services in it;
//! a reply is grouped by its source address (the real). Flows of services
//! outside any persistent group keep the client port in the key (one
//! client's connections spread over the workers). ARCHITECTURE.md
//! "Several workers" says why.
use super::service::ServiceView;
use super::{Local, Snapshot};
use crate::packet::ethernet::{self, EtherType};
use crate::packet::flow;
use crate::types::ConnRecord;
use hashbrown::HashMap;
use std::net::{IpAddr, Ipv4Addr};

/// The owner among `workers` of the client endpoint `(addr, port)`.
#[inline]
pub fn of_client(addr: Ipv4Addr, port: u16, workers: usize) -> usize {
    if workers <= 1 {
        return 0;
    }
    let x = (u64::from(u32::from(addr)) << 16) | u64::from(port);
    let h = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 32) % workers as u64) as usize
}

/// The owner of client `(addr, port)` whose flow is grouped by `mask`
/// (`None`: not grouped, the port counts). A persistence template, whose
/// key holds the masked address and port 0, gets the owner of its clients.
#[inline]
pub fn of_grouped(addr: Ipv4Addr, port: u16, mask: Option<Ipv4Addr>, workers: usize) -> usize {
    match mask {
        Some(m) => of_client(addr & m, 0, workers),
        None => of_client(addr, port, workers),
    }
}

/// The persistence groups of a snapshot's services (built with them).
#[derive(Clone, Debug, Default)]
pub struct Grouping {
    /// By service position: the group's mask, if the service is in one.
    services: Vec<Option<Ipv4Addr>>,
    /// Real address → its group's mask.
    reals: HashMap<Ipv4Addr, Ipv4Addr>,
}

/// Union-find root of `i`.
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

impl Grouping {
    /// Group the services that share a real address; a group with a
    /// persistent service is owned under the AND of its netmasks.
    pub fn build(list: &[ServiceView]) -> Grouping {
        let mut parent: Vec<usize> = (0..list.len()).collect();
        let mut first: HashMap<Ipv4Addr, usize> = HashMap::new();
        for (i, s) in list.iter().enumerate() {
            for r in &s.reals {
                let j = *first.entry(r.addr).or_insert(i);
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
        let mut masks: HashMap<usize, Ipv4Addr> = HashMap::new();
        for (i, s) in list.iter().enumerate() {
            if let Some(p) = s.persistence {
                let m = masks.entry(root(&mut parent, i)).or_insert(p.netmask);
                *m &= p.netmask;
            }
        }
        if masks.is_empty() {
            return Grouping::default();
        }
        let services: Vec<Option<Ipv4Addr>> = (0..list.len())
            .map(|i| masks.get(&root(&mut parent, i)).copied())
            .collect();
        let reals = first
            .iter()
            .filter_map(|(a, i)| Some((*a, services[*i]?)))
            .collect();
        Grouping { services, reals }
    }

    /// No persistent service: every flow keeps its port in the key.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// The mask of the group of the service at position `pos`.
    #[inline]
    pub fn of_service(&self, pos: usize) -> Option<Ipv4Addr> {
        self.services.get(pos).copied().flatten()
    }

    /// The mask of the group of real address `addr`.
    #[inline]
    pub fn of_real(&self, addr: Ipv4Addr) -> Option<Ipv4Addr> {
        self.reals.get(&addr).copied()
    }
}

/// The group mask of a flow to `(proto, vip, vport)`.
#[inline]
fn service_mask(snap: &Snapshot, proto: u8, vip: Ipv4Addr, vport: u16) -> Option<Ipv4Addr> {
    let s = &snap.services;
    if s.grouping.is_empty() {
        return None;
    }
    s.grouping.of_service(s.find(proto, vip, vport)?)
}

/// The owner of a frame from client `(caddr, cport)` to `(vip, vport)`.
#[inline]
pub fn to_vip(
    snap: &Snapshot,
    proto: u8,
    (caddr, cport): (Ipv4Addr, u16),
    (vip, vport): (Ipv4Addr, u16),
    workers: usize,
) -> usize {
    of_grouped(caddr, cport, service_mask(snap, proto, vip, vport), workers)
}

/// The owner of a frame from `src` (a real, say) to client `(caddr, cport)`.
#[inline]
pub fn to_client(
    snap: &Snapshot,
    src: Ipv4Addr,
    caddr: Ipv4Addr,
    cport: u16,
    workers: usize,
) -> usize {
    let g = &snap.services.grouping;
    let mask = if g.is_empty() { None } else { g.of_real(src) };
    of_grouped(caddr, cport, mask, workers)
}

/// The owner of a synced connection or template (by its service).
pub fn of_record(snap: &Snapshot, r: &ConnRecord, workers: usize) -> usize {
    let mask = service_mask(snap, r.proto, r.vaddr, r.vport);
    of_grouped(r.caddr, r.cport, mask, workers)
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(_) => None,
    }
}

/// The owner of the frame's flow, or `None` when any worker may handle it.
pub fn of_frame(data: &[u8], snap: &Snapshot, workers: usize) -> Option<usize> {
    if workers <= 1 {
        return None;
    }
    let l2 = ethernet::parse_l2(data).ok()?;
    if l2.ethertype != EtherType::IPV4 || l2.vlan.is_some() {
        return None;
    }
    let p = flow::extract(l2.ethertype, data.get(l2.header_len..)?).ok()?;
    let t = p.tuple;
    let (src, dst) = (v4(t.src)?, v4(t.dst)?);
    if let Some(inner) = p.inner {
        let (isrc, idst) = (v4(inner.src)?, v4(inner.dst)?);
        let n = workers;
        // Quoted packet from the VIP to the client (we sent it), from the
        // client to the VIP, or from the client to a real (the real side
        // answers about it).
        return Some(if snap.local(isrc) == Some(Local::Vip) {
            to_vip(
                snap,
                inner.proto,
                (idst, inner.dport),
                (isrc, inner.sport),
                n,
            )
        } else if snap.local(idst) == Some(Local::Vip) {
            to_vip(
                snap,
                inner.proto,
                (isrc, inner.sport),
                (idst, inner.dport),
                n,
            )
        } else {
            to_client(snap, idst, isrc, inner.sport, n)
        });
    }
    match snap.local(dst) {
        Some(Local::Vip) => Some(to_vip(
            snap,
            t.proto,
            (src, t.sport),
            (dst, t.dport),
            workers,
        )),
        Some(Local::Own(_)) => None,
        None => Some(to_client(snap, src, dst, t.dport, workers)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datapath::topology::{self, Registry};

    /// A snapshot with `services` (`(port, persistence netmask, real
    /// address last bytes)`) on VIP 198.18.0.100.
    fn snapshot(services: &[(u16, Option<&str>, &[u8])]) -> Snapshot {
        let mut c = String::from(
            "[dpdk]\nlcores = \"0-2\"\n[[port]]\nname = \"ext\"\ndevice = \"net_null0\"\n\
             address = \"198.18.0.1/24\"\n[[port]]\nname = \"int\"\ndevice = \"net_null1\"\n\
             address = \"198.18.1.1/24\"\n",
        );
        for (port, mask, reals) in services {
            c += &format!(
                "[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = {port}\nmethod = \"nat\"\n"
            );
            if let Some(m) = mask {
                c += &format!("persistence = {{ timeout = 60, netmask = \"{m}\" }}\n");
            }
            for r in *reals {
                c += &format!("  [[service.real]]\n  address = \"198.18.1.{r}\"\n  port = 8080\n");
            }
        }
        let m = crate::config::load(&c).expect("config");
        topology::build(&m, &[], 1, &mut Registry::default(), &Default::default()).expect("snap")
    }

    #[test]
    fn services_sharing_a_real_share_the_widest_persistence_group() {
        let snap = snapshot(&[
            (80, Some("255.255.255.0"), &[11]),
            (81, None, &[11, 12]),
            (82, Some("255.255.0.0"), &[12]),
            (83, None, &[13]),
            (84, Some("255.255.255.255"), &[14]),
        ]);
        let g = &snap.services.grouping;
        let pos = |port| snap.services.find(6, VIP, port).unwrap();
        let m16 = Some(Ipv4Addr::new(255, 255, 0, 0));
        for port in [80, 81, 82] {
            assert_eq!(g.of_service(pos(port)), m16, "port {port}");
        }
        assert_eq!(g.of_service(pos(83)), None);
        assert_eq!(g.of_service(pos(84)), Some(Ipv4Addr::BROADCAST));
        assert_eq!(g.of_real(Ipv4Addr::new(198, 18, 1, 12)), m16);
        assert_eq!(g.of_real(Ipv4Addr::new(198, 18, 1, 13)), None);

        // One client net: one owner for every connection, both directions,
        // and for its template (masked address, port 0) and synced records.
        let (r11, r13) = (Ipv4Addr::new(198, 18, 1, 11), Ipv4Addr::new(198, 18, 1, 13));
        let mut owners = std::collections::BTreeSet::new();
        let mut spread = std::collections::BTreeSet::new();
        for i in 0..64u16 {
            let c = Ipv4Addr::new(198, 51, (i % 4) as u8, 2 + (i % 3) as u8);
            let p = 1024 + i * 977;
            for vport in [80, 81, 82] {
                owners.insert(to_vip(&snap, 6, (c, p), (VIP, vport), 4));
            }
            owners.insert(to_client(&snap, r11, c, p, 4));
            let rec = ConnRecord {
                proto: 6,
                state: 0,
                template: true,
                active: false,
                caddr: c & Ipv4Addr::new(255, 255, 255, 0),
                cport: 0,
                vaddr: VIP,
                vport: 80,
                raddr: r11,
                rport: 8080,
                expires_ms: 0,
            };
            owners.insert(of_record(&snap, &rec, 4));
            let synced = ConnRecord {
                template: false,
                caddr: c,
                cport: p,
                vport: 81,
                ..rec
            };
            owners.insert(of_record(&snap, &synced, 4));
            spread.insert(to_vip(&snap, 6, (c, p), (VIP, 83), 4));
            assert_eq!(
                to_vip(&snap, 6, (c, p), (VIP, 83), 4),
                to_client(&snap, r13, c, p, 4),
                "ungrouped: both directions by the endpoint"
            );
        }
        assert_eq!(owners.len(), 1, "{owners:?}");
        assert!(spread.len() > 1, "ungrouped flows spread: {spread:?}");
        assert!(snapshot(&[(80, None, &[11])]).services.grouping.is_empty());
    }

    const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);

    #[test]
    fn spread_and_stable() {
        let mut counts = [0usize; 4];
        for i in 0..4000u32 {
            counts[of_client(Ipv4Addr::from(0xC612_0000 + i), 40000 + (i % 50) as u16, 4)] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
        assert_eq!(of_client(Ipv4Addr::new(1, 2, 3, 4), 5, 1), 0);
        let a = of_client(Ipv4Addr::new(198, 18, 0, 2), 40000, 2);
        assert_eq!(a, of_client(Ipv4Addr::new(198, 18, 0, 2), 40000, 2));
    }
}
