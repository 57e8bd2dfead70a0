//! The health-check engine: all checks of all targets, concurrently, on the
//! calling (management) thread, driven by one `mio::Poll`.
//!
//! Invariants:
//! * Single-threaded: no thread per check; sockets are non-blocking, exec
//!   checks are child processes polled with `try_wait` (at most
//!   `max_exec` running; further ones wait in a FIFO and their timeout
//!   starts when they are spawned). A child past its deadline has its whole
//!   process group killed (see `child`) and is
//!   reaped later, never waited for synchronously.
//! * Each target has at most one probe in flight and exactly one live timer
//!   entry: its next due time while idle, its deadline while probing
//!   (none while queued for an exec slot, or for `CheckKind::None`).
//!   Heap entries carry a sequence number; stale ones are skipped.
//! * Checks start on a fixed cadence: next start = previous start +
//!   interval (or now, if that already passed); the first start is
//!   randomised within `warmup`.
//! * Mio tokens are never reused, so stale readiness events are ignored.
//! * `update_target` keeps the state (up/down, runs, weight override) when
//!   the check itself (address, port, kind, connect/bind) is unchanged;
//!   otherwise the target restarts fresh, and a resulting up/down change is
//!   reported by the next `run_once`.
//! * Nothing here panics on any input; `Instant` arithmetic is saturating.

use crate::health::check::{CheckParams, CheckResult, HealthError, Target};
use crate::health::probe::{
    poll_exec, spawn_exec, DgramProbe, Endpoint, Probe, StartError, Step, StreamProbe,
};
use crate::health::proto::{compile, Plan, Verdict};
use crate::health::state::{warmup_delay, CheckState, Event};
use crate::types::Xorshift;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::net::SocketAddrV4;
use std::os::fd::RawFd;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default bound on concurrently running exec checks.
pub const DEFAULT_MAX_EXEC: usize = 64;
/// Poll granularity while children are running (they are polled, not
/// signalled).
const EXEC_POLL: Duration = Duration::from_millis(5);
/// Timer slack: the loop sleeps until the earliest timer plus this, then
/// fires every timer that is due, so checks whose timers fall within one
/// slack window share a wakeup (1,000 reals at 200 ms: a few hundred
/// wakeups a second instead of one per timer). Timers fire late by at most
/// this, never early.
const TIMER_SLACK: Duration = Duration::from_millis(1);
/// Retry delay after a local resource shortage (no fd, no process slot).
const LOCAL_RETRY: Duration = Duration::from_millis(50);

/// Status of one target as reported by [`HealthEngine::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetStatus {
    pub id: u32,
    pub up: bool,
    /// `None` until the first check completed.
    pub last_result: Option<CheckResult>,
    pub successes_in_row: u32,
    pub failures_in_row: u32,
    pub weight_override: Option<u32>,
}

/// Counters for monitoring the engine itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub checks_started: u64,
    pub checks_completed: u64,
    pub timeouts: u64,
    /// Largest delay between a check's due time and its actual start.
    pub max_start_lateness: Duration,
    /// Sum of start lateness over all started checks (mean = sum / started).
    pub total_start_lateness: Duration,
    pub exec_running: usize,
    pub exec_queued: usize,
    /// Checks postponed because the director itself lacked resources.
    pub local_errors: u64,
}

struct Entry {
    target: Target,
    params: CheckParams,
    plan: Arc<Plan>,
    state: CheckState,
    last: Option<CheckResult>,
    /// Sequence number of the entry's live heap entry (0 = none).
    timer_seq: u64,
    /// Due time of the current/next check.
    due: Instant,
    probe: Option<(Probe, Token)>,
    started: Option<Instant>,
    queued: bool,
}

/// The engine. See the module docs for invariants.
pub struct HealthEngine {
    poll: Poll,
    events: Events,
    entries: HashMap<u32, Entry>,
    timers: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    seq: u64,
    tokens: HashMap<Token, u32>,
    next_token: usize,
    exec_running: Vec<u32>,
    exec_queue: VecDeque<u32>,
    max_exec: usize,
    zombies: Vec<Child>,
    pending: Vec<Event>,
    refilling: bool,
    rng: Xorshift,
    stats: EngineStats,
}

