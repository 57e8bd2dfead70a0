//! The active/backup role state machine: pure, time-driven, no I/O.
//!
//! Inputs are liveness evidence from the peer — [`RoleMachine::heartbeat`]
//! (control link, TCP) and [`RoleMachine::advert`] (VRRP-style adverts seen on
//! the data network) — plus [`RoleMachine::tick`] and
//! [`RoleMachine::set_fault`]. Every input takes `now`; the machine never
//! reads a clock, so it is fully deterministic under test.
//!
//! Both liveness paths feed the same "last heard an active peer" timestamp:
//! a backup takes over only when *neither* path has shown an active peer for
//! `dead_interval`. Losing only the control link therefore does not create a
//! second active while the data network still carries the active's adverts
//! (split-brain rule).
//!
//! Rank: a peer outranks us when its priority is higher, or equal and its
//! tie-break key is higher. Ties heard through a heartbeat compare node
//! names; ties heard through an advert compare data-network source addresses
//! and are only decided by adverts while no heartbeat arrived for
//! `dead_interval` (so the two paths can never disagree while both work).
//!
//! State table (`dead` = `dead_interval`; "active heard" = a heartbeat with
//! `from_role == Active` or any advert with priority ≠ 0):
//!
//! | from   | event                                                   | to     | reason               |
//! |--------|---------------------------------------------------------|--------|----------------------|
//! | Init   | active heard                                            | Backup | `ActivePeerSeen`     |
//! | Init   | tick, `dead` elapsed since start                        | Backup | `StartupListenDone`  |
//! | Backup | tick, no active heard for `dead`, no live candidate peer outranks us | Active | `NoActivePeer` |
//! | Backup | tick after an advert with priority 0 or a resign message | Active | `PeerResigned`      |
//! | Backup | tick, `preempt`, active peer of lower priority heard continuously for `preempt_delay` | Active | `Preempt` |
//! | Active | active heard that outranks us                           | Backup | `HigherRankActive`   |
//! | any    | `set_fault(true)`                                       | Fault  | `FaultRaised`        |
//! | Fault  | `set_fault(false)` (then listens `dead` again)          | Backup | `FaultCleared`       |
//!
//! For one `interval` after a resign message or a priority-0 advert, the
//! resigning peer's claims still in flight (its last adverts) are ignored.
//!
//! A "live candidate peer" is a peer whose last heartbeat (within `dead`)
//! said Init or Backup: it will take over itself when no active exists, so
//! of two directors started together only the higher-ranked one becomes
//! active (keepalived's master-down skew does the same with timers). A peer
//! in Fault is never a candidate.
//!
//! Everything else leaves the role unchanged: an Active that hears a
//! lower-ranked Active stays Active (the other steps down when it hears us);
//! a Backup without `preempt` never takes over from a live Active.
//!
//! Invariants:
//! * Only `Active` sends adverts ([`RoleMachine::should_send_adverts`]).
//! * A node that starts listens at least `dead_interval` before it can become
//!   Active, unless it is told the active resigned.
//! * Inputs from our own node name / own address are ignored.
//! * No input panics; durations saturate.

use std::cmp::Ordering;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// A director's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Just started: listening for an active peer.
    Init,
    /// Standing by; receives sync records.
    Backup,
    /// Owns the virtual addresses; sends adverts and sync records.
    Active,
    /// Local failure (e.g. data port down); never active.
    Fault,
}

impl Role {
    /// Wire code: Init 0, Backup 1, Active 2, Fault 3.
    pub fn code(self) -> u8 {
        match self {
            Role::Init => 0,
            Role::Backup => 1,
            Role::Active => 2,
            Role::Fault => 3,
        }
    }

    /// Inverse of [`Role::code`].
    pub fn from_code(c: u8) -> Option<Role> {
        match c {
            0 => Some(Role::Init),
            1 => Some(Role::Backup),
            2 => Some(Role::Active),
            3 => Some(Role::Fault),
            _ => None,
        }
    }
}

impl Role {
    /// The role's name in logs, status, metrics and notify arguments.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Init => "init",
            Role::Backup => "backup",
            Role::Active => "active",
            Role::Fault => "fault",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Role machine configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConfig {
    /// 1..=254; higher wins.
    pub priority: u8,
    /// Take over from a live, lower-priority active (default false: avoids a
    /// needless fail-back that loses unsynced connections).
    pub preempt: bool,
    /// How long the lower-priority active must be seen before preempting.
    pub preempt_delay: Duration,
    /// Heartbeat/advert interval (default 100 ms).
    pub interval: Duration,
    /// Silence after which the active is declared dead (default 3 × interval).
    pub dead_interval: Duration,
}

impl Default for RoleConfig {
    fn default() -> Self {
        RoleConfig {
            priority: 100,
            preempt: false,
            preempt_delay: Duration::ZERO,
            interval: Duration::from_millis(100),
            dead_interval: Duration::from_millis(300),
        }
    }
}

/// A configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub &'static str);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ConfigError {}

impl RoleConfig {
    /// Default timers with the given priority.
    pub fn with_priority(priority: u8) -> RoleConfig {
        RoleConfig {
            priority,
            ..RoleConfig::default()
        }
    }

