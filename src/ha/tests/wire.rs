//! Wire and message tests: round trips, truncation/corruption, wrong key,
//! replay, cross-session frames.

use std::net::Ipv4Addr;

use crate::ha::msg::{chunk_records, types, Msg, SyncRecord, MAX_RECORDS_PER_MSG};
use crate::ha::role::Role;
use crate::ha::wire::{self, AuthKey, AuthKind, AuthStats, SealError, Session, TYPE_PING};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn rec(i: u32) -> SyncRecord {
    SyncRecord {
        op: if i.is_multiple_of(7) { 2 } else { 1 },
        proto: 6,
        flags: (i & 0xffff) as u16,
        state: (i % 11) as u8,
        caddr: Ipv4Addr::from(0x0a00_0000 + i),
        cport: (i % 65536) as u16,
        vaddr: Ipv4Addr::new(198, 18, 0, 10),
        vport: 80,
        raddr: Ipv4Addr::new(10, 1, 0, (i % 250) as u8),
        rport: 8080,
        timeout_ms: i.wrapping_mul(977),
        fwd: (i % 5) as u8,
        template: i.is_multiple_of(3),
    }
}

fn all_msgs() -> Vec<Msg> {
    vec![
        Msg::Heartbeat {
            node: "lvs-a".into(),
            priority: 200,
            state: Role::Active,
            advert_seq: u64::MAX,
        },
        Msg::Heartbeat {
            node: "ü".into(),
            priority: 1,
            state: Role::Fault,
            advert_seq: 0,
        },
        Msg::SyncRecords(vec![]),
        Msg::SyncRecords((0..100).map(rec).collect()),
        Msg::BulkStart { generation: 7 },
        Msg::BulkEnd {
            generation: 7,
            count: 123_456,
        },
        Msg::BulkRequest,
        Msg::Resign,
    ]
}

/// The resign message on the wire: type 7, empty payload; a payload is
/// refused.
#[test]
fn resign_golden() {
    let mut p = Vec::new();
    Msg::Resign.encode_payload(&mut p);
    assert_eq!((Msg::Resign.type_code(), p.as_slice()), (7, &[][..]));
    assert_eq!(Msg::decode(7, &[]), Ok(Msg::Resign));
    assert!(Msg::decode(7, &[0]).is_err());
}

/// Two sessions that completed the Hello exchange: (a, b).
fn pair() -> (Session, Session) {
    let key = AuthKey::new(KEY).unwrap();
    let mut a = Session::new(key.clone(), [1; 16]);
    let mut b = Session::new(key, [2; 16]);
    let ha = a.seal_hello("a", 100).unwrap();
    let hb = b.seal_hello("b", 50).unwrap();
    assert!(matches!(b.open(&ha), Ok(Some(Msg::Hello { .. }))));
    assert!(matches!(a.open(&hb), Ok(Some(Msg::Hello { .. }))));
    (a, b)
}

#[test]
fn payload_round_trip_every_message() {
    let mut msgs = all_msgs();
    msgs.push(Msg::Hello {
        node: "x".repeat(64),
        priority: 254,
        nonce: [9; 16],
    });
    for m in msgs {
        m.validate().unwrap();
        let mut p = Vec::new();
        m.encode_payload(&mut p);
        assert_eq!(p.len(), m.payload_len(), "{m:?}");
        assert_eq!(Msg::decode(m.type_code(), &p), Ok(m.clone()));
        // Every truncation and every extension of a payload is refused.
        for cut in 0..p.len() {
            assert!(
                Msg::decode(m.type_code(), &p[..cut]).is_err(),
                "{m:?} cut {cut}"
            );
        }
        p.push(0);
        assert!(Msg::decode(m.type_code(), &p).is_err());
    }
}

#[test]
fn frame_round_trip_every_message() {
    let (mut a, mut b) = pair();
    for m in all_msgs() {
        let f = a.seal(&m).unwrap();
        assert_eq!(wire::frame_len(&f), Ok(Some(f.len())));
        assert_eq!(b.open(&f), Ok(Some(m.clone())));
        let f = b.seal(&m).unwrap();
        assert_eq!(a.open(&f), Ok(Some(m)));
    }
    let p = a.seal_ping().unwrap();
    assert_eq!(b.open(&p), Ok(None));
    assert!(b.confirmed());
}

