//! The importers' common result: an lvsd configuration in the making,
//! every field already in lvsd's terms (milliseconds, method names), each
//! service and real with the source line it came from. [`Draft::settle`]
//! applies lvsd's rules a source may break (duplicates, port 0 without
//! persistence, a port change under DR) with a warning each, so that the
//! emitted file passes `lvsd check`.
use super::lex::Loc;
use super::notes::{Located, Notes};
use crate::config::raw::RawCheck;
use crate::types::{Method, Protocol};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

/// A source place kept for later warnings and comments.
#[derive(Clone, Debug)]
pub struct At {
    pub loc: Loc,
    pub source: String,
}

impl At {
    pub fn of(x: &impl Located) -> At {
        At {
            loc: x.loc().clone(),
            source: x.source().to_string(),
        }
    }
}

impl Located for At {
    fn loc(&self) -> &Loc {
        &self.loc
    }
    fn source(&self) -> &str {
        &self.source
    }
}

/// A network interface the source names (it becomes a `[[port]]`).
#[derive(Clone, Debug, Default)]
pub struct Iface {
    /// The source's interface name (`eth0`), or `""` for the placeholder.
    pub name: String,
    /// Addresses the active director holds on it (not service VIPs).
    pub floating: Vec<Ipv4Addr>,
    /// Hints for the comment: what the source says of its addresses.
    pub hints: Vec<String>,
}

/// `[timeouts]` in seconds.
#[derive(Clone, Debug, Default)]
pub struct Timeouts {
    pub tcp: Option<i64>,
    pub tcp_fin: Option<i64>,
    pub udp: Option<i64>,
}

/// One `[[service]]`.
#[derive(Clone, Debug)]
pub struct Service {
    pub at: At,
    pub name: Option<String>,
    pub protocol: Protocol,
    pub vip: Ipv4Addr,
    pub port: u16,
    /// An lvsd scheduler name.
    pub scheduler: String,
    pub flags: Vec<(String, At)>,
    /// Timeout in seconds and netmask.
    pub persistence: Option<(i64, Ipv4Addr)>,
    pub ops: Option<At>,
    pub method: Method,
    pub quorum: i64,
    pub hysteresis: i64,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    /// Address and port (None: the service port).
    pub sorry: Option<(Ipv4Addr, Option<u16>)>,
    pub reals: Vec<Real>,
}

impl Service {
    /// A service with lvsd's explicit defaults for the rest.
    pub fn new(at: At, protocol: Protocol, vip: Ipv4Addr, port: u16, method: Method) -> Service {
        Service {
            at,
            name: None,
            protocol,
            vip,
            port,
            scheduler: "wlc".into(),
            flags: Vec::new(),
            persistence: None,
            ops: None,
            method,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry: None,
            reals: Vec::new(),
        }
    }
}

/// One `[[service.real]]`.
#[derive(Clone, Debug)]
pub struct Real {
    pub at: At,
    pub address: Ipv4Addr,
    pub port: u16,
    pub weight: i64,
    pub method: Method,
    pub upper: i64,
    pub lower: i64,
    pub check: Option<RawCheck>,
}

/// `[ha]`.
#[derive(Clone, Debug)]
pub struct Ha {
    pub at: At,
    pub node: String,
    pub priority: i64,
    pub preempt: bool,
    pub preempt_delay_ms: i64,
    pub listen: Option<IpAddr>,
    pub peer: Option<IpAddr>,
    /// TCP port of the peer link.
    pub link_port: u16,
    pub interval_ms: i64,
    pub dead_interval_ms: Option<i64>,
    pub vrid: Option<i64>,
    pub garp_repeat: Option<i64>,
    pub garp_delay_ms: Option<i64>,
    pub notify_active: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    /// Comment lines written above `[ha]`.
    pub comments: Vec<String>,
    /// `track = [...]`: commands whose failure puts the director in FAULT.
    pub track: Vec<Track>,
}

/// One `[ha] track` entry.
#[derive(Clone, Debug)]
pub struct Track {
    pub command: String,
    pub interval_ms: i64,
    pub fall: i64,
    pub rise: i64,
}

/// The whole configuration in the making.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    /// `keepalived FILE` etc., for the header.
    pub origin: String,
    pub ifaces: Vec<Iface>,
    pub timeouts: Timeouts,
    pub ha: Option<Ha>,
    pub services: Vec<Service>,
}

