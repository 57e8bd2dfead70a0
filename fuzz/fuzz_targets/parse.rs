//! Fuzz target: every parser, accessor and setter of `lvsd::packet` on
//! arbitrary frames. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsd::packet::{arp, checksum, ethernet, flow, icmp, icmpv6, ipv4, ipv6, tcp, udp};
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

fn l4_v4(proto: u8, src: Ipv4Addr, dst: Ipv4Addr, l4: &[u8]) {
    let mut copy = l4.to_vec();
    match proto {
        ipv4::Protocol::TCP => {
            if let Ok(t) = tcp::Packet::new_checked(l4) {
                black_box((t.src_port(), t.dst_port(), t.seq(), t.ack(), t.header_len()));
                black_box((t.flags(), t.fin(), t.syn(), t.rst(), t.psh(), t.ack_flag()));
                black_box((
                    t.urg(),
                    t.ece(),
                    t.cwr(),
                    t.window(),
                    t.checksum(),
                    t.urgent(),
                ));
                black_box((t.options(), t.payload(), t.verify_checksum_v4(src, dst)));
                let mut m = tcp::Packet::new_checked(&mut copy[..]).unwrap();
                m.rewrite_dst_port(8080);
                m.update_checksum_addr(&dst.octets(), &[10, 0, 0, 1]);
                m.fill_checksum_v4(src, dst);
                assert!(m.verify_checksum_v4(src, dst));
                m.set_flags(0xff);
                m.set_header_len(60);
                black_box((
                    m.options_mut().len(),
                    m.payload_mut().len(),
                    m.options(),
                    m.payload(),
                ));
            }
        }
        ipv4::Protocol::UDP => {
            if let Ok(u) = udp::Packet::new_checked(l4) {
                black_box((
                    u.src_port(),
                    u.dst_port(),
                    u.len(),
                    u.checksum(),
                    u.payload(),
                ));
                black_box(u.verify_checksum_v4(src, dst));
                let mut m = udp::Packet::new_checked(&mut copy[..]).unwrap();
                m.rewrite_src_port(1);
                m.update_checksum_addr(&src.octets(), &[1, 2, 3, 4]);
                m.fill_checksum_v4(src, dst);
                assert!(m.verify_checksum_v4(src, dst));
                assert_ne!(m.checksum(), 0);
                m.set_len(0xffff);
                black_box((
                    m.payload_mut().len(),
                    m.datagram(),
                    m.verify_checksum_v4(src, dst),
                ));
            }
        }
        ipv4::Protocol::ICMP => {
            if let Ok(i) = icmp::Packet::new_checked(l4) {
                black_box((i.msg_type(), i.code(), i.checksum(), i.rest_of_header()));
                black_box((i.echo_ident(), i.echo_seq(), i.next_hop_mtu(), i.payload()));
                black_box((i.is_echo(), i.is_error(), i.verify_checksum()));
                if let Ok(q) = i.quoted_ipv4() {
                    black_box((q.src(), q.dst(), q.protocol(), q.total_len(), q.header()));
                    black_box((
                        q.src_port(),
                        q.dst_port(),
                        q.icmp_echo_ident(),
                        q.l4_header(),
                    ));
                    black_box((q.is_fragment(), q.frag_offset(), q.verify_checksum()));
                }
                let mut m = icmp::Packet::new_checked(&mut copy[..]).unwrap();
                if let Ok(mut q) = m.quoted_ipv4_mut() {
                    q.set_src(dst);
                    q.set_dst(src);
                    q.set_src_port(1);
                    q.set_dst_port(2);
                    q.fill_checksum();
                    assert!(q.verify_checksum());
                }
                m.set_echo_ident(7);
                m.set_next_hop_mtu(1500);
                m.fill_checksum();
                assert!(m.verify_checksum());
            }
        }
        _ => {}
    }
}

fn l4_v6(nh: u8, src: &Ipv6Addr, dst: &Ipv6Addr, l4: &[u8]) {
    let mut copy = l4.to_vec();
    match nh {
        6 => {
            if let Ok(t) = tcp::Packet::new_checked(l4) {
                black_box(t.verify_checksum_v6(src, dst));
                let mut m = tcp::Packet::new_checked(&mut copy[..]).unwrap();
                m.fill_checksum_v6(src, dst);
                assert!(m.verify_checksum_v6(src, dst));
            }
        }
        17 => {
            if let Ok(u) = udp::Packet::new_checked(l4) {
                black_box(u.verify_checksum_v6(src, dst));
                let mut m = udp::Packet::new_checked(&mut copy[..]).unwrap();
                m.fill_checksum_v6(src, dst);
                assert!(m.verify_checksum_v6(src, dst));
            }
        }
        58 => {
            if let Ok(i) = icmpv6::Packet::new_checked(l4) {
                black_box((i.msg_type(), i.code(), i.checksum(), i.body_word(), i.mtu()));
                black_box((i.echo_ident(), i.echo_seq(), i.nd_flags(), i.is_error()));
                black_box((i.target_addr(), i.nd_options(), i.payload()));
                black_box(i.verify_checksum(src, dst));
                let mut m = icmpv6::Packet::new_checked(&mut copy[..]).unwrap();
                let _ = m.set_target_addr(src);
                m.set_nd_flags(0xe0);
                m.fill_checksum(src, dst);
                assert!(m.verify_checksum(src, dst));
            }
        }
        _ => {}
    }
}

