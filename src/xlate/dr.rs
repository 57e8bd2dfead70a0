//! Direct routing ("Route", IPVS `ip_vs_dr_xmit` in `ip_vs_xmit.c`).
//!
//! Invariants: the IP packet is untouched except TTL - 1 and the header
//! checksum (incremental, RFC 1624); L4 is never parsed, so fragments and
//! any protocol (including relayed ICMP errors) are forwarded. The caller
//! then writes the real server's MAC as Ethernet destination. On error the
//! frame is unchanged.

use super::{ipv4_total_len, split_l4, Result, XlateError};
use crate::frame::Frame;

/// Decrement the TTL (header checksum updated incrementally). Errors:
/// `NotIpv4`/`Truncated` (contract), `TtlExceeded` (TTL <= 1).
pub fn forward<F: Frame + ?Sized>(frame: &mut F) -> Result<()> {
    let data = frame.data_mut();
    let tl = ipv4_total_len(data)?;
    let (mut ip, _) = split_l4(data, tl)?;
    ip.decrement_ttl()
        .map(|_| ())
        .ok_or(XlateError::TtlExceeded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::VecFrame;
    use crate::packet::tcp;
    use crate::xlate::build::{self, *};

    #[test]
    fn ttl_and_checksum_only() {
        for ttl in [2u8, 64, 255] {
            let orig = tcp(C, 40000, VIP, 80, ttl, b"payload");
            let mut f = VecFrame::new(&orig);
            forward(&mut f).unwrap();
            let d = f.data();
            let (ip, l4) = build::parse(d);
            assert!(ip.verify_checksum());
            assert_eq!(ip.ttl(), ttl - 1);
            assert!(tcp::Packet::new_checked(l4)
                .unwrap()
                .verify_checksum_v4(C, VIP));
            // Only bytes 22 (TTL) and 24..26 (checksum) differ.
            for (i, (a, b)) in orig.iter().zip(d).enumerate() {
                if a != b {
                    assert!(i == 22 || i == 24 || i == 25, "byte {i} changed");
                }
            }
        }
    }

    #[test]
    fn errors() {
        for ttl in [0u8, 1] {
            let orig = tcp(C, 40000, VIP, 80, ttl, b"");
            let mut f = VecFrame::new(&orig);
            assert_eq!(forward(&mut f), Err(XlateError::TtlExceeded));
            assert_eq!(f.data(), &orig[..]);
        }
        // Fragments and ICMP are forwarded too.
        let mut frag = build::udp(C, 1, VIP, 53, 9, b"", true);
        frag[20] |= 0x20;
        build::fix_ip_checksum(&mut frag);
        let mut f = VecFrame::new(&frag);
        forward(&mut f).unwrap();
        assert_eq!(build::parse(f.data()).0.ttl(), 8);
        let full = tcp(C, 1, VIP, 80, 64, b"abc");
        for n in 0..34 {
            let mut f = VecFrame::new(&full[..n]);
            assert!(forward(&mut f).is_err());
        }
    }
}
