//! Active/backup on the management side: the authenticated peer link, the
//! role machine, connection-state replication and takeover.
//!
//! - Heartbeats go over the control link every `interval`; while active,
//!   worker 0 also sends VRRP-style adverts on every data port. A backup
//!   takes over only when both have been silent for `dead_interval`: losing
//!   just the control link never makes both directors active (adverts on
//!   the data network keep the backup down) — the split-brain rule.
//! - On becoming active: the snapshot is republished with VIPs and floating
//!   addresses served, and gratuitous ARPs go out for each of them
//!   (`garp.repeat` at once, again after `garp.delay`). Each role change
//!   runs the matching `notify_active` / `notify_backup` / `notify_fault`
//!   command, when configured, with the role, node and reason appended.
//! - A data port without link, or a failed `[ha] track` command, is a
//!   local fault: the director enters FAULT (an active resigns with a
//!   resign message and priority-0 adverts) until it clears.
//! - While active, workers report every connection creation, state change
//!   and removal; they are batched to the peer within one management loop
//!   iteration (~5 ms). A backup that (re)connects asks for a bulk dump,
//!   which workers produce a slice per loop iteration while live records
//!   keep flowing. The backup installs each record on the owning worker
//!   (same owner function on both directors).
use crate::config::ha::Ha;
use crate::datapath::{owner, HaEvent, Snapshot, SyncRecord};
use crate::ha::advert::{self, Refusal, Signer, Verifier};
use crate::ha::bulk::{Answer, BulkSync};
use crate::ha::history::History;
use crate::ha::link::{Event as LinkEvent, PeerLink};
use crate::ha::msg::{self, Msg};
use crate::ha::role::{Role, RoleConfig, RoleMachine, Transition};
use crate::health::track::Tracker;
use crate::health::{Notifier, NotifyEvent};
use crate::worker::{Command, CommandRing};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

mod status;
use status::PeerSeen;
pub use status::{unix_ms, WorkerSync};

/// How long a starting director holds preemption for its control link to
/// connect (at least twice the dead interval); see `RoleMachine::hold_preempt`.
const LINK_GRACE: Duration = Duration::from_secs(1);

/// An advert's priority 0: "the active is giving up the role" (VRRP's
/// shutdown advert, keepalived's `VRRP_PRIO_STOP`).
const PRIORITY_STOP: u8 = 0;

/// How long a stopping director waits for the first worker to take its
/// priority-0 adverts (a worker visits its command ring every few µs).
const RESIGN_SEND_WAIT: Duration = Duration::from_millis(100);

/// Counters of the HA machinery (exported as metrics).
#[derive(Debug, Default, Clone, Copy)]
pub struct HaStats {
    pub records_sent: u64,
    pub records_received: u64,
    /// Records made while no peer was connected (the next bulk sync
    /// covers them).
    pub records_no_peer: u64,
    /// Records the backup could not hand to a worker (install ring full).
    pub install_full: u64,
    /// Records lost because the link's send queue was full.
    pub send_full: u64,
    pub transitions: u64,
    pub bulk_sent: u64,
    pub bulk_received: u64,
    /// Bulk syncs completed to / from the peer.
    pub bulk_syncs_sent: u64,
    pub bulk_syncs_received: u64,
    /// Data-network adverts refused, by `advert::Refusal::ALL` order.
    pub adverts_refused: [u64; 4],
}

/// The HA manager.
pub struct HaMgr {
    cfg: Ha,
    link: PeerLink,
    role: RoleMachine,
    last_beat: Instant,
    garp_at: Vec<Instant>,
    bulk_pending: usize,
    bulk_generation: u64,
    bulk_count: u64,
    batch: Vec<msg::SyncRecord>,
    pub stats: HaStats,
    /// When this director last became active (for the takeover log line).
    pub active_since: Option<Instant>,
    /// Our side of the bulk-sync handshake.
    bulk: BulkSync,
    /// The local fault the management loop reports (a data port without
    /// link), applied on the next poll; `None`: healthy.
    fault: Option<String>,
    role_cfg: (RoleConfig, Ipv4Addr),
    started: bool,
    /// Runs the role notify commands (coalesced, timed out, reaped).
    notifier: Notifier,
    /// Authenticated adverts: ours, theirs, and our start (counter clock).
    adverts: (Signer, Verifier, Instant),
    /// The last role transitions (`lvsadm show ha`, metrics).
    history: History,
    /// When the peer was last heard, and what it said (`lvsadm show ha`).
    seen: PeerSeen,
    /// The `[ha] track` commands; a failed one is a local fault too.
    tracker: Tracker,
}

