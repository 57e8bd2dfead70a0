//! ldirectord.cf → [`Draft`]: global directives, `virtual=` sections
//! (indented lines), `real=` lines with address ranges and
//! gate/masq/ipip, the negotiate/connect/external checks. Defaults are
//! ldirectord's, written out: scheduler `wrr`, `checkinterval` 10 s,
//! `checktimeout` 5 s / `negotiatetimeout` 30 s, `failurecount` 1,
//! `quiescent = no` (ldirectord's code; its manual says yes), reals start
//! down until checked (`alpha`), as after ldirectord's start.
use super::draft::{At, Draft, Real, Service};
use super::lex::{lex, Line, LDIRECTORD};
use super::notes::Notes;
use super::value::{int, netmask};
use crate::config::raw::{RawCheck, RawStatus};
use crate::config::MAX_TIMEOUT_S;
use crate::types::{Method, Protocol, Scheduler};
use std::net::Ipv4Addr;

/// Settings that are global and may be overridden per virtual.
#[derive(Clone, Debug, Default)]
struct Settings {
    checktimeout: Option<i64>,
    negotiatetimeout: Option<i64>,
    checkinterval: Option<i64>,
    failurecount: Option<i64>,
    quiescent: Option<bool>,
    fallback: Option<Line>,
    fork: bool,
}

/// One `virtual=` section as read.
struct Virtual {
    line: Line,
    keys: Vec<Line>,
    reals: Vec<Line>,
}

/// `key = value`: the key and the value words.
fn kv(l: &Line) -> Option<(&str, Vec<&str>)> {
    let key = l.words.first()?.text.as_str();
    if !l.words.get(1)?.is("=") {
        return None;
    }
    let vals = l.words[2..]
        .iter()
        .filter(|w| w.quoted || w.text != ",")
        .map(|w| w.text.as_str())
        .collect();
    Some((key, vals))
}

/// Imports ldirectord configuration `text` named `name`.
pub fn import(name: &str, text: &str, notes: &mut Notes) -> Draft {
    let mut d = Draft::default();
    let mut g = Settings::default();
    let mut virtuals: Vec<Virtual> = Vec::new();
    for l in lex(text, name, &LDIRECTORD) {
        let Some((key, vals)) = kv(&l) else {
            notes.warn(&l, "not understood (expected key = value): not carried");
            continue;
        };
        if l.indented {
            match virtuals.last_mut() {
                Some(v) if key == "real" || key == "real6" => v.reals.push(l.clone()),
                Some(v) => v.keys.push(l.clone()),
                None => notes.warn(&l, "indented line outside a virtual section: not carried"),
            }
        } else if key == "virtual" || key == "virtual6" {
            virtuals.push(Virtual {
                line: l.clone(),
                keys: Vec::new(),
                reals: Vec::new(),
            });
        } else if !setting(&mut g, key, &vals, &l, notes) {
            global_other(key, &l, notes);
        }
    }
    for v in &virtuals {
        if let Some(s) = virtual_service(v, &g, notes) {
            d.services.push(s);
        }
    }
    d
}

/// A directive valid globally and per virtual; false when `key` is not one.
fn setting(s: &mut Settings, key: &str, vals: &[&str], l: &Line, notes: &mut Notes) -> bool {
    let num = || vals.first().and_then(|v| int(v)).filter(|v| *v > 0);
    let yes = || vals.first().map(|v| *v == "yes");
    match key {
        "checktimeout" => s.checktimeout = num(),
        "negotiatetimeout" => s.negotiatetimeout = num(),
        "checkinterval" => s.checkinterval = num(),
        "failurecount" => s.failurecount = num(),
        "quiescent" => s.quiescent = yes(),
        "fork" => {
            s.fork = yes() == Some(true);
            notes.warn(l, "fork: not carried: lvsd runs every check concurrently on one event loop");
        }
        "fallback" => s.fallback = Some(l.clone()),
        "checkcount" => notes.warn(l, "checkcount: not carried: deprecated in ldirectord (ping checks only); use failurecount"),
        "emailalert" | "emailalertfreq" | "emailalertstatus" | "emailalertfrom" | "smtp" => notes.warn(l, format!("{key}: not carried: lvsd sends no email; use the health notify_up/notify_down commands")),
        "fallbackcommand" => notes.warn(l, "fallbackcommand: not carried: use the service's quorum_up/quorum_down commands"),
        "cleanstop" => notes.warn(l, "cleanstop: not carried: lvsd's table lives in lvsd and goes when it stops"),
        _ => return false,
    }
    true
}

