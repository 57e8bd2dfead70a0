use super::*;
use crate::packet::{ipv4, tcp, udp};

fn spec(proto: Protocol, size: usize) -> FrameSpec {
    FrameSpec {
        dst_mac: [2, 0, 0, 0, 0, 1],
        src_mac: [2, 0, 0, 0, 0, 2],
        dst_ip: Ipv4Addr::new(10, 0, 0, 100),
        dst_port: 80,
        proto,
        size,
    }
}

#[test]
fn endpoints_cycle_addresses_then_ports() {
    assert_eq!(endpoint(0), (Ipv4Addr::new(198, 18, 0, 0), 1024));
    assert_eq!(endpoint(1), (Ipv4Addr::new(198, 18, 0, 1), 1024));
    assert_eq!(
        endpoint(CLIENT_ADDRS - 1),
        (Ipv4Addr::new(198, 18, 255, 255), 1024)
    );
    assert_eq!(endpoint(CLIENT_ADDRS), (Ipv4Addr::new(198, 18, 0, 0), 1025));
    let (_, p) = endpoint(MAX_ENDPOINTS - 1);
    assert!(p > 1024 && p < 1200);
}

#[test]
fn tcp_frame_is_valid_and_stamped() {
    for size in [64, 128, 1500] {
        let t = Template::new(&spec(Protocol::Tcp, size)).unwrap();
        let mut out = vec![0u8; size];
        t.write(&mut out, 5, TCP_SYN, 0xdead_beef, 0x1234_5678);
        let ip = ipv4::Packet::new_checked(&out[14..]).unwrap();
        assert!(ip.verify_checksum(), "size {size}");
        assert_eq!(ip.src(), Ipv4Addr::new(198, 18, 0, 5));
        assert_eq!(ip.dst(), Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(usize::from(ip.total_len()), size - 14);
        let t4 = tcp::Packet::new_checked(ip.payload()).unwrap();
        assert_eq!((t4.src_port(), t4.dst_port()), (1024, 80));
        assert_eq!(read_stamp(&out), Some((0xdead_beef, 0x1234_5678)));
    }
}

#[test]
fn sizes_are_checked() {
    assert!(Template::new(&spec(Protocol::Tcp, 63)).is_err());
    assert!(Template::new(&spec(Protocol::Tcp, 1515)).is_err());
    assert!(Template::new(&spec(Protocol::Udp, 60)).is_ok());
    assert_eq!(min_size(Protocol::Tcp), 64);
}

#[test]
fn udp_frame_is_valid() {
    let t = Template::new(&spec(Protocol::Udp, 60)).unwrap();
    let mut out = vec![0u8; 60];
    t.write(&mut out, CLIENT_ADDRS + 3, 0, 7, 9);
    let ip = ipv4::Packet::new_checked(&out[14..]).unwrap();
    assert!(ip.verify_checksum());
    let u = udp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(u.src_port(), 1025);
    assert_eq!(read_stamp(&out), Some((7, 9)));
}

#[test]
fn stamp_survives_nat_and_rejects_foreign_frames() {
    let t = Template::new(&spec(Protocol::Tcp, 64)).unwrap();
    let mut out = vec![0u8; 64];
    t.write(&mut out, 1, TCP_ACK, 42, 43);
    let mut f = crate::frame::VecFrame::new(&out);
    crate::xlate::dnat(&mut f, Ipv4Addr::new(10, 0, 0, 11), 8080).unwrap();
    assert_eq!(read_stamp(crate::frame::Frame::data(&f)), Some((42, 43)));
    out[54] = 0;
    assert_eq!(read_stamp(&out), None);
    assert_eq!(read_stamp(&out[..40]), None);
}

#[test]
fn mix_share_and_ranges() {
    let mut m = FlowMix::new(10, 10, 1000, 250_000);
    let mut syn = 0;
    for _ in 0..1000 {
        let (i, s) = m.next_flow();
        if s {
            syn += 1;
            assert!((10..1010).contains(&i));
        } else {
            assert!(i < 10);
        }
    }
    assert_eq!(syn, 250);
    let mut w = FlowMix::warm(3);
    let v: Vec<_> = (0..4).map(|_| w.next_flow()).collect();
    assert_eq!(v, [(0, true), (1, true), (2, true), (0, true)]);
    let mut w = FlowMix::warm_ack(3);
    let v: Vec<_> = (0..4).map(|_| w.next_flow()).collect();
    assert_eq!(v, [(0, false), (1, false), (2, false), (0, false)]);
    let mut flood = FlowMix::new(0, 0, 5, 0);
    assert!(flood.next_flow().1, "no established endpoints: all SYN");
}

#[test]
fn random_order_visits_every_endpoint_once_per_round() {
    for n in [2u64, 3, 5, 1000, 4096, 100_003] {
        let mut m = FlowMix::new(n, n, 1, 0).random_order();
        let mut seen = vec![false; n as usize];
        let mut in_place = 0;
        for k in 0..n {
            let (i, syn) = m.next_flow();
            assert!(!syn && i < n, "n={n}: {i}");
            assert!(!seen[i as usize], "n={n}: {i} twice in a round");
            seen[i as usize] = true;
            in_place += u64::from(i == k);
        }
        // The next round repeats the same order.
        let first = FlowMix::new(n, n, 1, 0).random_order().next_flow();
        assert_eq!(m.next_flow(), first, "n={n}");
        if n >= 1000 {
            assert!(in_place < n / 100, "n={n}: {in_place} in sequence order");
        }
    }
    // SYNs and a single endpoint are not permuted.
    let mut one = FlowMix::new(1, 1, 1, 0).random_order();
    assert_eq!(one.next_flow(), (0, false));
    let mut flood = FlowMix::new(0, 7, 3, 0).random_order();
    let v: Vec<_> = (0..3).map(|_| flood.next_flow()).collect();
    assert_eq!(v, [(7, true), (8, true), (9, true)]);
}

#[test]
fn histogram_quantiles_within_resolution() {
    let mut h = LatHist::new();
    assert_eq!(h.quantile(0.5), None);
    for v in 1..=10_000u64 {
        h.record(v * 100);
    }
    let p50 = h.quantile(0.5).unwrap() as f64;
    let p99 = h.quantile(0.99).unwrap() as f64;
    assert!((p50 / 500_000.0 - 1.0).abs() < 0.04, "{p50}");
    assert!((p99 / 990_000.0 - 1.0).abs() < 0.04, "{p99}");
    assert_eq!(h.quantile(1.0), Some(1_000_000));
    let mut small = LatHist::new();
    small.record(3);
    assert_eq!(small.quantile(0.5), Some(3));
    let mut huge = LatHist::new();
    huge.record(u64::MAX);
    assert_eq!(huge.quantile(0.5), Some(u64::MAX));
}

#[test]
fn pacer_and_stats() {
    let mut p = Pacer::new(1000, 1_000_000, 500);
    assert_eq!(p.allowed(1000, 0), 0);
    assert_eq!(p.allowed(1_001_000, 0), 500);
    assert_eq!(p.forfeited(), 0);
    assert_eq!(Pacer::new(0, 1, 0).allowed(5, 0), u64::MAX);
    // Bounded: 1,000 pps, bucket of 10 packets.
    let mut b = Pacer::new(0, 1_000_000, 1000).with_depth(10);
    assert_eq!(b.allowed(5_000, 0), 5); // 5 due, within the bucket
    assert_eq!(b.allowed(100_000, 5), 15); // 100 due: 85 forfeited
    assert_eq!(b.forfeited(), 85);
    assert_eq!(b.allowed(100_000, 15), 15); // caught up: nothing more
    assert_eq!(b.allowed(110_000, 15), 25); // 10 more due, on schedule
    assert_eq!(b.forfeited(), 85);
    assert_eq!(b.allowed(1_110_000, 25), 35); // a 1 s stall: only 10 owed
    assert_eq!(b.forfeited(), 85 + 990);
    let s = PhaseStats {
        tx: 100,
        rx: 90,
        secs: 2.0,
        ..Default::default()
    };
    assert_eq!((s.tx_pps(), s.rx_pps(), s.lost()), (50.0, 45.0, 10));
    assert!((s.loss_ratio() - 0.1).abs() < 1e-9);
    // Refused frames are offered and lost; forfeited ones were never sent.
    let r = PhaseStats {
        refused: 10,
        forfeited: 7,
        ..s
    };
    assert_eq!(r.lost(), 20);
    assert!((r.loss_ratio() - 20.0 / 110.0).abs() < 1e-9);
    assert_eq!(r.plus(&r).forfeited, 14);
}

#[test]
fn json_line_types() {
    let l = json_line(&[
        ("a", "1.5".into()),
        ("b", "x\"y".into()),
        ("c", "null".into()),
        ("d", "NaN".into()),
    ]);
    assert_eq!(l, r#"{"a":1.5,"b":"x\"y","c":null,"d":"NaN"}"#);
    assert_eq!(parse_mac("02:00:00:00:00:0a").unwrap(), [2, 0, 0, 0, 0, 10]);
    assert!(parse_mac("02:00").is_err());
}

#[test]
fn warm_chunks_cover_their_range_syns_then_acks() {
    let mut s = FlowMix::warm_range(100, 3);
    let syns: Vec<_> = (0..4).map(|_| s.next_flow()).collect();
    assert_eq!(
        syns,
        vec![(100, true), (101, true), (102, true), (100, true)]
    );
    let mut a = FlowMix::warm_ack_range(100, 3);
    let acks: Vec<_> = (0..3).map(|_| a.next_flow()).collect();
    assert_eq!(acks, vec![(100, false), (101, false), (102, false)]);
}
