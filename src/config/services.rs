//! Validation of `[[service]]` tables: protocol/VIP/port, scheduler and
//! flags, persistence, forwarding method, Maglev table size, quorum, sorry
//! server and the uniqueness of services (`reals.rs` validates the reals).
//!
//! The rules a running configuration can break when changed at runtime
//! (ranges, references, uniqueness) are small functions used both for the
//! file and, through [`check_services`], for an edited [`Service`] list.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::checks;
use super::ctx::Ctx;
use super::globals::MAX_TIMEOUT_S;
use super::model::{Method, Persistence, Protocol, Scheduler, Service, ServiceFlags};
use super::net::{is_prime, mask_to_prefix, parse_ip, parse_ipv4};
use super::ports::PortInfo;
use super::raw::{RawPersistence, RawService};
use super::reals::{check_reals, parse_method, validate_reals};

/// Default Maglev lookup-table size.
pub const DEFAULT_MAGLEV_SIZE: u32 = 65_537;
/// Largest accepted Maglev lookup-table size.
pub const MAX_MAGLEV_SIZE: i64 = 1 << 24;

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    match s {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        _ => Err(format!(
            "unknown protocol '{s}': expected \"tcp\" or \"udp\""
        )),
    }
}

fn parse_scheduler(s: &str) -> Result<Scheduler, String> {
    Scheduler::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Scheduler::ALL.iter().map(|x| x.as_str()).collect();
        format!(
            "unknown scheduler '{s}': expected one of {}",
            names.join(", ")
        )
    })
}

/// Validates every service of the file.
pub fn validate_services(cx: &mut Ctx, raw: Vec<RawService>, ports: &[PortInfo]) -> Vec<Service> {
    let mut out = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        if let Some(svc) = validate_service(cx, &format!("service[{i}]"), r, ports) {
            out.push((i, svc));
        }
    }
    unique_services(cx, out.iter().map(|(i, s)| (*i, s)));
    out.into_iter().map(|(_, s)| s).collect()
}

/// The rules an edited service list can break: everything that is not
/// already guaranteed by the model's types.
pub fn check_services(cx: &mut Ctx, services: &[Service], ports: &[PortInfo]) {
    for (i, s) in services.iter().enumerate() {
        let p = format!("service[{i}]");
        service_name(cx, &p, Some(s.name.clone()), s.protocol, s.vip, s.port);
        vip_not_port_address(cx, &format!("{p}.vip"), Some(s.vip), ports);
        all_ports_need_persistence(cx, &p, Some(i64::from(s.port)), s.persistence.is_some());
        if let Some(x) = &s.persistence {
            let raw = RawPersistence {
                timeout: Some(i64::try_from(x.timeout.as_secs()).unwrap_or(i64::MAX)),
                netmask: Some(x.netmask.to_string()),
            };
            validate_persistence(cx, &p, &raw);
        }
        ops_needs_udp(cx, &p, s.ops, Some(s.protocol));
        maglev_size(cx, &p, Some(i64::from(s.maglev_size)), s.scheduler);
        check_reals(cx, &p, s);
    }
    unique_services(cx, services.iter().enumerate());
}

/// No two services share protocol, VIP and port, or a name.
fn unique_services<'a>(cx: &mut Ctx, services: impl Iterator<Item = (usize, &'a Service)>) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut keys: HashMap<(Protocol, IpAddr, u16), usize> = HashMap::new();
    for (i, svc) in services {
        let p = format!("service[{i}]");
        if let Some(j) = keys.insert((svc.protocol, svc.vip, svc.port), i) {
            cx.err(
                &format!("{p}.vip"),
                format!(
                    "duplicate service {} {}:{}: already defined by service[{j}]",
                    svc.protocol, svc.vip, svc.port
                ),
            );
        }
        if let Some(j) = names.insert(&svc.name, i) {
            cx.err(
                &format!("{p}.name"),
                format!(
                    "duplicate service name '{}': already used by service[{j}]",
                    svc.name
                ),
            );
        }
    }
}

