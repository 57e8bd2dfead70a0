//! keepalived checkers → lvsd `[service.real.check]` tables. Timers are
//! inherited virtual_server → real_server → checker, as keepalived does,
//! and written out in lvsd's terms: `delay_loop` (default 60 s) →
//! `interval_ms`, `connect_timeout` (default 5 s) → `timeout_ms`, `retry`
//! (default 1; DNS_CHECK 3, MISC_CHECK 0) → `fall = retry + 1`, `warmup`
//! (default: up to `delay_loop`) → `warmup_ms`, `inhibit_on_failure` →
//! `on_failure` (keepalived removes a failed real unless it is set).
use super::super::draft::At;
use super::super::lex::Node;
use super::super::notes::Notes;
use super::super::value::{hex_escapes, int, seconds_ms};
use crate::config::raw::{RawCheck, RawStatus};
use std::net::Ipv4Addr;

/// keepalived's `<BOOL>`: on|off|true|false|yes|no, omitted = on.
pub fn boolean(v: Option<&str>) -> Option<bool> {
    match v {
        None | Some("on" | "true" | "yes") => Some(true),
        Some("off" | "false" | "no") => Some(false),
        Some(_) => None,
    }
}

/// The settings a virtual_server passes to its real servers and a real
/// server to its checkers.
#[derive(Clone, Debug, Default)]
pub struct Timing {
    pub alpha: Option<bool>,
    pub connect_timeout_ms: Option<i64>,
    pub retry: Option<i64>,
    pub delay_before_retry: Option<(i64, At)>,
    pub warmup_ms: Option<i64>,
    pub delay_loop_ms: Option<i64>,
    pub inhibit: Option<bool>,
    pub virtualhost: Option<String>,
}

impl Timing {
    /// Takes `n` if it is an inherited setting (warning on a bad value).
    pub fn take(&mut self, n: &Node, notes: &mut Notes) -> bool {
        let a = n.arg(0);
        let ok = match n.key() {
            "alpha" => set(&mut self.alpha, boolean(a)),
            "inhibit_on_failure" => set(&mut self.inhibit, boolean(a)),
            "connect_timeout" => set(&mut self.connect_timeout_ms, a.and_then(seconds_ms)),
            "retry" | "nb_get_retry" => set(&mut self.retry, a.and_then(int)),
            "delay_before_retry" => set(
                &mut self.delay_before_retry,
                a.and_then(seconds_ms).map(|v| (v, At::of(n))),
            ),
            "warmup" => set(&mut self.warmup_ms, a.and_then(seconds_ms)),
            "delay_loop" => set(&mut self.delay_loop_ms, a.and_then(seconds_ms)),
            "virtualhost" => set(&mut self.virtualhost, a.map(str::to_string)),
            _ => return false,
        };
        if !ok {
            notes.warn(n, format!("{}: value not understood; not carried", n.key()));
        }
        true
    }
}

fn set<T>(slot: &mut Option<T>, v: Option<T>) -> bool {
    match v {
        Some(v) => {
            *slot = Some(v);
            true
        }
        None => false,
    }
}

/// What a checker needs from its real server.
pub struct RealInfo<'a> {
    pub address: Ipv4Addr,
    pub notify_up: Option<&'a str>,
    pub notify_down: Option<&'a str>,
}

