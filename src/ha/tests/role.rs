//! Table-driven role scenarios on a simulated clock (5 ms ticks).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::ha::role::{Reason, Role, RoleConfig, RoleMachine};

const TICK: Duration = Duration::from_millis(5);
const INTERVAL: Duration = Duration::from_millis(100);
const DEAD: Duration = Duration::from_millis(300);

#[derive(Clone, Copy)]
struct Node {
    name: &'static str,
    addr: Ipv4Addr,
    prio: u8,
    preempt: bool,
    preempt_delay: Duration,
}

const fn node(name: &'static str, last: u8, prio: u8) -> Node {
    Node {
        name,
        addr: Ipv4Addr::new(192, 0, 2, last),
        prio,
        preempt: false,
        preempt_delay: Duration::ZERO,
    }
}

fn machine(n: Node, t0: Instant) -> RoleMachine {
    let cfg = RoleConfig {
        priority: n.prio,
        preempt: n.preempt,
        preempt_delay: n.preempt_delay,
        interval: INTERVAL,
        dead_interval: DEAD,
    };
    cfg.validate().unwrap();
    RoleMachine::new(cfg, n.name, n.addr, t0)
}

/// Which paths carry messages between the two nodes during a phase.
#[derive(Clone, Copy, Debug)]
struct Paths {
    control: bool,
    data: bool,
    a_alive: bool,
    b_alive: bool,
}

const BOTH: Paths = Paths {
    control: true,
    data: true,
    a_alive: true,
    b_alive: true,
};

/// Two-node simulation: every INTERVAL each live node sends a heartbeat
/// (control) and, if active, an advert (data); every TICK both tick.
struct Sim {
    t0: Instant,
    now: Instant,
    nodes: [Node; 2],
    m: [RoleMachine; 2],
    next_send: Instant,
    log: Vec<(Duration, usize, Role, Role, Reason)>,
}

impl Sim {
    fn new(a: Node, b: Node) -> Sim {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            nodes: [a, b],
            m: [machine(a, t0), machine(b, t0)],
            next_send: t0,
            log: Vec::new(),
        }
    }

    fn run(&mut self, dur: Duration, p: Paths) {
        let end = self.now + dur;
        while self.now < end {
            self.now += TICK;
            let alive = [p.a_alive, p.b_alive];
            if self.now >= self.next_send {
                self.next_send = self.now + INTERVAL;
                for from in 0..2 {
                    let to = 1 - from;
                    if !alive[from] || !alive[to] {
                        continue;
                    }
                    let (src, role) = (self.nodes[from], self.m[from].role());
                    let mut ts = Vec::new();
                    if p.control {
                        ts.extend(self.m[to].heartbeat(src.name, src.prio, role, self.now));
                    }
                    if p.data && self.m[from].should_send_adverts() {
                        ts.extend(self.m[to].advert(src.prio, src.addr, self.now));
                    }
                    for t in ts {
                        self.log.push((t.at - self.t0, to, t.from, t.to, t.reason));
                    }
                }
            }
            for (i, up) in alive.iter().enumerate() {
                if *up {
                    for t in self.m[i].tick(self.now) {
                        self.log.push((t.at - self.t0, i, t.from, t.to, t.reason));
                    }
                }
            }
        }
    }

    fn roles(&self) -> (Role, Role) {
        (self.m[0].role(), self.m[1].role())
    }

    fn first(&self, who: usize, to: Role, after: Duration) -> Option<Duration> {
        self.log
            .iter()
            .find(|e| e.1 == who && e.3 == to && e.0 >= after)
            .map(|e| e.0)
    }
}

#[test]
fn lone_node_becomes_active_after_dead_interval() {
    let t0 = Instant::now();
    let mut m = machine(node("a", 1, 100), t0);
    assert_eq!(m.role(), Role::Init);
    assert!(m.tick(t0 + DEAD - TICK).is_empty());
    assert!(!m.should_send_adverts());
    let ts = m.tick(t0 + DEAD);
    let reasons: Vec<_> = ts.iter().map(|t| (t.from, t.to, t.reason)).collect();
    assert_eq!(
        reasons,
        vec![
            (Role::Init, Role::Backup, Reason::StartupListenDone),
            (Role::Backup, Role::Active, Reason::NoActivePeer),
        ]
    );
    assert!(m.should_send_adverts());
}

