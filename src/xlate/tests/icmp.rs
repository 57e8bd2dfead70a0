//! Tests for `xlate::icmp`: builders (fields, quote length, checksums,
//! suppression) and NAT of related ICMP errors (rewritten fields, all three
//! checksums, lengths, refusal leaves the frame unchanged).

use crate::frame::{Frame, VecAlloc, VecFrame};
use crate::packet::checksum;
use crate::packet::{icmp, ipv4};
use crate::xlate::build::{self, *};
use crate::xlate::icmp::*;
use crate::xlate::XlateError;
use std::net::Ipv4Addr;

/// Parse a built/rewritten ICMP frame: (outer IP, ICMP view), all checked.
fn parse_icmp(d: &[u8]) -> (ipv4::Packet<&[u8]>, icmp::Packet<&[u8]>) {
    let (ip, l4) = build::parse(d);
    assert!(ip.verify_checksum(), "outer IP checksum");
    assert_eq!(ip.protocol(), 1);
    assert_eq!(ip.total_len() as usize + 14, d.len());
    let p = icmp::Packet::new_checked(l4).unwrap();
    assert!(p.verify_checksum(), "ICMP checksum");
    (ip, p)
}

#[test]
fn frag_needed_large_original() {
    let orig = build::tcp(C, 40000, VIP, 80, 64, &[0x5a; 1460]);
    let mut a = VecAlloc::default();
    let f = frag_needed(&mut a, &VecFrame::new(&orig), 1480, VIP, 0x0101).unwrap();
    let d = f.data();
    assert_eq!(&d[..14], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0]);
    let (ip, p) = parse_icmp(d);
    assert_eq!((ip.src(), ip.dst(), ip.ttl(), ip.tos()), (VIP, C, 64, 0xc0));
    assert_eq!(
        (ip.ident(), ip.dont_frag(), ip.total_len()),
        (0x0101, false, 576)
    );
    assert_eq!((p.msg_type(), p.code(), p.next_hop_mtu()), (3, 4, 1480));
    assert_eq!(p.rest_of_header(), 1480);
    assert_eq!(p.payload(), &orig[14..14 + MAX_QUOTE]);
    let q = p.quoted_ipv4().unwrap();
    assert!(q.verify_checksum());
    assert_eq!(
        (q.src(), q.src_port(), q.dst(), q.dst_port()),
        (C, 40000, VIP, 80)
    );
}

#[test]
fn small_original_quoted_whole_and_types() {
    let mut h = Ip::new(C, VIP, 17, 1);
    h.tos = 0xb8;
    let mut d = vec![0u8; 9];
    crate::packet::udp::emit_header(&mut d, 1234, 53, 1).unwrap();
    let orig = build::ipv4_frame(h, &d);
    let mut padded = orig.clone();
    padded.resize(60, 0xee); // Ethernet padding is not quoted
    let of = VecFrame::new(&padded);
    let mut a = VecAlloc::default();
    let te = time_exceeded(&mut a, &of, VIP, 9).unwrap();
    let (ip, p) = parse_icmp(te.data());
    assert_eq!((p.msg_type(), p.code(), p.rest_of_header()), (11, 0, 0));
    assert_eq!(ip.tos(), 0xd8, "(0xb8 & 0x1e) | 0xc0");
    assert_eq!(ip.total_len() as usize, 20 + 8 + orig.len() - 14);
    assert_eq!(p.payload(), &orig[14..]);
    let pu = port_unreachable(&mut a, &of, VIP, 10).unwrap();
    let (ip, p) = parse_icmp(pu.data());
    assert_eq!((p.msg_type(), p.code(), ip.dst(), ip.src()), (3, 3, C, VIP));
    let e = icmp_error(&mut a, &of, 12, 0, 0x0400_0000, DIR, 11).unwrap();
    let (_, p) = parse_icmp(e.data());
    assert_eq!((p.msg_type(), p.rest_of_header()), (12, 0x0400_0000));
}

