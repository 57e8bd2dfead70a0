//! `lvsadm show ha`: the control protocol's `ha` answer as a block of text
//! an operator of keepalived reads at a glance (the role with keepalived's
//! name for it, the peer on both liveness paths, replication, and the last
//! transitions with their reasons).
use super::proto::HaStatusData;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What `lvsadm show ha` prints for a director without `[ha]`.
pub const NOT_CONFIGURED: &str =
    "HA is not configured on this director (its configuration has no [ha] section).\n";

/// The whole block.
pub fn render(s: &HaStatusData) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "HA node {}: {} for {}",
        s.node,
        role_name(&s.role),
        age(Some(s.role_age_ms))
    );
    let _ = writeln!(
        o,
        "  priority {} (effective {}), preempt {}",
        s.priority,
        s.effective_priority,
        if s.preempt {
            format!("on (delay {})", age(Some(s.preempt_delay_ms)))
        } else {
            "off".into()
        }
    );
    let _ = writeln!(
        o,
        "  interval {}, dead interval {}",
        age(Some(s.interval_ms)),
        age(Some(s.dead_interval_ms))
    );
    let _ = writeln!(o, "  fault: {}", s.fault.as_deref().unwrap_or("none"));
    peer(&mut o, s);
    sync(&mut o, s);
    transitions(&mut o, s);
    o
}

fn peer(o: &mut String, s: &HaStatusData) {
    let p = &s.peer;
    let node = p
        .node
        .as_deref()
        .map_or(String::new(), |n| format!(" (node {n})"));
    let _ = writeln!(o, "Peer {}{node}", p.address);
    let link = match (p.connected, p.link_changed_unix_ms, p.link_changed_age_ms) {
        (true, Some(at), a) => format!("up since {} ({} ago)", wall(at), age(a)),
        (false, Some(at), a) => format!("down since {} ({} ago)", wall(at), age(a)),
        (true, None, _) => "up".into(),
        (false, None, _) => "down (never connected)".into(),
    };
    let _ = writeln!(
        o,
        "  link: {link}; sessions: {} established, {} lost",
        p.connects, p.disconnects
    );
    let said = match (&p.role, p.priority) {
        (Some(r), Some(prio)) => format!(" (said {}, priority {prio})", role_name(r)),
        _ => String::new(),
    };
    let _ = writeln!(o, "  last heartbeat: {}{said}", ago(p.heartbeat_age_ms));
    let _ = writeln!(o, "  last advert: {}", ago(p.advert_age_ms));
    let _ = writeln!(o, "  adverts refused: {}", counts(&p.adverts_refused));
    let _ = writeln!(o, "  link refused: {}", counts(&p.link_refused));
}

