//! `[service.check]`, `[service.real.check]` and `[service.sorry]`: health
//! checking of real servers. A real's check table overrides the service's
//! field by field (keepalived inherits timers the same way: VS → RS →
//! checker).
use super::check_def::{
    decode_escapes, Check, CheckKind, CheckParams, OnFailure, Sorry, StatusRange,
};
use super::ctx::Ctx;
use super::raw::{RawCheck, RawSorry, RawStatus};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

macro_rules! overlay {
    ($base:expr, $over:expr, $($f:ident),*) => {
        RawCheck { $($f: $over.$f.clone().or_else(|| $base.$f.clone()),)* }
    };
}

/// `over` on top of `base`, field by field.
pub fn merge(base: &RawCheck, over: &RawCheck) -> RawCheck {
    overlay!(
        base,
        over,
        r#type,
        method,
        path,
        host,
        status,
        body_regex,
        digest,
        send,
        expect,
        command,
        args,
        dynamic,
        payload,
        reply,
        query_type,
        query_name,
        port,
        interval_ms,
        timeout_ms,
        rise,
        fall,
        warmup_ms,
        alpha,
        bind,
        bind_port,
        on_failure,
        notify_up,
        notify_down
    )
}

/// Validate a (merged) check table at `p`.
pub fn validate(cx: &mut Ctx, p: &str, r: &RawCheck) -> Option<Check> {
    let kind = check_kind(cx, p, r)?;
    let params = check_params(cx, p, r);
    let on_failure = match r.on_failure.as_deref() {
        None | Some("inhibit") => OnFailure::Inhibit,
        Some("remove") => OnFailure::Remove,
        Some(o) => {
            cx.err(
                &format!("{p}.on_failure"),
                format!("unknown on_failure '{o}': expected \"inhibit\" or \"remove\""),
            );
            OnFailure::Inhibit
        }
    };
    Some(Check {
        kind,
        params,
        on_failure,
        notify_up: r.notify_up.clone(),
        notify_down: r.notify_down.clone(),
        raw: r.clone(),
    })
}

/// What the check does (`type` and its type's keys); `None` when the type
/// is unknown or an exec check has no command.
fn check_kind(cx: &mut Ctx, p: &str, r: &RawCheck) -> Option<CheckKind> {
    let f = |name: &str| format!("{p}.{name}");
    let ty = r.r#type.as_deref().unwrap_or("tcp");
    Some(match ty {
        "none" => CheckKind::None,
        "tcp" => CheckKind::Tcp,
        "http" | "https" => http_kind(cx, p, r, ty == "https"),
        "send-expect" => {
            let expect = r.expect.clone().unwrap_or_default();
            if let Err(e) = regex::Regex::new(&expect) {
                cx.err(&f("expect"), format!("invalid regex: {e}"));
            }
            CheckKind::SendExpect {
                send: r.send.clone().unwrap_or_default(),
                expect,
            }
        }
        "exec" => {
            let Some(command) = r.command.clone().filter(|c| !c.trim().is_empty()) else {
                cx.missing(
                    &f("command"),
                    "missing key: an exec check needs command = \"/path/to/program\"",
                );
                return None;
            };
            CheckKind::Exec {
                command,
                args: r.args.clone().unwrap_or_default(),
                dynamic: r.dynamic.unwrap_or(false),
            }
        }
        "udp" => CheckKind::Udp {
            payload: decode_escapes(r.payload.as_deref().unwrap_or("")),
            expect: r.reply.as_deref().map(decode_escapes),
        },
        "dns" => dns_kind(cx, p, r),
        other => {
            cx.err(
                &f("type"),
                format!("unknown check type '{other}': expected tcp, http, https, send-expect, exec, udp, dns or none"),
            );
            return None;
        }
    })
}