/// One scenario row: setup, phases, expected final roles.
struct Case {
    name: &'static str,
    a: Node,
    b: Node,
    phases: &'static [(u64, Paths)],
    expect: (Role, Role),
}

const CUT_CONTROL: Paths = Paths {
    control: false,
    data: true,
    a_alive: true,
    b_alive: true,
};

const A_DEAD: Paths = Paths {
    control: true,
    data: true,
    a_alive: false,
    b_alive: true,
};

#[test]
fn scenarios() {
    let pre = |mut n: Node, delay_ms: u64| {
        n.preempt = true;
        n.preempt_delay = Duration::from_millis(delay_ms);
        n
    };
    let cases = [
        Case {
            name: "higher priority wins at startup",
            a: node("a", 1, 200),
            b: node("b", 2, 100),
            phases: &[(2000, BOTH)],
            expect: (Role::Active, Role::Backup),
        },
        Case {
            name: "control link cut, adverts continue: backup stays backup",
            a: node("a", 1, 200),
            b: node("b", 2, 100),
            phases: &[(2000, BOTH), (5000, CUT_CONTROL)],
            expect: (Role::Active, Role::Backup),
        },
        Case {
            name: "equal priority tie-break: higher node name wins",
            a: node("a", 9, 100),
            b: node("b", 1, 100),
            phases: &[(2000, BOTH)],
            expect: (Role::Backup, Role::Active),
        },
        Case {
            name: "equal priority, data path only: higher address wins",
            a: node("a", 9, 100),
            b: node("b", 1, 100),
            phases: &[(2000, CUT_CONTROL)],
            expect: (Role::Active, Role::Backup),
        },
        Case {
            name: "no preempt: higher-priority newcomer stays backup",
            a: node("a", 1, 100),
            b: node("b", 2, 200),
            phases: &[
                (
                    2000,
                    Paths {
                        b_alive: false,
                        ..BOTH
                    },
                ),
                (3000, BOTH),
            ],
            expect: (Role::Active, Role::Backup),
        },
        Case {
            name: "preempt with delay: newcomer takes over, old active steps down",
            a: node("a", 1, 100),
            b: pre(node("b", 2, 200), 1000),
            phases: &[
                (
                    2000,
                    Paths {
                        b_alive: false,
                        ..BOTH
                    },
                ),
                (3000, BOTH),
            ],
            expect: (Role::Backup, Role::Active),
        },
        Case {
            name: "preempt over the data path only",
            a: node("a", 1, 100),
            b: pre(node("b", 2, 200), 500),
            phases: &[
                (
                    2000,
                    Paths {
                        b_alive: false,
                        ..BOTH
                    },
                ),
                (3000, CUT_CONTROL),
            ],
            expect: (Role::Backup, Role::Active),
        },
        Case {
            name: "lower priority with preempt does not take over",
            a: node("a", 1, 200),
            b: pre(node("b", 2, 100), 0),
            phases: &[(3000, BOTH)],
            expect: (Role::Active, Role::Backup),
        },
        Case {
            name: "both paths cut: both active, then heal: lower steps down",
            a: node("a", 1, 200),
            b: node("b", 2, 100),
            phases: &[
                (1000, BOTH),
                (
                    1000,
                    Paths {
                        control: false,
                        data: false,
                        ..BOTH
                    },
                ),
                (1000, BOTH),
            ],
            expect: (Role::Active, Role::Backup),
        },
    ];
    for c in cases {
        let mut sim = Sim::new(c.a, c.b);
        for (ms, p) in c.phases {
            sim.run(Duration::from_millis(*ms), *p);
        }
        assert_eq!(sim.roles(), c.expect, "{}: log {:?}", c.name, sim.log);
    }
}

#[test]
fn active_killed_backup_takes_over_within_dead_interval_plus_tick() {
    let mut sim = Sim::new(node("a", 1, 200), node("b", 2, 100));
    sim.run(Duration::from_secs(2), BOTH);
    assert_eq!(sim.roles(), (Role::Active, Role::Backup));
    let killed = sim.now - sim.t0;
    // The last message from a arrived at most one INTERVAL before the kill.
    sim.run(Duration::from_secs(1), A_DEAD);
    let took = sim.first(1, Role::Active, killed).expect("b took over");
    assert!(
        took - killed <= DEAD + TICK,
        "took over {:?} after kill",
        took - killed
    );
    assert!(
        took - killed >= DEAD - INTERVAL,
        "too early: {:?}",
        took - killed
    );
    assert_eq!(sim.m[1].role(), Role::Active);
}

