//! `lvsadm explain`: which real a new flow would reach, computed by the
//! real scheduler code against the live snapshot (with an empty load view:
//! for load-dependent schedulers the answer is "with no connections").
use crate::datapath::Snapshot;
use crate::sched::{self, DestLoad, Flow};
use crate::types::Protocol;
use std::net::{IpAddr, SocketAddrV4};

/// Explain a flow; a JSON object with the decision and the reasons.
pub fn explain(
    snap: &Snapshot,
    protocol: &str,
    client: SocketAddrV4,
    vip: SocketAddrV4,
) -> Result<serde_json::Value, String> {
    let Some(proto) = Protocol::from_name(protocol).map(Protocol::number) else {
        return Err(format!(
            "protocol: unknown '{protocol}': expected tcp or udp"
        ));
    };
    let Some(pos) = snap.services.find(proto, *vip.ip(), vip.port()) else {
        return Ok(serde_json::json!({
            "service": null,
            "decision": "no service: the packet is dropped (no_service)",
        }));
    };
    let svc = &snap.services.list[pos];
    let loads = vec![DestLoad::default(); svc.dests.len()];
    let mut st = sched::State::new(&svc.table);
    let flow = Flow {
        saddr: IpAddr::V4(*client.ip()),
        sport: client.port(),
        daddr: IpAddr::V4(*vip.ip()),
        dport: vip.port(),
        now_ms: 0,
    };
    let pick = svc.table.pick(&mut st, &svc.dests, &loads, &flow);
    let eligible: Vec<String> = svc
        .reals
        .iter()
        .zip(&svc.dests)
        .filter(|(_, d)| d.weight > 0)
        .map(|(r, _)| format!("{}:{}", r.addr, r.port))
        .collect();
    Ok(serde_json::json!({
        "service": svc.name,
        "scheduler": svc.table.kind().as_str(),
        "persistence": svc.persistence.map(|p| format!("{} s, netmask {}", p.timeout_s, p.netmask)),
        "eligible_reals": eligible,
        "real": pick.map(|d| format!("{}:{}", svc.reals[d].addr, svc.reals[d].port)),
        "method": pick.map(|d| crate::ipvsadm::format::method_name(svc.reals[d].method)),
        "decision": match pick {
            Some(_) => "a new connection is scheduled to this real (an existing connection or persistence template may pin another)",
            None => "no real available: the client gets ICMP port unreachable",
        },
    }))
}