/// `type = "http"` / `"https"`: request, accepted statuses, body checks.
fn http_kind(cx: &mut Ctx, p: &str, r: &RawCheck, tls: bool) -> CheckKind {
    let mut status = Vec::new();
    for (i, s) in r.status.iter().flatten().enumerate() {
        let range = match s {
            RawStatus::Code(c) if (100..=599).contains(c) => Some(StatusRange::single(*c as u16)),
            RawStatus::Range(t) => StatusRange::parse(t),
            RawStatus::Code(_) => None,
        };
        match range {
            Some(x) => status.push(x),
            None => cx.err(
                &format!("{p}.status[{i}]"),
                format!("invalid status {s:?}: expected a code 100..=599 or a range \"200-299\""),
            ),
        }
    }
    if let Some(re) = &r.body_regex {
        if let Err(e) = regex::Regex::new(re) {
            cx.err(&format!("{p}.body_regex"), format!("invalid regex: {e}"));
        }
    }
    if let Some(d) = &r.digest {
        if d.len() != 32 || !d.chars().all(|c| c.is_ascii_hexdigit()) {
            cx.err(
                &format!("{p}.digest"),
                format!("invalid digest '{d}': expected 32 hex digits (MD5 of the body)"),
            );
        }
    }
    CheckKind::Http {
        method: r.method.clone().unwrap_or_else(|| "GET".into()),
        path: r.path.clone().unwrap_or_else(|| "/".into()),
        host: r.host.clone(),
        status,
        body_regex: r.body_regex.clone(),
        digest: r.digest.clone(),
        tls,
    }
}

/// `type = "dns"`: query type and name.
fn dns_kind(cx: &mut Ctx, p: &str, r: &RawCheck) -> CheckKind {
    let qtype = r
        .query_type
        .clone()
        .unwrap_or_else(|| "SOA".into())
        .to_ascii_uppercase();
    if !["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"].contains(&qtype.as_str()) {
        cx.err(
            &format!("{p}.query_type"),
            format!("unknown query type '{qtype}': expected A NS CNAME SOA MX TXT AAAA"),
        );
    }
    CheckKind::Dns {
        qtype,
        name: r.query_name.clone().unwrap_or_else(|| ".".into()),
    }
}

/// Timers, thresholds and addresses of a check.
fn check_params(cx: &mut Ctx, p: &str, r: &RawCheck) -> CheckParams {
    let f = |name: &str| format!("{p}.{name}");
    let ms = |cx: &mut Ctx, name: &str, v: Option<i64>, d: u64| -> Duration {
        Duration::from_millis(cx.int(&format!("{p}.{name}"), v, d, 1, 7 * 86_400_000))
    };
    let interval = ms(cx, "interval_ms", r.interval_ms, 2000);
    let timeout = ms(
        cx,
        "timeout_ms",
        r.timeout_ms,
        1000.min(interval.as_millis() as u64).max(1),
    );
    let warmup = Duration::from_millis(cx.int(&f("warmup_ms"), r.warmup_ms, 0, 0, 7 * 86_400_000));
    let bind_addr = match r.bind.as_deref() {
        None => None,
        Some(b) => match b.parse::<Ipv4Addr>() {
            Ok(a) => Some(a),
            Err(_) => {
                cx.err(
                    &f("bind"),
                    format!("invalid source address '{b}': expected an IPv4 address"),
                );
                None
            }
        },
    };
    CheckParams {
        interval,
        timeout,
        rise: cx.int(&f("rise"), r.rise, 1, 1, 1000),
        fall: cx.int(&f("fall"), r.fall, 1, 1, 1000),
        warmup,
        alpha: r.alpha.unwrap_or(false),
        bind_addr,
        bind_port: r
            .bind_port
            .map(|v| cx.int(&f("bind_port"), Some(v), 0u16, 1, 65535)),
        connect_port: r.port.map(|v| cx.int(&f("port"), Some(v), 0u16, 1, 65535)),
    }
}

/// Validate `[service.sorry]`.
pub fn sorry(cx: &mut Ctx, p: &str, r: &RawSorry, svc_port: u16) -> Option<Sorry> {
    let apath = format!("{p}.address");
    let Some(a) = r.address.as_deref() else {
        cx.missing(&apath, "missing key: the sorry server's address");
        return None;
    };
    let address = match a.parse::<Ipv4Addr>() {
        Ok(v) => IpAddr::V4(v),
        Err(_) => {
            cx.err(&apath, format!("invalid IPv4 address '{a}'"));
            return None;
        }
    };
    Some(Sorry {
        address,
        port: cx.int(&format!("{p}.port"), r.port, svc_port, 0, 65535),
    })
}

/// The raw table as TOML lines (for writing the configuration back).
pub fn emit(r: &RawCheck) -> String {
    toml::to_string(r).unwrap_or_default()
}
