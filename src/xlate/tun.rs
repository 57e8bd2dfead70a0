//! IP-in-IP tunnelling ("Tunnel", IPVS `ip_vs_tunnel_xmit`, RFC 2003) and the MTU
//! rules that go with it.
//!
//! Invariants:
//! * [`encapsulate`] needs 20 bytes of headroom: it calls `prepend(20)` and
//!   moves the 14 Ethernet bytes to the new front, so the frame stays
//!   Ethernet + IPv4 (outer) + IPv4 (inner). Moving 14 bytes is cheaper than
//!   trim + prepend and keeps whatever the caller put in the Ethernet header.
//!   Ethernet padding after the inner packet is dropped (as Linux does on
//!   receive) so the outer `total_len` covers the frame exactly.
//! * The inner packet is byte-identical except TTL - 1 and its header
//!   checksum (incremental update).
//! * Outer header: version 4, IHL 5, TOS per [`ecn_encapsulate`], DF copied
//!   from the inner packet only when `pmtu_disc`, MF/offset 0, id = `ident`,
//!   TTL = inner TTL after the decrement, protocol 4, checksum computed.
//! * [`decapsulate`] is the inverse (RFC 6040 §4.2 ECN combination), so
//!   `decapsulate(encapsulate(x))` is `x` with the TTL decremented.
//! * On error the frame is unchanged.

use super::{ipv4_total_len, split_l4, Result, XlateError, ETH_LEN, IP_LEN, L4_OFF};
use crate::frame::Frame;
use crate::packet::checksum;
use crate::packet::ipv4::{self, Protocol};
use std::net::Ipv4Addr;

/// ECN codepoints (low two bits of the TOS byte, RFC 3168).
const NOT_ECT: u8 = 0b00;
const ECT1: u8 = 0b01;
const ECT0: u8 = 0b10;
const CE: u8 = 0b11;
const ECN_MASK: u8 = 0b11;

/// Smallest IPv4 MTU (RFC 791); a tunnel with less is unusable (IPVS drops).
pub const MIN_MTU: u16 = 68;

/// Outer TOS for an inner TOS byte: DSCP copied (RFC 2983 uniform model, as
/// IPVS does) and ECN per RFC 6040 §4.1 **normal mode**: the ECN field is
/// copied unchanged, CE included (Table 1: Not-ECT→Not-ECT, ECT(0)→ECT(0),
/// ECT(1)→ECT(1), CE→CE).
///
/// Note: Linux IPVS calls `INET_ECN_encapsulate()`, the older RFC 3168 §9.1.1
/// "full-functionality" option, which writes ECT(0) in the outer header when
/// the inner one is CE. Both decapsulate to the same inner ECN under RFC 6040
/// §4.2 (inner CE always survives); only the outer codepoint of CE packets
/// differs.
pub const fn ecn_encapsulate(inner_tos: u8) -> u8 {
    inner_tos
}

/// RFC 6040 §4.2 Table 2: inner ECN after decapsulation, or `None` = drop.
const fn ecn_decapsulate(inner: u8, outer: u8) -> Option<u8> {
    match (inner & ECN_MASK, outer & ECN_MASK) {
        (NOT_ECT, CE) => None,
        (NOT_ECT, _) => Some(NOT_ECT),
        (ECT0, ECT1) => Some(ECT1),
        (CE, _) => Some(CE),
        (i, CE) if i != NOT_ECT => Some(CE),
        (i, _) => Some(i),
    }
}

/// Effective MTU inside an IPIP tunnel: `route_mtu - 20`; `MtuTooSmall` if
/// that is below [`MIN_MTU`].
pub fn tunnel_mtu(route_mtu: u16) -> Result<u16> {
    match route_mtu.checked_sub(IP_LEN as u16) {
        Some(m) if m >= MIN_MTU => Ok(m),
        _ => Err(XlateError::MtuTooSmall),
    }
}

/// True if the packet has DF set and its IPv4 `total_len` exceeds `mtu`: the
/// caller must drop it and send [`super::icmp::frag_needed`] with `mtu`.
/// IPVS applies this to every method (with the tunnel MTU for TUN, skipped
/// for TUN when `pmtu_disc=0`) except for relayed ICMP errors. False for a
/// frame that does not meet the input contract.
pub fn needs_frag<F: Frame + ?Sized>(frame: &F, mtu: u16) -> bool {
    let d = frame.data();
    match ipv4_total_len(d) {
        Ok(tl) => {
            let ip = ipv4::Packet::new_unchecked(d.get(ETH_LEN..).unwrap_or(&[]));
            ip.dont_frag() && tl > mtu as usize
        }
        Err(_) => false,
    }
}

