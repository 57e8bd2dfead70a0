//! Two directors starting together, at any offset: the role machine and the
//! bulk-sync handshake of both nodes, exchanging messages in a harness on a
//! fake clock (1 ms steps). Every enumerated interleaving of start, connect,
//! bulk request and bulk end settles with exactly one active.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::ha::bulk::{Answer, BulkSync};
use crate::ha::role::{Role, RoleConfig, RoleMachine};

const STEP: Duration = Duration::from_millis(1);
const INTERVAL: Duration = Duration::from_millis(100);
const DEAD: Duration = Duration::from_millis(300);
/// How long the active's table dump takes between BulkStart and BulkEnd.
const DUMP: Duration = Duration::from_millis(20);
/// The preemption hold of a starting director (as `HaMgr` sets it).
const GRACE: Duration = Duration::from_secs(1);
/// The bar: exactly one active this long after the later start.
const SETTLE: Duration = Duration::from_millis(1300);

#[derive(Clone, Copy, Debug)]
struct Node {
    name: &'static str,
    addr: Ipv4Addr,
    prio: u8,
    preempt: bool,
}

#[derive(Clone, Debug)]
enum Wire {
    Heartbeat(Role),
    Advert,
    BulkRequest,
    BulkEnd,
}

/// One interleaving.
#[derive(Clone, Copy, Debug)]
struct Case {
    nodes: [Node; 2],
    /// Start of each node (ms from the harness's origin).
    start: [u64; 2],
    /// When each side sees its link connected (ms), `None`: never.
    connect: [Option<u64>; 2],
    /// Delivery delay of every message (ms).
    latency: u64,
}

struct Director {
    m: RoleMachine,
    bulk: BulkSync,
    connected: bool,
    next_beat: Instant,
}

struct Harness {
    case: Case,
    t0: Instant,
    now: Instant,
    d: [Option<Director>; 2],
    /// (deliver at, to, control link?, message).
    queue: Vec<(Instant, usize, bool, Wire)>,
    /// (ms, node, from, to).
    log: Vec<(u64, usize, Role, Role)>,
    both_active_at: Option<u64>,
}

impl Harness {
    fn new(case: Case) -> Harness {
        let t0 = Instant::now();
        Harness {
            case,
            t0,
            now: t0,
            d: [None, None],
            queue: Vec::new(),
            log: Vec::new(),
            both_active_at: None,
        }
    }

    fn ms(&self) -> u64 {
        (self.now - self.t0).as_millis() as u64
    }

    fn send(&mut self, from: usize, control: bool, w: Wire, extra: Duration) {
        let at = self.now + Duration::from_millis(self.case.latency) + extra;
        self.queue.push((at, 1 - from, control, w));
    }

    fn note(&mut self, who: usize, t: Option<crate::ha::role::Transition>) {
        if let Some(t) = t {
            let ms = self.ms();
            self.log.push((ms, who, t.from, t.to));
        }
    }

    fn start_and_connect(&mut self, ms: u64) {
        for i in 0..2 {
            if self.case.start[i] == ms {
                let n = self.case.nodes[i];
                let cfg = RoleConfig {
                    priority: n.prio,
                    preempt: n.preempt,
                    preempt_delay: Duration::ZERO,
                    interval: INTERVAL,
                    dead_interval: DEAD,
                };
                let mut m = RoleMachine::new(cfg, n.name, n.addr, self.now);
                m.hold_preempt(Some(self.now + GRACE));
                self.d[i] = Some(Director {
                    m,
                    bulk: BulkSync::default(),
                    connected: false,
                    next_beat: self.now,
                });
            }
        }
        for i in 0..2 {
            if self.case.connect[i] != Some(ms) {
                continue;
            }
            let now = self.now;
            let Some(d) = self.d[i].as_mut() else {
                continue;
            };
            d.connected = true;
            if d.bulk.connected(&mut d.m, now, GRACE) {
                self.send(i, true, Wire::BulkRequest, Duration::ZERO);
            }
        }
    }

    fn deliver(&mut self) {
        let now = self.now;
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.queue.len() {
            let (at, to, control, _) = &self.queue[i];
            let ready = self.d[*to]
                .as_ref()
                .is_some_and(|d| !*control || d.connected);
            if *at <= now && ready {
                due.push(self.queue.remove(i));
            } else {
                i += 1;
            }
        }
        for (_, to, _, w) in due {
            let from = self.case.nodes[1 - to];
            let Some(d) = self.d[to].as_mut() else {
                continue;
            };
            let t = match w {
                Wire::Heartbeat(role) => d.m.heartbeat(from.name, from.prio, role, now),
                Wire::Advert => d.m.advert(from.prio, from.addr, now),
                Wire::BulkEnd => {
                    d.bulk.end(&mut d.m);
                    None
                }
                Wire::BulkRequest => {
                    let extra = match d.bulk.request(&d.m) {
                        Answer::Dump { .. } => DUMP,
                        Answer::Empty { .. } => Duration::ZERO,
                    };
                    self.send(to, true, Wire::BulkEnd, extra);
                    None
                }
            };
            self.note(to, t);
        }
    }

    fn beat_and_tick(&mut self) {
        let now = self.now;
        for i in 0..2 {
            let Some(d) = self.d[i].as_mut() else {
                continue;
            };
            let ts = d.m.tick(now);
            let mut out = Vec::new();
            if now >= d.next_beat {
                d.next_beat = now + INTERVAL;
                if d.connected {
                    out.push((true, Wire::Heartbeat(d.m.role())));
                }
                if d.m.should_send_adverts() {
                    out.push((false, Wire::Advert));
                }
            }
            for t in ts {
                self.note(i, Some(t));
            }
            for (control, w) in out {
                self.send(i, control, w, Duration::ZERO);
            }
        }
    }