/// Worker events taken from each ring per poll (about a millisecond of
/// work: a record costs about a microsecond to queue and seal).
pub const EVENTS_PER_POLL: usize = 2048;

fn to_wire(r: &SyncRecord) -> msg::SyncRecord {
    msg::SyncRecord::from_conn(&r.conn, r.remove)
}

fn from_wire(r: &msg::SyncRecord) -> SyncRecord {
    SyncRecord {
        remove: r.op == msg::OP_REMOVE,
        conn: r.conn(),
    }
}

impl HaMgr {
    /// Start listening and connecting to the peer; the role starts as
    /// backup (listening first, so a starting node does not steal the role).
    pub fn new(cfg: Ha, own_addr: Ipv4Addr) -> anyhow::Result<HaMgr> {
        let key = crate::ha::key::read_key(&cfg.key_file).map_err(anyhow::Error::msg)?;
        let adverts = advert_keys(&key, &cfg.node)?;
        let link = PeerLink::new(cfg.listen, cfg.peer, key, cfg.node.clone(), cfg.priority)
            .map_err(|e| anyhow::anyhow!("ha.listen {}: {e}", cfg.listen))?;
        let rc = RoleConfig {
            priority: cfg.priority,
            preempt: cfg.preempt,
            preempt_delay: cfg.preempt_delay,
            interval: cfg.interval,
            dead_interval: cfg.dead_interval,
        };
        let now = Instant::now();
        Ok(HaMgr {
            role: RoleMachine::new(rc.clone(), cfg.node.clone(), own_addr, now),
            role_cfg: (rc, own_addr),
            started: false,
            link,
            last_beat: now,
            garp_at: Vec::new(),
            bulk_pending: 0,
            bulk_generation: 0,
            bulk_count: 0,
            batch: Vec::with_capacity(msg::MAX_RECORDS_PER_MSG),
            stats: HaStats::default(),
            active_since: None,
            bulk: BulkSync::default(),
            fault: None,
            notifier: Notifier::new(4),
            adverts,
            history: History::default(),
            seen: PeerSeen::new(now),
            tracker: Tracker::new(&cfg.track, now),
            cfg,
        })
    }

    /// Is this director active now?
    pub fn is_active(&self) -> bool {
        self.role.role() == Role::Active
    }

