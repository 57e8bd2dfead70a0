//! The global sections: `[dpdk]`, `[arp]`, `[log]`, `[timeouts]` and `[conn]`.

use std::time::Duration;

use super::ctx::Ctx;
use super::model::{Arp, Conn, Dpdk, Log, LogFormat, Timeouts};
use super::net::parse_lcores;
use super::raw::{RawArp, RawConn, RawDpdk, RawLog, RawTimeouts};

/// Longest IPVS timeout accepted (31 days, in seconds).
pub const MAX_TIMEOUT_S: i64 = 2_678_400;

pub(super) fn validate_dpdk(cx: &mut Ctx, raw: Option<RawDpdk>) -> Dpdk {
    let raw = match raw {
        Some(r) => {
            let s = cx.required(
                "dpdk.lcores",
                r.lcores.as_ref(),
                "an EAL core list such as \"0-1\"",
            );
            let lcores = cx.parse("dpdk.lcores", s, parse_lcores).unwrap_or_default();
            if lcores.len() == 1 {
                cx.err(
                    "dpdk.lcores",
                    format!(
                        "core list '{}' has only lcore {}: expected at least two lcores (the first manages, the rest are workers)",
                        s.unwrap_or_default(),
                        lcores[0]
                    ),
                );
            }
            (r, lcores)
        }
        None => {
            cx.missing(
                "dpdk",
                "missing required table [dpdk]: expected at least `lcores = \"0-1\"`",
            );
            (RawDpdk::default(), Vec::new())
        }
    };
    let (r, lcores) = raw;
    let file_prefix = r.file_prefix.unwrap_or_else(|| "lvsd".to_owned());
    if file_prefix.is_empty()
        || file_prefix.len() > 64
        || !file_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        cx.err(
            "dpdk.file_prefix",
            format!(
                "invalid file prefix '{file_prefix}': expected 1..=64 characters of [A-Za-z0-9_-]"
            ),
        );
    }
    Dpdk {
        lcores,
        memory_mb: cx.int("dpdk.memory_mb", r.memory_mb, 512, 1, 1 << 20),
        hugepages: r.hugepages.unwrap_or(false),
        file_prefix,
        args: r.args.unwrap_or_default(),
        burst: cx.int("dpdk.burst", r.burst, 32, 1, 512),
        mbufs: cx.int(
            "dpdk.mbufs",
            r.mbufs,
            super::mbufs::DEFAULT_MBUFS,
            i64::from(super::mbufs::MIN_MBUFS),
            i64::from(u32::MAX),
        ),
    }
}

pub(super) fn validate_arp(cx: &mut Ctx, r: &RawArp) -> Arp {
    Arp {
        timeout: cx.secs("arp.timeout_s", r.timeout_s, 300, 86_400),
        retry: Duration::from_millis(cx.int("arp.retry_ms", r.retry_ms, 1000u64, 1, 3_600_000)),
        pending: cx.int("arp.pending", r.pending, 64, 1, 4096),
    }
}

pub(super) fn validate_log(cx: &mut Ctx, r: RawLog) -> Log {
    let format = match r.format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            cx.err(
                "log.format",
                format!("unknown log format '{other}': expected \"text\" or \"json\""),
            );
            LogFormat::Text
        }
    };
    let level = r.level.unwrap_or_else(|| "info".to_owned());
    if level.trim().is_empty() || level.contains(char::is_whitespace) {
        cx.err("log.level", format!("invalid log level '{level}': expected a tracing filter such as \"info\" or \"info,lvsd=debug\""));
    }
    Log { format, level }
}

pub(super) fn validate_timeouts(cx: &mut Ctx, r: &RawTimeouts) -> Timeouts {
    Timeouts {
        tcp: cx.secs("timeouts.tcp", r.tcp, 900, MAX_TIMEOUT_S),
        tcp_fin: cx.secs("timeouts.tcp_fin", r.tcp_fin, 120, MAX_TIMEOUT_S),
        udp: cx.secs("timeouts.udp", r.udp, 300, MAX_TIMEOUT_S),
    }
}

/// The timeouts of an edited model: each in `1..=MAX_TIMEOUT_S` seconds.
pub(super) fn check_timeouts(cx: &mut Ctx, t: &Timeouts) {
    let secs = |d: std::time::Duration| Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    validate_timeouts(
        cx,
        &RawTimeouts {
            tcp: secs(t.tcp),
            tcp_fin: secs(t.tcp_fin),
            udp: secs(t.udp),
        },
    );
}

pub(super) fn validate_conn(cx: &mut Ctx, r: &RawConn) -> Conn {
    Conn {
        capacity: cx.int(
            "conn.capacity",
            r.capacity,
            1 << 20,
            1024,
            i64::from(u32::MAX),
        ),
        expire_nodest_conn: r.expire_nodest_conn.unwrap_or(false),
        expire_quiescent_template: r.expire_quiescent_template.unwrap_or(false),
        sloppy_tcp: r.sloppy_tcp.unwrap_or(false),
    }
}