/// One checker block → a check table; `None` (with a warning) for the
/// checkers lvsd does not have.
pub fn checker(n: &Node, base: &Timing, real: &RealInfo, notes: &mut Notes) -> Option<RawCheck> {
    let ty = match n.key() {
        "TCP_CHECK" => "tcp",
        "HTTP_GET" => "http",
        "SSL_GET" => "https",
        "MISC_CHECK" => "exec",
        "DNS_CHECK" => "dns",
        "UDP_CHECK" => "udp",
        "SMTP_CHECK" | "PING_CHECK" | "FILE_CHECK" => {
            notes.warn(n, format!("{}: not carried (yet): lvsd has no such check; this checker does not watch the real", n.key()));
            return None;
        }
        other => {
            notes.warn(n, format!("{other}: not carried: no lvsd equivalent"));
            return None;
        }
    };
    let mut t = base.clone();
    let mut c = RawCheck {
        r#type: Some(ty.to_string()),
        ..RawCheck::default()
    };
    let mut urls = 0;
    for k in n.kids() {
        if t.take(k, notes) || connection(k, &mut c, real.address, notes) {
            continue;
        }
        match ty {
            "http" | "https" => http_key(k, &mut c, &mut urls, notes),
            "exec" => misc_key(k, &mut c, &mut t, notes),
            "dns" => dns_key(k, &mut c, notes),
            "udp" => udp_key(k, &mut c, notes),
            _ => notes.warn(
                k,
                format!("{} {}: not carried: no lvsd equivalent", n.key(), k.key()),
            ),
        }
    }
    if matches!(ty, "http" | "https") {
        if urls == 0 {
            notes.warn(n, "no url block: lvsd checks path \"/\" for status 200-299");
        }
        c.path.get_or_insert_with(|| "/".to_string());
        c.status
            .get_or_insert_with(|| vec![RawStatus::Range("200-299".into())]);
        if c.host.is_none() {
            c.host = t.virtualhost.clone();
        }
    }
    timers(n, ty, &t, &mut c, notes);
    c.notify_up = real.notify_up.map(str::to_string);
    c.notify_down = real.notify_down.map(str::to_string);
    Some(c)
}

/// The timers, thresholds and failure action in lvsd's terms.
fn timers(n: &Node, ty: &str, t: &Timing, c: &mut RawCheck, notes: &mut Notes) {
    const WEEK_MS: i64 = 7 * 86_400_000;
    let interval = t.delay_loop_ms.unwrap_or(60_000).clamp(1, WEEK_MS);
    let retry = t.retry.unwrap_or(match ty {
        "dns" => 3,
        "exec" => 0,
        _ => 1,
    });
    c.interval_ms = Some(interval);
    if c.timeout_ms.is_none() {
        let dflt = if ty == "exec" { interval } else { 5000 };
        c.timeout_ms = Some(t.connect_timeout_ms.unwrap_or(dflt).clamp(1, WEEK_MS));
    }
    c.rise = Some(1);
    c.fall = Some(retry.saturating_add(1).min(1000));
    c.warmup_ms = Some(t.warmup_ms.unwrap_or(interval).min(WEEK_MS));
    c.alpha = Some(t.alpha.unwrap_or(false));
    c.on_failure = Some(
        if t.inhibit == Some(true) {
            "inhibit"
        } else {
            "remove"
        }
        .to_string(),
    );
    let dbr = t.delay_before_retry.as_ref().map_or(
        match ty {
            "dns" => interval,
            "http" | "https" => 3000,
            _ => 1000,
        },
        |d| d.0,
    );
    if retry > 0 && dbr != interval {
        let msg = format!("delay_before_retry ({dbr} ms) not carried: lvsd repeats a failed probe after interval_ms ({interval}), so a dead real is found after {} × interval", retry.saturating_add(1).min(1000));
        match &t.delay_before_retry {
            Some((_, at)) => notes.warn(at, msg),
            None => notes.warn(n, msg),
        }
    }
}

/// The connection options every checker but MISC_CHECK has.
fn connection(k: &Node, c: &mut RawCheck, real: Ipv4Addr, notes: &mut Notes) -> bool {
    let a = k.arg(0);
    match k.key() {
        "connect_port" => c.port = a.and_then(int).filter(|p| (1..=65535).contains(p)),
        "bindto" => match a.and_then(|s| s.parse::<Ipv4Addr>().ok()) {
            Some(b) => c.bind = Some(b.to_string()),
            None => notes.warn(
                k,
                "bindto: not carried: lvsd binds checks to an IPv4 address",
            ),
        },
        "bind_port" => c.bind_port = a.and_then(int).filter(|p| (1..=65535).contains(p)),
        "connect_ip" => {
            if a.and_then(|s| s.parse::<Ipv4Addr>().ok()) != Some(real) {
                notes.warn(
                    k,
                    "connect_ip: not carried: lvsd probes the real server's own address",
                );
            }
        }
        "bind_if" | "fwmark" | "log_all_failures" => {
            notes.warn(k, format!("{}: not carried: no lvsd equivalent", k.key()))
        }
        _ => return false,
    }
    true
}

