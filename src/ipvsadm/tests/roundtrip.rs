//! Round trip: `format::save` output parsed back with `parse_restore` and
//! applied by a tiny in-test applier rebuilds the same service set (modulo
//! what ipvsadm's `-S` does not save: counters, rates, thresholds, and
//! `Local` forwarding, which is saved as `-g`).

use std::net::Ipv4Addr;

use super::format::{ip, real, reference_table, svc, tcp, udp};
use crate::ipvsadm::format;
use crate::ipvsadm::model::*;
use crate::ipvsadm::parse::{parse_restore, Command};

/// Minimal kernel-like applier for the commands `-S` emits.
fn apply(cmds: Vec<Command>) -> Vec<SvcInfo> {
    let mut t: Vec<SvcInfo> = Vec::new();
    for c in cmds {
        match c {
            Command::AddService(id, o) => {
                assert!(t.iter().all(|s| s.id != id), "duplicate service {id:?}");
                t.push(SvcInfo {
                    id,
                    scheduler: o.scheduler,
                    flags: o.flags,
                    persistent: o.persistent,
                    netmask: o.netmask,
                    ops: o.ops,
                    pe: o.pe,
                    reals: vec![],
                    stats: Stats::default(),
                    rates: Rates::default(),
                })
            }
            Command::AddServer(id, r) => {
                let s = t.iter_mut().find(|s| s.id == id).expect("service exists");
                let mut d = real(&r.addr.to_string(), r.port, r.fwd, r.weight);
                d.u_threshold = r.u_threshold;
                d.l_threshold = r.l_threshold;
                s.reals.push(d);
            }
            c => panic!("unexpected command in save output: {c:?}"),
        }
    }
    t
}

/// Drops what `-S` does not carry and puts everything in a canonical order.
fn normalize(mut t: Vec<SvcInfo>) -> Vec<SvcInfo> {
    for s in &mut t {
        s.stats = Stats::default();
        s.rates = Rates::default();
        s.flags = sched_flag_names(&s.scheduler, sched_flag_bits(&s.flags));
        for d in &mut s.reals {
            let fwd = if d.fwd == FwdFlag::LOCAL {
                FwdFlag::DROUTE
            } else {
                d.fwd
            };
            *d = real(&d.addr.to_string(), d.port, fwd, d.weight);
        }
        s.reals.sort_by_key(|d| (d.addr, d.port));
    }
    t.sort_by_key(|s| format!("{:?}", s.id));
    t
}

fn round_trip(t: Vec<SvcInfo>) {
    let text = format::save(&t);
    let cmds: Vec<Command> = parse_restore(&text)
        .into_iter()
        .map(|r| r.unwrap_or_else(|(l, e)| panic!("line {l}: {e}\n{text}")))
        .collect();
    let rebuilt = apply(cmds);
    assert_eq!(format::save(&rebuilt), text);
    assert_eq!(normalize(rebuilt), normalize(t));
}

#[test]
fn reference_table_round_trips() {
    round_trip(reference_table());
}

#[test]
fn varied_table_round_trips() {
    let mut a = svc(
        tcp("192.168.10.1", 0),
        "lblcr",
        vec![real("10.9.9.9", 0, FwdFlag::MASQ, 0)],
    );
    a.persistent = Some(2678400);
    a.netmask = ip("255.255.0.0");
    a.pe = Some("sip".into());
    let mut b = svc(udp("203.0.113.5", 5060), "mh", vec![]);
    b.flags = vec!["flag-2".into(), "mh-fallback".into(), "flag-3".into()];
    b.ops = true;
    b.persistent = Some(1);
    for i in 0..5u8 {
        b.reals.push(real(
            &format!("{}.0.0.{i}", 250 - i * 60),
            5060,
            FwdFlag::TUNNEL,
            u32::from(i) * 1000,
        ));
    }
    let mut c = svc(SvcId::Fwmark(4_000_000_000), "twos", vec![]);
    c.reals.push(real("172.16.0.1", 0, FwdFlag::DROUTE, 65535));
    c.reals.push(real("172.16.0.1", 443, FwdFlag::LOCAL, 2));
    let mut d = svc(
        SvcId::Fwmark(1),
        "ovf",
        vec![real("127.0.0.1", 22, FwdFlag::MASQ, 1)],
    );
    d.persistent = Some(360);
    d.netmask = Ipv4Addr::BROADCAST;
    let e = svc(tcp("1.1.1.1", 65535), "fo", vec![]);
    round_trip(vec![a, b, c, d, e]);
}
