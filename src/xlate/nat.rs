//! NAT ("Masq", IPVS `ip_vs_nat_xmit` in `ip_vs_xmit.c`): DNAT of client requests towards the real
//! server and SNAT of its replies back to the VIP.
//!
//! Invariants: only TCP and UDP (non-fragmented) are rewritten; everything
//! else is refused with an error and the frame left untouched (ICMP errors
//! go through [`super::icmp::nat_icmp_in`]/[`super::icmp::nat_icmp_out`]).
//! The IPv4 header checksum and the L4 checksum are updated incrementally
//! (RFC 1624) for the address, the port and the TTL; a UDP checksum of 0
//! stays 0, a computed 0 is written as 0xFFFF. The TTL is decremented;
//! TTL <= 1 is [`XlateError::TtlExceeded`]. Ethernet bytes are not touched.

use super::{ipv4_total_len, split_l4, Result, XlateError};
use crate::frame::Frame;
use crate::packet::ipv4::Protocol;
use crate::packet::{tcp, udp};
use std::net::Ipv4Addr;

/// Which end of the flow is rewritten.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Src,
    Dst,
}

/// Client → real server: `IP.daddr := new_daddr`, `L4.dport := new_dport`,
/// TTL - 1, checksums updated incrementally.
///
/// Errors: `NotIpv4`/`Truncated` (contract or L4 header), `Fragment`,
/// `UnsupportedProtocol` (not TCP/UDP), `TtlExceeded` (TTL <= 1: send
/// [`super::icmp::time_exceeded`]).
pub fn dnat<F: Frame + ?Sized>(frame: &mut F, new_daddr: Ipv4Addr, new_dport: u16) -> Result<()> {
    rewrite(frame.data_mut(), Side::Dst, new_daddr, new_dport)
}

/// Real server → client reply: `IP.saddr := new_saddr` (the VIP),
/// `L4.sport := new_sport` (the virtual port), TTL - 1, checksums as
/// [`dnat`]. Same errors.
pub fn snat<F: Frame + ?Sized>(frame: &mut F, new_saddr: Ipv4Addr, new_sport: u16) -> Result<()> {
    rewrite(frame.data_mut(), Side::Src, new_saddr, new_sport)
}

