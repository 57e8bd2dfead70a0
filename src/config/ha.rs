//! `[ha]`: the active/backup pair (peer link, roles, adverts, sync).
use super::ctx::Ctx;
use super::raw::{RawGarp, RawHa, RawTrack};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Gratuitous ARP schedule on becoming active (keepalived
/// `garp_master_repeat` / `garp_master_delay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Garp {
    pub repeat: u32,
    pub delay: Duration,
}

/// A validated `[ha]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ha {
    pub node: String,
    pub priority: u8,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub peer: SocketAddr,
    pub listen: SocketAddr,
    pub key_file: PathBuf,
    pub interval: Duration,
    pub dead_interval: Duration,
    pub garp: Garp,
    /// Virtual router id carried in the data-port adverts (1..=255).
    pub vrid: u8,
    /// Commands run on role changes (no shell; the role and node name are
    /// appended).
    pub notify_active: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    /// Tracked commands (keepalived's `track_script`): a failing one puts
    /// the director in FAULT.
    pub track: Vec<Track>,
}

/// One `[ha] track` entry: `command` runs every `interval` (no shell, the
/// child-process rules, killed after `interval`); `fall` consecutive
/// failures (exit status other than 0, or the timeout) raise a fault,
/// `rise` consecutive successes clear it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    pub command: String,
    pub interval: Duration,
    pub fall: u32,
    pub rise: u32,
}

fn addr(cx: &mut Ctx, path: &str, v: Option<&str>) -> Option<SocketAddr> {
    let Some(s) = v else {
        cx.missing(path, "missing key: an address such as \"198.18.9.2:5511\"");
        return None;
    };
    match s.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            cx.err(
                path,
                format!("invalid address '{s}': expected IP:port such as \"198.18.9.2:5511\""),
            );
            None
        }
    }
}

pub(super) fn validate(cx: &mut Ctx, r: &RawHa) -> Option<Ha> {
    let node = node_name(cx, r.node.as_deref());
    let priority: u8 = cx.int("ha.priority", r.priority, 100, 1, 254);
    let peer = addr(cx, "ha.peer", r.peer.as_deref());
    let listen = addr(cx, "ha.listen", r.listen.as_deref());
    let key_file = match r.key_file.as_deref() {
        Some(k) => PathBuf::from(k),
        None => {
            cx.missing(
                "ha.key_file",
                "missing key: a file holding the pre-shared key (at least 16 bytes)",
            );
            PathBuf::new()
        }
    };
    let (interval, dead_interval) = advert_intervals(cx, r);
    let preempt_delay =
        Duration::from_millis(cx.int("ha.preempt_delay_ms", r.preempt_delay_ms, 0, 0, 1_000_000));
    let vrid: u8 = cx.int("ha.vrid", r.vrid, 51, 1, 255);
    let garp = garp(cx, r.garp.as_ref());
    Some(Ha {
        node,
        priority,
        preempt: r.preempt.unwrap_or(true),
        preempt_delay,
        peer: peer?,
        listen: listen?,
        key_file,
        interval,
        dead_interval,
        garp,
        vrid,
        notify_active: r.notify_active.clone(),
        notify_backup: r.notify_backup.clone(),
        notify_fault: r.notify_fault.clone(),
        track: r
            .track
            .iter()
            .enumerate()
            .map(|(i, t)| track(cx, &format!("ha.track[{i}]"), t))
            .collect(),
    })
}

/// One `ha.track` entry; `path` is `ha.track[i]`.
fn track(cx: &mut Ctx, path: &str, t: &RawTrack) -> Track {
    let command = match t.command.as_deref() {
        Some(c) if !c.trim().is_empty() => c.to_string(),
        Some(_) => {
            cx.err(
                &format!("{path}.command"),
                "empty command: a program and its arguments, such as \"/usr/lib/lvsd/track-uplink\"",
            );
            String::new()
        }
        None => {
            cx.missing(
                &format!("{path}.command"),
                "missing key: the command to run, such as \"/usr/lib/lvsd/track-uplink\"",
            );
            String::new()
        }
    };
    let interval_ms: u64 = cx.int(
        &format!("{path}.interval_ms"),
        t.interval_ms,
        1000,
        10,
        3_600_000,
    );
    Track {
        command,
        interval: Duration::from_millis(interval_ms),
        fall: cx.int(&format!("{path}.fall"), t.fall, 1, 1, 1000),
        rise: cx.int(&format!("{path}.rise"), t.rise, 1, 1, 1000),
    }
}

/// `ha.node`: this director's name, required.
fn node_name(cx: &mut Ctx, node: Option<&str>) -> String {
    match node {
        Some(n) if !n.is_empty() && n.len() <= 64 && !n.contains(char::is_whitespace) => {
            n.to_string()
        }
        Some(n) => {
            cx.err(
                "ha.node",
                format!("invalid node name '{n}': expected 1..=64 characters without spaces"),
            );
            String::new()
        }
        None => {
            cx.missing(
                "ha.node",
                "missing key: this director's name, e.g. \"lvs-a\"",
            );
            String::new()
        }
    }
}

/// `interval_ms` and `dead_interval_ms` (longer than the interval; default
/// three intervals).
fn advert_intervals(cx: &mut Ctx, r: &RawHa) -> (Duration, Duration) {
    let interval = Duration::from_millis(cx.int("ha.interval_ms", r.interval_ms, 100, 10, 60_000));
    let dead_default = (interval.as_millis() as u64) * 3;
    let dead_interval = Duration::from_millis(cx.int(
        "ha.dead_interval_ms",
        r.dead_interval_ms,
        dead_default,
        20,
        600_000,
    ));
    if dead_interval <= interval {
        cx.err("ha.dead_interval_ms", "must be longer than ha.interval_ms");
    }
    (interval, dead_interval)
}

/// `ha.garp = { repeat, delay_ms }`.
fn garp(cx: &mut Ctx, g: Option<&RawGarp>) -> Garp {
    Garp {
        repeat: g.map_or(5, |g| cx.int("ha.garp.repeat", g.repeat, 5, 1, 100)),
        delay: Duration::from_millis(g.map_or(5000, |g| {
            cx.int("ha.garp.delay_ms", g.delay_ms, 5000, 0, 600_000)
        })),
    }
}

/// `floating = ["198.18.1.1"]` on a port.
pub(super) fn floating(cx: &mut Ctx, path: &str, v: Option<&Vec<String>>) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    for (i, s) in v.into_iter().flatten().enumerate() {
        match s.parse::<Ipv4Addr>() {
            Ok(a) => out.push(a),
            Err(_) => cx.err(
                &format!("{path}[{i}]"),
                format!("invalid IPv4 address '{s}'"),
            ),
        }
    }
    out
}