fn sync(o: &mut String, s: &HaStatusData) {
    let y = &s.sync;
    let _ = writeln!(o, "Sync");
    let _ = writeln!(
        o,
        "  records: {} sent, {} received; last received {}",
        y.records_sent,
        y.records_received,
        ago(y.last_received_age_ms)
    );
    let _ = writeln!(o, "  dropped: {}", counts(&y.dropped));
    let _ = writeln!(
        o,
        "  bulk syncs: {} sent ({} records), {} received ({} records){}",
        y.bulk_syncs_sent,
        y.bulk_records_sent,
        y.bulk_syncs_received,
        y.bulk_records_received,
        if y.bulk_in_progress {
            "; a dump to the peer is in progress"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "  lag: {} bytes queued to the peer, {} events waiting in the workers",
        y.queued_bytes, y.backlog_records
    );
}

fn transitions(o: &mut String, s: &HaStatusData) {
    let _ = writeln!(
        o,
        "Transitions ({} since start; last {}, newest first)",
        s.transitions_total,
        s.transitions.len()
    );
    if s.transitions.is_empty() {
        let _ = writeln!(o, "  none");
    }
    let width = (s.transitions.iter())
        .map(|t| t.from.len() + t.to.len() + 4)
        .max()
        .unwrap_or(0);
    for t in &s.transitions {
        let change = format!("{} -> {}", t.from, t.to);
        let detail = t
            .detail
            .as_deref()
            .map_or(String::new(), |d| format!(": {d}"));
        let _ = writeln!(
            o,
            "  {}  {change:<width$}  {}{detail} ({} ago)",
            wall(t.at_unix_ms),
            t.reason,
            age(Some(t.age_ms))
        );
    }
}

/// The role in capitals, with keepalived's name where it differs.
fn role_name(role: &str) -> String {
    match role {
        "active" => "ACTIVE (MASTER)".into(),
        other => other.to_uppercase(),
    }
}

/// `k v, k v, ...` in key order.
fn counts(m: &BTreeMap<String, u64>) -> String {
    let v: Vec<String> = m.iter().map(|(k, n)| format!("{k} {n}")).collect();
    v.join(", ")
}

/// `12.3s ago`, or `never`.
fn ago(ms: Option<u64>) -> String {
    match ms {
        Some(_) => format!("{} ago", age(ms)),
        None => "never".into(),
    }
}

/// A duration for people: `350ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`.
pub fn age(ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return "-".into();
    };
    let s = ms / 1000;
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}.{}s", s, (ms % 1000) / 100),
        60_000..3_600_000 => format!("{}m{:02}s", s / 60, s % 60),
        3_600_000..86_400_000 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS.mmm UTC`.
pub fn wall(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = secs / 86400;
    let rem = secs % 86400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        unix_ms % 1000
    )
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::proto::{HaPeerData, HaSyncData, HaTransitionData};

    fn map(rows: &[(&str, u64)]) -> BTreeMap<String, u64> {
        rows.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn status() -> HaStatusData {
        let t = |at, age_ms, from: &str, to: &str, reason: &str, detail: Option<&str>| {
            HaTransitionData {
                at_unix_ms: at,
                age_ms,
                from: from.into(),
                to: to.into(),
                reason: reason.into(),
                detail: detail.map(str::to_string),
            }
        };
        HaStatusData {
            configured: true,
            node: "lvs-b".into(),
            role: "active".into(),
            role_age_ms: 12_345,
            priority: 100,
            effective_priority: 100,
            preempt: true,
            preempt_delay_ms: 0,
            interval_ms: 100,
            dead_interval_ms: 300,
            fault: None,
            peer: HaPeerData {
                address: "198.18.9.1:5511".into(),
                node: Some("lvs-a".into()),
                role: Some("active".into()),
                priority: Some(150),
                connected: false,
                link_changed_unix_ms: Some(1_796_680_201_123),
                link_changed_age_ms: Some(12_400),
                heartbeat_age_ms: Some(12_450),
                advert_age_ms: None,
                connects: 1,
                disconnects: 1,
                adverts_refused: map(&[("bad_mac", 2), ("replay", 0)]),
                link_refused: map(&[("evicted", 0), ("not_peer_address", 3)]),
            },
            sync: HaSyncData {
                records_sent: 0,
                records_received: 1234,
                dropped: map(&[("behind", 0), ("install_full", 0), ("no_peer", 5)]),
                bulk_syncs_sent: 0,
                bulk_syncs_received: 1,
                bulk_records_sent: 0,
                bulk_records_received: 1200,
                bulk_in_progress: false,
                queued_bytes: 0,
                backlog_records: 2,
                last_received_age_ms: Some(12_600),
            },
            transitions_total: 3,
            transitions: vec![
                t(
                    1_796_680_201_423,
                    12_000,
                    "backup",
                    "active",
                    "no_active_peer",
                    None,
                ),
                t(
                    1_796_680_101_000,
                    112_400,
                    "fault",
                    "backup",
                    "fault_cleared",
                    None,
                ),
                t(
                    1_796_680_001_000,
                    3_723_000,
                    "backup",
                    "fault",
                    "fault_raised",
                    Some("port ext: no link"),
                ),
            ],
        }
    }

    #[test]
    fn the_block_names_every_fact() {
        let want = "\
HA node lvs-b: ACTIVE (MASTER) for 12.3s
  priority 100 (effective 100), preempt on (delay 0ms)
  interval 100ms, dead interval 300ms
  fault: none
Peer 198.18.9.1:5511 (node lvs-a)
  link: down since 2026-12-07 21:50:01.123 UTC (12.4s ago); sessions: 1 established, 1 lost
  last heartbeat: 12.4s ago (said ACTIVE (MASTER), priority 150)
  last advert: never
  adverts refused: bad_mac 2, replay 0
  link refused: evicted 0, not_peer_address 3
Sync
  records: 0 sent, 1234 received; last received 12.6s ago
  dropped: behind 0, install_full 0, no_peer 5
  bulk syncs: 0 sent (0 records), 1 received (1200 records)
  lag: 0 bytes queued to the peer, 2 events waiting in the workers
Transitions (3 since start; last 3, newest first)
  2026-12-07 21:50:01.423 UTC  backup -> active  no_active_peer (12.0s ago)
  2026-12-07 21:48:21.000 UTC  fault -> backup   fault_cleared (1m52s ago)
  2026-12-07 21:46:41.000 UTC  backup -> fault   fault_raised: port ext: no link (1h02m ago)
";
        assert_eq!(render(&status()), want);
    }

    #[test]
    fn a_backup_never_linked_without_preempt_or_transitions() {
        let mut s = status();
        s.role = "backup".into();
        s.preempt = false;
        s.fault = Some("port int: no link".into());
        s.peer.connected = false;
        s.peer.link_changed_unix_ms = None;
        s.peer.link_changed_age_ms = None;
        s.peer.node = None;
        s.peer.role = None;
        s.transitions.clear();
        s.transitions_total = 0;
        let text = render(&s);
        assert!(
            text.starts_with("HA node lvs-b: BACKUP for 12.3s\n"),
            "{text}"
        );
        assert!(text.contains("preempt off\n"), "{text}");
        assert!(text.contains("  fault: port int: no link\n"), "{text}");
        assert!(text.contains("Peer 198.18.9.1:5511\n"), "{text}");
        assert!(text.contains("  link: down (never connected); "), "{text}");
        assert!(text.contains("  last heartbeat: 12.4s ago\n"), "{text}");
        assert!(text.ends_with("newest first)\n  none\n"), "{text}");
    }

    #[test]
    fn ages_and_wall_clock() {
        assert_eq!(age(Some(999)), "999ms");
        assert_eq!(age(Some(1_000)), "1.0s");
        assert_eq!(age(Some(59_999)), "59.9s");
        assert_eq!(age(Some(60_000)), "1m00s");
        assert_eq!(age(Some(3_600_000)), "1h00m");
        assert_eq!(age(Some(90_000_000)), "1d01h");
        assert_eq!(age(None), "-");
        assert_eq!(wall(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(wall(951_782_400_000), "2000-02-29 00:00:00.000 UTC");
        assert_eq!(wall(1_796_688_000_999), "2026-12-08 00:00:00.999 UTC");
    }
}
