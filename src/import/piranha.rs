//! Piranha's lvs.cf → [`Draft`]: the global settings (primary/backup,
//! heartbeat, keepalive, deadtime, network, nat_router, IPVS timeouts) and
//! each `virtual` with its `server`s and nanny's check (send/expect or
//! send_program, timeout, reentry). nanny declares a real dead after
//! `timeout` seconds without a good answer and re-adds it after `reentry`
//! seconds of good answers: the check probes every second with
//! `fall = timeout`, `rise = reentry`; a dead real is removed, as nanny
//! removes it.
use super::draft::{At, Draft, Ha, Real, Service};
use super::lex::{blocks, lex, Node, PIRANHA};
use super::notes::Notes;
use super::value::{int, netmask, safe_name, seconds_ms};
use crate::config::raw::RawCheck;
use crate::config::MAX_TIMEOUT_S;
use crate::types::{Method, Protocol, Scheduler};
use std::net::{IpAddr, Ipv4Addr};

/// `key = value` of a statement: the key and the value words.
fn kv(n: &Node) -> Option<(&str, Vec<&str>)> {
    if !n.words.get(1)?.is("=") {
        return None;
    }
    Some((
        n.key(),
        n.words[2..].iter().map(|w| w.text.as_str()).collect(),
    ))
}

/// The global settings that shape services and `[ha]`.
#[derive(Default)]
struct Globals {
    method: Option<Method>,
    primary: Option<(IpAddr, Node)>,
    primary_private: Option<IpAddr>,
    backup: Option<IpAddr>,
    backup_private: Option<IpAddr>,
    backup_active: bool,
    heartbeat_port: Option<u16>,
    keepalive_ms: Option<i64>,
    /// Every line about the pair, warned about when there is no `[ha]`.
    ha_lines: Vec<Node>,
    deadtime_ms: Option<i64>,
}

/// Imports Piranha configuration `text` named `name`.
pub fn import(name: &str, text: &str, notes: &mut Notes) -> Draft {
    let tree = blocks(lex(text, name, &PIRANHA), notes);
    let mut d = Draft::default();
    let mut g = Globals::default();
    for n in tree.iter().filter(|n| n.children.is_none()) {
        match kv(n) {
            Some((k, v)) => global(k, &v, n, &mut g, &mut d, notes),
            None => notes.warn(n, "not understood (expected key = value): not carried"),
        }
    }
    for n in tree.iter().filter(|n| n.children.is_some()) {
        match n.key() {
            "virtual" => virtual_server(n, &g, &mut d, notes),
            "failover" => notes.warn(n, "failover: not carried: lvsd balances services; it does not fail over daemons (fos)"),
            other => notes.warn(n, format!("{other}: not carried: unknown block")),
        }
    }
    ha(&g, &mut d, notes);
    d
}

/// One global `key = value`.
fn global(k: &str, v: &[&str], n: &Node, g: &mut Globals, d: &mut Draft, notes: &mut Notes) {
    let first = v.first().copied().unwrap_or("");
    let ip = first.parse::<IpAddr>().ok();
    if matches!(
        k,
        "primary"
            | "primary_private"
            | "backup"
            | "backup_private"
            | "backup_active"
            | "heartbeat"
            | "heartbeat_port"
            | "keepalive"
            | "deadtime"
    ) {
        g.ha_lines.push(n.clone());
    }
    match k {
        "primary" => g.primary = ip.map(|a| (a, n.clone())),
        "primary_private" => g.primary_private = ip,
        "backup" => g.backup = ip,
        "backup_private" => g.backup_private = ip,
        "backup_active" => g.backup_active = first == "1",
        "heartbeat" if first == "1" => {}
        "heartbeat_port" => g.heartbeat_port = int(first).and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0),
        "keepalive" => g.keepalive_ms = seconds_ms(first),
        "deadtime" => g.deadtime_ms = seconds_ms(first),
        "network" => match first {
            "nat" => g.method = Some(Method::Nat),
            "direct" => g.method = Some(Method::Dr),
            "tunnel" => g.method = Some(Method::Tun),
            _ => notes.warn(n, "network not carried: expected nat, direct or tunnel"),
        },
        "nat_router" => nat_router(v, n, d, notes),
        "tcp_timeout" => d.timeouts.tcp = int(first).map(|t| t.clamp(1, MAX_TIMEOUT_S)),
        "tcpfin_timeout" => d.timeouts.tcp_fin = int(first).map(|t| t.clamp(1, MAX_TIMEOUT_S)),
        "udp_timeout" => d.timeouts.udp = int(first).map(|t| t.clamp(1, MAX_TIMEOUT_S)),
        "service" if first == "lvs" => {}
        "monitor_links" if first == "1" => {}
        "monitor_links" => notes.warn(n, "monitor_links = 0: not carried: lvsd always watches its data ports' links (FAULT when one is down)"),
        "syncdaemon" | "syncd_iface" | "syncd_id" => notes.warn(n, format!("{k}: not carried: lvsd syncs connections over the authenticated [ha] peer link whenever [ha] is set")),
        "nat_nmask" => notes.warn(n, "nat_nmask: not carried: the internal port's own address and prefix are placeholders to edit"),
        _ => notes.warn(n, format!("{k}: not carried: no lvsd equivalent")),
    }
}