/// Token of the descriptors given to [`HealthEngine::wake_on`]: their
/// readiness only ends the wait. Check tokens count up from 1 and never
/// reach it.
const WAKE: Token = Token(usize::MAX);

fn add(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or(t)
}

fn same_check(a: &Target, b: &Target) -> bool {
    a.addr == b.addr
        && a.port == b.port
        && a.kind == b.kind
        && a.params.connect_port == b.params.connect_port
        && a.params.bind_addr == b.params.bind_addr
        && a.params.bind_port == b.params.bind_port
}

impl HealthEngine {
    pub fn new() -> io::Result<Self> {
        Self::with_max_exec(DEFAULT_MAX_EXEC)
    }

    /// Engine allowing at most `max_exec` (≥ 1) exec checks at once.
    pub fn with_max_exec(max_exec: usize) -> io::Result<Self> {
        Ok(HealthEngine {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            entries: HashMap::new(),
            timers: BinaryHeap::new(),
            seq: 0,
            tokens: HashMap::new(),
            next_token: 0,
            exec_running: Vec::new(),
            exec_queue: VecDeque::new(),
            max_exec: max_exec.max(1),
            zombies: Vec::new(),
            pending: Vec::new(),
            refilling: false,
            rng: Xorshift::from_entropy(),
            stats: EngineStats::default(),
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            exec_running: self.exec_running.len(),
            exec_queued: self.exec_queue.len(),
            ..self.stats.clone()
        }
    }

    fn set_timer(&mut self, id: u32, at: Instant) {
        self.seq += 1;
        let seq = self.seq;
        if let Some(e) = self.entries.get_mut(&id) {
            e.timer_seq = seq;
            self.timers.push(Reverse((at, seq, id)));
        }
    }

    /// Adds a target (or replaces one with the same id, see
    /// [`Self::update_target`]). Its initial state is up unless `alpha`
    /// (`CheckKind::None`: always up); no event is emitted for it.
    pub fn add_target(&mut self, t: Target) -> Result<(), HealthError> {
        if self.entries.contains_key(&t.id) {
            return self.update_target(t);
        }
        let plan = Arc::new(compile(&t)?);
        let params = t.params.sanitized();
        let now = Instant::now();
        let mut state = CheckState::new(params.rise, params.fall, params.alpha);
        let idle = matches!(*plan, Plan::None);
        if idle {
            state.up = true;
        }
        let due = add(now, warmup_delay(params.warmup, self.rng.next_u64()));
        let id = t.id;
        self.entries.insert(
            id,
            Entry {
                target: t,
                params,
                plan,
                state,
                last: None,
                timer_seq: 0,
                due,
                probe: None,
                started: None,
                queued: false,
            },
        );
        if !idle {
            self.set_timer(id, due);
        }
        Ok(())
    }

    /// Replaces a target's definition. Unchanged check ⇒ state, counters
    /// and any in-flight probe are kept (new rise/fall/interval/timeout
    /// apply from the next check). Changed check ⇒ fresh start; if that
    /// flips up/down, the next `run_once` reports it.
    pub fn update_target(&mut self, t: Target) -> Result<(), HealthError> {
        let Some(old) = self.entries.get(&t.id) else {
            return self.add_target(t);
        };
        if same_check(&old.target, &t) {
            let plan = Arc::new(compile(&t)?);
            let params = t.params.sanitized();
            let interval_changed = params.interval != old.params.interval;
            let id = t.id;
            let Some(e) = self.entries.get_mut(&id) else {
                return Ok(());
            };
            e.state.set_thresholds(params.rise, params.fall);
            e.plan = plan;
            e.params = params;
            e.target = t;
            if interval_changed && e.probe.is_none() && !e.queued && e.timer_seq != 0 {
                let due = add(e.started.unwrap_or_else(Instant::now), e.params.interval);
                e.due = due;
                self.set_timer(id, due);
            }
            return Ok(());
        }
        compile(&t)?;
        let was_up = old.state.up;
        let id = t.id;
        self.remove_target(id);
        self.add_target(t)?;
        if let Some(e) = self.entries.get(&id) {
            if e.state.up != was_up {
                self.pending.push(if e.state.up {
                    Event::Up(id)
                } else {
                    Event::Down(id, "check redefined".into())
                });
            }
        }
        Ok(())
    }

    /// Removes a target, cancelling its probe (a running child is killed).
    pub fn remove_target(&mut self, id: u32) -> bool {
        let Some(mut e) = self.entries.remove(&id) else {
            return false;
        };
        if let Some((probe, token)) = e.probe.take() {
            self.drop_probe(probe, token, true);
        }
        self.exec_running.retain(|&x| x != id);
        self.exec_queue.retain(|&x| x != id);
        self.refill_exec(Instant::now());
        true
    }

    /// Current status of every target, sorted by id.
    pub fn status(&self) -> Vec<TargetStatus> {
        let mut v: Vec<TargetStatus> = self
            .entries
            .iter()
            .map(|(&id, e)| TargetStatus {
                id,
                up: e.state.up,
                last_result: e.last.clone(),
                successes_in_row: e.state.successes_in_row,
                failures_in_row: e.state.failures_in_row,
                weight_override: e.state.weight_override,
            })
            .collect();
        v.sort_by_key(|s| s.id);
        v
    }

    /// Status of one target.
    pub fn target_status(&self, id: u32) -> Option<TargetStatus> {
        let e = self.entries.get(&id)?;
        Some(TargetStatus {
            id,
            up: e.state.up,
            last_result: e.last.clone(),
            successes_in_row: e.state.successes_in_row,
            failures_in_row: e.state.failures_in_row,
            weight_override: e.state.weight_override,
        })
    }

    fn drop_probe(&mut self, probe: Probe, token: Token, kill: bool) {
        self.tokens.remove(&token);
        // Sockets are not deregistered: closing the descriptor (the probe
        // is dropped here) takes it out of the epoll set, one system call
        // per check less; its token is gone, so a late event is ignored.
        match probe {
            Probe::Stream(s) => drop(s),
            Probe::Dgram(d) => drop(d),
            Probe::Exec(mut c) => {
                if kill {
                    // The whole group: a script's own children too.
                    super::child::kill_group(&c);
                    let _ = c.kill();
                }
                self.zombies.push(c);
            }
        }
    }

    /// Also end [`run_once`](Self::run_once)'s wait when `fd` becomes
    /// readable (edge-triggered: the caller drains it). The management loop
    /// registers its listening sockets and signal pipe here so that it can
    /// sleep until there is work instead of polling. The engine never reads
    /// `fd`; the caller keeps it open while registered.
    pub fn wake_on(&self, fd: RawFd) -> io::Result<()> {
        self.poll
            .registry()
            .register(&mut SourceFd(&fd), WAKE, Interest::READABLE)
    }

    /// One iteration: wait for readiness (at most `max_wait`, less if a
    /// timer is due sooner), advance probes, handle deadlines and start due
    /// checks. Returns the state changes that happened.
    pub fn run_once(&mut self, max_wait: Duration) -> Vec<Event> {
        let now = Instant::now();
        let mut wait = max_wait;
        if let Some(Reverse((at, _, _))) = self.timers.peek() {
            wait = wait.min(at.saturating_duration_since(now) + TIMER_SLACK);
        }
        if !self.exec_running.is_empty() || !self.zombies.is_empty() {
            wait = wait.min(EXEC_POLL);
        }
        if !self.pending.is_empty() {
            wait = Duration::ZERO;
        }
        if let Err(e) = self.poll.poll(&mut self.events, Some(wait)) {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::warn!("health poll failed: {e}");
            }
        }
        let ready: Vec<Token> = self.events.iter().map(|ev| ev.token()).collect();
        for token in ready {
            let Some(&id) = self.tokens.get(&token) else {
                continue;
            };
            let step = match self.entries.get_mut(&id).and_then(|e| e.probe.as_mut()) {
                Some((Probe::Stream(s), _)) => s.advance(),
                Some((Probe::Dgram(d), _)) => d.advance(),
                _ => Step::Pending,
            };
            if let Step::Done(v) = step {
                self.complete(id, v, false);
            }
        }
        self.poll_children();
        self.fire_timers();
        self.zombies
            .retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        std::mem::take(&mut self.pending)
    }