/// Global-only directives: none has an lvsd counterpart.
fn global_other(key: &str, l: &Line, notes: &mut Notes) {
    let why = match key {
        "autoreload" | "callback" => "reload lvsd with SIGHUP or `lvsadm reload`",
        "logfile" | "supervised" => "lvsd logs to stderr ([log] format and level)",
        "readdquiescent" | "maintenancedir" | "execute" => "no lvsd equivalent",
        _ => "unknown directive",
    };
    notes.warn(l, format!("{key}: not carried: {why}"));
}

/// The well-known ports of ldirectord's service names.
fn service_port(s: &str) -> Option<u16> {
    Some(match s {
        "ftp" => 21,
        "smtp" => 25,
        "domain" | "dns" => 53,
        "http" | "www" => 80,
        "pop3" | "pop" => 110,
        "nntp" => 119,
        "imap" | "imap2" => 143,
        "ldap" => 389,
        "https" => 443,
        "submission" => 587,
        "imaps" => 993,
        "pop3s" | "pops" => 995,
        "radius" => 1812,
        "mysql" => 3306,
        "pgsql" | "postgresql" => 5432,
        "sip" => 5060,
        _ => s.parse().ok()?,
    })
}

/// `a.b.c.d:port` (port a number or a service name).
fn host_port(s: &str) -> Option<(Ipv4Addr, Option<u16>)> {
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h.parse().ok()?, Some(service_port(p)?))),
        None => Some((s.parse().ok()?, None)),
    }
}

/// One virtual section → a service (None, with a warning, when lvsd cannot
/// carry it).
fn virtual_service(v: &Virtual, g: &Settings, notes: &mut Notes) -> Option<Service> {
    let (key, vals) = kv(&v.line)?;
    let addr = vals.first().copied().unwrap_or("");
    if key == "virtual6" {
        notes.warn(
            &v.line,
            "not carried (yet): lvsd has no IPv6 services; this section is left out",
        );
        return None;
    }
    if addr.parse::<u32>().is_ok() {
        notes.warn(
            &v.line,
            "not carried (yet): lvsd has no firewall-mark services; this section is left out",
        );
        return None;
    }
    let Some((vip, Some(port))) = host_port(addr) else {
        notes.warn(
            &v.line,
            "not carried: expected IPv4-address:port (host names are not resolved by the import)",
        );
        return None;
    };
    let proto = if port == 53 {
        Protocol::Udp
    } else {
        Protocol::Tcp
    };
    let mut s = Service::new(At::of(&v.line), proto, vip, port, Method::Dr);
    s.scheduler = "wrr".into();
    let mut set = g.clone();
    let mut vk = VirtualKeys::default();
    for l in &v.keys {
        let Some((k, vals)) = kv(l) else { continue };
        if !setting(&mut set, k, &vals, l, notes) {
            virtual_key(&mut s, &mut vk, k, &vals, l, notes);
        }
    }
    if let Some((l, _)) = &vk.netmask {
        if s.persistence.is_none() {
            notes.warn(
                l,
                "netmask: not carried: it applies to persistent services only",
            );
        }
    }
    if g.checkinterval != set.checkinterval && !set.fork {
        if let Some(l) = v
            .keys
            .iter()
            .find(|l| kv(l).is_some_and(|(k, _)| k == "checkinterval"))
        {
            notes.warn(l, "checkinterval: not carried: ldirectord ignores it in a virtual section unless fork = yes");
        }
        set.checkinterval = g.checkinterval;
    }
    let check = vk.check(&s, &set, &v.line, notes);
    for l in &v.reals {
        let rs = reals(l, &s, &check, &vk, notes);
        s.reals.extend(rs);
    }
    if let Some(first) = s.reals.first() {
        s.method = first.method;
    }
    fallback(&mut s, &set, vk.off, notes);
    Some(s)
}