fn validate_service(cx: &mut Ctx, p: &str, r: RawService, ports: &[PortInfo]) -> Option<Service> {
    let protocol = {
        let path = format!("{p}.protocol");
        let s = cx.required(&path, r.protocol.as_ref(), "\"tcp\" or \"udp\"");
        cx.parse(&path, s, parse_protocol)
    };
    let vpath = format!("{p}.vip");
    let v = cx.required(&vpath, r.vip.as_ref(), "the virtual IPv4 address");
    let vip = cx.parse(&vpath, v, parse_ip);
    vip_not_port_address(cx, &vpath, vip, ports);
    let port = service_port(cx, p, r.port, r.persistence.is_some());
    let scheduler = cx
        .parse(
            &format!("{p}.scheduler"),
            r.scheduler.as_deref(),
            parse_scheduler,
        )
        .unwrap_or(Scheduler::Wlc);
    let flags = validate_flags(cx, p, r.flags.as_deref().unwrap_or_default(), scheduler);
    let persistence = r
        .persistence
        .as_ref()
        .map(|x| validate_persistence(cx, p, x));
    let ops = r.ops.unwrap_or(false);
    ops_needs_udp(cx, p, ops, protocol);
    let method = cx
        .parse(&format!("{p}.method"), r.method.as_deref(), parse_method)
        .unwrap_or(Method::Dr);
    let maglev_size = maglev_size(cx, p, r.maglev_size, scheduler);
    let reals = validate_reals(cx, p, &r.real, port, method, vip, r.check.as_ref());
    let sorry = r
        .sorry
        .as_ref()
        .and_then(|s| checks::sorry(cx, &format!("{p}.sorry"), s, port));
    let (quorum, hysteresis) = quorum(cx, p, r.quorum, r.hysteresis);
    let (Some(protocol), Some(vip)) = (protocol, vip) else {
        return None;
    };
    Some(Service {
        name: service_name(cx, p, r.name, protocol, vip, port),
        protocol,
        vip,
        port,
        scheduler,
        flags,
        persistence,
        ops,
        method,
        maglev_size,
        reals,
        quorum,
        hysteresis,
        quorum_up: r.quorum_up,
        quorum_down: r.quorum_down,
        check_raw: r.check,
        sorry,
    })
}

/// `quorum` (default 1) and `hysteresis` (default 0), keepalived's.
fn quorum(cx: &mut Ctx, p: &str, quorum: Option<i64>, hysteresis: Option<i64>) -> (u32, u32) {
    let max = i64::from(u32::MAX);
    (
        cx.int(&format!("{p}.quorum"), quorum, 1, 0, max),
        cx.int(&format!("{p}.hysteresis"), hysteresis, 0, 0, max),
    )
}

/// The given name (checked) or `"<proto>-<vip>-<port>"`.
fn service_name(
    cx: &mut Ctx,
    p: &str,
    name: Option<String>,
    protocol: Protocol,
    vip: IpAddr,
    port: u16,
) -> String {
    let Some(n) = name else {
        return format!("{protocol}-{vip}-{port}");
    };
    if n.is_empty() || n.len() > 64 || n.chars().any(|c| c.is_whitespace() || c.is_control()) {
        cx.err(
            &format!("{p}.name"),
            format!("invalid service name '{n}': expected 1..=64 characters without spaces"),
        );
    }
    n
}

/// A VIP is not one of the director's own port addresses.
fn vip_not_port_address(cx: &mut Ctx, vpath: &str, vip: Option<IpAddr>, ports: &[PortInfo]) {
    let Some(IpAddr::V4(a)) = vip else { return };
    let own = ports
        .iter()
        .enumerate()
        .find(|(_, x)| x.net.is_some_and(|n| n.addr == a));
    if let Some((j, x)) = own {
        cx.err(
            vpath,
            format!(
                "VIP {a} is the own address of port[{j}] '{}': expected a separate virtual address",
                x.name.as_deref().unwrap_or_default()
            ),
        );
    }
}