/// `nat_router = IP DEV[:alias]`: the reals' gateway, floating on DEV.
fn nat_router(v: &[&str], n: &Node, d: &mut Draft, notes: &mut Notes) {
    let Some(a) = v.first().and_then(|s| s.parse::<Ipv4Addr>().ok()) else {
        notes.warn(
            n,
            "nat_router: not carried: expected an IPv4 address and a device",
        );
        return;
    };
    let f = d.iface(v.get(1).copied().unwrap_or("int"));
    f.floating.push(a);
    f.hints.push(format!(
        "nat_router {a}: the reals' gateway, held by the active director"
    ));
}

/// `[ha]` from primary/backup (this file is the primary's view).
fn ha(g: &Globals, d: &mut Draft, notes: &mut Notes) {
    let primary = match &g.primary {
        Some((p, at)) if g.backup_active => (p, at),
        _ => {
            for l in &g.ha_lines {
                notes.warn(l, format!("{}: not carried: no backup_active = 1 with a primary address, so lvsd runs standalone", l.key()));
            }
            return;
        }
    };
    let (primary, at) = primary;
    let interval = g.keepalive_ms.unwrap_or(6000);
    d.ha = Some(Ha {
        at: At::of(at),
        node: safe_name("primary"),
        priority: 150,
        preempt: false,
        preempt_delay_ms: 0,
        listen: Some(g.primary_private.unwrap_or(*primary)),
        peer: g.backup_private.or(g.backup),
        link_port: g.heartbeat_port.unwrap_or(539),
        interval_ms: interval,
        dead_interval_ms: Some(g.deadtime_ms.unwrap_or(18_000).max(interval + 1)),
        vrid: None,
        garp_repeat: None,
        garp_delay_ms: None,
        notify_active: None,
        notify_backup: None,
        notify_fault: None,
        track: Vec::new(),
        comments: vec![
            "Piranha's primary; on the backup use node = \"backup\", priority = 100 and swap listen/peer.".into(),
            "preempt = false: an active director keeps the role when the other returns.".into(),
        ],
    });
}

/// One `virtual NAME { ... }` block.
fn virtual_server(n: &Node, g: &Globals, d: &mut Draft, notes: &mut Notes) {
    let method = g.method.unwrap_or(Method::Nat);
    let mut s = Service::new(At::of(n), Protocol::Tcp, Ipv4Addr::UNSPECIFIED, 0, method);
    s.name = n.arg(0).map(safe_name);
    let mut nanny = Nanny::default();
    let mut vip = None;
    let mut servers = Vec::new();
    for k in n.kids() {
        if k.key() == "server" && k.children.is_some() {
            servers.push(k);
            continue;
        }
        let Some((key, v)) = kv(k) else {
            notes.warn(k, "not understood (expected key = value): not carried");
            continue;
        };
        let first = v.first().copied().unwrap_or("");
        match key {
            "active" if first == "1" => {}
            "active" => {
                notes.warn(n, "not carried: this virtual server is not active");
                return;
            }
            "fwmark" => {
                notes.warn(k, "not carried (yet): lvsd has no firewall-mark services; this virtual server is left out");
                return;
            }
            "address" => {
                vip = first.parse::<Ipv4Addr>().ok();
                if let Some(dev) = v.get(1) {
                    d.iface(dev);
                }
            }
            _ => virtual_key(key, first, &v, k, &mut s, &mut nanny, notes),
        }
    }
    let Some(vip) = vip else {
        notes.warn(n, "not carried: no IPv4 address");
        return;
    };
    s.vip = vip;
    let check = nanny.check(notes);
    for k in servers {
        if let Some(r) = server(k, &s, &check, notes) {
            s.reals.push(r);
        }
    }
    d.services.push(s);
}

/// What nanny is told to do.
#[derive(Default)]
struct Nanny {
    send: Option<String>,
    expect: Option<(String, Node)>,
    use_regex: bool,
    send_program: Option<String>,
    timeout: Option<i64>,
    reentry: Option<i64>,
}