/// The check-related keys of a virtual section.
#[derive(Default)]
struct VirtualKeys {
    checktype: Option<(String, Line)>,
    service: Option<(String, Line)>,
    request: Option<String>,
    receive: Option<String>,
    httpmethod: Option<String>,
    virtualhost: Option<String>,
    checkport: Option<i64>,
    checkcommand: Option<String>,
    netmask: Option<(Line, Ipv4Addr)>,
    /// `checktype = off`: no real is ever activated.
    off: bool,
}

/// One service-level key of a virtual section.
fn virtual_key(
    s: &mut Service,
    vk: &mut VirtualKeys,
    k: &str,
    vals: &[&str],
    l: &Line,
    notes: &mut Notes,
) {
    let v = vals.join(" ");
    match k {
        "checktype" => vk.checktype = Some((v, l.clone())),
        "service" => vk.service = Some((v, l.clone())),
        "request" => vk.request = Some(v),
        "receive" => vk.receive = Some(v),
        "httpmethod" => vk.httpmethod = Some(v.to_ascii_uppercase()),
        "virtualhost" => vk.virtualhost = Some(v),
        "checkport" => vk.checkport = int(&v).filter(|p| (1..=65535).contains(p)),
        "checkcommand" => vk.checkcommand = Some(v),
        "scheduler" => match Scheduler::from_name(&v) {
            Some(x) => s.scheduler = x.as_str().to_string(),
            None => notes.warn(l, "scheduler not carried: unknown to lvsd; wrr is used"),
        },
        "persistent" => {
            let t = int(&v).unwrap_or(360).clamp(1, MAX_TIMEOUT_S);
            s.persistence = Some((t, vk.netmask.as_ref().map_or(Ipv4Addr::BROADCAST, |m| m.1)));
        }
        "netmask" => match netmask(&v) {
            Some(m) => {
                vk.netmask = Some((l.clone(), m));
                if let Some(p) = &mut s.persistence {
                    p.1 = m;
                }
            }
            None => notes.warn(
                l,
                "netmask: not carried: expected a contiguous IPv4 netmask",
            ),
        },
        "protocol" => match v.as_str() {
            "tcp" => s.protocol = Protocol::Tcp,
            "udp" => s.protocol = Protocol::Udp,
            _ => notes.warn(l, "protocol not carried: expected tcp or udp"),
        },
        "ops" if v == "yes" => s.ops = Some(At::of(l)),
        "ops" => {}
        "login" | "passwd" | "database" | "secret" => notes.warn(
            l,
            format!(
                "{k}: not carried: lvsd has no login checks (the service check is a TCP connect)"
            ),
        ),
        "monitorfile" => notes.warn(
            l,
            "monitorfile: not carried: lvsd logs and counts every check transition",
        ),
        _ => notes.warn(l, format!("{k}: not carried: unknown directive")),
    }
}

