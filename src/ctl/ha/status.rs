//! The pair's state as `lvsadm show ha` and the metrics see it: what the
//! manager remembers of the peer ([`PeerSeen`]), the workers' side of the
//! replication ([`WorkerSync`]) and the control protocol's `ha` answer.
use super::HaMgr;
use crate::ctl::proto::{HaPeerData, HaStatusData, HaSyncData, HaTransitionData};
use crate::datapath::{Counters, EventRing};
use crate::ha::history::History;
use crate::ha::role::Role;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// When the peer was last heard on each path, and what it said.
#[derive(Debug, Clone)]
pub struct PeerSeen {
    /// Our start (the first poll): the role's age before any transition.
    pub started: Instant,
    /// The last heartbeat (peer link) and the last accepted advert (data network).
    pub heartbeat: Option<Instant>,
    pub advert: Option<Instant>,
    /// The last sync records received.
    pub records: Option<Instant>,
    /// When the peer link last came up or went down (monotonic, wall).
    pub link_changed: Option<(Instant, SystemTime)>,
    /// The peer's node name, role and priority from its last heartbeat.
    pub node: Option<String>,
    pub role: Option<Role>,
    pub priority: Option<u8>,
}

impl PeerSeen {
    pub fn new(now: Instant) -> PeerSeen {
        PeerSeen {
            started: now,
            heartbeat: None,
            advert: None,
            records: None,
            link_changed: None,
            node: None,
            role: None,
            priority: None,
        }
    }

    /// A heartbeat from the peer.
    pub fn heartbeat(&mut self, node: &str, priority: u8, role: Role, now: Instant) {
        self.heartbeat = Some(now);
        if self.node.as_deref() != Some(node) {
            self.node = Some(node.to_string());
        }
        self.role = Some(role);
        self.priority = Some(priority);
    }
}

/// The workers' side of the replication: records lost because a worker's
/// sync ring was full, and events (records, adverts) waiting in the rings
/// for the management loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerSync {
    pub ring_dropped: u64,
    pub backlog: u64,
}