    /// Checks ranges: priority 1..=254, interval > 0, dead ≥ interval.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=254).contains(&self.priority) {
            return Err(ConfigError("priority must be 1..=254"));
        }
        if self.interval.is_zero() {
            return Err(ConfigError("interval must be > 0"));
        }
        if self.dead_interval < self.interval {
            return Err(ConfigError("dead_interval must be >= interval"));
        }
        Ok(())
    }
}

/// Why a transition happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Init heard an active peer.
    ActivePeerSeen,
    /// Init listened for `dead_interval`.
    StartupListenDone,
    /// No active peer heard for `dead_interval`.
    NoActivePeer,
    /// The active announced it is stopping (advert priority 0).
    PeerResigned,
    /// Preempted a lower-priority active.
    Preempt,
    /// Heard an active that outranks us.
    HigherRankActive,
    /// Local fault raised.
    FaultRaised,
    /// Local fault cleared.
    FaultCleared,
}

impl Reason {
    /// The reason's name in status output and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ActivePeerSeen => "active_peer_seen",
            Reason::StartupListenDone => "startup_listen_done",
            Reason::NoActivePeer => "no_active_peer",
            Reason::PeerResigned => "peer_resigned",
            Reason::Preempt => "preempt",
            Reason::HigherRankActive => "higher_rank_active",
            Reason::FaultRaised => "fault_raised",
            Reason::FaultCleared => "fault_cleared",
        }
    }
}

/// One role change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Role before.
    pub from: Role,
    /// Role after.
    pub to: Role,
    /// Why.
    pub reason: Reason,
    /// When.
    pub at: Instant,
}

/// The role state machine (see the module docs for the state table).
#[derive(Debug, Clone)]
pub struct RoleMachine {
    cfg: RoleConfig,
    node: String,
    addr: Ipv4Addr,
    role: Role,
    started: Instant,
    /// Last time an active peer was heard, or the start of the current
    /// listening window, whichever is later.
    last_active: Instant,
    last_heartbeat: Option<Instant>,
    /// The peer's last heartbeat outranks us and says it could take over.
    peer_candidate_outranks: bool,
    /// After a resign message, claims of the peer still in flight (its last
    /// advert) are ignored until this instant.
    resign_quiet_until: Option<Instant>,
    peer_priority: Option<u8>,
    resigned: bool,
    preempt_since: Option<Instant>,
    /// No preemption before this instant (see [`hold_preempt`](Self::hold_preempt)).
    preempt_hold: Option<Instant>,
}

impl RoleMachine {
    /// A machine in `Init`. `node` is our node name (heartbeat tie-break),
    /// `addr` our advert source address on the data network (advert
    /// tie-break). `cfg` should pass [`RoleConfig::validate`]; out-of-range
    /// values are clamped.
    pub fn new(mut cfg: RoleConfig, node: impl Into<String>, addr: Ipv4Addr, now: Instant) -> Self {
        cfg.priority = cfg.priority.clamp(1, 254);
        if cfg.interval.is_zero() {
            cfg.interval = Duration::from_millis(1);
        }
        cfg.dead_interval = cfg.dead_interval.max(cfg.interval);
        RoleMachine {
            cfg,
            node: node.into(),
            addr,
            role: Role::Init,
            started: now,
            last_active: now,
            last_heartbeat: None,
            peer_candidate_outranks: false,
            resign_quiet_until: None,
            peer_priority: None,
            resigned: false,
            preempt_since: None,
            preempt_hold: None,
        }
    }

    /// Hold preemption until `until` (`None`: release). A returning director
    /// holds it until its control link had the chance to connect and bring
    /// the peer's connections (the bulk sync), so it does not take the VIPs
    /// back on the first advert it sees, before it knows their connections.
    /// Takeover from a dead or resigning active is never held.
    pub fn hold_preempt(&mut self, until: Option<Instant>) {
        self.preempt_hold = until;
    }

    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The (clamped) configuration.
    pub fn config(&self) -> &RoleConfig {
        &self.cfg
    }

    /// Priority of the last active peer heard, if any.
    pub fn peer_priority(&self) -> Option<u8> {
        self.peer_priority
    }

    /// True while Active: only the active sends data-network adverts.
    pub fn should_send_adverts(&self) -> bool {
        self.role == Role::Active
    }

    /// A heartbeat from the peer over the control link.
    pub fn heartbeat(
        &mut self,
        from_node: &str,
        from_priority: u8,
        from_role: Role,
        now: Instant,
    ) -> Option<Transition> {
        if from_node == self.node {
            return None;
        }
        self.last_heartbeat = Some(now);
        let tie = from_node.cmp(self.node.as_str());
        let outranks = from_priority > self.cfg.priority
            || (from_priority == self.cfg.priority && tie == Ordering::Greater);
        self.peer_candidate_outranks = matches!(from_role, Role::Init | Role::Backup) && outranks;
        if from_role != Role::Active {
            return None;
        }
        self.heard_active(from_priority, Some(tie), now)
    }

