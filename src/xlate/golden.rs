//! Golden output for an independent decoder: one example output of every
//! rewrite/builder, written as a classic libpcap file (LINKTYPE_ETHERNET)
//! to `$LVSD_XLATE_PCAP` when set; `tests/check_xlate_pcap.py` decodes it
//! with scapy and asserts the fields and checksums.
//!
//! Invariants: the order and content of [`examples`] is what `check_pcap.py`
//! expects (packet index = position); change both together.

use super::*;
use crate::frame::{Frame, VecAlloc, VecFrame};
use crate::packet::checksum;
use crate::xlate::build::{self, *};

/// UDP C:1234 → VIP:53 whose checksum computes to 0 after DNAT to RS:5353.
fn udp_zero_after_dnat() -> Vec<u8> {
    let mut post = udp(C, 1234, RS, 5353, 64, &[0, 0, 1, 2], false);
    let ph = checksum::ipv4_pseudo_header(C, RS, 17, 12);
    let w = !checksum::combine(&[ph, checksum::data(&post[34..])]);
    post[42..44].copy_from_slice(&w.to_be_bytes());
    udp(C, 1234, VIP, 53, 64, &post[42..46], true)
}

fn done<F: Frame>(f: F) -> Vec<u8> {
    f.data().to_vec()
}

/// The example outputs, in the order `check_pcap.py` expects.
pub fn examples() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut a = VecAlloc::default();
    let run = |f: Vec<u8>, op: &dyn Fn(&mut VecFrame) -> Result<()>| {
        let mut fr = VecFrame::new(&f);
        op(&mut fr).unwrap();
        done(fr)
    };
    // 0 dnat TCP, 1 dnat UDP, 2 dnat UDP no checksum, 3 dnat UDP -> 0xFFFF
    out.push(run(
        tcp(C, 40000, VIP, 80, 64, b"GET / HTTP/1.0\r\n\r\n"),
        &|f| dnat(f, RS, 8080),
    ));
    out.push(run(udp(C, 1234, VIP, 53, 64, b"query", true), &|f| {
        dnat(f, RS, 5353)
    }));
    out.push(run(udp(C, 1234, VIP, 53, 64, b"query", false), &|f| {
        dnat(f, RS, 5353)
    }));
    out.push(run(udp_zero_after_dnat(), &|f| dnat(f, RS, 5353)));
    // 4 snat TCP, 5 snat UDP
    out.push(run(
        tcp(RS, 8080, C, 40000, 64, b"HTTP/1.0 200 OK\r\n"),
        &|f| snat(f, VIP, 80),
    ));
    out.push(run(udp(RS, 5353, C, 1234, 64, b"answer", true), &|f| {
        snat(f, VIP, 53)
    }));
    // 6 DR
    out.push(run(tcp(C, 40000, VIP, 80, 64, b"dr"), &|f| forward(f)));
    // 7 TUN encapsulate, 8 decapsulate(encapsulate)
    let mut h = Ip::new(C, VIP, 6, 64);
    h.tos = 0xba;
    let inner = tcp_ip(h, 40000, 80, b"tunnelled");
    out.push(run(inner.clone(), &|f| {
        encapsulate(f, DIR, RS, true, 0xbeef)
    }));
    out.push(run(inner, &|f| {
        encapsulate(f, DIR, RS, true, 0xbeef)?;
        decapsulate(f)
    }));
    // 9 frag needed, 10 time exceeded, 11 port unreachable
    let big = VecFrame::new(&tcp(C, 40000, VIP, 80, 64, &[0x5a; 1460]));
    out.push(done(frag_needed(&mut a, &big, 1480, VIP, 0x0101).unwrap()));
    let ttl1 = VecFrame::new(&tcp(C, 40000, VIP, 80, 1, b"x"));
    out.push(done(time_exceeded(&mut a, &ttl1, VIP, 0x0102).unwrap()));
    let q = VecFrame::new(&udp(C, 1234, VIP, 53, 64, b"query", true));
    out.push(done(port_unreachable(&mut a, &q, VIP, 0x0103).unwrap()));
    // 12 nat_icmp_in: ROUTER -> VIP quoting VIP:80 -> C:40000 (28 bytes)
    let sent = tcp(VIP, 80, C, 40000, 61, b"reply");
    let e = build::icmp_err(ROUTER, VIP, 3, 4, 1400, &sent[14..42]);
    out.push(run(e, &|f| nat_icmp_in(f, RS, 8080)));
    // 13 nat_icmp_out: RS -> C quoting C:5000 -> RS:8080 (whole datagram)
    let sent = udp(C, 5000, RS, 8080, 63, b"datagram", true);
    let e = build::icmp_err(RS, C, 3, 3, 0, &sent[14..]);
    out.push(run(e, &|f| nat_icmp_out(f, VIP, 53)));
    out
}

/// Classic libpcap file: 24-byte global header + 16-byte record headers,
/// little-endian, microsecond timestamps, LINKTYPE_ETHERNET (1).
pub fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

#[test]
fn golden_pcap() {
    let ex = examples();
    assert_eq!(ex.len(), 14);
    let p = pcap(&ex);
    assert_eq!(p.len(), 24 + ex.iter().map(|f| 16 + f.len()).sum::<usize>());
    if let Ok(path) = std::env::var("LVSD_XLATE_PCAP") {
        std::fs::write(&path, &p).unwrap();
    }
    // The independent decoder: scapy (Debian's python3-scapy, installed by
    // deploy/setup.sh) checks every field and checksum.
    let scapy = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import scapy.all"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !scapy {
        eprintln!("skipping scapy check: /usr/bin/python3 has no scapy");
        return;
    }
    let path = std::env::temp_dir().join(format!("lvsd-xlate-golden-{}.pcap", std::process::id()));
    std::fs::write(&path, &p).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/check_xlate_pcap.py");
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "scapy rejected the golden packets:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