#[test]
fn builders_suppress_and_fail() {
    let mut a = VecAlloc::default();
    let ok = |f: &[u8], a: &mut VecAlloc| port_unreachable(a, &VecFrame::new(f), VIP, 1);
    // About an ICMP error: never.
    let quoted = build::tcp(VIP, 80, C, 40000, 64, b"");
    let err = build::icmp_err(C, VIP, 3, 3, 0, &quoted[14..42]);
    assert_eq!(ok(&err, &mut a).err(), Some(XlateError::IcmpSuppressed));
    // About an echo request: fine; unknown/truncated ICMP types: never.
    assert!(ok(&build::icmp_echo(C, VIP, 64), &mut a).is_ok());
    let mut unk = build::icmp_echo(C, VIP, 64);
    unk[34] = 200;
    assert_eq!(ok(&unk, &mut a).err(), Some(XlateError::IcmpSuppressed));
    let empty = build::ipv4_frame(Ip::new(C, VIP, 1, 64), &[]);
    assert_eq!(ok(&empty, &mut a).err(), Some(XlateError::IcmpSuppressed));
    // Non-first fragment (the first one is fine).
    let mut frag = build::tcp(C, 1, VIP, 80, 64, b"");
    frag[20] = 0x00;
    frag[21] = 0x10;
    assert_eq!(ok(&frag, &mut a).err(), Some(XlateError::IcmpSuppressed));
    frag[20] = 0x20;
    frag[21] = 0x00;
    assert!(ok(&frag, &mut a).is_ok());
    // Multicast/broadcast destinations, non-host sources.
    for (s, dst) in [
        (C, Ipv4Addr::BROADCAST),
        (C, Ipv4Addr::new(224, 0, 0, 5)),
        (Ipv4Addr::UNSPECIFIED, VIP),
        (Ipv4Addr::new(0, 1, 2, 3), VIP),
        (Ipv4Addr::LOCALHOST, VIP),
        (Ipv4Addr::new(239, 1, 1, 1), VIP),
        (Ipv4Addr::BROADCAST, VIP),
    ] {
        let f = build::udp(s, 1, dst, 2, 64, b"", false);
        assert_eq!(
            ok(&f, &mut a).err(),
            Some(XlateError::IcmpSuppressed),
            "{s} -> {dst}"
        );
    }
    // Pool exhausted; malformed originals.
    let t = build::tcp(C, 1, VIP, 80, 64, b"");
    let mut none = VecAlloc { remaining: Some(0) };
    assert_eq!(ok(&t, &mut none).err(), Some(XlateError::AllocFailed));
    for n in 0..34 {
        assert!(ok(&t[..n], &mut a).is_err());
    }
}

/// The client-side error: ROUTER → VIP, quoting what the director sent to
/// the client (VIP:80 → C:40000), first `qlen` bytes.
fn client_side_error(ty: u8, code: u8, rest: u32, qlen: usize) -> (Vec<u8>, Vec<u8>) {
    let sent = build::tcp(VIP, 80, C, 40000, 61, b"some reply data");
    let q = sent[14..14 + qlen].to_vec();
    (build::icmp_err(ROUTER, VIP, ty, code, rest, &q), q)
}

#[test]
fn nat_in_rewrites() {
    for qlen in [28usize, 40, 55] {
        let (frame, quoted) = client_side_error(3, 4, 1400, qlen);
        let mut f = VecFrame::new(&frame);
        let t = quoted_tuple(&f).unwrap();
        assert_eq!(
            t,
            QuotedTuple {
                protocol: 6,
                src: VIP,
                src_port: 80,
                dst: C,
                dst_port: 40000
            }
        );
        nat_icmp_in(&mut f, RS, 8080).unwrap();
        let d = f.data();
        assert_eq!(d.len(), frame.len());
        assert_eq!(&d[..14], &ETH_HDR);
        let (ip, p) = parse_icmp(d);
        assert_eq!((ip.src(), ip.dst(), ip.ttl()), (ROUTER, RS, 63));
        assert_eq!((p.msg_type(), p.code(), p.next_hop_mtu()), (3, 4, 1400));
        let q = p.quoted_ipv4().unwrap();
        assert!(q.verify_checksum(), "quoted IP checksum");
        assert_eq!(
            (q.src(), q.src_port(), q.dst(), q.dst_port()),
            (RS, 8080, C, 40000)
        );
        // Everything after the quoted ports is as it was (L4 checksum not touched).
        assert_eq!(&p.payload()[24..], &quoted[24..]);
        assert_eq!(q.total_len(), u16::from_be_bytes([quoted[2], quoted[3]]));
        let t2 = quoted_tuple(&f).unwrap();
        assert_eq!((t2.src, t2.src_port), (RS, 8080));
    }
}