impl Draft {
    /// The interface named `name`, added on first use.
    pub fn iface(&mut self, name: &str) -> &mut Iface {
        let base = name.split(':').next().unwrap_or(name).to_string();
        let i = match self.ifaces.iter().position(|f| f.name == base) {
            Some(i) => i,
            None => {
                self.ifaces.push(Iface {
                    name: base,
                    ..Iface::default()
                });
                self.ifaces.len() - 1
            }
        };
        &mut self.ifaces[i]
    }

    /// Whether `a` is the VIP of a service.
    pub fn is_vip(&self, a: Ipv4Addr) -> bool {
        self.services.iter().any(|s| s.vip == a)
    }

    /// Applies lvsd's rules the source may break, warning for each change.
    pub fn settle(&mut self, notes: &mut Notes) {
        let mut keys = HashSet::new();
        let mut names = HashSet::new();
        let services = std::mem::take(&mut self.services);
        for mut s in services {
            if s.port == 0 && s.persistence.is_none() {
                notes.warn(&s.at, "not carried: a service on all ports (port 0) needs persistence in lvsd, as in IPVS");
                continue;
            }
            if !keys.insert((s.protocol, s.vip, s.port)) {
                notes.warn(
                    &s.at,
                    format!(
                        "not carried: {} {}:{} is defined twice; the first definition is kept",
                        s.protocol, s.vip, s.port
                    ),
                );
                continue;
            }
            if let Some(n) = &s.name {
                if !names.insert(n.clone()) {
                    s.name = None;
                }
            }
            settle_service(&mut s, notes);
            self.services.push(s);
        }
        if let Some(h) = &mut self.ha {
            h.priority = h.priority.clamp(1, 254);
            h.preempt_delay_ms = h.preempt_delay_ms.clamp(0, 1_000_000);
            h.vrid = h.vrid.filter(|v| (1..=255).contains(v));
            h.garp_repeat = h.garp_repeat.map(|v| v.clamp(1, 100));
            h.garp_delay_ms = h.garp_delay_ms.map(|v| v.clamp(0, 600_000));
            h.interval_ms = h.interval_ms.clamp(10, 60_000);
            if let Some(d) = h.dead_interval_ms {
                h.dead_interval_ms = Some(d.clamp(h.interval_ms + 1, 600_000).max(20));
            }
        }
    }
}

/// Per-service rules: `ops` only on UDP, scheduler flags, the reals.
fn settle_service(s: &mut Service, notes: &mut Notes) {
    if let (Some(at), Protocol::Tcp) = (&s.ops, s.protocol) {
        notes.warn(
            at,
            "not carried: one-packet scheduling (ops) applies to UDP services only",
        );
        s.ops = None;
    }
    let sched = s.scheduler.clone();
    s.flags.retain(|(f, at)| {
        let needs = match f.as_str() {
            "sh-fallback" | "sh-port" => Some("sh"),
            "mh-fallback" | "mh-port" => Some("mh"),
            _ => None,
        };
        match needs {
            Some(n) if n != sched => {
                notes.warn(at, format!("not carried: flag {f} applies to scheduler {n} only (this service uses {sched})"));
                false
            }
            _ => true,
        }
    });
    let mut seen = HashSet::new();
    let reals = std::mem::take(&mut s.reals);
    for mut r in reals {
        if r.address == s.vip {
            notes.warn(
                &r.at,
                "not carried: the real server's address is the service VIP",
            );
            continue;
        }
        if r.method != Method::Nat && r.port != s.port {
            notes.warn(&r.at, format!("port {} not carried: {} forwarding cannot change the port (IPVS ignores it), the service port {} is used", r.port, r.method, s.port));
            r.port = s.port;
        }
        if !seen.insert((r.address, r.port)) {
            notes.warn(
                &r.at,
                format!(
                    "not carried: real server {}:{} is listed twice in this service",
                    r.address, r.port
                ),
            );
            continue;
        }
        if r.weight > 65_535 {
            notes.warn(
                &r.at,
                format!(
                    "weight {} not carried: lvsd's largest weight is 65535 (used)",
                    r.weight
                ),
            );
            r.weight = 65_535;
        }
        if let Some(c) = &mut r.check {
            if !super::check_fit::fit(c, &r.at, notes) {
                r.check = None;
            }
        }
        if r.upper != 0 && r.lower >= r.upper {
            notes.warn(
                &r.at,
                format!(
                    "lower threshold {} not carried: it must be below the upper threshold {}",
                    r.lower, r.upper
                ),
            );
            r.lower = 0;
        }
        s.reals.push(r);
    }
}
