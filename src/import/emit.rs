//! A settled [`Draft`] → the lvsd configuration text, every value written
//! explicitly, with comments naming the source line of each service and
//! real and marking each placeholder the user must edit (`# EDIT:`).
use super::draft::{Draft, Ha, Iface, Real, Service};
use super::value::port_name;
use crate::config::raw::RawCheck;
use std::collections::HashSet;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `s` safe in a TOML comment (no control characters but tab).
fn c(s: &str) -> String {
    s.chars()
        .map(|x| if x.is_control() && x != '\t' { '?' } else { x })
        .collect()
}

/// The configuration text of `d` (which must be settled).
pub fn emit(d: &Draft) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Imported by `lvsd import {}`.", c(&d.origin));
    o.push_str("# Every value is written explicitly in lvsd's terms (milliseconds, method\n");
    o.push_str("# names). Lines marked EDIT are placeholders for what the source does not\n");
    o.push_str("# say (DPDK cores, ports, addresses, keys): this file passes `lvsd check`\n");
    o.push_str("# as it is, but the director needs them right before it runs.\n\n");
    o.push_str("[dpdk]\nlcores = \"0-1\"         # EDIT: management core, then one worker core per queue\n\n");
    emit_ports(&mut o, d);
    let t = &d.timeouts;
    if t.tcp.is_some() || t.tcp_fin.is_some() || t.udp.is_some() {
        o.push_str("[timeouts]\n");
        for (k, v) in [("tcp", t.tcp), ("tcp_fin", t.tcp_fin), ("udp", t.udp)] {
            if let Some(v) = v {
                let _ = writeln!(o, "{k} = {v}");
            }
        }
        o.push('\n');
    }
    if let Some(h) = &d.ha {
        emit_ha(&mut o, h);
    }
    for s in &d.services {
        emit_service(&mut o, s);
    }
    o
}

/// Every IPv4 address the draft uses, so placeholders avoid them.
fn used_addresses(d: &Draft) -> Vec<Ipv4Addr> {
    let mut v: Vec<Ipv4Addr> = d.ifaces.iter().flat_map(|i| i.floating.clone()).collect();
    for s in &d.services {
        v.push(s.vip);
        v.extend(s.reals.iter().map(|r| r.address));
        v.extend(s.sorry.map(|x| x.0));
    }
    if let Some(h) = &d.ha {
        for a in [h.listen, h.peer].into_iter().flatten() {
            if let IpAddr::V4(a) = a {
                v.push(a);
            }
        }
    }
    v
}

/// Placeholder subnets `198.18.k.0/24` (then `198.19.k.0/24`) holding none
/// of `used`.
fn placeholder_nets(n: usize, used: &[Ipv4Addr]) -> Vec<Ipv4Addr> {
    (0u32..512)
        .map(|k| Ipv4Addr::new(198, 18 + (k / 256) as u8, (k % 256) as u8, 1))
        .filter(|a| !used.iter().any(|u| u.octets()[..3] == a.octets()[..3]))
        .take(n)
        .collect()
}

/// One `[[port]]` per interface the source names (one placeholder when it
/// names none).
fn emit_ports(o: &mut String, d: &Draft) {
    let placeholder = [Iface::default()];
    let ifaces: &[Iface] = if d.ifaces.is_empty() {
        &placeholder
    } else {
        &d.ifaces
    };
    let addrs = placeholder_nets(ifaces.len(), &used_addresses(d));
    let mut names = HashSet::new();
    for (i, (f, a)) in ifaces.iter().zip(addrs).enumerate() {
        let (mut name, iface) = if f.name.is_empty() {
            ("ext".to_string(), "lv-ext".to_string())
        } else {
            (port_name(&f.name), f.name.clone())
        };
        while !names.insert(name.clone()) {
            name = format!("{}{i}", &name[..name.len().min(13)]);
        }
        let _ = writeln!(o, "[[port]]");
        if !f.name.is_empty() {
            let _ = writeln!(o, "# the source's interface {}", c(&f.name));
        }
        for h in &f.hints {
            let _ = writeln!(o, "# {}", c(h));
        }
        let _ = writeln!(o, "name = {}", q(&name));
        let _ = writeln!(
            o,
            "device = {}   # EDIT: the NIC (PCI address) or vdev for this network",
            q(&format!("net_af_packet{i},iface={iface}"))
        );
        let _ = writeln!(
            o,
            "address = {}   # EDIT: this director's own address and subnet here",
            q(&format!("{a}/24"))
        );
        let fl: Vec<String> = f.floating.iter().map(|a| q(&a.to_string())).collect();
        let _ = writeln!(o, "floating = [{}]\n", fl.join(", "));
    }
}