    fn roles(&self) -> [Option<Role>; 2] {
        [0, 1].map(|i| self.d[i].as_ref().map(|d| d.m.role()))
    }

    fn run(&mut self, until_ms: u64) {
        while self.ms() <= until_ms {
            let ms = self.ms();
            self.start_and_connect(ms);
            self.deliver();
            self.beat_and_tick();
            if self.roles() == [Some(Role::Active); 2] && self.both_active_at.is_none() {
                self.both_active_at = Some(ms);
            }
            self.now += STEP;
        }
    }
}

fn node(name: &'static str, last: u8, prio: u8, preempt: bool) -> Node {
    Node {
        name,
        addr: Ipv4Addr::new(192, 0, 2, last),
        prio,
        preempt,
    }
}

fn check(case: Case) {
    let later = case.start[0].max(case.start[1]);
    let settle = later + SETTLE.as_millis() as u64;
    let end = settle + 1500;
    let mut h = Harness::new(case);
    h.run(end);
    let ctx = || format!("{case:?}\nlog {:?}", h.log);
    assert!(
        !h.log.iter().any(|e| e.3 == Role::Fault),
        "no fault: {}",
        ctx()
    );
    let roles = h.roles();
    assert_eq!(
        roles.iter().filter(|r| **r == Some(Role::Active)).count(),
        1,
        "exactly one active at the end ({roles:?}): {}",
        ctx()
    );
    let late: Vec<_> = h.log.iter().filter(|e| e.0 > settle).collect();
    assert!(
        late.is_empty(),
        "settled by {settle} ms: {late:?} {}",
        ctx()
    );
    for (i, d) in h.d.iter().enumerate() {
        let d = d.as_ref().expect("started");
        assert!(
            !(d.connected && case.connect[1 - i].is_some() && d.bulk.awaiting()),
            "node {i}: every bulk request answered: {}",
            ctx()
        );
    }
    // The control link up (both ways, one heartbeat heard) before the first
    // node's listening ends: never two actives, not even briefly.
    let early = case.start[0].min(case.start[1]) + DEAD.as_millis() as u64;
    let heard = |c: Option<u64>| c.is_some_and(|c| c + 100 + case.latency + 2 < early);
    if heard(case.connect[0]) && heard(case.connect[1]) {
        assert_eq!(h.both_active_at, None, "never both active: {}", ctx());
    }
}

/// Every offset of the two starts, every connect time and skew, three
/// latencies, three priority pairs, both nodes symmetrical (each starts
/// first in turn).
#[test]
fn two_directors_settle_with_one_active_at_any_offset() {
    let pairs = [
        [node("lvs-a", 1, 150, true), node("lvs-b", 2, 100, true)],
        [node("lvs-a", 1, 100, false), node("lvs-b", 2, 100, false)],
        [node("lvs-a", 1, 100, false), node("lvs-b", 2, 200, false)],
    ];
    let offsets = [0, 1, 5, 100, 150, 299, 300, 301, 600, 1000];
    let connects = [
        Some(0),
        Some(1),
        Some(50),
        Some(250),
        Some(299),
        Some(300),
        Some(400),
        Some(1500),
        None,
    ];
    let skews = [(0, 0), (0, 3), (3, 0)];
    let mut runs = 0;
    for nodes in pairs {
        for off in offsets {
            for first in 0..2 {
                let mut start = [0, 0];
                start[1 - first] = off;
                let later = off;
                for c in connects {
                    for (sa, sb) in skews {
                        for latency in [1, 7, 40] {
                            let connect = [c.map(|c| later + c + sa), c.map(|c| later + c + sb)];
                            check(Case {
                                nodes,
                                start,
                                connect,
                                latency,
                            });
                            runs += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(runs, 3 * 10 * 2 * 9 * 3 * 3);
}

/// The reported deadlock: both start in the same instant and connect
/// before either is active; both send a bulk request. Both get an answer,
/// neither enters FAULT, one is active after `dead_interval`.
#[test]
fn simultaneous_start_both_request_bulk_one_active_after_dead_interval() {
    let nodes = [node("lvs-a", 1, 150, true), node("lvs-b", 2, 100, true)];
    let mut h = Harness::new(Case {
        nodes,
        start: [0, 0],
        connect: [Some(10), Some(10)],
        latency: 1,
    });
    h.run(DEAD.as_millis() as u64 + 20);
    assert_eq!(
        h.roles(),
        [Some(Role::Active), Some(Role::Backup)],
        "log {:?}",
        h.log
    );
    assert!(h.d.iter().all(|d| !d.as_ref().unwrap().bulk.awaiting()));
    assert_eq!(h.both_active_at, None);
}

/// A director that asked for the peer's table does not ask again on the
/// same link (a second request restarted the peer's dump and lost its
/// count); a new link asks again.
#[test]
fn one_bulk_request_per_link() {
    let now = Instant::now();
    let cfg = RoleConfig {
        priority: 100,
        preempt: true,
        preempt_delay: Duration::ZERO,
        interval: INTERVAL,
        dead_interval: DEAD,
    };
    let mut m = RoleMachine::new(cfg, "b", Ipv4Addr::new(198, 18, 0, 3), now);
    let mut b = BulkSync::default();
    assert!(b.connected(&mut m, now, GRACE));
    assert!(!b.connected(&mut m, now, GRACE), "asked twice on one link");
    b.disconnected();
    assert!(b.connected(&mut m, now, GRACE), "a new link asks again");
}