    /// The peer told us over the control link that it gives up the active
    /// role (it is stopping or faulty): a backup takes over on the next
    /// tick, without waiting for `dead_interval`.
    pub fn peer_resigned(&mut self, now: Instant) {
        self.last_heartbeat = Some(now);
        self.peer_candidate_outranks = false;
        self.resign_quiet_until = Some(now + self.cfg.interval);
        if self.role == Role::Backup {
            self.resigned = true;
        }
    }

    /// A VRRP-style advert seen on the data network (only actives send them;
    /// priority 0 means "the active is stopping").
    pub fn advert(
        &mut self,
        from_priority: u8,
        from_addr: Ipv4Addr,
        now: Instant,
    ) -> Option<Transition> {
        if from_addr == self.addr {
            return None;
        }
        if from_priority == 0 {
            // Its adverts of other ports, sent just before, may still be
            // in flight: ignored for one interval, as after a resign message.
            self.resign_quiet_until = Some(now + self.cfg.interval);
            if self.role == Role::Backup {
                self.resigned = true;
            }
            return None;
        }
        let heartbeats_alive = self
            .last_heartbeat
            .is_some_and(|t| now.saturating_duration_since(t) < self.cfg.dead_interval);
        let tie = (!heartbeats_alive).then(|| from_addr.cmp(&self.addr));
        self.heard_active(from_priority, tie, now)
    }

    /// Raises or clears a local fault.
    pub fn set_fault(&mut self, faulty: bool, now: Instant) -> Option<Transition> {
        match (faulty, self.role) {
            (true, Role::Fault) | (false, Role::Init | Role::Backup | Role::Active) => None,
            (true, _) => Some(self.go(Role::Fault, Reason::FaultRaised, now)),
            (false, Role::Fault) => {
                self.last_active = now;
                self.resigned = false;
                Some(self.go(Role::Backup, Reason::FaultCleared, now))
            }
        }
    }

    /// Advances timers; may return up to two transitions (Init → Backup →
    /// Active in the same tick).
    pub fn tick(&mut self, now: Instant) -> Vec<Transition> {
        let mut out = Vec::new();
        if self.role == Role::Init && self.elapsed(self.started, now) >= self.cfg.dead_interval {
            out.push(self.go(Role::Backup, Reason::StartupListenDone, now));
        }
        if self.role == Role::Backup {
            if self.resigned {
                out.push(self.go(Role::Active, Reason::PeerResigned, now));
            } else if self.elapsed(self.last_active, now) >= self.cfg.dead_interval
                && !self.candidate_peer_outranks(now)
            {
                out.push(self.go(Role::Active, Reason::NoActivePeer, now));
            } else if let Some(since) = self.preempt_since {
                let held = self.preempt_hold.is_some_and(|u| now < u);
                if !held && self.elapsed(since, now) >= self.cfg.preempt_delay {
                    out.push(self.go(Role::Active, Reason::Preempt, now));
                }
            }
        }
        out
    }

    /// A live peer (heartbeat within `dead_interval`) that is not active,
    /// not faulty and outranks us: it takes the role, we stay backup.
    fn candidate_peer_outranks(&self, now: Instant) -> bool {
        self.peer_candidate_outranks
            && self
                .last_heartbeat
                .is_some_and(|t| self.elapsed(t, now) < self.cfg.dead_interval)
    }

    fn elapsed(&self, since: Instant, now: Instant) -> Duration {
        now.saturating_duration_since(since)
    }

    /// `tie`: the peer's tie-break key compared with ours, or `None` when
    /// this path must not decide ties.
    fn heard_active(
        &mut self,
        prio: u8,
        tie: Option<Ordering>,
        now: Instant,
    ) -> Option<Transition> {
        if self.resign_quiet_until.is_some_and(|u| now < u) {
            return None;
        }
        self.last_active = now;
        self.peer_priority = Some(prio);
        self.resigned = false;
        let own = self.cfg.priority;
        match self.role {
            Role::Init => {
                self.update_preempt(prio, now);
                Some(self.go(Role::Backup, Reason::ActivePeerSeen, now))
            }
            Role::Backup => {
                self.update_preempt(prio, now);
                None
            }
            Role::Active => {
                let outranked = prio > own || (prio == own && tie == Some(Ordering::Greater));
                outranked.then(|| self.go(Role::Backup, Reason::HigherRankActive, now))
            }
            Role::Fault => None,
        }
    }

    fn update_preempt(&mut self, prio: u8, now: Instant) {
        if self.cfg.preempt && self.cfg.priority > prio {
            self.preempt_since.get_or_insert(now);
        } else {
            self.preempt_since = None;
        }
    }

    fn go(&mut self, to: Role, reason: Reason, now: Instant) -> Transition {
        let t = Transition {
            from: self.role,
            to,
            reason,
            at: now,
        };
        if to != Role::Backup {
            self.preempt_since = None;
        }
        self.role = to;
        if to == Role::Active {
            self.resigned = false;
        }
        tracing::info!(from = %t.from, to = %t.to, reason = ?reason, "ha role transition");
        t
    }
}