/// `[ha]`.
fn emit_ha(o: &mut String, h: &Ha) {
    for line in &h.comments {
        let _ = writeln!(o, "# {}", c(line));
    }
    let _ = writeln!(o, "[ha]");
    let _ = writeln!(o, "# from {}", from(&h.at));
    let _ = writeln!(o, "node = {}", q(&h.node));
    let _ = writeln!(o, "priority = {}", h.priority);
    let _ = writeln!(o, "preempt = {}", h.preempt);
    let _ = writeln!(o, "preempt_delay_ms = {}", h.preempt_delay_ms);
    let addr = |a: Option<IpAddr>, dflt: &str| match a {
        Some(a) => (SocketAddrText(a, h.link_port).to_string(), ""),
        None => (
            format!("{dflt}:{}", h.link_port),
            "   # EDIT: not in the source",
        ),
    };
    let (listen, le) = addr(h.listen, "192.0.2.1");
    let (peer, pe) = addr(h.peer, "192.0.2.2");
    let _ = writeln!(o, "listen = {}{le}", q(&listen));
    let _ = writeln!(o, "peer = {}{pe}", q(&peer));
    let _ = writeln!(o, "key_file = \"/etc/lvsd/ha.key\"   # EDIT: a pre-shared key of 16 bytes or more, mode 0600, the same on both directors");
    let _ = writeln!(o, "interval_ms = {}", h.interval_ms);
    let dead = h.dead_interval_ms.unwrap_or(h.interval_ms * 3);
    let _ = writeln!(o, "dead_interval_ms = {dead}");
    if let Some(v) = h.vrid {
        let _ = writeln!(o, "vrid = {v}");
    }
    let _ = writeln!(
        o,
        "garp = {{ repeat = {}, delay_ms = {} }}",
        h.garp_repeat.unwrap_or(5),
        h.garp_delay_ms.unwrap_or(5000)
    );
    for (k, v) in [
        ("notify_active", &h.notify_active),
        ("notify_backup", &h.notify_backup),
        ("notify_fault", &h.notify_fault),
    ] {
        if let Some(c) = v {
            let _ = writeln!(o, "{k} = {}", q(c));
        }
    }
    if !h.track.is_empty() {
        let t: Vec<String> = h
            .track
            .iter()
            .map(|t| {
                format!(
                    "{{ command = {}, interval_ms = {}, fall = {}, rise = {} }}",
                    q(&t.command),
                    t.interval_ms.clamp(10, 3_600_000),
                    t.fall.clamp(1, 1000),
                    t.rise.clamp(1, 1000)
                )
            })
            .collect();
        let _ = writeln!(o, "track = [{}]", t.join(", "));
    }
    o.push('\n');
}

/// `file:line: source` of a comment.
fn from(at: &super::draft::At) -> String {
    c(&format!("{}:{}: {}", at.loc.file, at.loc.line, at.source))
}

/// `IP:port`, IPv6 in brackets.
struct SocketAddrText(IpAddr, u16);

impl std::fmt::Display for SocketAddrText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::net::SocketAddr::new(self.0, self.1).fmt(f)
    }
}

/// One `[[service]]`: its keys, the check its reals share, the sorry
/// server, the reals.
fn emit_service(o: &mut String, s: &Service) {
    let _ = writeln!(o, "[[service]]");
    let _ = writeln!(o, "# from {}", from(&s.at));
    let name = s
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-{}", s.protocol, s.vip, s.port));
    let _ = writeln!(o, "name = {}", q(&name));
    let _ = writeln!(o, "protocol = {}", q(s.protocol.as_str()));
    let _ = writeln!(o, "vip = {}", q(&s.vip.to_string()));
    let _ = writeln!(o, "port = {}", s.port);
    let _ = writeln!(o, "scheduler = {}", q(&s.scheduler));
    let flags: Vec<String> = s.flags.iter().map(|(f, _)| q(f)).collect();
    let _ = writeln!(o, "flags = [{}]", flags.join(", "));
    if let Some((t, m)) = s.persistence {
        let _ = writeln!(
            o,
            "persistence = {{ timeout = {t}, netmask = {} }}",
            q(&m.to_string())
        );
    }
    let _ = writeln!(o, "ops = {}", s.ops.is_some());
    let _ = writeln!(o, "method = {}", q(s.method.as_str()));
    let _ = writeln!(o, "quorum = {}\nhysteresis = {}", s.quorum, s.hysteresis);
    for (k, v) in [("quorum_up", &s.quorum_up), ("quorum_down", &s.quorum_down)] {
        if let Some(c) = v {
            let _ = writeln!(o, "{k} = {}", q(c));
        }
    }
    o.push('\n');
    let shared = shared_check(&s.reals);
    if let Some(c) = shared {
        emit_check(o, "  [service.check]", c);
    }
    if let Some((a, p)) = s.sorry {
        let _ = writeln!(
            o,
            "  [service.sorry]\n  address = {}\n  port = {}\n",
            q(&a.to_string()),
            p.unwrap_or(s.port)
        );
    }
    for r in &s.reals {
        emit_real(o, r, shared.is_none());
    }
}

/// The check every real has, when they all have the same one.
fn shared_check(reals: &[Real]) -> Option<&RawCheck> {
    let first = reals.first()?.check.as_ref()?;
    reals
        .iter()
        .all(|r| r.check.as_ref() == Some(first))
        .then_some(first)
}

fn emit_check(o: &mut String, header: &str, c: &RawCheck) {
    let _ = writeln!(o, "{header}");
    let indent = &header[..header.len() - header.trim_start().len()];
    let body = toml::to_string(c).unwrap_or_default();
    for line in body.lines() {
        let _ = writeln!(o, "{indent}{line}");
    }
    o.push('\n');
}

fn emit_real(o: &mut String, r: &Real, with_check: bool) {
    let _ = writeln!(o, "  [[service.real]]");
    let _ = writeln!(o, "  # from {}", from(&r.at));
    let _ = writeln!(o, "  address = {}", q(&r.address.to_string()));
    let _ = writeln!(o, "  port = {}", r.port);
    let _ = writeln!(o, "  weight = {}", r.weight);
    let _ = writeln!(o, "  method = {}", q(r.method.as_str()));
    let _ = writeln!(o, "  upper_threshold = {}", r.upper);
    let _ = writeln!(o, "  lower_threshold = {}\n", r.lower);
    if let (true, Some(c)) = (with_check, &r.check) {
        emit_check(o, "    [service.real.check]", c);
    }
}