#[test]
fn nat_out_rewrites() {
    // RS → C error (e.g. from a router behind the director) quoting C → RS:8080.
    let sent = build::udp(C, 5000, RS, 8080, 63, b"datagram", true);
    let frame = build::icmp_err(RS, C, 3, 3, 0, &sent[14..]);
    let mut f = VecFrame::new(&frame);
    let t = quoted_tuple(&f).unwrap();
    assert_eq!(
        t,
        QuotedTuple {
            protocol: 17,
            src: C,
            src_port: 5000,
            dst: RS,
            dst_port: 8080
        }
    );
    nat_icmp_out(&mut f, VIP, 53).unwrap();
    let (ip, p) = parse_icmp(f.data());
    assert_eq!((ip.src(), ip.dst(), ip.ttl()), (VIP, C, 63));
    let q = p.quoted_ipv4().unwrap();
    assert!(q.verify_checksum());
    assert_eq!(
        (q.src(), q.src_port(), q.dst(), q.dst_port()),
        (C, 5000, VIP, 53)
    );
    // Source quench and time exceeded are related too.
    for ty in [4u8, 11] {
        let frame = build::icmp_err(RS, C, ty, 0, 0, &sent[14..42]);
        let mut f = VecFrame::new(&frame);
        nat_icmp_out(&mut f, VIP, 53).unwrap();
        parse_icmp(f.data());
    }
}

#[test]
fn nat_icmp_refusals_leave_frame() {
    let (good, _) = client_side_error(3, 1, 0, 28);
    let mut cases: Vec<(Vec<u8>, XlateError)> = Vec::new();
    cases.push((build::icmp_echo(C, VIP, 64), XlateError::NotIcmpError));
    let (redirect, _) = client_side_error(5, 1, 0, 28);
    cases.push((redirect, XlateError::NotIcmpError));
    let mut bad = good.clone();
    bad[40] ^= 0xff;
    cases.push((bad, XlateError::BadChecksum));
    let mut ttl1 = good.clone();
    ttl1[22] = 1;
    build::fix_ip_checksum(&mut ttl1);
    cases.push((ttl1, XlateError::TtlExceeded));
    let echo = build::icmp_echo(VIP, C, 64);
    cases.push((
        build::icmp_err(ROUTER, VIP, 3, 1, 0, &echo[14..42]),
        XlateError::UnsupportedProtocol,
    ));
    cases.push((
        build::tcp(C, 1, VIP, 80, 64, b""),
        XlateError::UnsupportedProtocol,
    ));
    let (short, _) = client_side_error(3, 1, 0, 27);
    cases.push((short, XlateError::Truncated));
    let sent = build::tcp(VIP, 80, C, 40000, 61, b"");
    let mut qfrag = sent[14..42].to_vec();
    qfrag[7] = 0x10;
    cases.push((
        build::icmp_err(ROUTER, VIP, 3, 1, 0, &qfrag),
        XlateError::Fragment,
    ));
    let mut ofrag = good.clone();
    ofrag[20] = 0x20;
    build::fix_ip_checksum(&mut ofrag);
    cases.push((ofrag, XlateError::Fragment));
    for (frame, want) in cases {
        let mut f = VecFrame::new(&frame);
        if want != XlateError::TtlExceeded {
            assert_eq!(quoted_tuple(&f), Err(want));
        }
        assert_eq!(nat_icmp_in(&mut f, RS, 1), Err(want));
        assert_eq!(nat_icmp_out(&mut f, VIP, 1), Err(want));
        assert_eq!(f.data(), &frame[..]);
    }
    for n in 0..good.len() {
        let mut f = VecFrame::new(&good[..n]);
        assert!(nat_icmp_in(&mut f, RS, 1).is_err());
        assert_eq!(f.data(), &good[..n]);
    }
}

#[test]
fn icmp_checksum_is_full_recompute() {
    let (frame, _) = client_side_error(11, 0, 0, 40);
    let mut f = VecFrame::new(&frame);
    nat_icmp_in(&mut f, RS, 8080).unwrap();
    let msg = &f.data()[34..];
    let mut m = msg.to_vec();
    m[2] = 0;
    m[3] = 0;
    assert_eq!(checksum::checksum(&m), u16::from_be_bytes([msg[2], msg[3]]));
}