/// Encapsulate the IPv4 packet in an IPIP header `outer_src → outer_dst`
/// (see module docs for the field rules). Errors: `NotIpv4`/`Truncated`
/// (contract), `TooBig` (outer would exceed 65535 bytes), `TtlExceeded`,
/// `NoHeadroom` (`prepend(20)` failed). Check [`needs_frag`] with
/// [`tunnel_mtu`] before calling when `pmtu_disc` is on.
pub fn encapsulate<F: Frame + ?Sized>(
    frame: &mut F,
    outer_src: Ipv4Addr,
    outer_dst: Ipv4Addr,
    pmtu_disc: bool,
    ident: u16,
) -> Result<()> {
    let tl = ipv4_total_len(frame.data())?;
    let payload_len = u16::try_from(tl)
        .ok()
        .filter(|&t| t as usize + IP_LEN <= u16::MAX as usize)
        .ok_or(XlateError::TooBig)?;
    let ttl = frame.data().get(ETH_LEN + 8).copied().unwrap_or(0);
    if ttl <= 1 {
        return Err(XlateError::TtlExceeded);
    }
    if !frame.prepend(IP_LEN) {
        return Err(XlateError::NoHeadroom);
    }
    frame.truncate(L4_OFF + tl);
    let data = frame.data_mut();
    data.copy_within(IP_LEN..IP_LEN + ETH_LEN, 0);
    // Inner header: TTL - 1 (can't fail: ttl > 1 was checked).
    let (inner_tos, inner_df, inner_ttl) = match data.get_mut(L4_OFF..L4_OFF + IP_LEN) {
        Some(h) => {
            let mut inner = ipv4::Packet::new_unchecked(h);
            inner.decrement_ttl();
            (inner.tos(), inner.dont_frag(), inner.ttl())
        }
        None => (0, false, ttl - 1), // unreachable: the frame is L4_OFF + tl long
    };
    let hdr = ipv4::Header {
        src: outer_src,
        dst: outer_dst,
        protocol: Protocol::IPIP,
        payload_len,
        ttl: inner_ttl,
        tos: ecn_encapsulate(inner_tos),
        ident,
        dont_frag: pmtu_disc && inner_df,
    };
    // Cannot fail: the frame has >= L4_OFF bytes and payload_len + 20 fits.
    let _ = ipv4::emit_header(data.get_mut(ETH_LEN..).unwrap_or(&mut []), &hdr);
    Ok(())
}

