//! Test helpers: dest lists, loads and flows (test builds only).

use super::{Dest, DestLoad, Flags, Flow, Scheduler, State, Table, DEFAULT_MH_SIZE};
use std::net::{IpAddr, Ipv4Addr};

pub fn ip(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32.wrapping_add(i)))
}

/// Dests 10.0.(i+1):80 with the given weights, in list order.
pub fn dests(weights: &[u32]) -> Vec<Dest> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| Dest::new(ip(i as u32 + 1), 80, w))
        .collect()
}

pub fn idle(n: usize) -> Vec<DestLoad> {
    vec![DestLoad::default(); n]
}

/// Loads from (active, inactive) pairs.
pub fn loads(v: &[(u32, u32)]) -> Vec<DestLoad> {
    v.iter()
        .map(|&(active, inactive)| DestLoad {
            active,
            inactive,
            ..Default::default()
        })
        .collect()
}

pub fn flow_from(saddr: IpAddr) -> Flow {
    Flow {
        saddr,
        sport: 12345,
        daddr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        dport: 80,
        now_ms: 0,
    }
}

pub fn flow() -> Flow {
    flow_from(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)))
}

/// `n` picks with a fresh state and fixed loads.
pub fn seq(kind: Scheduler, d: &[Dest], l: &[DestLoad], n: usize) -> Vec<Option<usize>> {
    let t = Table::build(kind, Flags::default(), d, DEFAULT_MH_SIZE).unwrap();
    let mut st = State::new(&t);
    (0..n).map(|_| t.pick(&mut st, d, l, &flow())).collect()
}

/// One pick with a fresh state.
pub fn one(kind: Scheduler, d: &[Dest], l: &[DestLoad]) -> Option<usize> {
    seq(kind, d, l, 1)[0]
}

/// (name, weights, (active, inactive) per dest, expected pick).
pub type Case = (&'static str, Vec<u32>, Vec<(u32, u32)>, Option<usize>);
/// (name, dests, loads, expected pick sequence).
pub type SeqCase = (&'static str, Vec<Dest>, Vec<DestLoad>, Vec<Option<usize>>);