/// One service-level key of a virtual block.
fn virtual_key(
    key: &str,
    first: &str,
    v: &[&str],
    k: &Node,
    s: &mut Service,
    nanny: &mut Nanny,
    notes: &mut Notes,
) {
    match key {
        "port" => s.port = int(first).and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        "protocol" => match first {
            "tcp" => s.protocol = Protocol::Tcp,
            "udp" => s.protocol = Protocol::Udp,
            _ => notes.warn(k, "protocol not carried: expected tcp or udp"),
        },
        "scheduler" => match Scheduler::from_name(first) {
            Some(x) => s.scheduler = x.as_str().to_string(),
            None => notes.warn(k, "scheduler not carried: unknown to lvsd; wlc is used"),
        },
        "persistent" => {
            let t = int(first).unwrap_or(0);
            if t > 0 {
                s.persistence = Some((t.min(MAX_TIMEOUT_S), s.persistence.map_or(Ipv4Addr::BROADCAST, |p| p.1)));
            }
        }
        "pmask" => match netmask(first) {
            Some(m) => s.persistence = s.persistence.map(|p| (p.0, m)),
            None => notes.warn(k, "pmask: not carried: expected a contiguous IPv4 netmask"),
        },
        "send" => nanny.send = Some(v.join(" ")),
        "expect" => nanny.expect = Some((v.join(" "), k.clone())),
        "use_regex" => nanny.use_regex = first == "1",
        "send_program" => nanny.send_program = Some(v.join(" ")),
        "timeout" => nanny.timeout = int(first),
        "reentry" => nanny.reentry = int(first),
        "vip_nmask" => notes.warn(k, "vip_nmask: not carried: lvsd answers for the VIP itself; the port's prefix is a placeholder to edit"),
        "load_monitor" if first == "none" => {}
        "load_monitor" => notes.warn(k, "load_monitor: not carried: lvsd does not adjust weights from the reals' load"),
        "quiesce_server" if first == "0" => {}
        "quiesce_server" => notes.warn(k, "quiesce_server: not carried: lvsd does not reset every weight when a real returns"),
        _ => notes.warn(k, format!("{key}: not carried: no lvsd equivalent")),
    }
}

impl Nanny {
    /// The check every server of the virtual gets.
    fn check(&self, notes: &mut Notes) -> Option<RawCheck> {
        let mut c = RawCheck::default();
        if let Some(p) = &self.send_program {
            let mut words = p.split_whitespace().map(str::to_string);
            c.r#type = Some("exec".into());
            c.command = words.next();
            c.args = Some(words.collect());
            if let Some((_, at)) = &self.expect {
                notes.warn(at, "expect with send_program: not carried: lvsd takes the program's exit status (0 = up), not its output");
            }
        } else {
            c.r#type = Some("send-expect".into());
            c.send = Some(piranha_escapes(self.send.as_deref().unwrap_or("")));
            let e = self.expect.as_ref().map_or("", |x| x.0.as_str());
            c.expect = Some(if self.use_regex || e.is_empty() {
                e.to_string()
            } else {
                format!("^{}", regex::escape(e))
            });
        }
        let fall = self.timeout.unwrap_or(6).clamp(1, 1000);
        c.interval_ms = Some(1000);
        c.timeout_ms = Some(1000);
        c.fall = Some(fall);
        c.rise = Some(self.reentry.unwrap_or(15).clamp(1, 1000));
        c.warmup_ms = Some(0);
        c.alpha = Some(false);
        c.on_failure = Some("remove".into());
        Some(c)
    }
}

/// Piranha's send escapes (`\n \r \t`, `\` before any other character
/// escapes it) in lvsd's (`\n \r \t \\`, `\xHH`).
fn piranha_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        match (c, c == '\\') {
            (_, true) => match it.next() {
                Some(n @ ('n' | 'r' | 't')) => {
                    out.push('\\');
                    out.push(n);
                }
                Some('\\') | None => out.push_str("\\\\"),
                Some(other) => out.push(other),
            },
            _ => out.push(c),
        }
    }
    out
}

/// One `server NAME { ... }` block.
fn server(n: &Node, s: &Service, check: &Option<RawCheck>, notes: &mut Notes) -> Option<Real> {
    let mut address = None;
    let mut weight = 1;
    let mut port = s.port;
    for k in n.kids() {
        let Some((key, v)) = kv(k) else {
            notes.warn(k, "not understood (expected key = value): not carried");
            continue;
        };
        let first = v.first().copied().unwrap_or("");
        match key {
            "address" => address = first.parse::<Ipv4Addr>().ok(),
            "active" if first == "1" => {}
            "active" => {
                notes.warn(n, "not carried: this server is not active");
                return None;
            }
            "weight" => weight = int(first).unwrap_or(1),
            "port" => {
                port = int(first)
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(s.port)
            }
            _ => notes.warn(k, format!("{key}: not carried: no lvsd equivalent")),
        }
    }
    let Some(address) = address else {
        notes.warn(n, "not carried: the server has no IPv4 address");
        return None;
    };
    Some(Real {
        at: At::of(n),
        address,
        port,
        weight,
        method: s.method,
        upper: 0,
        lower: 0,
        check: check.clone(),
    })
}
