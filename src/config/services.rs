//! Validation of `[[service]]` tables and their `[[service.real]]` entries:
//! protocol/VIP/port, scheduler and flags, persistence, forwarding method,
//! Maglev table size, reals and all uniqueness rules.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::checks;
use super::ctx::Ctx;
use super::globals::MAX_TIMEOUT_S;
use super::model::{Method, Persistence, Protocol, Real, Scheduler, Service, ServiceFlags};
use super::net::{is_prime, mask_to_prefix, parse_ipv4};
use super::ports::PortInfo;
use super::raw::{RawCheck, RawPersistence, RawReal, RawService};

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

fn parse_method(s: &str) -> Result<Method, String> {
    match s {
        "nat" => Ok(Method::Nat),
        "dr" => Ok(Method::Dr),
        "tun" => Ok(Method::Tun),
        _ => Err(format!(
            "unknown forwarding method '{s}': expected \"nat\", \"dr\" or \"tun\""
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

/// Parses an IPv4 address into the family-generic model type.
fn parse_ip(s: &str) -> Result<IpAddr, String> {
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Ok(IpAddr::V4(a)),
        Ok(IpAddr::V6(_)) => Err(format!(
            "IPv6 address '{s}' is not supported yet: expected an IPv4 address"
        )),
        Err(_) => Err(format!(
            "invalid IPv4 address '{s}': expected a.b.c.d, e.g. 198.18.0.100"
        )),
    }
}

/// Validates every service.
pub fn validate_services(cx: &mut Ctx, raw: Vec<RawService>, ports: &[PortInfo]) -> Vec<Service> {
    let mut out = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut keys: HashMap<(Protocol, IpAddr, u16), usize> = HashMap::new();
    for (i, r) in raw.into_iter().enumerate() {
        let p = format!("service[{i}]");
        let Some(svc) = validate_service(cx, &p, r, ports) else {
            continue;
        };
        let key = (svc.protocol, svc.vip, svc.port);
        if let Some(j) = keys.insert(key, i) {
            cx.err(
                &format!("{p}.vip"),
                format!(
                    "duplicate service {} {}:{}: already defined by service[{j}]",
                    svc.protocol, svc.vip, svc.port
                ),
            );
        }
        if let Some(j) = names.insert(svc.name.clone(), i) {
            cx.err(
                &format!("{p}.name"),
                format!(
                    "duplicate service name '{}': already used by service[{j}]",
                    svc.name
                ),
            );
        }
        out.push(svc);
    }
    out
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
    if let Some(IpAddr::V4(a)) = vip {
        let own = ports
            .iter()
            .enumerate()
            .find(|(_, x)| x.net.is_some_and(|n| n.addr == a));
        if let Some((j, x)) = own {
            cx.err(
                &vpath,
                format!(
                    "VIP {a} is the own address of port[{j}] '{}': expected a separate virtual address",
                    x.name.as_deref().unwrap_or_default()
                ),
            );
        }
    }
    let ppath = format!("{p}.port");
    if r.port.is_none() {
        cx.missing(
            &ppath,
            "missing required key 'port': expected 0..=65535 (0 = all ports, with persistence)",
        );
    }
    let port: u16 = cx.int(&ppath, r.port, 0, 0, 65_535);
    if r.port == Some(0) && r.persistence.is_none() {
        cx.err(&ppath, "port 0 (all ports) requires persistence: add `persistence = { timeout = 360 }` or give a port 1..=65535");
    }
    let spath = format!("{p}.scheduler");
    let scheduler = cx
        .parse(&spath, r.scheduler.as_deref(), parse_scheduler)
        .unwrap_or(Scheduler::Wlc);
    let flags = validate_flags(cx, p, r.flags.as_deref().unwrap_or_default(), scheduler);
    let persistence = r
        .persistence
        .as_ref()
        .map(|x| validate_persistence(cx, p, x));
    let ops = r.ops.unwrap_or(false);
    if ops && protocol == Some(Protocol::Tcp) {
        cx.err(
            &format!("{p}.ops"),
            "one-packet scheduling (ops) is only valid with protocol \"udp\"",
        );
    }
    let method = cx
        .parse(&format!("{p}.method"), r.method.as_deref(), parse_method)
        .unwrap_or(Method::Dr);
    let mpath = format!("{p}.maglev_size");
    // Setting the inert default (as the documented example does) is allowed.
    let inert = r.maglev_size == Some(i64::from(DEFAULT_MAGLEV_SIZE));
    if r.maglev_size.is_some() && scheduler != Scheduler::Mh && !inert {
        cx.err(&mpath, format!("maglev_size is only valid with scheduler \"mh\" (this service uses \"{scheduler}\")"));
    }
    let maglev_size = cx.int(
        &mpath,
        r.maglev_size,
        DEFAULT_MAGLEV_SIZE,
        2,
        MAX_MAGLEV_SIZE,
    );
    if r.maglev_size.is_some() && !is_prime(u64::from(maglev_size)) {
        cx.err(&mpath, format!("maglev_size {maglev_size} is not prime: expected a prime such as 251, 65537 or 131071"));
    }
    let reals = validate_reals(cx, p, &r.real, port, method, vip, r.check.as_ref());
    let sorry = r
        .sorry
        .as_ref()
        .and_then(|s| checks::sorry(cx, &format!("{p}.sorry"), s, port));
    let quorum: u32 = cx.int(&format!("{p}.quorum"), r.quorum, 1, 0, i64::from(u32::MAX));
    let hysteresis: u32 = cx.int(
        &format!("{p}.hysteresis"),
        r.hysteresis,
        0,
        0,
        i64::from(u32::MAX),
    );
    let (Some(protocol), Some(vip)) = (protocol, vip) else {
        return None;
    };
    let name = match r.name {
        Some(n) => {
            if n.is_empty()
                || n.len() > 64
                || n.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                cx.err(
                    &format!("{p}.name"),
                    format!(
                        "invalid service name '{n}': expected 1..=64 characters without spaces"
                    ),
                );
            }
            n
        }
        None => format!("{protocol}-{vip}-{port}"),
    };
    Some(Service {
        name,
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
        quorum_up: r.quorum_up.clone(),
        quorum_down: r.quorum_down.clone(),
        check_raw: r.check.clone(),
        sorry,
    })
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

fn validate_reals(
    cx: &mut Ctx,
    p: &str,
    raw: &[RawReal],
    svc_port: u16,
    svc_method: Method,
    vip: Option<IpAddr>,
    svc_check: Option<&RawCheck>,
) -> Vec<Real> {
    let mut out = Vec::new();
    let mut seen: HashMap<(IpAddr, u16), usize> = HashMap::new();
    for (k, r) in raw.iter().enumerate() {
        let rp = format!("{p}.real[{k}]");
        let apath = format!("{rp}.address");
        let a = cx.required(&apath, r.address.as_ref(), "the real server's IPv4 address");
        let address = cx.parse(&apath, a, parse_ip);
        if address.is_some() && address == vip {
            cx.err(
                &apath,
                "real server address equals the service VIP: expected a backend address",
            );
        }
        let method = cx
            .parse(&format!("{rp}.method"), r.method.as_deref(), parse_method)
            .unwrap_or(svc_method);
        let ppath = format!("{rp}.port");
        let mut port: u16 = cx.int(&ppath, r.port, svc_port, 0, 65_535);
        if method != Method::Nat && port != svc_port {
            cx.err(&ppath, format!("port {port} differs from the service port {svc_port}: \"{method}\" forwarding cannot change the port (omit it, or use method = \"nat\")"));
            port = svc_port;
        }
        let weight: u32 = cx.int(&format!("{rp}.weight"), r.weight, 1, 0, 65_535);
        let upper: u32 = cx.int(
            &format!("{rp}.upper_threshold"),
            r.upper_threshold,
            0,
            0,
            i64::from(u32::MAX),
        );
        let lower: u32 = cx.int(
            &format!("{rp}.lower_threshold"),
            r.lower_threshold,
            0,
            0,
            i64::from(u32::MAX),
        );
        if upper != 0 && lower >= upper {
            cx.err(
                &format!("{rp}.lower_threshold"),
                format!("lower_threshold {lower} must be below upper_threshold {upper}"),
            );
        }
        let Some(address) = address else { continue };
        if let Some(j) = seen.insert((address, port), k) {
            cx.err(
                &apath,
                format!("duplicate real server {address}:{port}: already defined by real[{j}]"),
            );
        }
        let check = match (svc_check, r.check.as_ref()) {
            (None, None) => None,
            (Some(s), None) => checks::validate(cx, &format!("{p}.check"), s),
            (None, Some(o)) => checks::validate(cx, &format!("{rp}.check"), o),
            (Some(s), Some(o)) => {
                checks::validate(cx, &format!("{rp}.check"), &checks::merge(s, o))
            }
        };
        out.push(Real {
            address,
            port,
            weight,
            method,
            upper_threshold: upper,
            lower_threshold: lower,
            check_raw: r.check.clone(),
            check,
        });
    }
    out
}
