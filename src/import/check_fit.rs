//! A check table brought within lvsd's limits before it is emitted: the
//! sources accept values lvsd refuses (a PCRE or Perl regex the `regex`
//! crate rejects, a digest that is not MD5 hex, a DNS type lvsd does not
//! query, timers beyond a week). Each is warned about at the real's line and
//! left out (lvsd's default applies) or brought into range.
use super::draft::At;
use super::notes::Notes;
use crate::config::check_def::StatusRange;
use crate::config::raw::{RawCheck, RawStatus};

/// lvsd's longest check interval, timeout and warmup (milliseconds).
const WEEK_MS: i64 = 7 * 86_400_000;

/// Brings `c` (the check of the real at `at`) within lvsd's limits; false
/// when nothing of it can run (an exec check without a command).
pub fn fit(c: &mut RawCheck, at: &At, notes: &mut Notes) -> bool {
    if c.r#type.as_deref() == Some("exec")
        && c.command.as_deref().is_none_or(|x| x.trim().is_empty())
    {
        notes.warn(
            at,
            "check not carried: the program check names no program; the real is not checked",
        );
        return false;
    }
    if let Some(d) = &c.digest {
        if d.len() != 32 || !d.chars().all(|x| x.is_ascii_hexdigit()) {
            notes.warn(
                at,
                format!(
                    "check digest '{d}' not carried: lvsd expects the body's MD5 as 32 hex digits"
                ),
            );
            c.digest = None;
        }
    }
    if let Some(re) = &c.body_regex {
        if let Err(e) = regex::Regex::new(re) {
            notes.warn(at, format!("check regex '{re}' not carried: lvsd cannot compile it ({e}); the body is not matched"));
            c.body_regex = None;
        }
    }
    if let Some(re) = &c.expect {
        if let Err(e) = regex::Regex::new(re) {
            notes.warn(at, format!("check expect '{re}' not carried: lvsd cannot compile it ({e}); any answer is accepted"));
            c.expect = Some(String::new());
        }
    }
    if let Some(status) = &mut c.status {
        status.retain(|s| {
            let ok = match s {
                RawStatus::Code(n) => (100..=599).contains(n),
                RawStatus::Range(r) => StatusRange::parse(r).is_some(),
            };
            if !ok {
                notes.warn(
                    at,
                    format!("check status {s:?} not carried: expected a code 100..=599 or a range"),
                );
            }
            ok
        });
    }
    if let Some(q) = &c.query_type {
        if !["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"].contains(&q.as_str()) {
            notes.warn(at, format!("DNS query type {q} not carried: lvsd asks A NS CNAME SOA MX TXT AAAA; SOA is used"));
            c.query_type = None;
        }
    }
    if c.bind
        .as_deref()
        .is_some_and(|b| b.parse::<std::net::Ipv4Addr>().is_err())
    {
        c.bind = None;
    }
    clamp(&mut c.interval_ms, 1, WEEK_MS);
    clamp(&mut c.timeout_ms, 1, WEEK_MS);
    clamp(&mut c.warmup_ms, 0, WEEK_MS);
    clamp(&mut c.rise, 1, 1000);
    clamp(&mut c.fall, 1, 1000);
    for p in [&mut c.port, &mut c.bind_port] {
        if p.is_some_and(|v| !(1..=65535).contains(&v)) {
            *p = None;
        }
    }
    true
}

fn clamp(v: &mut Option<i64>, lo: i64, hi: i64) {
    if let Some(x) = v {
        *x = (*x).clamp(lo, hi);
    }
}