#[test]
fn record_layout_is_30_bytes_big_endian() {
    let r = rec(0x0102);
    let mut out = Vec::new();
    r.encode_into(&mut out);
    assert_eq!(out.len(), SyncRecord::LEN);
    assert_eq!(&out[8..12], &[10, 0, 1, 2]);
    assert_eq!(&out[12..14], &0x0102u16.to_be_bytes());
    assert_eq!(SyncRecord::decode(&out), Ok(r));
    let mut bad = out.clone();
    bad[0] = 3; // op
    assert!(SyncRecord::decode(&bad).is_err());
    let mut bad = out.clone();
    bad[6] = 2; // template
    assert!(SyncRecord::decode(&bad).is_err());
    let mut bad = out;
    bad[7] = 1; // reserved
    assert!(SyncRecord::decode(&bad).is_err());
}

#[test]
fn every_truncation_and_corruption_is_refused() {
    let (mut a, b) = pair();
    let frame = a
        .seal(&Msg::SyncRecords((0..3).map(rec).collect()))
        .unwrap();
    for cut in 0..frame.len() {
        let mut s = b.clone();
        assert!(s.open(&frame[..cut]).is_err(), "cut {cut}");
        let fl = wire::frame_len(&frame[..cut]);
        assert!(matches!(fl, Ok(None)), "frame_len cut {cut}: {fl:?}");
    }
    for i in 0..frame.len() {
        for bit in [0x01u8, 0x80, 0xff] {
            let mut f = frame.clone();
            f[i] ^= bit;
            let mut s = b.clone();
            let r = s.open(&f);
            let want = if i < wire::LEN_PREFIX {
                AuthKind::Malformed
            } else {
                AuthKind::BadMac
            };
            assert_eq!(r, Err(want), "byte {i} bit {bit:#x}");
        }
    }
    // The untouched frame is still accepted afterwards.
    let mut s = b.clone();
    assert!(s.open(&frame).is_ok());
}

#[test]
fn arbitrary_bytes_never_panic() {
    let (_, b) = pair();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in 0..600 {
        let mut buf = vec![0u8; len];
        for v in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *v = x as u8;
        }
        if len >= 4 {
            buf[..4].copy_from_slice(&((len - 4) as u32).to_be_bytes());
        }
        let mut s = b.clone();
        assert!(s.open(&buf).is_err());
        let _ = wire::frame_len(&buf);
        for ty in 0..=8u8 {
            let _ = Msg::decode(ty, &buf);
        }
    }
    // Huge declared record count with a tiny payload: refused, no allocation.
    assert!(Msg::decode(types::SYNC_RECORDS, &u32::MAX.to_be_bytes()).is_err());
}

#[test]
fn other_key_is_bad_mac() {
    let (mut a, b) = pair();
    let evil = AuthKey::new(b"not the key").unwrap();
    let mut e = Session::new(evil, [1; 16]);
    // Same nonces as a, wrong key.
    e.open(
        &Session::new(AuthKey::new(b"not the key").unwrap(), [2; 16])
            .seal_hello("b", 1)
            .unwrap(),
    )
    .unwrap();
    let f = e.seal(&Msg::BulkRequest).unwrap();
    let mut s = b.clone();
    assert_eq!(s.open(&f), Err(AuthKind::BadMac));
    // A hello under another key is refused before the session exists.
    let mut fresh = Session::new(AuthKey::new(KEY).unwrap(), [3; 16]);
    let h = Session::new(AuthKey::new(b"wrong").unwrap(), [4; 16])
        .seal_hello("x", 1)
        .unwrap();
    assert_eq!(fresh.open(&h), Err(AuthKind::BadMac));
    assert_eq!(fresh.peer_nonce(), None);
    let mut st = AuthStats::default();
    st.record(AuthKind::BadMac);
    assert_eq!(st.bad_mac, 1);
    // The good frame still works.
    let g = a.seal(&Msg::BulkRequest).unwrap();
    let mut s = b;
    assert_eq!(s.open(&g), Ok(Some(Msg::BulkRequest)));
}

