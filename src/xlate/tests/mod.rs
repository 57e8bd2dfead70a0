//! Tests that span `xlate`'s files (one file per topic).
mod icmp;

use super::*;

#[test]
fn error_labels_unique_and_snake() {
    for (i, a) in XlateError::ALL.iter().enumerate() {
        let s = a.as_str();
        assert!(s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        assert!(s.starts_with(|c: char| c.is_ascii_lowercase()));
        assert_eq!(a.to_string(), a.as_str());
        for b in &XlateError::ALL[i + 1..] {
            assert_ne!(a.as_str(), b.as_str());
        }
    }
    assert_eq!(XlateError::TtlExceeded.as_str(), "ttl_exceeded");
}

/// Random corruption of valid frames: every function returns (no panic)
/// and leaves the frame unchanged whenever it returns an error.
#[test]
fn corrupted_frames_never_panic() {
    use crate::frame::{Frame, VecAlloc, VecFrame};
    use crate::types::Xorshift;
    use build::*;
    let sent = tcp(VIP, 80, C, 40000, 61, b"reply");
    let seeds = [
        tcp(C, 40000, VIP, 80, 64, b"GET /"),
        udp(C, 1234, VIP, 53, 2, b"q", true),
        icmp_err(ROUTER, VIP, 3, 4, 1400, &sent[14..42]),
        icmp_echo(C, VIP, 64),
    ];
    let mut r = Xorshift::new(0x5eed);
    let mut a = VecAlloc::default();
    for i in 0..20_000 {
        let mut b = seeds[i % seeds.len()].clone();
        for _ in 0..1 + r.next_u64() % 3 {
            let k = (r.next_u64() as usize) % b.len();
            b[k] = r.next_u64() as u8;
        }
        if r.next_u64() & 3 == 0 {
            b.truncate((r.next_u64() as usize) % (b.len() + 1));
        }
        let _ = quoted_tuple(&VecFrame::new(&b));
        let _ = needs_frag(&VecFrame::new(&b), 40);
        let _ = frag_needed(&mut a, &VecFrame::new(&b), 1400, VIP, 1);
        type Op = fn(&mut VecFrame) -> Result<()>;
        let ops: [Op; 7] = [
            |f| dnat(f, RS, 1),
            |f| snat(f, VIP, 2),
            |f| forward(f),
            |f| encapsulate(f, DIR, RS, true, 3),
            |f| decapsulate(f),
            |f| nat_icmp_in(f, RS, 4),
            |f| nat_icmp_out(f, VIP, 5),
        ];
        for op in ops {
            let mut f = VecFrame::new(&b);
            if op(&mut f).is_err() {
                assert_eq!(f.data(), &b[..]);
            }
        }
    }
}

#[test]
fn contract_checks() {
    let f = build::tcp(build::C, 1000, build::VIP, 80, 64, b"x");
    assert_eq!(ipv4_total_len(&f), Ok(41));
    assert_eq!(ipv4_total_len(&f[..13]), Err(XlateError::Truncated));
    assert_eq!(ipv4_total_len(&f[..33]), Err(XlateError::Truncated));
    assert_eq!(ipv4_total_len(&f[..54]), Err(XlateError::Truncated));
    let mut g = f.clone();
    g[12] = 0x81;
    assert_eq!(ipv4_total_len(&g), Err(XlateError::NotIpv4));
    let mut g = f.clone();
    g[14] = 0x46;
    assert_eq!(ipv4_total_len(&g), Err(XlateError::NotIpv4));
    let mut g = f;
    g[14] = 0x65;
    assert_eq!(ipv4_total_len(&g), Err(XlateError::NotIpv4));
}