/// HTTP_GET / SSL_GET keywords.
fn http_key(k: &Node, c: &mut RawCheck, urls: &mut usize, notes: &mut Notes) {
    match k.key() {
        "url" => {
            *urls += 1;
            if *urls == 1 {
                url(k, c, notes);
            } else {
                notes.warn(k, "url: not carried (yet): lvsd checks one URL per check; only the first url block is checked");
            }
        }
        "http_protocol" if matches!(k.arg(0), Some("1.0" | "1.0C")) => {}
        "enable_sni" => {} // lvsd sends the host as SNI when it is a name
        "http_protocol" => notes.warn(
            k,
            "http_protocol: not carried (yet): lvsd's HTTP check speaks HTTP/1.0",
        ),
        other => notes.warn(k, format!("{other}: not carried: no lvsd equivalent")),
    }
}

/// One `url { ... }` block.
fn url(n: &Node, c: &mut RawCheck, notes: &mut Notes) {
    if let Some(k) = n.kids().iter().find(|k| k.key() == "regex_no_match") {
        notes.warn(k, "regex_no_match: not carried (yet): lvsd's body_regex must match, so this url's regex is left out");
    }
    for k in n.kids() {
        let a = k.arg(0).map(str::to_string);
        match k.key() {
            "path" => c.path = a,
            "digest" => c.digest = a.map(|d| d.to_ascii_lowercase()),
            "virtualhost" => c.host = a,
            "regex" if n.kids().iter().any(|x| x.key() == "regex_no_match") => {}
            "regex" => c.body_regex = Some(k.rest()),
            "status_code" => {
                let v: Vec<RawStatus> = k
                    .words
                    .iter()
                    .skip(1)
                    .map(|w| match w.text.parse::<i64>() {
                        Ok(n) => RawStatus::Code(n),
                        Err(_) => RawStatus::Range(w.text.clone()),
                    })
                    .collect();
                c.status = Some(v);
            }
            "regex_no_match" => notes.warn(
                k,
                "regex_no_match: not carried (yet): lvsd's body_regex must match",
            ),
            other => notes.warn(k, format!("url {other}: not carried: no lvsd equivalent")),
        }
    }
}

/// MISC_CHECK keywords.
fn misc_key(k: &Node, c: &mut RawCheck, t: &mut Timing, notes: &mut Notes) {
    match k.key() {
        "misc_path" => {
            c.command = k.arg(0).map(str::to_string);
            if k.words.len() > 2 {
                notes.warn(
                    k,
                    "misc_path user/group: not carried: lvsd runs every command as one user ([children] run_as)",
                );
            }
        }
        "misc_timeout" => c.timeout_ms = k.arg(0).and_then(seconds_ms).map(|v| v.max(1)),
        "misc_dynamic" => c.dynamic = Some(true),
        "user" => notes.warn(
            k,
            "user: not carried: lvsd runs every command as one user ([children] run_as)",
        ),
        other => {
            if !t.take(k, notes) {
                notes.warn(
                    k,
                    format!("MISC_CHECK {other}: not carried: no lvsd equivalent"),
                );
            }
        }
    }
}

/// DNS_CHECK keywords.
fn dns_key(k: &Node, c: &mut RawCheck, notes: &mut Notes) {
    match k.key() {
        "type" => c.query_type = k.arg(0).map(str::to_ascii_uppercase),
        "name" => c.query_name = k.arg(0).map(str::to_string),
        other => notes.warn(
            k,
            format!("DNS_CHECK {other}: not carried: no lvsd equivalent"),
        ),
    }
}

/// UDP_CHECK keywords: hex payload and reply → lvsd's `\xHH` strings.
fn udp_key(k: &Node, c: &mut RawCheck, notes: &mut Notes) {
    let hex = k.rest();
    match k.key() {
        "payload" => match hex_escapes(&hex) {
            Some(p) => c.payload = Some(p),
            None => notes.warn(k, "payload: not carried: not a hex string"),
        },
        "require_reply" => match hex_escapes(&hex) {
            Some(r) => c.reply = Some(r),
            None => {
                c.reply = Some(String::new());
                notes.warn(k, "require_reply mask: not carried: lvsd compares the reply's first bytes exactly (X nibbles unsupported); any reply is accepted");
            }
        },
        "min_reply_length" | "max_reply_length" => notes.warn(
            k,
            format!(
                "{}: not carried: lvsd checks the reply's first bytes only",
                k.key()
            ),
        ),
        other => notes.warn(
            k,
            format!("UDP_CHECK {other}: not carried: no lvsd equivalent"),
        ),
    }
}
