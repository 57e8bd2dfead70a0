//! keepalived's LVS part: `virtual_server` (address and port, `fwmark`,
//! `group`), `virtual_server_group` and `real_server` → lvsd services and
//! reals. keepalived's forwarding default is NAT and is written explicitly
//! (lvsd's is DR).
use super::super::draft::{At, Real, Service};
use super::super::lex::Node;
use super::super::value::{int, netmask};
use super::check::{checker, RealInfo, Timing};
use super::Ctx;
use crate::config::MAX_TIMEOUT_S;
use crate::types::{Method, Protocol, Scheduler};
use std::net::{IpAddr, Ipv4Addr};

/// What a `virtual_server` block says, before it is expanded per address.
struct Spec {
    base: Service,
    timing: Timing,
}

/// One `virtual_server` block → one service per (VIP, port) it stands for.
pub fn virtual_server(n: &Node, cx: &mut Ctx) {
    let keys = match (n.arg(0), n.arg(1)) {
        (Some("fwmark"), _) => {
            cx.notes.warn(n, "not carried (yet): lvsd has no firewall-mark services; this virtual_server and its real servers are left out");
            return;
        }
        (Some("group"), Some(g)) => group_keys(g, n, cx),
        (Some(ip), port) => match address_key(ip, port, n, cx) {
            Some(k) => vec![k],
            None => return,
        },
        (None, _) => {
            cx.notes
                .warn(n, "virtual_server without an address: not carried");
            return;
        }
    };
    let spec = spec(n, cx);
    for (vip, port) in keys {
        let mut s = spec.base.clone();
        s.vip = vip;
        s.port = port;
        for r in n.kids().iter().filter(|k| k.key() == "real_server") {
            if let Some(real) = real_server(r, &spec, &s, cx) {
                s.reals.push(real);
            }
        }
        cx.d.services.push(s);
    }
}

/// `IP [PORT]` of a virtual_server.
fn address_key(ip: &str, port: Option<&str>, n: &Node, cx: &mut Ctx) -> Option<(Ipv4Addr, u16)> {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Some((
            a,
            port.and_then(int)
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(0),
        )),
        Ok(IpAddr::V6(_)) => {
            cx.notes.warn(
                n,
                "not carried (yet): lvsd has no IPv6 services; this virtual_server is left out",
            );
            None
        }
        Err(_) => {
            cx.notes
                .warn(n, format!("not carried: '{ip}' is not an IPv4 address"));
            None
        }
    }
}