impl VirtualKeys {
    /// The check of every real of the virtual (None: not checked).
    fn check(
        &mut self,
        s: &Service,
        set: &Settings,
        at: &Line,
        notes: &mut Notes,
    ) -> Option<RawCheck> {
        let (ct, ct_line) = self
            .checktype
            .clone()
            .unwrap_or(("negotiate".into(), at.clone()));
        let service = self
            .service
            .clone()
            .map_or_else(|| default_service(s.port).to_string(), |x| x.0);
        let ctimeout = set.checktimeout.or(set.negotiatetimeout).unwrap_or(5);
        let ntimeout = set.negotiatetimeout.or(set.checktimeout).unwrap_or(30);
        let (mut c, timeout) = match ct.as_str() {
            "on" => return None,
            "off" => {
                notes.warn(
                    &ct_line,
                    "checktype = off: carried as weight 0 on every real (never activated)",
                );
                self.off = true;
                return None;
            }
            "ping" => {
                notes.warn(&ct_line, "checktype = ping: not carried (yet): lvsd has no ICMP check; the reals are not checked");
                return None;
            }
            "connect" if s.protocol == Protocol::Udp => {
                notes.warn(&ct_line, "checktype = connect on UDP is an ICMP ping in ldirectord: not carried (yet); the reals are not checked");
                return None;
            }
            "connect" => (kind("tcp"), ctimeout),
            "external" | "external-perl" => (self.external(s, &ct, &ct_line, notes), ctimeout),
            n if n.parse::<u32>().is_ok() => {
                notes.warn(
                    &ct_line,
                    "combined connect/negotiate checks: not carried; every probe negotiates",
                );
                (self.negotiate(&service, s, notes)?, ntimeout)
            }
            _ => (self.negotiate(&service, s, notes)?, ntimeout),
        };
        c.port = self.checkport;
        c.interval_ms = Some(set.checkinterval.unwrap_or(10).saturating_mul(1000));
        c.timeout_ms = Some(timeout.saturating_mul(1000));
        c.rise = Some(1);
        c.fall = Some(set.failurecount.unwrap_or(1).min(1000));
        c.warmup_ms = Some(0);
        c.alpha = Some(true);
        c.on_failure = Some(
            if set.quiescent == Some(true) {
                "inhibit"
            } else {
                "remove"
            }
            .into(),
        );
        Some(c)
    }

    /// `checktype = external`: the command gets VIP, port, real IP, port.
    fn external(&self, s: &Service, ct: &str, l: &Line, notes: &mut Notes) -> RawCheck {
        if ct == "external-perl" {
            notes.warn(l, "external-perl: carried as external: lvsd runs the script as a program (it needs a #! line)");
        }
        let mut c = kind("exec");
        c.command = Some(
            self.checkcommand
                .clone()
                .unwrap_or_else(|| "/bin/true".into()),
        );
        c.args = Some(vec![
            s.vip.to_string(),
            s.port.to_string(),
            "%h".into(),
            "%p".into(),
        ]);
        c
    }

    /// `checktype = negotiate` for `service`.
    fn negotiate(&self, service: &str, s: &Service, notes: &mut Notes) -> Option<RawCheck> {
        let request = self.request.clone().unwrap_or_else(|| "/".into());
        let receive = self.receive.clone().filter(|r| !r.is_empty());
        let line = self.service.as_ref().map(|x| x.1.clone());
        Some(match service {
            "http" | "https" => {
                let mut c = kind(service);
                c.method = Some(self.httpmethod.clone().unwrap_or_else(|| "GET".into()));
                c.path = Some(if request.starts_with('/') {
                    request
                } else {
                    format!("/{request}")
                });
                c.body_regex = receive;
                c.host = self.virtualhost.clone();
                c.status = Some(vec![RawStatus::Range("200-299".into())]);
                c
            }
            "simpletcp" => {
                let mut c = kind("send-expect");
                c.send = Some(request);
                c.expect = Some(receive.unwrap_or_default());
                c
            }
            "dns" => {
                let mut c = kind("dns");
                c.query_type = Some("A".into());
                c.query_name = Some(request.trim_start_matches('/').to_string());
                if let (Some(_), Some(l)) = (&receive, &line) {
                    notes.warn(l, "receive (the expected address): not carried (yet): lvsd's DNS check needs an answer with RCODE 0");
                }
                c
            }
            "none" => return None,
            other => {
                match &line {
                    Some(l) => notes.warn(l, format!("service = {other}: not carried: lvsd has no {other} check; a TCP connect check is used")),
                    None => notes.warn(&s.at, format!("service {other} (from the port): not carried: lvsd has no {other} check; a TCP connect check is used")),
                }
                kind("tcp")
            }
        })
    }
}

fn kind(t: &str) -> RawCheck {
    RawCheck {
        r#type: Some(t.to_string()),
        ..RawCheck::default()
    }
}

/// ldirectord's service for a virtual port.
fn default_service(port: u16) -> &'static str {
    match port {
        21 => "ftp",
        25 => "smtp",
        53 => "dns",
        80 => "http",
        110 => "pop",
        119 => "nntp",
        143 => "imap",
        389 => "ldap",
        443 => "https",
        587 => "submission",
        993 => "imaps",
        995 => "pops",
        1521 => "oracle",
        1812 => "radius",
        3128 => "http_proxy",
        3306 => "mysql",
        5060 => "sip",
        5432 => "pgsql",
        _ => "none",
    }
}