/// `port` (required; 0 = all ports, which needs persistence).
fn service_port(cx: &mut Ctx, p: &str, port: Option<i64>, persistent: bool) -> u16 {
    let ppath = format!("{p}.port");
    if port.is_none() {
        cx.missing(
            &ppath,
            "missing required key 'port': expected 0..=65535 (0 = all ports, with persistence)",
        );
    }
    let value = cx.int(&ppath, port, 0, 0, 65_535);
    all_ports_need_persistence(cx, p, port, persistent);
    value
}

fn all_ports_need_persistence(cx: &mut Ctx, p: &str, port: Option<i64>, persistent: bool) {
    if port == Some(0) && !persistent {
        cx.err(&format!("{p}.port"), "port 0 (all ports) requires persistence: add `persistence = { timeout = 360 }` or give a port 1..=65535");
    }
}

fn ops_needs_udp(cx: &mut Ctx, p: &str, ops: bool, protocol: Option<Protocol>) {
    if ops && protocol == Some(Protocol::Tcp) {
        cx.err(
            &format!("{p}.ops"),
            "one-packet scheduling (ops) is only valid with protocol \"udp\"",
        );
    }
}

/// `maglev_size`: a prime, only with scheduler `mh` (or the inert default).
fn maglev_size(cx: &mut Ctx, p: &str, size: Option<i64>, scheduler: Scheduler) -> u32 {
    let mpath = format!("{p}.maglev_size");
    // Setting the inert default (as the documented example does) is allowed.
    let inert = size == Some(i64::from(DEFAULT_MAGLEV_SIZE));
    if size.is_some() && scheduler != Scheduler::Mh && !inert {
        cx.err(&mpath, format!("maglev_size is only valid with scheduler \"mh\" (this service uses \"{scheduler}\")"));
    }
    let value = cx.int(&mpath, size, DEFAULT_MAGLEV_SIZE, 2, MAX_MAGLEV_SIZE);
    if size.is_some() && !is_prime(u64::from(value)) {
        cx.err(
            &mpath,
            format!(
                "maglev_size {value} is not prime: expected a prime such as 251, 65537 or 131071"
            ),
        );
    }
    value
}

fn validate_flags(cx: &mut Ctx, p: &str, raw: &[String], sched: Scheduler) -> ServiceFlags {
    let mut flags = ServiceFlags::EMPTY;
    for (j, f) in raw.iter().enumerate() {
        let (bit, needs) = match f.as_str() {
            "sh-fallback" => (ServiceFlags::SH_FALLBACK, Some(Scheduler::Sh)),
            "sh-port" => (ServiceFlags::SH_PORT, Some(Scheduler::Sh)),
            "mh-fallback" => (ServiceFlags::MH_FALLBACK, Some(Scheduler::Mh)),
            "mh-port" => (ServiceFlags::MH_PORT, Some(Scheduler::Mh)),
            "flag-1" => (ServiceFlags::SCHED1, None),
            "flag-2" => (ServiceFlags::SCHED2, None),
            "flag-3" => (ServiceFlags::SCHED3, None),
            _ => {
                cx.err(&format!("{p}.flags[{j}]"), format!("unknown flag '{f}': expected one of sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3"));
                continue;
            }
        };
        match needs {
            Some(s) if s != sched => cx.err(
                &format!("{p}.flags[{j}]"),
                format!("flag '{f}' is only valid with scheduler \"{s}\" (this service uses \"{sched}\")"),
            ),
            _ => flags.insert(bit),
        }
    }
    flags
}

fn validate_persistence(cx: &mut Ctx, p: &str, r: &RawPersistence) -> Persistence {
    let tpath = format!("{p}.persistence.timeout");
    let timeout: u64 = cx.int(&tpath, r.timeout, 360, 1, MAX_TIMEOUT_S);
    let npath = format!("{p}.persistence.netmask");
    let netmask = cx
        .parse(&npath, r.netmask.as_deref(), |s| {
            let m = parse_ipv4(s)?;
            match mask_to_prefix(m) {
                Some(_) => Ok(m),
                None => Err(format!("netmask '{s}' is not contiguous: expected leading ones then zeros, e.g. 255.255.255.0")),
            }
        })
        .unwrap_or(Ipv4Addr::BROADCAST);
    Persistence {
        timeout: Duration::from_secs(timeout),
        netmask,
    }
}