    fn poll_children(&mut self) {
        let running = self.exec_running.clone();
        for id in running {
            let step = match self.entries.get_mut(&id) {
                Some(e) => {
                    let dynamic = matches!(*e.plan, Plan::Exec { dynamic: true, .. });
                    match e.probe.as_mut() {
                        Some((Probe::Exec(c), _)) => poll_exec(c, dynamic),
                        _ => Step::Pending,
                    }
                }
                None => Step::Pending,
            };
            if let Step::Done(v) = step {
                self.complete(id, v, false);
            }
        }
    }

    fn fire_timers(&mut self) {
        loop {
            let now = Instant::now();
            let Some(&Reverse((at, seq, id))) = self.timers.peek() else {
                break;
            };
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(e) = self.entries.get(&id) else {
                continue;
            };
            if e.timer_seq != seq {
                continue;
            }
            if e.probe.is_some() {
                let after = format!("{}ms", e.params.timeout.as_millis());
                let v = match &e.probe {
                    Some((Probe::Stream(s), _)) => s.on_timeout(&after),
                    Some((Probe::Dgram(d), _)) => d.on_timeout(&after),
                    _ => Verdict::Fail(format!("timeout after {after}")),
                };
                if matches!(v, Verdict::Fail(_)) {
                    self.stats.timeouts += 1;
                }
                self.complete(id, v, true);
            } else {
                self.start(id, now);
            }
        }
    }