#[test]
fn replay_in_same_session_is_refused() {
    let (mut a, mut b) = pair();
    let f1 = a.seal(&Msg::BulkStart { generation: 1 }).unwrap();
    let f2 = a
        .seal(&Msg::BulkEnd {
            generation: 1,
            count: 0,
        })
        .unwrap();
    assert!(b.open(&f1).is_ok());
    assert!(b.open(&f2).is_ok());
    assert_eq!(b.open(&f1), Err(AuthKind::Replayed));
    assert_eq!(b.open(&f2), Err(AuthKind::Replayed));
    // Replaying the Hello inside the session is refused too.
    let h = a.seal_hello("a", 100).unwrap();
    assert_eq!(b.open(&h), Err(AuthKind::Replayed));
    // Out-of-order delivery (older seq after newer) is refused.
    let f3 = a.seal(&Msg::BulkRequest).unwrap();
    let f4 = a.seal(&Msg::BulkRequest).unwrap();
    assert!(b.open(&f4).is_ok());
    assert_eq!(b.open(&f3), Err(AuthKind::Replayed));
}

#[test]
fn frame_from_another_session_is_refused() {
    let (mut a, mut b) = pair();
    let (mut a2, mut b2) = {
        let key = AuthKey::new(KEY).unwrap();
        let mut a2 = Session::new(key.clone(), [5; 16]);
        let mut b2 = Session::new(key, [6; 16]);
        b2.open(&a2.seal_hello("a", 1).unwrap()).unwrap();
        a2.open(&b2.seal_hello("b", 1).unwrap()).unwrap();
        (a2, b2)
    };
    let old = a.seal(&Msg::BulkRequest).unwrap();
    assert_eq!(b2.open(&old), Err(AuthKind::Replayed));
    let new = a2.seal(&Msg::BulkRequest).unwrap();
    assert_eq!(b.open(&new), Err(AuthKind::Replayed));
    // A non-Hello first frame (from some other session) is refused.
    let mut fresh = Session::new(AuthKey::new(KEY).unwrap(), [7; 16]);
    assert_eq!(fresh.open(&old), Err(AuthKind::Replayed));
    // Reflection: a's own frame sent back to a.
    let mine = a.seal(&Msg::BulkRequest).unwrap();
    assert_eq!(a.open(&mine), Err(AuthKind::Replayed));
    // Reflected Hello (our own nonce) is refused.
    let mut c = Session::new(AuthKey::new(KEY).unwrap(), [8; 16]);
    let h = c.seal_hello("c", 1).unwrap();
    assert_eq!(c.open(&h), Err(AuthKind::Replayed));
}

#[test]
fn seal_rules() {
    let key = AuthKey::new(KEY).unwrap();
    let mut s = Session::new(key, [1; 16]);
    assert_eq!(s.seal(&Msg::BulkRequest), Err(SealError::NoSession));
    assert_eq!(s.seal_ping(), Err(SealError::NoSession));
    let (mut a, _) = pair();
    let hello = Msg::Hello {
        node: "a".into(),
        priority: 1,
        nonce: [1; 16],
    };
    assert_eq!(a.seal(&hello), Err(SealError::HelloNotAllowed));
    let big: Vec<SyncRecord> = (0..=MAX_RECORDS_PER_MSG as u32).map(rec).collect();
    assert_eq!(
        a.seal(&Msg::SyncRecords(big.clone())),
        Err(SealError::Invalid)
    );
    let max = Msg::SyncRecords(big[..MAX_RECORDS_PER_MSG].to_vec());
    let f = a.seal(&max).unwrap();
    assert!(f.len() <= wire::LEN_PREFIX + wire::MAX_BODY);
    let long = Msg::Heartbeat {
        node: "n".repeat(65),
        priority: 1,
        state: Role::Backup,
        advert_seq: 0,
    };
    assert_eq!(a.seal(&long), Err(SealError::Invalid));
    assert!(AuthKey::new(b"").is_none());
    let chunks = chunk_records(&big, 1000);
    assert_eq!(chunks.len(), big.len().div_ceil(1000));
    assert!(Msg::decode(TYPE_PING, &[]).is_err());
}

#[test]
fn oversized_length_prefix_is_malformed_early() {
    let mut buf = ((wire::MAX_BODY + 1) as u32).to_be_bytes().to_vec();
    assert_eq!(wire::frame_len(&buf), Err(AuthKind::Malformed));
    buf = 3u32.to_be_bytes().to_vec();
    assert_eq!(wire::frame_len(&buf), Err(AuthKind::Malformed));
}