/// The (VIP, port) pairs of a `virtual_server_group`, its ranges expanded.
fn group_keys(g: &str, n: &Node, cx: &mut Ctx) -> Vec<(Ipv4Addr, u16)> {
    let Some(group) = cx.groups.get(g).cloned() else {
        cx.notes.warn(
            n,
            format!("not carried: no virtual_server_group named '{g}'"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in group.kids() {
        if e.key() == "fwmark" {
            cx.notes
                .warn(e, "not carried (yet): lvsd has no firewall-mark services");
            continue;
        }
        let port = e
            .arg(0)
            .and_then(int)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0);
        match range(e.key()) {
            Some(addrs) => out.extend(addrs.into_iter().map(|a| (a, port))),
            None => cx.notes.warn(e, "not carried: expected an IPv4 address or range (a.b.c.d-e, a.b.c.d-f.g.h.i, a.b.c.d/nn)"),
        }
    }
    out
}

/// Largest address range expanded from one group entry.
const MAX_RANGE: u32 = 4096;

/// `a.b.c.d`, `a.b.c.d-e`, `a.b.c.d-e.f.g.h` or `a.b.c.d/nn` as addresses.
fn range(s: &str) -> Option<Vec<Ipv4Addr>> {
    let (first, last) = if let Some((a, len)) = s.split_once('/') {
        let a: Ipv4Addr = a.parse().ok()?;
        let m = netmask(len)?;
        let net = u32::from(a) & u32::from(m);
        (net, net | !u32::from(m))
    } else if let Some((a, b)) = s.split_once('-') {
        let a: Ipv4Addr = a.parse().ok()?;
        let end = match b.parse::<Ipv4Addr>() {
            Ok(e) => u32::from(e),
            Err(_) => (u32::from(a) & !0xff) | b.parse::<u8>().ok()? as u32,
        };
        (u32::from(a), end)
    } else {
        let a: Ipv4Addr = s.parse().ok()?;
        (u32::from(a), u32::from(a))
    };
    (first <= last && last - first < MAX_RANGE)
        .then(|| (first..=last).map(Ipv4Addr::from).collect())
}

/// The service settings of a virtual_server block.
fn spec(n: &Node, cx: &mut Ctx) -> Spec {
    let at = At::of(n);
    let mut base = Service::new(at, Protocol::Tcp, Ipv4Addr::UNSPECIFIED, 0, Method::Nat);
    let mut timing = Timing::default();
    for k in n.kids() {
        if k.key() == "real_server" || timing.take(k, cx.notes) {
            continue;
        }
        service_key(k, &mut base, cx);
    }
    Spec { base, timing }
}

/// One virtual_server keyword.
fn service_key(k: &Node, s: &mut Service, cx: &mut Ctx) {
    let a = k.arg(0);
    match k.key() {
        "lb_algo" | "lvs_sched" => match a.and_then(Scheduler::from_name) {
            Some(x) => s.scheduler = x.as_str().to_string(),
            None => cx
                .notes
                .warn(k, "scheduler not carried: unknown to lvsd; wlc is used"),
        },
        "lb_kind" | "lvs_method" => {
            if let Some(m) = method(k, cx) {
                s.method = m;
            }
        }
        "persistence_timeout" => {
            let t = a.and_then(int).unwrap_or(360).clamp(1, MAX_TIMEOUT_S);
            s.persistence = Some((t, s.persistence.map_or(Ipv4Addr::BROADCAST, |p| p.1)));
        }
        "persistence_granularity" => match a.and_then(netmask) {
            Some(m) => s.persistence = Some((s.persistence.map_or(360, |p| p.0), m)),
            None => cx.notes.warn(
                k,
                "persistence_granularity: not carried: expected a contiguous IPv4 netmask",
            ),
        },
        "protocol" => match a.map(str::to_ascii_lowercase).as_deref() {
            Some("tcp") => s.protocol = Protocol::Tcp,
            Some("udp") => s.protocol = Protocol::Udp,
            _ => cx.notes.warn(
                k,
                "protocol not carried: lvsd balances TCP and UDP only; TCP is used",
            ),
        },
        "ops" => s.ops = Some(At::of(k)),
        "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback" => {
            s.flags.push((k.key().to_string(), At::of(k)))
        }
        "sorry_server" => match a.and_then(|x| x.parse::<Ipv4Addr>().ok()) {
            Some(ip) => {
                s.sorry = Some((
                    ip,
                    k.arg(1).and_then(int).and_then(|p| u16::try_from(p).ok()),
                ))
            }
            None => cx
                .notes
                .warn(k, "sorry_server: not carried: expected an IPv4 address"),
        },
        "quorum" => s.quorum = a.and_then(int).unwrap_or(1).min(u32::MAX as i64),
        "hysteresis" => s.hysteresis = a.and_then(int).unwrap_or(0).min(u32::MAX as i64),
        "quorum_up" | "quorum_down" => {
            let cmd = a.map(str::to_string);
            if k.words.len() > 2 {
                cx.notes.warn(
                    k,
                    "user/group: not carried: lvsd runs every command as one user ([children] run_as)",
                );
            }
            if k.key() == "quorum_up" {
                s.quorum_up = cmd;
            } else {
                s.quorum_down = cmd;
            }
        }
        "omega" => cx.notes.warn(
            k,
            "omega: not carried: lvsd runs no notify command at shutdown",
        ),
        "persistence_engine" => cx.notes.warn(
            k,
            "persistence_engine: not carried: lvsd has no persistence engines (--pe)",
        ),
        "sorry_server_inhibit" | "sorry_server_lvs_method" => cx.notes.warn(
            k,
            format!(
                "{}: not carried: lvsd forwards to the sorry server with the service's method",
                k.key()
            ),
        ),
        other => cx
            .notes
            .warn(k, format!("{other}: not carried: no lvsd equivalent")),
    }
}

/// `lb_kind` / `lvs_method` NAT|DR|TUN [type ...].
fn method(k: &Node, cx: &mut Ctx) -> Option<Method> {
    let m = match k.arg(0).map(str::to_ascii_uppercase).as_deref() {
        Some("NAT") => Method::Nat,
        Some("DR") => Method::Dr,
        Some("TUN") => Method::Tun,
        _ => {
            cx.notes
                .warn(k, "forwarding method not carried: expected NAT, DR or TUN");
            return None;
        }
    };
    if k.words.len() > 2 {
        cx.notes.warn(
            k,
            "tunnel type: not carried (yet): lvsd tunnels with IPIP only",
        );
    }
    Some(m)
}

/// One `real_server` block of service `s`.
fn real_server(n: &Node, spec: &Spec, s: &Service, cx: &mut Ctx) -> Option<Real> {
    let address = match n.arg(0).map(str::parse::<IpAddr>) {
        Some(Ok(IpAddr::V4(a))) => a,
        Some(Ok(IpAddr::V6(_))) => {
            cx.notes
                .warn(n, "not carried (yet): lvsd has no IPv6 real servers");
            return None;
        }
        _ => {
            cx.notes
                .warn(n, "real_server: not carried: expected an IPv4 address");
            return None;
        }
    };
    let port = n
        .arg(1)
        .and_then(int)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(s.port);
    let mut real = Real {
        at: At::of(n),
        address,
        port,
        weight: 1,
        method: s.method,
        upper: 0,
        lower: 0,
        check: None,
    };
    let mut timing = spec.timing.clone();
    let (mut up, mut down) = (None, None);
    let mut checkers = Vec::new();
    for k in n.kids() {
        if k.children.is_some() {
            checkers.push(k);
        } else if !timing.take(k, cx.notes) {
            real_key(k, &mut real, &mut up, &mut down, cx);
        }
    }
    let info = RealInfo {
        address,
        notify_up: up.as_deref(),
        notify_down: down.as_deref(),
    };
    for k in checkers {
        let c = checker(k, &timing, &info, cx.notes);
        match (&real.check, c) {
            (None, Some(c)) => real.check = Some(c),
            (Some(_), Some(_)) => cx.notes.warn(k, "not carried (yet): lvsd runs one check per real; the first checker of this real_server is used"),
            _ => {}
        }
    }
    if real.check.is_none() && (up.is_some() || down.is_some()) {
        cx.notes.warn(
            n,
            "notify_up/notify_down: not carried: this real has no check lvsd runs",
        );
    }
    Some(real)
}

/// One real_server keyword (not a checker, not an inherited timer).
fn real_key(
    k: &Node,
    r: &mut Real,
    up: &mut Option<String>,
    down: &mut Option<String>,
    cx: &mut Ctx,
) {
    let a = k.arg(0);
    match k.key() {
        "weight" => r.weight = a.and_then(int).unwrap_or(1),
        "lvs_method" | "lb_kind" => {
            if let Some(m) = method(k, cx) {
                r.method = m;
            }
        }
        "uthreshold" => r.upper = a.and_then(int).unwrap_or(0).min(u32::MAX as i64),
        "lthreshold" => r.lower = a.and_then(int).unwrap_or(0).min(u32::MAX as i64),
        "notify_up" | "notify_down" => {
            if k.words.len() > 2 {
                cx.notes.warn(
                    k,
                    "user/group: not carried: lvsd runs every command as one user ([children] run_as)",
                );
            }
            cx.notes.warn(
                k,
                format!(
                    "{} carried; lvsd appends `up|down <service> <ip:port>` to the command",
                    k.key()
                ),
            );
            let slot = if k.key() == "notify_up" { up } else { down };
            *slot = a.map(str::to_string);
        }
        other => cx.notes.warn(
            k,
            format!("real_server {other}: not carried: no lvsd equivalent"),
        ),
    }
}