/// Strip an outer IPIP header, keeping the Ethernet header in front; the
/// inner ECN is combined with the outer one per RFC 6040 §4.2 (inner header
/// checksum updated if it changes). The frame is cut to the inner
/// `total_len`. Errors: `NotIpv4`/`Truncated` (outer contract or inner
/// header), `UnsupportedProtocol` (outer protocol not 4), `Fragment` (outer
/// is a fragment), `EcnDrop` (outer CE over a not-ECT inner packet).
pub fn decapsulate<F: Frame + ?Sized>(frame: &mut F) -> Result<()> {
    let data = frame.data_mut();
    let tl = ipv4_total_len(data)?;
    let (outer, l4) = split_l4(data, tl)?;
    if outer.protocol() != Protocol::IPIP {
        return Err(XlateError::UnsupportedProtocol);
    }
    if outer.is_fragment() {
        return Err(XlateError::Fragment);
    }
    let outer_tos = outer.tos();
    let mut inner = ipv4::Packet::new_checked(l4)?;
    let inner_len = inner.total_len() as usize;
    let ecn = ecn_decapsulate(inner.tos(), outer_tos).ok_or(XlateError::EcnDrop)?;
    if ecn != inner.ecn() {
        // The TOS byte shares a 16-bit word with version/IHL.
        let ver_ihl = (inner.version() << 4) | inner.ihl();
        let new_tos = (inner.tos() & !ECN_MASK) | ecn;
        let old = u16::from_be_bytes([ver_ihl, inner.tos()]);
        let new = u16::from_be_bytes([ver_ihl, new_tos]);
        let c = checksum::update_u16(inner.checksum(), old, new);
        inner.set_tos(new_tos);
        inner.set_checksum(c);
    }
    data.copy_within(0..ETH_LEN, IP_LEN);
    frame.trim_front(IP_LEN);
    frame.truncate(ETH_LEN + inner_len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::VecFrame;
    use crate::packet::tcp;
    use crate::xlate::build::{self, *};
    use crate::xlate::dr;

    /// A frame with no headroom at all.
    struct NoRoom(Vec<u8>);
    impl Frame for NoRoom {
        fn data(&self) -> &[u8] {
            &self.0
        }
        fn data_mut(&mut self) -> &mut [u8] {
            &mut self.0
        }
        fn prepend(&mut self, _: usize) -> bool {
            false
        }
        fn trim_front(&mut self, n: usize) -> bool {
            n <= self.0.len() && self.0.drain(..n).count() == n
        }
        fn append(&mut self, _: usize) -> bool {
            false
        }
        fn truncate(&mut self, len: usize) {
            self.0.truncate(len)
        }
    }

    fn inner(tos: u8, df: bool, ttl: u8) -> Vec<u8> {
        let mut h = Ip::new(C, VIP, 6, ttl);
        h.tos = tos;
        h.dont_frag = df;
        tcp_ip(h, 40000, 80, b"GET / HTTP/1.0\r\n\r\n")
    }

    #[test]
    fn encapsulate_fields() {
        let orig = inner(0xb8 | ECT0, true, 64);
        let mut f = VecFrame::new(&orig);
        encapsulate(&mut f, DIR, RS, true, 0xbeef).unwrap();
        let d = f.data();
        assert_eq!(d.len(), orig.len() + 20);
        assert_eq!(&d[..14], &ETH_HDR);
        let (o, payload) = build::parse(d);
        assert!(o.verify_checksum());
        assert_eq!((o.version(), o.header_len(), o.protocol()), (4, 20, 4));
        assert_eq!((o.src(), o.dst(), o.ident()), (DIR, RS, 0xbeef));
        assert_eq!(
            (o.ttl(), o.tos(), o.total_len() as usize),
            (63, 0xb8 | ECT0, orig.len() - 14 + 20)
        );
        assert!(o.dont_frag() && !o.more_frags() && o.frag_offset() == 0);
        let i = ipv4::Packet::new_checked(payload).unwrap();
        assert!(i.verify_checksum());
        assert_eq!((i.ttl(), i.src(), i.dst()), (63, C, VIP));
        assert!(tcp::Packet::new_checked(i.payload())
            .unwrap()
            .verify_checksum_v4(C, VIP));
        // Inner byte-identical except TTL (offset 8) and checksum (10..12).
        for (k, (a, b)) in orig[14..].iter().zip(payload).enumerate() {
            if a != b {
                assert!(k == 8 || k == 10 || k == 11, "inner byte {k} changed");
            }
        }
    }

    #[test]
    fn df_and_ecn_rules() {
        for (df, pmtu, want) in [
            (true, true, true),
            (true, false, false),
            (false, true, false),
        ] {
            let mut f = VecFrame::new(&inner(0, df, 10));
            encapsulate(&mut f, DIR, RS, pmtu, 1).unwrap();
            assert_eq!(build::parse(f.data()).0.dont_frag(), want);
        }
        for ecn in [NOT_ECT, ECT1, ECT0, CE] {
            let tos = 0x28 | ecn;
            let mut f = VecFrame::new(&inner(tos, true, 10));
            encapsulate(&mut f, DIR, RS, true, 1).unwrap();
            assert_eq!(
                build::parse(f.data()).0.tos(),
                tos,
                "RFC 6040 normal mode copies"
            );
        }
    }

    #[test]
    fn roundtrip() {
        for tos in [0u8, 0x01, 0x02, 0x03, 0xb8, 0xbb] {
            let orig = inner(tos, true, 33);
            let mut want = VecFrame::new(&orig);
            dr::forward(&mut want).unwrap();
            let mut f = VecFrame::new(&orig);
            encapsulate(&mut f, DIR, RS, true, 7).unwrap();
            decapsulate(&mut f).unwrap();
            assert_eq!(f.data(), want.data());
        }
    }

    #[test]
    fn padding_dropped() {
        let mut padded = build::udp(C, 1, VIP, 53, 64, b"q", true);
        let unpadded_len = padded.len();
        padded.resize(60, 0);
        let mut f = VecFrame::new(&padded);
        encapsulate(&mut f, DIR, RS, false, 1).unwrap();
        assert_eq!(f.len(), unpadded_len + 20);
        assert!(build::parse(f.data()).0.verify_checksum());
    }

    #[test]
    fn encapsulate_errors_leave_frame() {
        let orig = inner(0, true, 64);
        let mut n = NoRoom(orig.clone());
        assert_eq!(
            encapsulate(&mut n, DIR, RS, true, 1),
            Err(XlateError::NoHeadroom)
        );
        assert_eq!(n.0, orig);
        for ttl in [0, 1] {
            let o = inner(0, true, ttl);
            let mut f = VecFrame::new(&o);
            assert_eq!(
                encapsulate(&mut f, DIR, RS, true, 1),
                Err(XlateError::TtlExceeded)
            );
            assert_eq!(f.data(), &o[..]);
        }
        let mut big = build::udp(C, 1, VIP, 53, 64, &vec![0u8; 65535 - 28], false);
        assert_eq!(build::parse(&big).0.total_len(), 65535);
        big[14 + 8] = 64;
        let mut f = VecFrame::new(&big);
        assert_eq!(
            encapsulate(&mut f, DIR, RS, true, 1),
            Err(XlateError::TooBig)
        );
        for k in 0..orig.len() {
            let mut f = VecFrame::new(&orig[..k]);
            assert!(encapsulate(&mut f, DIR, RS, true, 1).is_err());
            assert_eq!(f.data(), &orig[..k]);
        }
    }

    #[test]
    fn decapsulate_ecn_table() {
        // (inner, outer) -> result, RFC 6040 Table 2.
        let table = [
            (NOT_ECT, [Some(NOT_ECT), Some(NOT_ECT), Some(NOT_ECT), None]),
            (ECT0, [Some(ECT0), Some(ECT0), Some(ECT1), Some(CE)]),
            (ECT1, [Some(ECT1), Some(ECT1), Some(ECT1), Some(CE)]),
            (CE, [Some(CE), Some(CE), Some(CE), Some(CE)]),
        ];
        for (i, row) in table {
            for (o, want) in [NOT_ECT, ECT0, ECT1, CE].into_iter().zip(row) {
                assert_eq!(ecn_decapsulate(i, o), want, "inner {i} outer {o}");
                let orig = inner(0x20 | i, true, 9);
                let mut f = VecFrame::new(&orig);
                encapsulate(&mut f, DIR, RS, true, 1).unwrap();
                f.data_mut()[15] = 0x20 | o;
                build::fix_ip_checksum(f.data_mut());
                let before = f.to_vec();
                match want {
                    None => {
                        assert_eq!(decapsulate(&mut f), Err(XlateError::EcnDrop));
                        assert_eq!(f.to_vec(), before);
                    }
                    Some(e) => {
                        decapsulate(&mut f).unwrap();
                        let (ip, _) = build::parse(f.data());
                        assert!(ip.verify_checksum());
                        assert_eq!(ip.tos(), 0x20 | e);
                    }
                }
            }
        }
    }

    #[test]
    fn decapsulate_errors() {
        let plain = inner(0, true, 9);
        let mut f = VecFrame::new(&plain);
        assert_eq!(decapsulate(&mut f), Err(XlateError::UnsupportedProtocol));
        let mut f = VecFrame::new(&plain);
        encapsulate(&mut f, DIR, RS, true, 1).unwrap();
        let enc = f.to_vec();
        // Outer total_len cut inside the inner header or below inner total_len.
        for cut in [1usize, 10, 19, 20, 30] {
            let mut g = enc[..34 + cut].to_vec();
            g[16..18].copy_from_slice(&(20 + cut as u16).to_be_bytes());
            build::fix_ip_checksum(&mut g);
            let mut f = VecFrame::new(&g);
            assert!(decapsulate(&mut f).is_err());
            assert_eq!(f.data(), &g[..]);
        }
        let mut g = enc.clone();
        g[20] |= 0x20;
        let mut f = VecFrame::new(&g);
        assert_eq!(decapsulate(&mut f), Err(XlateError::Fragment));
    }

    #[test]
    fn mtu_helpers() {
        assert_eq!(tunnel_mtu(1500), Ok(1480));
        assert_eq!(tunnel_mtu(88), Ok(68));
        assert_eq!(tunnel_mtu(87), Err(XlateError::MtuTooSmall));
        assert_eq!(tunnel_mtu(0), Err(XlateError::MtuTooSmall));
        let big = build::tcp(C, 1, VIP, 80, 64, &[0u8; 1460]); // total_len 1500
        let f = VecFrame::new(&big);
        assert!(needs_frag(&f, 1480));
        assert!(!needs_frag(&f, 1500));
        let mut nodf = big.clone();
        nodf[20] = 0;
        build::fix_ip_checksum(&mut nodf);
        assert!(!needs_frag(&VecFrame::new(&nodf), 1480));
        assert!(!needs_frag(&VecFrame::new(&big[..20]), 10));
    }
}