/// One `real=` line → its reals (a range gives several).
fn reals(
    l: &Line,
    s: &Service,
    check: &Option<RawCheck>,
    vk: &VirtualKeys,
    notes: &mut Notes,
) -> Vec<Real> {
    let Some((key, vals)) = kv(l) else {
        return Vec::new();
    };
    if key == "real6" {
        notes.warn(l, "not carried (yet): lvsd has no IPv6 real servers");
        return Vec::new();
    }
    let spec = vals.first().copied().unwrap_or("");
    let method = match vals.get(1).copied() {
        Some("gate") => Method::Dr,
        Some("masq") => Method::Nat,
        Some("ipip") => Method::Tun,
        _ => {
            notes.warn(
                l,
                "not carried: the forwarding method must be gate, masq or ipip",
            );
            return Vec::new();
        }
    };
    let weight = vals.get(2).and_then(|w| int(w)).unwrap_or(1);
    let over = if vals.len() >= 5 {
        Some((
            vals[vals.len() - 2].to_string(),
            vals[vals.len() - 1].to_string(),
        ))
    } else {
        None
    };
    let Some((addrs, port)) = real_addresses(spec) else {
        notes.warn(l, "not carried: expected IPv4-address[->IPv4-address][:port] (host names are not resolved by the import)");
        return Vec::new();
    };
    let port = match port {
        Some(p) if p != 0 => p,
        _ => s.port,
    };
    let mut c = check.clone();
    if let (Some(c), Some((req, rec))) = (&mut c, &over) {
        match c.r#type.as_deref() {
            Some("http" | "https") => {
                c.path = Some(if req.starts_with('/') {
                    req.clone()
                } else {
                    format!("/{req}")
                });
                c.body_regex = Some(rec.clone()).filter(|r| !r.is_empty());
            }
            Some("send-expect") => {
                c.send = Some(req.clone());
                c.expect = Some(rec.clone());
            }
            _ => notes.warn(
                l,
                "request/receive: not carried: this virtual's check does not use them",
            ),
        }
    }
    let weight = if vk.off { 0 } else { weight };
    addrs
        .into_iter()
        .map(|address| Real {
            at: At::of(l),
            address,
            port,
            weight,
            method,
            upper: 0,
            lower: 0,
            check: c.clone(),
        })
        .collect()
}

/// `a.b.c.d[->e.f.g.h][:port]` (also `-` between two addresses).
fn real_addresses(spec: &str) -> Option<(Vec<Ipv4Addr>, Option<u16>)> {
    let (hosts, port) = match spec.rsplit_once(':') {
        Some((h, p)) => (h, Some(service_port(p)?)),
        None => (spec, None),
    };
    let (a, b) = match hosts.split_once("->").or_else(|| hosts.split_once('-')) {
        Some((a, b)) => (a.parse::<Ipv4Addr>().ok()?, b.parse::<Ipv4Addr>().ok()?),
        None => {
            let a = hosts.parse::<Ipv4Addr>().ok()?;
            (a, a)
        }
    };
    let (a, b) = (u32::from(a), u32::from(b));
    (a <= b && b - a < 4096).then(|| ((a..=b).map(Ipv4Addr::from).collect(), port))
}

/// `fallback = ip[:port] [gate|masq|ipip]` → the sorry server.
fn fallback(s: &mut Service, set: &Settings, off: bool, notes: &mut Notes) {
    let Some(l) = &set.fallback else { return };
    let Some((_, vals)) = kv(l) else { return };
    if off {
        notes.warn(
            l,
            "fallback: not carried: checktype = off activates no fallback server",
        );
        return;
    }
    match vals.first().and_then(|v| host_port(v)) {
        Some((a, p)) => s.sorry = Some((a, p)),
        None => notes.warn(l, "fallback: not carried: expected IPv4-address[:port]"),
    }
    if vals.len() > 1 {
        notes.warn(l, "fallback forwarding method: not carried: lvsd forwards to the sorry server with the service's method");
    }
}