    /// The role as text (status, metrics).
    pub fn role_name(&self) -> &'static str {
        self.role.role().as_str()
    }

    /// Stopping (SIGTERM): an active director tells the peer at once, so
    /// the backup takes over within one interval instead of
    /// `dead_interval`: a resign message on the peer link and a priority-0
    /// advert on every data port (keepalived's shutdown advert), which
    /// reaches a backup that lost the peer link. Returns once the first
    /// worker has taken the adverts from its ring (at most
    /// `RESIGN_SEND_WAIT`): the workers must stop only after that.
    pub fn resign(&mut self, snap: &Snapshot, commands: &[Arc<CommandRing>]) {
        if !self.is_active() {
            return;
        }
        self.send_adverts(snap, commands, Instant::now(), PRIORITY_STOP);
        match self.link.send(Msg::Resign) {
            Ok(()) => {
                tracing::warn!(node = %self.cfg.node, "HA: stopping, active role resigned to the peer")
            }
            Err(e) => {
                tracing::warn!(node = %self.cfg.node, "HA: stopping, resigned by advert only (peer link: {e})")
            }
        }
        let waited = Instant::now();
        while commands.first().is_some_and(|q| !q.is_empty()) && waited.elapsed() < RESIGN_SEND_WAIT
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The management loop's view of local faults: `Some(reason)` (for
    /// example a data port without link) puts the director in FAULT on the
    /// next poll, `None` clears it (it rejoins as backup) unless a tracked
    /// command is failed.
    pub fn report_fault(&mut self, fault: Option<String>) {
        self.fault = fault;
    }

    /// Applies a raised or cleared local fault (the reported one, else a
    /// failed tracked command). Leaving the active role for a fault resigns
    /// to the peer (resign message and priority-0 adverts), which takes
    /// over at once; coming back asks for a bulk sync before any
    /// preemption.
    fn apply_fault(
        &mut self,
        snap: &Snapshot,
        commands: &[Arc<CommandRing>],
        now: Instant,
    ) -> Option<bool> {
        let was_active = self.is_active();
        // Polled every time: it reaps and starts the tracked commands.
        let tracked = self.tracker.poll(now);
        let fault = self.fault.clone().or(tracked);
        let t = self.role.set_fault(fault.is_some(), now)?;
        if was_active {
            let _ = self.link.send(Msg::Resign);
            self.send_adverts(snap, commands, now, PRIORITY_STOP);
        }
        // Back from a fault: no preemption before a fresh bulk sync.
        let hold = LINK_GRACE.max(2 * self.cfg.dead_interval);
        if t.to == Role::Backup
            && self.link.is_connected()
            && self.bulk.connected(&mut self.role, now, hold)
        {
            let _ = self.link.send(Msg::BulkRequest);
        }
        let why = fault.clone().unwrap_or_else(|| "fault cleared".into());
        self.apply(t, &why, fault.as_deref(), snap)
    }

    /// Is the peer link up?
    pub fn connected(&self) -> bool {
        self.link.is_connected()
    }

    /// Authentication failures on the peer link (bad MAC, replays, malformed).
    pub fn auth_failures(&self) -> u64 {
        let s = self.link.stats();
        s.auth.bad_mac + s.auth.replayed + s.auth.malformed
    }

    /// One management-loop step. Returns `Some(active)` when the role
    /// changed and the snapshot must be republished.
    pub fn poll(
        &mut self,
        snap: &Snapshot,
        commands: &[Arc<CommandRing>],
        events: &[Arc<crate::datapath::EventRing>],
    ) -> Option<bool> {
        let now = Instant::now();
        self.start_once(now);
        let mut changed = self.apply_fault(snap, commands, now);
        for ev in self.link.poll(now) {
            changed = self.on_link_event(ev, snap, commands, now).or(changed);
        }
        // Worker events: adverts from the peer, sync records for the peer.
        // Bounded per ring: a bulk dump refills the ring as fast as it is
        // drained, and draining it whole held the loop (and its
        // heartbeats) for the whole dump; the rest waits for the next poll.
        for ring in events {
            for _ in 0..EVENTS_PER_POLL {
                let Some(ev) = ring.pop() else { break };
                changed = self.on_worker_event(ev, snap, now).or(changed);
            }
        }
        self.flush_batch();
        for t in self.role.tick(now) {
            changed = self
                .apply(t, &format!("{:?}", t.reason), None, snap)
                .or(changed);
        }
        self.notifier.reap();
        self.beat(snap, commands, now);
        self.send_due_garps(snap, commands, now);
        changed
    }

    /// On the first poll: the listening period starts when the workers can
    /// see adverts, not when the process began bringing up EAL and its ports.
    fn start_once(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        self.seen.started = now;
        let (rc, addr) = self.role_cfg.clone();
        self.role = RoleMachine::new(rc, self.cfg.node.clone(), addr, now);
        // Adverts may be seen before the control link is up: no
        // preemption until the link connected and the bulk sync is in
        // (released in `bulk_received`), or — the link never coming up —
        // for LINK_GRACE at most.
        self.role
            .hold_preempt(Some(now + LINK_GRACE.max(2 * self.cfg.dead_interval)));
    }

    /// One event of the peer link; `Some(active)` when the role changed.
    fn on_link_event(
        &mut self,
        ev: LinkEvent,
        snap: &Snapshot,
        commands: &[Arc<CommandRing>],
        now: Instant,
    ) -> Option<bool> {
        match ev {
            LinkEvent::Connected => {
                tracing::info!(peer = %self.cfg.peer, "HA peer connected");
                self.seen.link_changed = Some((now, SystemTime::now()));
                let hold = LINK_GRACE.max(2 * self.cfg.dead_interval);
                if self.bulk.connected(&mut self.role, now, hold) {
                    let _ = self.link.send(Msg::BulkRequest);
                }
                None
            }
            LinkEvent::Disconnected => {
                tracing::warn!(peer = %self.cfg.peer, "HA peer disconnected");
                self.seen.link_changed = Some((now, SystemTime::now()));
                self.bulk.disconnected();
                None
            }
            LinkEvent::AuthFailure(kind) => {
                tracing::warn!(peer = %self.cfg.peer, ?kind, "HA peer refused (authentication)");
                None
            }
            LinkEvent::Message(m) => self.on_message(m, snap, commands, now),
        }
    }

    /// One message from the peer; `Some(active)` when the role changed.
    fn on_message(
        &mut self,
        m: Msg,
        snap: &Snapshot,
        commands: &[Arc<CommandRing>],
        now: Instant,
    ) -> Option<bool> {
        match m {
            Msg::Heartbeat {
                node,
                priority,
                state,
                ..
            } => {
                self.adverts.1.set_peer(&node);
                self.seen.heartbeat(&node, priority, state, now);
                let t = self.role.heartbeat(&node, priority, state, now)?;
                self.apply(t, &format!("{:?}", t.reason), None, snap)
            }
            Msg::SyncRecords(recs) => {
                self.seen.records = Some(now);
                self.install_records(&recs, snap, commands);
                None
            }
            // A dump to the peer in progress answers a repeated request
            // too (restarting it lost the count of the records in flight).
            Msg::BulkRequest if self.bulk_pending > 0 => None,
            Msg::BulkRequest => {
                match self.bulk.request(&self.role) {
                    Answer::Dump { generation } => self.start_bulk_to_peer(generation, commands),
                    Answer::Empty { generation } => {
                        let _ = self.link.send(Msg::BulkStart { generation });
                        let _ = self.link.send(Msg::BulkEnd {
                            generation,
                            count: 0,
                        });
                        self.stats.bulk_syncs_sent += 1;
                    }
                }
                None
            }
            Msg::BulkStart { generation } => {
                tracing::info!(generation, "bulk sync from the peer started");
                None
            }
            Msg::BulkEnd { generation, count } => self.bulk_received(generation, count),
            Msg::Resign => {
                tracing::warn!(peer = %self.cfg.peer, "HA peer resigned the active role");
                self.role.peer_resigned(now);
                None
            }
            Msg::Hello { .. } => None,
        }
    }

    /// Hand the peer's records to the workers that own their clients.
    fn install_records(
        &mut self,
        recs: &[msg::SyncRecord],
        snap: &Snapshot,
        commands: &[Arc<CommandRing>],
    ) {
        let workers = commands.len().max(1);
        self.stats.records_received += recs.len() as u64;
        for r in recs {
            let r = from_wire(r);
            let o = owner::of_record(snap, &r.conn, workers);
            if commands
                .get(o)
                .is_none_or(|q| q.push(Command::Install(r)).is_err())
            {
                self.stats.install_full += 1;
            }
        }
    }

    /// The peer asked for our table: every worker dumps its connections.
    fn start_bulk_to_peer(&mut self, generation: u64, commands: &[Arc<CommandRing>]) {
        self.bulk_generation = generation;
        self.bulk_count = 0;
        self.bulk_pending = commands.len();
        let _ = self.link.send(Msg::BulkStart {
            generation: self.bulk_generation,
        });
        for q in commands {
            let _ = q.push(Command::Bulk);
        }
        tracing::info!("bulk sync to the peer started");
    }

    /// The peer's table is all here: preemption is allowed again. `Some(active)` when the role changed.
    fn bulk_received(&mut self, generation: u64, count: u64) -> Option<bool> {
        self.stats.bulk_received += count;
        self.stats.bulk_syncs_received += 1;
        tracing::info!(generation, count, "bulk sync from the peer done");
        self.bulk.end(&mut self.role);
        None
    }

    /// One event from a worker; `Some(active)` when the role changed.
    fn on_worker_event(&mut self, ev: HaEvent, snap: &Snapshot, now: Instant) -> Option<bool> {
        match ev {
            HaEvent::Advert {
                port,
                src,
                len,
                body,
            } => {
                let body = body.get(..usize::from(len)).unwrap_or_default();
                self.advert_received(port.0, src, body, snap, now)
            }
            HaEvent::Sync(r) => {
                if self.bulk_pending > 0 {
                    self.bulk_count += 1;
                }
                self.queue_record(&r);
                None
            }
            HaEvent::BulkDone => {
                self.bulk_pending = self.bulk_pending.saturating_sub(1);
                if self.bulk_pending == 0 {
                    self.end_bulk_to_peer();
                }
                None
            }
        }
    }

    /// An advert seen on data port `port`: adverts of another virtual
    /// router are ignored; ours count only when authentic and fresh
    /// (`ha::advert`), else they are refused, counted and change nothing.
    fn advert_received(
        &mut self,
        port: u16,
        src: Ipv4Addr,
        body: &[u8],
        snap: &Snapshot,
        now: Instant,
    ) -> Option<bool> {
        if body.get(1) != Some(&self.cfg.vrid) {
            return None;
        }
        let a = match self.adverts.1.verify(body, src, port) {
            Ok(a) => {
                self.seen.advert = Some(now);
                a
            }
            Err(r) => {
                if let Some(i) = Refusal::ALL.iter().position(|x| *x == r) {
                    self.stats.adverts_refused[i] += 1;
                }
                // Until the peer link has authenticated once, a bad tag may
                // be a peer with another key: it still holds a director
                // that is not active back (as an outranking active would),
                // never makes one step down or take over, so a mis-keyed
                // pair does not run two actives.
                if r != Refusal::BadMac || self.adverts.1.knows_peer() || self.is_active() {
                    return None;
                }
                advert::Accepted {
                    vrid: self.cfg.vrid,
                    priority: u8::MAX,
                    new_boot: false,
                }
            }
        };
        if a.new_boot {
            tracing::info!(%src, "HA: adverts from a restarted peer");
        }
        let t = self.role.advert(a.priority, src, now)?;
        self.apply(t, &format!("{:?}", t.reason), None, snap)
    }

    /// Adverts refused, by reason label (metrics).
    pub fn adverts_refused(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Refusal::ALL
            .iter()
            .zip(self.stats.adverts_refused)
            .map(|(r, n)| (r.label(), n))
    }

    /// Every worker has dumped its table: tell the peer how many records.
    fn end_bulk_to_peer(&mut self) {
        self.flush_batch();
        let _ = self.link.send(Msg::BulkEnd {
            generation: self.bulk_generation,
            count: self.bulk_count,
        });
        self.stats.bulk_sent += self.bulk_count;
        self.stats.bulk_syncs_sent += 1;
        tracing::info!(count = self.bulk_count, "bulk sync to the peer done");
    }

    /// Every interval: a heartbeat on the peer link and, while we hold
    /// the role, a VRRP advert through the first worker.
    fn beat(&mut self, snap: &Snapshot, commands: &[Arc<CommandRing>], now: Instant) {
        if now.duration_since(self.last_beat) < self.cfg.interval {
            return;
        }
        self.last_beat = now;
        let _ = self.link.send(Msg::Heartbeat {
            node: self.cfg.node.clone(),
            priority: self.cfg.priority,
            state: self.role.role(),
            advert_seq: 0,
        });
        if self.role.should_send_adverts() {
            self.send_adverts(snap, commands, now, self.cfg.priority);
        }
    }

    /// One authenticated advert per data port (each signed with that
    /// port's source address) with `priority`, sent by the first worker.
    fn send_adverts(
        &mut self,
        snap: &Snapshot,
        commands: &[Arc<CommandRing>],
        now: Instant,
        priority: u8,
    ) {
        let Some(q) = commands.first() else { return };
        let cs = (self.cfg.interval.as_millis() / 10).clamp(1, 4095) as u16;
        let (signer, _, born) = &mut self.adverts;
        let counter = signer.next_counter(now.saturating_duration_since(*born));
        for (i, p) in snap.ports.iter().enumerate() {
            let body = signer.seal(self.cfg.vrid, priority, cs, p.addr.addr, counter);
            let _ = q.push(Command::Advert {
                port: crate::types::PortId(i as u16),
                body,
            });
        }
    }

    /// Gratuitous ARP bursts scheduled at takeover, when due.
    fn send_due_garps(&mut self, snap: &Snapshot, commands: &[Arc<CommandRing>], now: Instant) {
        if !self.is_active() {
            return;
        }
        let due: Vec<Instant> = self.garp_at.iter().copied().filter(|t| *t <= now).collect();
        if !due.is_empty() {
            self.garp_at.retain(|t| *t > now);
            self.send_garps(snap, commands);
        }
    }

    fn queue_record(&mut self, r: &SyncRecord) {
        if !self.link.is_connected() {
            self.stats.records_no_peer += 1;
            return;
        }
        self.batch.push(to_wire(r));
        if self.batch.len() >= msg::MAX_RECORDS_PER_MSG {
            self.flush_batch();
        }
    }

    fn flush_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let n = self.batch.len() as u64;
        let recs = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(msg::MAX_RECORDS_PER_MSG),
        );
        match self.link.send(Msg::SyncRecords(recs)) {
            Ok(()) => self.stats.records_sent += n,
            Err(crate::ha::link::SendError::Full) => self.stats.send_full += n,
            Err(_) => self.stats.records_no_peer += n,
        }
    }

    /// A role change: run the notify command; `Some(active)` when the
    /// director starts or stops serving (the snapshot must be republished).
    /// `why` is the notify reason, `detail` what the history keeps beyond
    /// the transition's reason (the fault).
    fn apply(
        &mut self,
        t: Transition,
        why: &str,
        detail: Option<&str>,
        snap: &Snapshot,
    ) -> Option<bool> {
        let (from, to, now) = (t.from, t.to, t.at);
        self.stats.transitions += 1;
        self.history.record(&t, SystemTime::now(), detail);
        let cmd = match to {
            Role::Active => self.cfg.notify_active.clone(),
            Role::Backup => self.cfg.notify_backup.clone(),
            Role::Fault => self.cfg.notify_fault.clone(),
            Role::Init => None,
        };
        let role = to.as_str();
        if let Some(cmd) = cmd {
            let ev = NotifyEvent::Role {
                role,
                node: self.cfg.node.clone(),
                reason: why.to_string(),
            };
            self.notifier.notify(&cmd, &ev);
        }
        if (from == Role::Active) == (to == Role::Active) {
            tracing::info!(node = %self.cfg.node, reason = why, ?from, ?to, "HA role");
            return None;
        }
        Some(self.transition(to, why, snap, now))
    }

    fn transition(&mut self, to: Role, why: &str, snap: &Snapshot, now: Instant) -> bool {
        let active = to == Role::Active;
        if active {
            self.active_since = Some(now);
            // keepalived: garp_master_repeat now, again after garp_master_delay.
            self.garp_at = (0..self.cfg.garp.repeat)
                .map(|i| now + Duration::from_millis(u64::from(i) * 10))
                .collect();
            if !self.cfg.garp.delay.is_zero() {
                let later = now + self.cfg.garp.delay;
                self.garp_at.extend(
                    (0..self.cfg.garp.repeat)
                        .map(|i| later + Duration::from_millis(u64::from(i) * 10)),
                );
            }
            tracing::warn!(node = %self.cfg.node, reason = why, vips = snap.vips.len(), "HA: becoming ACTIVE");
        } else {
            self.garp_at.clear();
            self.active_since = None;
            tracing::warn!(node = %self.cfg.node, reason = why, role = ?to, "HA: leaving active role");
        }
        active
    }

    fn send_garps(&self, snap: &Snapshot, commands: &[Arc<CommandRing>]) {
        let Some(q) = commands.first() else { return };
        for (i, p) in snap.ports.iter().enumerate() {
            for ip in p.vips.iter().chain(&p.floating) {
                let _ = q.push(Command::Garp {
                    port: crate::types::PortId(i as u16),
                    ip: *ip,
                });
            }
        }
    }
}

/// The advert signer (random boot id, wall clock at start) and verifier.
fn advert_keys(key: &[u8], node: &str) -> anyhow::Result<(Signer, Verifier, Instant)> {
    const _: () = assert!(advert::LEN == crate::datapath::ADVERT_LEN);
    let mut boot = [0u8; 8];
    getrandom::fill(&mut boot).map_err(|e| anyhow::anyhow!("advert boot id: {e}"))?;
    let epoch_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let signer = Signer::new(key, node, boot, epoch_ns);
    let verifier = Verifier::new(key, node);
    match (signer, verifier) {
        (Some(s), Some(v)) => Ok((s, v, Instant::now())),
        _ => anyhow::bail!("ha.key_file: empty key"),
    }
}

/// This director's data-network address used in adverts (the first
/// port's), for tie-breaks between equal priorities.
pub fn own_addr(m: &crate::config::Model) -> Ipv4Addr {
    m.ports
        .first()
        .map_or(Ipv4Addr::UNSPECIFIED, |p| p.address.addr)
}