#[test]
fn preempt_delay_is_respected() {
    let mut b = node("b", 2, 200);
    b.preempt = true;
    b.preempt_delay = Duration::from_millis(1000);
    let mut sim = Sim::new(node("a", 1, 100), b);
    sim.run(
        Duration::from_secs(2),
        Paths {
            b_alive: false,
            ..BOTH
        },
    );
    assert_eq!(sim.m[0].role(), Role::Active);
    let back = sim.now - sim.t0;
    sim.run(Duration::from_secs(3), BOTH);
    let took = sim.first(1, Role::Active, back).expect("b preempted");
    let waited = took - back;
    assert!(
        waited >= Duration::from_millis(1000),
        "preempted after {waited:?}"
    );
    assert!(
        waited <= Duration::from_millis(1000) + INTERVAL + TICK,
        "{waited:?}"
    );
    assert!(sim.log.iter().any(|e| e.1 == 1 && e.4 == Reason::Preempt));
    assert!(sim
        .log
        .iter()
        .any(|e| e.1 == 0 && e.4 == Reason::HigherRankActive));
}

#[test]
fn active_hears_higher_priority_active_steps_down() {
    let t0 = Instant::now();
    let mut m = machine(node("a", 1, 100), t0);
    m.tick(t0 + DEAD);
    assert_eq!(m.role(), Role::Active);
    // Lower or equal-but-lower-name active: stay.
    assert!(m.heartbeat("0", 50, Role::Active, t0 + DEAD).is_none());
    assert!(m.heartbeat("0", 100, Role::Active, t0 + DEAD).is_none());
    assert!(m
        .advert(100, Ipv4Addr::new(192, 0, 2, 200), t0 + DEAD)
        .is_none());
    // A higher-priority active over the data path.
    let t = m
        .advert(150, Ipv4Addr::new(192, 0, 2, 0), t0 + DEAD + TICK)
        .unwrap();
    assert_eq!(
        (t.from, t.to, t.reason),
        (Role::Active, Role::Backup, Reason::HigherRankActive)
    );
    assert!(!m.should_send_adverts());
    // Own adverts and own heartbeats are ignored.
    let mut m2 = machine(node("a", 1, 100), t0);
    assert!(m2.advert(200, Ipv4Addr::new(192, 0, 2, 1), t0).is_none());
    assert!(m2.heartbeat("a", 200, Role::Active, t0).is_none());
    assert_eq!(m2.role(), Role::Init);
}

#[test]
fn resign_fault_and_config() {
    let t0 = Instant::now();
    let mut m = machine(node("b", 2, 100), t0);
    assert!(m.heartbeat("a", 200, Role::Active, t0 + TICK).is_some());
    assert_eq!(m.role(), Role::Backup);
    m.advert(0, Ipv4Addr::new(192, 0, 2, 1), t0 + 2 * TICK);
    let ts = m.tick(t0 + 3 * TICK);
    assert_eq!(ts[0].reason, Reason::PeerResigned);
    assert_eq!(m.role(), Role::Active);
    let t = m.set_fault(true, t0 + 4 * TICK).unwrap();
    assert_eq!(t.to, Role::Fault);
    assert!(!m.should_send_adverts());
    assert!(m.tick(t0 + Duration::from_secs(5)).is_empty());
    let t = m.set_fault(false, t0 + Duration::from_secs(5)).unwrap();
    assert_eq!((t.to, t.reason), (Role::Backup, Reason::FaultCleared));
    // Listens a full dead_interval again before taking over.
    assert!(m.tick(t0 + Duration::from_secs(5) + DEAD - TICK).is_empty());
    assert_eq!(
        m.tick(t0 + Duration::from_secs(5) + DEAD)[0].to,
        Role::Active
    );
    for bad in [0u8, 255] {
        assert!(RoleConfig::with_priority(bad).validate().is_err());
    }
    let short = RoleConfig {
        dead_interval: Duration::from_millis(10),
        ..RoleConfig::default()
    };
    assert!(short.validate().is_err());
    for c in 0..=255u8 {
        if let Some(r) = Role::from_code(c) {
            assert_eq!(r.code(), c);
        }
    }
}

