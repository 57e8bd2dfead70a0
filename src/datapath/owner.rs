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
use super::{Local, Snapshot};
use crate::packet::ethernet::{self, EtherType};
use crate::packet::flow;
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
        // Quoted packet from the VIP to the client (we sent it), or from the
        // client to a real (the real side answers about it).
        return Some(if snap.local(isrc) == Some(Local::Vip) {
            of_client(idst, inner.dport, workers)
        } else {
            of_client(isrc, inner.sport, workers)
        });
    }
    match snap.local(dst) {
        Some(Local::Vip) => Some(of_client(src, t.sport, workers)),
        Some(Local::Own(_)) => None,
        None => Some(of_client(dst, t.dport, workers)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