impl WorkerSync {
    pub fn of(counters: &[Arc<Counters>], events: &[Arc<EventRing>]) -> WorkerSync {
        WorkerSync {
            ring_dropped: counters.iter().map(|c| c.sync_dropped.get()).sum(),
            backlog: events.iter().map(|r| r.len() as u64).sum(),
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn age_ms(since: Option<Instant>, now: Instant) -> Option<u64> {
    since.map(|t| ms(now.saturating_duration_since(t)))
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, ms)
}

fn table(rows: &[(&'static str, u64)]) -> BTreeMap<String, u64> {
    rows.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

impl HaMgr {
    /// The priority this director claims with now: 0 in fault.
    pub fn effective_priority(&self) -> u8 {
        if self.role.role() == Role::Fault {
            0
        } else {
            self.cfg.priority
        }
    }

    /// The configured priority and preemption.
    pub fn priority(&self) -> u8 {
        self.cfg.priority
    }

    pub fn preempt(&self) -> bool {
        self.cfg.preempt
    }

    /// The last role transitions.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// What is remembered of the peer.
    pub fn seen(&self) -> &PeerSeen {
        &self.seen
    }

    /// Peer-link refusals by reason: frames (bad MAC, replayed, malformed)
    /// and, before authentication, connections not from the peer's address,
    /// evicted from a full pre-auth slot table, or out of handshake time.
    pub fn link_refused(&self) -> [(&'static str, u64); 6] {
        let s = self.link.stats();
        [
            ("bad_mac", s.auth.bad_mac),
            ("replayed", s.auth.replayed),
            ("malformed", s.auth.malformed),
            ("not_peer_address", s.refused_addr),
            ("evicted", s.evicted),
            ("handshake_timeout", s.handshake_timeouts),
        ]
    }

    /// Records not replicated, by reason: `behind` (a worker's sync ring or
    /// the peer link's send queue was full), `no_peer` (made while no peer
    /// was connected: the next bulk sync covers them), `install_full` (this
    /// backup's install ring to a worker was full).
    pub fn sync_dropped(&self, w: WorkerSync) -> [(&'static str, u64); 3] {
        [
            ("behind", w.ring_dropped + self.stats.send_full),
            ("no_peer", self.stats.records_no_peer),
            ("install_full", self.stats.install_full),
        ]
    }

    /// Bytes waiting in the peer link's send queue.
    pub fn queued_bytes(&self) -> u64 {
        self.link.stats().queued_bytes as u64
    }

    /// The answer to the control protocol's `ha`.
    pub fn status(&self, w: WorkerSync, now: Instant) -> HaStatusData {
        let role_since = self.history.last().map_or(self.seen.started, |e| e.at);
        let transitions = (self.history.entries().rev())
            .map(|e| HaTransitionData {
                at_unix_ms: unix_ms(e.wall),
                age_ms: ms(now.saturating_duration_since(e.at)),
                from: e.from.as_str().into(),
                to: e.to.as_str().into(),
                reason: e.reason.as_str().into(),
                detail: e.detail.clone(),
            })
            .collect();
        HaStatusData {
            configured: true,
            node: self.cfg.node.clone(),
            role: self.role_name().into(),
            role_age_ms: ms(now.saturating_duration_since(role_since)),
            priority: self.cfg.priority,
            effective_priority: self.effective_priority(),
            preempt: self.cfg.preempt,
            preempt_delay_ms: ms(self.cfg.preempt_delay),
            interval_ms: ms(self.cfg.interval),
            dead_interval_ms: ms(self.cfg.dead_interval),
            fault: self.fault.clone(),
            peer: self.peer_status(now),
            sync: self.sync_status(w, now),
            transitions_total: self.stats.transitions,
            transitions,
        }
    }

    /// The peer part of [`status`](Self::status).
    pub fn peer_status(&self, now: Instant) -> HaPeerData {
        let link = self.link.stats();
        let linked = self.link.peer().map(|(n, _)| n.to_string());
        HaPeerData {
            address: self.cfg.peer.to_string(),
            node: linked.or_else(|| self.seen.node.clone()),
            role: self.seen.role.map(|r| r.as_str().to_string()),
            priority: self.seen.priority,
            connected: self.connected(),
            link_changed_unix_ms: self.seen.link_changed.map(|(_, w)| unix_ms(w)),
            link_changed_age_ms: age_ms(self.seen.link_changed.map(|(t, _)| t), now),
            heartbeat_age_ms: age_ms(self.seen.heartbeat, now),
            advert_age_ms: age_ms(self.seen.advert, now),
            connects: link.connects,
            disconnects: link.disconnects,
            adverts_refused: self.adverts_refused().map(|(k, v)| (k.into(), v)).collect(),
            link_refused: table(&self.link_refused()),
        }
    }

    /// The sync part of [`status`](Self::status).
    pub fn sync_status(&self, w: WorkerSync, now: Instant) -> HaSyncData {
        HaSyncData {
            records_sent: self.stats.records_sent,
            records_received: self.stats.records_received,
            dropped: table(&self.sync_dropped(w)),
            bulk_syncs_sent: self.stats.bulk_syncs_sent,
            bulk_syncs_received: self.stats.bulk_syncs_received,
            bulk_records_sent: self.stats.bulk_sent,
            bulk_records_received: self.stats.bulk_received,
            bulk_in_progress: self.bulk_pending > 0,
            queued_bytes: self.queued_bytes(),
            backlog_records: w.backlog,
            last_received_age_ms: age_ms(self.seen.records, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ctl::proto::{HaStatusData, Request, Response};
    use crate::ctl::runtime::Runtime;
    use std::os::unix::fs::PermissionsExt;

    const PORT: &str =
        "[[port]]\nname = \"ext\"\ndevice = \"net_null0\"\naddress = \"198.18.0.2/24\"\n";

    /// A runtime without workers, with `[ha]` when `ha`.
    fn runtime(ha: bool) -> Runtime {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("lvsd-ha-status-{}-{ha}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let key = dir.join("ha.key");
        std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").expect("key file");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("key mode");
        let mut text = format!("[dpdk]\nlcores = \"0-1\"\n\n{PORT}");
        if ha {
            text += &format!(
                "\n[ha]\nnode = \"lvs-a\"\npriority = 150\npreempt = false\npeer = \"127.0.0.1:9\"\nlisten = \"127.0.0.1:0\"\nkey_file = \"{}\"\n",
                key.display()
            );
        }
        let m = crate::config::load(&text).expect("config");
        let links = crate::worker::Links::new(0);
        let rt = Runtime::new(dir.join("lvsd.toml"), m, Vec::new(), links).expect("runtime");
        let _ = std::fs::remove_dir_all(&dir);
        rt
    }

    #[test]
    fn the_ha_request_says_not_configured_without_ha() {
        let mut rt = runtime(false);
        assert_eq!(
            rt.handle(Request::Ha),
            Response::data(serde_json::json!({ "configured": false }))
        );
    }

    #[test]
    fn the_ha_request_answers_the_pairs_state() {
        let mut rt = runtime(true);
        let r = rt.handle(Request::Ha);
        assert!(r.ok, "{r:?}");
        let s: HaStatusData = serde_json::from_value(r.data.expect("data")).expect("HaStatusData");
        assert!(s.configured);
        assert_eq!((s.node.as_str(), s.role.as_str()), ("lvs-a", "init"));
        assert_eq!(
            (s.priority, s.effective_priority, s.preempt),
            (150, 150, false)
        );
        assert_eq!((s.interval_ms, s.dead_interval_ms), (100, 300));
        assert_eq!(s.peer.address, "127.0.0.1:9");
        assert!(!s.peer.connected);
        assert_eq!(
            (
                s.peer.heartbeat_age_ms,
                s.peer.advert_age_ms,
                s.peer.link_changed_unix_ms
            ),
            (None, None, None)
        );
        let keys = |m: &std::collections::BTreeMap<String, u64>| {
            m.keys().cloned().collect::<Vec<_>>().join(",")
        };
        assert_eq!(
            keys(&s.peer.adverts_refused),
            "bad_mac,malformed,replay,unknown_sender"
        );
        assert_eq!(
            keys(&s.peer.link_refused),
            "bad_mac,evicted,handshake_timeout,malformed,not_peer_address,replayed"
        );
        assert_eq!(keys(&s.sync.dropped), "behind,install_full,no_peer");
        assert_eq!((s.transitions_total, s.transitions.len()), (0, 0));
    }

    #[test]
    fn one_poll_takes_a_bounded_slice_of_a_workers_events() {
        use crate::ctl::ha::EVENTS_PER_POLL;
        use crate::datapath::{EventRing, HaEvent, SyncRecord};
        use crate::types::ConnRecord;
        use std::net::Ipv4Addr;
        use std::sync::Arc;
        let mut rt = runtime(true);
        let ring = Arc::new(EventRing::new(3 * EVENTS_PER_POLL));
        let rec = SyncRecord {
            remove: false,
            conn: ConnRecord {
                proto: 6,
                state: 1,
                template: false,
                active: true,
                caddr: Ipv4Addr::new(198, 18, 2, 1),
                cport: 1024,
                vaddr: Ipv4Addr::new(198, 18, 0, 100),
                vport: 80,
                raddr: Ipv4Addr::new(198, 18, 1, 11),
                rport: 8080,
                expires_ms: 900_000,
            },
        };
        for _ in 0..3 * EVENTS_PER_POLL {
            ring.push(HaEvent::Sync(rec)).expect("room");
        }
        rt.events = vec![ring.clone()];
        rt.poll_ha();
        assert_eq!(ring.len(), 2 * EVENTS_PER_POLL, "one slice per poll");
        rt.poll_ha();
        rt.poll_ha();
        assert!(ring.is_empty());
    }
}