#[test]
fn preempt_is_held_until_released_but_takeover_is_not() {
    // A returning higher-priority node sees the active's advert at once:
    // it goes backup, and preempts only when the hold is released (bulk
    // sync in) or expires — never on that first advert.
    let t0 = Instant::now();
    let mut n = node("b", 2, 200);
    n.preempt = true;
    let mut m = machine(n, t0);
    let hold = t0 + Duration::from_secs(1);
    m.hold_preempt(Some(hold));
    let peer = Ipv4Addr::new(192, 0, 2, 1);
    let t = m.advert(100, peer, t0).expect("active seen");
    assert_eq!((t.to, t.reason), (Role::Backup, Reason::ActivePeerSeen));
    let mut now = t0;
    while now < t0 + Duration::from_millis(900) {
        now += INTERVAL;
        m.advert(100, peer, now);
        assert!(m.tick(now).is_empty(), "held at {:?}", now - t0);
    }
    m.hold_preempt(None);
    let t = m.tick(now);
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].to, t[0].reason), (Role::Active, Reason::Preempt));

    // Held, but the active goes silent: takeover after the dead interval.
    let mut m = machine(n, t0);
    m.hold_preempt(Some(t0 + Duration::from_secs(10)));
    m.advert(100, peer, t0);
    let t = m.tick(t0 + DEAD);
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].to, t[0].reason), (Role::Active, Reason::NoActivePeer));

    // The hold expires by itself (control link never came up).
    let mut m = machine(n, t0);
    m.hold_preempt(Some(t0 + Duration::from_millis(250)));
    m.advert(100, peer, t0);
    m.advert(100, peer, t0 + Duration::from_millis(200));
    assert!(m.tick(t0 + Duration::from_millis(200)).is_empty());
    let at = t0 + Duration::from_millis(260);
    m.advert(100, peer, at);
    let t = m.tick(at);
    assert_eq!((t[0].to, t[0].reason), (Role::Active, Reason::Preempt));
}

/// Graceful stop: the active's resign message makes the backup active on
/// its next tick, with no dead_interval wait; the resigning active's last
/// advert, still in flight, does not push it back down; a later one does.
#[test]
fn resign_message_hands_over_at_once_and_ignores_the_last_advert() {
    let t0 = Instant::now();
    let a = Ipv4Addr::new(192, 0, 2, 1);
    let mut m = machine(node("b", 2, 100), t0);
    assert!(m.heartbeat("a", 200, Role::Active, t0 + TICK).is_some());
    assert_eq!(m.role(), Role::Backup);
    let at = t0 + 2 * TICK;
    m.peer_resigned(at);
    let ts = m.tick(at + TICK);
    assert_eq!(
        ts.iter().map(|t| (t.to, t.reason)).collect::<Vec<_>>(),
        vec![(Role::Active, Reason::PeerResigned)]
    );
    assert!(m.advert(200, a, at + 2 * TICK).is_none());
    assert_eq!(m.role(), Role::Active);
    let t = m.advert(200, a, at + INTERVAL).expect("a live peer again");
    assert_eq!((t.to, t.reason), (Role::Backup, Reason::HigherRankActive));
}

/// Graceful stop seen only on the data network (the peer link is cut): a
/// priority-0 advert makes the backup active on its next tick; the
/// resigning active's advert of another port, still in flight, does not
/// push it back down; a later one does.
#[test]
fn priority_zero_advert_hands_over_at_once_and_ignores_the_last_advert() {
    let t0 = Instant::now();
    let a = Ipv4Addr::new(192, 0, 2, 1);
    let mut m = machine(node("b", 2, 100), t0);
    assert!(m.advert(200, a, t0 + TICK).is_some());
    assert_eq!(m.role(), Role::Backup);
    let at = t0 + 2 * TICK;
    assert!(m.advert(0, a, at).is_none());
    // Another port's advert of the same round, drained after the
    // priority-0 one.
    assert!(m.advert(200, a, at).is_none());
    let ts = m.tick(at + TICK);
    assert_eq!(
        ts.iter().map(|t| (t.to, t.reason)).collect::<Vec<_>>(),
        vec![(Role::Active, Reason::PeerResigned)]
    );
    assert!(m.advert(200, a, at + 2 * TICK).is_none());
    assert_eq!(m.role(), Role::Active);
    let t = m.advert(200, a, at + INTERVAL).expect("a live peer again");
    assert_eq!((t.to, t.reason), (Role::Backup, Reason::HigherRankActive));
}