fn rewrite(data: &mut [u8], side: Side, addr: Ipv4Addr, port: u16) -> Result<()> {
    let tl = ipv4_total_len(data)?;
    let (mut ip, l4) = split_l4(data, tl)?;
    if ip.is_fragment() {
        return Err(XlateError::Fragment);
    }
    let old = match side {
        Side::Src => ip.src(),
        Side::Dst => ip.dst(),
    };
    // Validate the L4 header before touching anything.
    match ip.protocol() {
        Protocol::TCP => {
            tcp::Packet::new_checked(&*l4)?;
        }
        Protocol::UDP => {
            udp::Packet::new_checked(&*l4)?;
        }
        _ => return Err(XlateError::UnsupportedProtocol),
    }
    // Last check: the only one the caller answers with an ICMP message.
    if ip.ttl() <= 1 {
        return Err(XlateError::TtlExceeded);
    }
    // From here on nothing can fail.
    ip.decrement_ttl();
    match side {
        Side::Src => ip.rewrite_src(addr),
        Side::Dst => ip.rewrite_dst(addr),
    };
    match ip.protocol() {
        Protocol::TCP => {
            let mut t = tcp::Packet::new_unchecked(l4);
            t.update_checksum_addr(&old.octets(), &addr.octets());
            match side {
                Side::Src => t.rewrite_src_port(port),
                Side::Dst => t.rewrite_dst_port(port),
            }
        }
        _ => {
            let mut u = udp::Packet::new_unchecked(l4);
            u.update_checksum_addr(&old.octets(), &addr.octets());
            match side {
                Side::Src => u.rewrite_src_port(port),
                Side::Dst => u.rewrite_dst_port(port),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::VecFrame;
    use crate::packet::checksum;
    use crate::xlate::build::{self, *};

    fn check_tcp(f: &[u8], src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), ttl: u8) {
        let (ip, l4) = build::parse(f);
        assert!(ip.verify_checksum());
        assert_eq!((ip.src(), ip.dst(), ip.ttl()), (src.0, dst.0, ttl));
        let t = tcp::Packet::new_checked(l4).unwrap();
        assert_eq!((t.src_port(), t.dst_port()), (src.1, dst.1));
        assert!(t.verify_checksum_v4(ip.src(), ip.dst()));
        // Full recompute gives the same bytes (incremental == full).
        let mut b = l4.to_vec();
        let mut t2 = tcp::Packet::new_unchecked(&mut b[..]);
        t2.fill_checksum_v4(ip.src(), ip.dst());
        assert_eq!(t2.checksum(), t.checksum());
    }

    fn check_udp(f: &[u8], src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), ttl: u8) -> u16 {
        let (ip, l4) = build::parse(f);
        assert!(ip.verify_checksum());
        assert_eq!((ip.src(), ip.dst(), ip.ttl()), (src.0, dst.0, ttl));
        let u = udp::Packet::new_checked(l4).unwrap();
        assert_eq!((u.src_port(), u.dst_port()), (src.1, dst.1));
        assert!(u.verify_checksum_v4(ip.src(), ip.dst()));
        if u.checksum() != 0 {
            let mut b = l4.to_vec();
            let mut u2 = udp::Packet::new_unchecked(&mut b[..]);
            u2.fill_checksum_v4(ip.src(), ip.dst());
            assert_eq!(u2.checksum(), u.checksum());
        }
        u.checksum()
    }

    #[test]
    fn dnat_tcp() {
        for payload in [&b""[..], b"a", b"hello world", &[0xff; 301][..]] {
            let mut f = VecFrame::new(&tcp(C, 40000, VIP, 80, 64, payload));
            dnat(&mut f, RS, 8080).unwrap();
            check_tcp(f.data(), (C, 40000), (RS, 8080), 63);
            assert_eq!(&f.data()[..14], &build::ETH_HDR);
            // Payload untouched.
            assert_eq!(&f.data()[54..], payload);
        }
    }

    #[test]
    fn snat_tcp_and_udp() {
        let mut f = VecFrame::new(&tcp(RS, 8080, C, 40000, 2, b"reply"));
        snat(&mut f, VIP, 80).unwrap();
        check_tcp(f.data(), (VIP, 80), (C, 40000), 1);

        let mut f = VecFrame::new(&udp(RS, 5353, C, 1234, 64, b"answer", true));
        snat(&mut f, VIP, 53).unwrap();
        assert_ne!(check_udp(f.data(), (VIP, 53), (C, 1234), 63), 0);
    }

    #[test]
    fn dnat_udp_and_zero_checksum() {
        let mut f = VecFrame::new(&udp(C, 1234, VIP, 53, 64, b"query", true));
        dnat(&mut f, RS, 5353).unwrap();
        assert_ne!(check_udp(f.data(), (C, 1234), (RS, 5353), 63), 0);

        let mut f = VecFrame::new(&udp(C, 1234, VIP, 53, 64, b"query", false));
        dnat(&mut f, RS, 5353).unwrap();
        assert_eq!(check_udp(f.data(), (C, 1234), (RS, 5353), 63), 0);
        // Rewriting the other side too keeps the absent checksum absent.
        snat(&mut f, VIP, 53).unwrap();
        assert_eq!(check_udp(f.data(), (VIP, 53), (RS, 5353), 62), 0);
    }

    /// A datagram whose checksum after DNAT computes to 0 must carry 0xFFFF.
    #[test]
    fn udp_computed_zero_becomes_ffff() {
        let (sport, dport, new_dport) = (1234, 53, 5353);
        // Choose the payload word so the post-NAT sum is 0xFFFF (checksum 0).
        let mut post = udp(C, sport, RS, new_dport, 64, &[0, 0, 1, 2], false);
        let ph = checksum::ipv4_pseudo_header(C, RS, 17, 12);
        let sum = checksum::combine(&[ph, checksum::data(&post[34..])]);
        let w = !sum;
        assert_ne!(w, 0);
        post[42..44].copy_from_slice(&w.to_be_bytes());
        let full = !checksum::combine(&[ph, checksum::data(&post[34..])]);
        assert_eq!(full, 0, "constructed case must compute to 0");

        let mut f = VecFrame::new(&udp(C, sport, VIP, dport, 64, &post[42..46], true));
        assert_ne!(
            udp::Packet::new_checked(&f.data()[34..])
                .unwrap()
                .checksum(),
            0
        );
        dnat(&mut f, RS, new_dport).unwrap();
        assert_eq!(check_udp(f.data(), (C, sport), (RS, new_dport), 63), 0xffff);
        // And back: the reverse rewrite restores a non-zero, valid checksum.
        let mut g = VecFrame::new(&udp(RS, new_dport, C, sport, 64, &post[42..46], true));
        assert_eq!(
            udp::Packet::new_checked(&g.data()[34..])
                .unwrap()
                .checksum(),
            0xffff
        );
        snat(&mut g, VIP, dport).unwrap();
        assert_ne!(check_udp(g.data(), (VIP, dport), (C, sport), 63), 0);
    }

    #[test]
    fn random_incremental_equals_full() {
        let mut r = crate::types::Xorshift::new(0x1234_5678);
        for i in 0..2000 {
            let len = (r.next_u64() % 64) as usize;
            let payload: Vec<u8> = (0..len).map(|_| r.next_u64() as u8).collect();
            let a = Ipv4Addr::from(r.next_u64() as u32);
            let b = Ipv4Addr::from(r.next_u64() as u32);
            let n = Ipv4Addr::from(r.next_u64() as u32);
            let (p1, p2, p3) = (
                r.next_u64() as u16,
                r.next_u64() as u16,
                r.next_u64() as u16,
            );
            let ttl = 2 + (r.next_u64() % 254) as u8;
            if i % 2 == 0 {
                let mut f = VecFrame::new(&tcp(a, p1, b, p2, ttl, &payload));
                dnat(&mut f, n, p3).unwrap();
                check_tcp(f.data(), (a, p1), (n, p3), ttl - 1);
                snat(&mut f, b, p1).unwrap_or_else(|e| assert_eq!(e, XlateError::TtlExceeded));
            } else {
                let mut f = VecFrame::new(&udp(a, p1, b, p2, ttl, &payload, true));
                snat(&mut f, n, p3).unwrap();
                check_udp(f.data(), (n, p3), (b, p2), ttl - 1);
            }
        }
    }

    #[test]
    fn ttl_rules() {
        for ttl in [0u8, 1] {
            let orig = tcp(C, 1, VIP, 80, ttl, b"");
            let mut f = VecFrame::new(&orig);
            assert_eq!(dnat(&mut f, RS, 80), Err(XlateError::TtlExceeded));
            assert_eq!(snat(&mut f, RS, 80), Err(XlateError::TtlExceeded));
            assert_eq!(f.data(), &orig[..], "unchanged on error");
        }
        let mut f = VecFrame::new(&tcp(C, 1, VIP, 80, 255, b""));
        dnat(&mut f, RS, 80).unwrap();
        check_tcp(f.data(), (C, 1), (RS, 80), 254);
    }

    #[test]
    fn refused_inputs_unchanged() {
        let icmp = build::icmp_echo(C, VIP, 64);
        let mut f = VecFrame::new(&icmp);
        assert_eq!(dnat(&mut f, RS, 1), Err(XlateError::UnsupportedProtocol));
        assert_eq!(f.data(), &icmp[..]);

        let mut frag = tcp(C, 1, VIP, 80, 64, b"");
        frag[20] |= 0x20; // MF
        let mut f = VecFrame::new(&frag);
        assert_eq!(dnat(&mut f, RS, 1), Err(XlateError::Fragment));

        // Truncated L4 headers: IP total_len cut short of the TCP/UDP header.
        let t = tcp(C, 1, VIP, 80, 64, b"");
        for cut in 0..20u16 {
            let mut g = t[..34 + cut as usize].to_vec();
            g[16..18].copy_from_slice(&(20 + cut).to_be_bytes());
            build::fix_ip_checksum(&mut g);
            let mut f = VecFrame::new(&g);
            assert_eq!(dnat(&mut f, RS, 1), Err(XlateError::Truncated));
            assert_eq!(f.data(), &g[..]);
        }
        let u = udp(C, 1, VIP, 53, 64, b"", true);
        let mut g = u[..40].to_vec();
        g[16..18].copy_from_slice(&26u16.to_be_bytes());
        let mut f = VecFrame::new(&g);
        assert_eq!(snat(&mut f, RS, 1), Err(XlateError::Truncated));
        // Every prefix of a frame: error or success, never a panic.
        let full = tcp(C, 1, VIP, 80, 64, b"abc");
        for n in 0..full.len() {
            let mut f = VecFrame::new(&full[..n]);
            assert!(dnat(&mut f, RS, 1).is_err());
            assert_eq!(f.data(), &full[..n]);
        }
    }
}