    fn alloc_token(&mut self, id: u32) -> Token {
        self.next_token = self.next_token.wrapping_add(1);
        let t = Token(self.next_token);
        self.tokens.insert(t, id);
        t
    }

    fn start(&mut self, id: u32, now: Instant) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        let late = now.saturating_duration_since(e.due);
        self.stats.max_start_lateness = self.stats.max_start_lateness.max(late);
        self.stats.total_start_lateness = self.stats.total_start_lateness.saturating_add(late);
        self.stats.checks_started += 1;
        e.timer_seq = 0;
        if matches!(*e.plan, Plan::Exec { .. }) {
            e.queued = true;
            self.exec_queue.push_back(id);
            self.refill_exec(now);
            return;
        }
        e.started = Some(now);
        let ep = Endpoint::new(
            SocketAddrV4::new(e.target.addr, e.target.check_port()),
            e.params.bind_addr,
            e.params.bind_port,
        );
        let plan = Arc::clone(&e.plan);
        let token = self.alloc_token(id);
        let registry = self.poll.registry();
        let res = match &*plan {
            Plan::Udp { .. } | Plan::Dns { .. } => {
                DgramProbe::start(&ep, plan, registry, token, self.rng.next_u64()).map(Probe::Dgram)
            }
            Plan::None => Err(StartError::Verdict(Verdict::Ok("no check".into()))),
            _ => StreamProbe::start(&ep, plan, registry, token).map(Probe::Stream),
        };
        match res {
            Ok(probe) => {
                let deadline = self.begin(id, now, probe, token);
                self.set_timer(id, deadline);
                // UDP sends right away; TCP readiness arrives via poll.
                let step = match self.entries.get_mut(&id).and_then(|e| e.probe.as_mut()) {
                    Some((Probe::Dgram(d), _)) => d.advance(),
                    _ => Step::Pending,
                };
                if let Step::Done(v) = step {
                    self.complete(id, v, false);
                }
            }
            Err(err) => {
                self.tokens.remove(&token);
                self.start_failed(id, now, err);
            }
        }
    }

    /// A probe could not start: a local shortage postpones the check
    /// without touching the real's state; anything else is its verdict.
    fn start_failed(&mut self, id: u32, now: Instant, err: StartError) {
        match err {
            StartError::Verdict(v) => self.complete(id, v, false),
            StartError::Local(msg) => {
                self.stats.local_errors += 1;
                tracing::warn!(
                    id,
                    "health check postponed, director short of resources: {msg}"
                );
                let at = add(now, LOCAL_RETRY);
                if let Some(e) = self.entries.get_mut(&id) {
                    e.started = None;
                    e.due = at;
                }
                self.set_timer(id, at);
            }
        }
    }

    /// Installs `probe`; returns its deadline.
    fn begin(&mut self, id: u32, now: Instant, probe: Probe, token: Token) -> Instant {
        match self.entries.get_mut(&id) {
            Some(e) => {
                e.started = Some(now);
                e.probe = Some((probe, token));
                add(now, e.params.timeout)
            }
            None => now,
        }
    }

    /// Spawns queued exec checks while slots are free. Not re-entrant
    /// (a failed spawn completes the check, which calls back here): the
    /// outer loop does the work, so recursion depth stays 1.
    fn refill_exec(&mut self, now: Instant) {
        if self.refilling {
            return;
        }
        self.refilling = true;
        while self.exec_running.len() < self.max_exec {
            let Some(id) = self.exec_queue.pop_front() else {
                break;
            };
            let Some(e) = self.entries.get_mut(&id) else {
                continue;
            };
            e.queued = false;
            e.started = Some(now);
            let dst = SocketAddrV4::new(e.target.addr, e.target.check_port());
            match spawn_exec(&e.plan, dst) {
                Ok(child) => {
                    let token = self.alloc_token(id);
                    let deadline = self.begin(id, now, Probe::Exec(child), token);
                    self.exec_running.push(id);
                    self.set_timer(id, deadline);
                }
                Err(err) => self.start_failed(id, now, err),
            }
        }
        self.refilling = false;
    }

    /// Finishes the in-flight check of `id` with verdict `v`, updates the
    /// state machine and schedules the next check.
    fn complete(&mut self, id: u32, v: Verdict, timed_out: bool) {
        let now = Instant::now();
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        let probe = e.probe.take();
        let started = e.started.unwrap_or(now);
        let (ok, detail) = match &v {
            Verdict::Ok(d) | Verdict::OkWeight(_, d) => (true, d.clone()),
            Verdict::Fail(d) => (false, d.clone()),
        };
        if !ok {
            tracing::debug!(id, addr = %e.target.addr, port = e.target.check_port(),
                kind = e.target.kind.label(), "health check failed: {detail}");
        }
        e.last = Some(CheckResult {
            ok,
            detail,
            duration: now.saturating_duration_since(started),
            at: now,
        });
        let evs = e.state.apply(id, &v);
        let due = add(started, e.params.interval).max(now);
        e.due = due;
        for ev in &evs {
            match ev {
                Event::Up(_) => tracing::info!(id, addr = %e.target.addr, "real server up"),
                Event::Down(_, r) => {
                    tracing::info!(id, addr = %e.target.addr, "real server down: {r}")
                }
                Event::Weight(_, w) => {
                    tracing::info!(id, addr = %e.target.addr, "real server weight {w}")
                }
            }
        }
        self.pending.extend(evs);
        self.stats.checks_completed += 1;
        let was_exec = matches!(probe, Some((Probe::Exec(_), _)));
        if let Some((p, token)) = probe {
            self.drop_probe(p, token, timed_out);
        }
        self.set_timer(id, due);
        if was_exec {
            self.exec_running.retain(|&x| x != id);
            self.refill_exec(now);
        }
    }
}

impl Drop for HealthEngine {
    fn drop(&mut self) {
        for e in self.entries.values_mut() {
            if let Some((Probe::Exec(c), _)) = e.probe.as_mut() {
                let _ = c.kill();
                let _ = c.try_wait();
            }
        }
    }
}