fn ip(ethertype: u16, l3: &[u8]) {
    let parsed = flow::extract(ethertype, l3);
    if let Ok(p) = &parsed {
        assert!(p.l4_offset + p.l4_len <= l3.len());
        assert_eq!(p.l3_total_len, p.l4_offset + p.l4_len);
        black_box(p.tuple.reversed());
    } else if let Err(e) = parsed {
        black_box((e.as_str(), e.to_string()));
    }
    let mut copy = l3.to_vec();
    match ethertype {
        ethernet::EtherType::IPV4 => {
            let Ok(p) = ipv4::Packet::new_checked(l3) else {
                return;
            };
            black_box((
                p.version(),
                p.ihl(),
                p.header_len(),
                p.tos(),
                p.dscp(),
                p.ecn(),
            ));
            black_box((p.total_len(), p.ident(), p.dont_frag(), p.more_frags()));
            black_box((
                p.frag_offset(),
                p.is_fragment(),
                p.ttl(),
                p.protocol(),
                p.checksum(),
            ));
            black_box((
                p.options(),
                p.payload(),
                p.verify_checksum(),
                p.payload_len(),
            ));
            if !p.is_fragment() {
                l4_v4(p.protocol(), p.src(), p.dst(), p.payload());
            }
            let mut m = ipv4::Packet::new_checked(&mut copy[..]).unwrap();
            let old = m.rewrite_dst(Ipv4Addr::new(10, 0, 0, 9));
            m.rewrite_src(old);
            m.fill_checksum();
            assert!(m.verify_checksum());
            let _ = m.decrement_ttl();
            assert!(m.verify_checksum());
            m.set_dscp(0x3f);
            m.set_ecn(3);
            m.set_dont_frag(true);
            m.set_more_frags(true);
            m.set_frag_offset(0xffff);
            m.set_ihl(15);
            m.set_total_len(0xffff);
            black_box((
                m.options_mut().len(),
                m.payload_mut().len(),
                m.verify_checksum(),
            ));
            m.set_ihl(0);
            m.fill_checksum();
            black_box((m.options(), m.payload(), m.header()));
        }
        ethernet::EtherType::IPV6 => {
            let Ok(p) = ipv6::Packet::new_checked(l3) else {
                return;
            };
            black_box((
                p.version(),
                p.traffic_class(),
                p.dscp(),
                p.ecn(),
                p.flow_label(),
            ));
            black_box((p.payload_len(), p.next_header(), p.hop_limit(), p.payload()));
            black_box(ipv6::pseudo_header(&p, 6, 20));
            l4_v6(p.next_header(), &p.src(), &p.dst(), p.payload());
            let mut m = ipv6::Packet::new_checked(&mut copy[..]).unwrap();
            m.set_traffic_class(0xff);
            m.set_flow_label(0xfffff);
            m.set_hop_limit(1);
            m.set_payload_len(0xffff);
            black_box(m.payload_mut().len());
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    black_box(checksum::data(data));
    if let Ok(f) = ethernet::Frame::new_checked(data) {
        black_box((f.dst(), f.src(), f.ethertype(), f.header_len(), f.payload()));
        black_box((
            f.dst().is_broadcast(),
            f.src().is_multicast(),
            f.src().to_string(),
        ));
        let mut copy = data.to_vec();
        let mut m = ethernet::Frame::new_checked(&mut copy[..]).unwrap();
        m.set_dst(ethernet::MacAddr::BROADCAST);
        m.set_src(ethernet::MacAddr::ZERO);
        m.set_ethertype(0x0800);
        black_box(m.payload_mut().len());
    }
    if let Ok(s) = std::str::from_utf8(data) {
        black_box(s.parse::<ethernet::MacAddr>().ok());
    }
    let Ok(l2) = ethernet::parse_l2(data) else {
        return;
    };
    let Some(l3) = data.get(l2.header_len..) else {
        return;
    };
    match l2.ethertype {
        ethernet::EtherType::ARP => {
            if let Ok(a) = arp::Packet::new_checked(l3) {
                black_box((a.htype(), a.ptype(), a.hlen(), a.plen(), a.oper()));
                black_box((
                    a.sha(),
                    a.spa(),
                    a.tha(),
                    a.tpa(),
                    a.is_gratuitous(),
                    a.payload(),
                ));
                let mut copy = l3.to_vec();
                let mut m = arp::Packet::new_checked(&mut copy[..]).unwrap();
                m.set_oper(2);
                m.set_sha(a.tha());
                m.set_tha(a.sha());
                m.set_spa(a.tpa());
                m.set_tpa(a.spa());
                black_box(m.payload_mut().len());
            }
        }
        et => ip(et, l3),
    }
    // Also treat the raw input directly as L3 of both versions.
    ip(ethernet::EtherType::IPV4, data);
    ip(ethernet::EtherType::IPV6, data);
});
