//! Health checking on the management side: keeps the checker engine's
//! targets in step with the configuration, turns check results into
//! effective weights (inhibit / remove, quorum with hysteresis, sorry
//! server) for the next snapshot, runs notify commands and counts
//! transitions. Checks never touch the workers: their results reach the
//! datapath only as a new published snapshot.
use crate::config::Model;
use crate::datapath::topology::{Overrides, Registry};
use crate::health::{
    evaluate, Event, HealthEngine, Notifier, NotifyEvent, OnFailure, QuorumState, QuorumTransition,
    RealHealth, ServicePolicy, SorryServer, Target,
};
use hashbrown::HashMap;
use std::net::{IpAddr, SocketAddrV4};
use std::time::Duration;

struct TargetInfo {
    service: String,
    real: SocketAddrV4,
    notify_up: Option<String>,
    notify_down: Option<String>,
}

/// Health state of every checked real, by real id.
pub struct HealthMgr {
    engine: HealthEngine,
    up: HashMap<u16, (bool, Option<u32>)>,
    quorum: HashMap<u16, QuorumState>,
    targets: HashMap<u16, TargetInfo>,
    notifier: Notifier,
    /// State changes seen (up→down and down→up).
    pub transitions: u64,
}

fn v4(a: IpAddr) -> Option<std::net::Ipv4Addr> {
    match a {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(_) => None,
    }
}

impl HealthMgr {
    /// An engine with no targets.
    pub fn new() -> anyhow::Result<HealthMgr> {
        Ok(HealthMgr {
            engine: HealthEngine::new()?,
            up: HashMap::new(),
            quorum: HashMap::new(),
            targets: HashMap::new(),
            notifier: Notifier::new(32),
            transitions: 0,
        })
    }

    /// End the engine's wait when `fd` becomes readable
    /// ([`HealthEngine::wake_on`]).
    pub fn wake_on(&self, fd: std::os::fd::RawFd) -> std::io::Result<()> {
        self.engine.wake_on(fd)
    }

    /// Make the engine's targets match the model's checks.
    pub fn sync(&mut self, m: &Model, reg: &mut Registry) {
        let mut want: HashMap<u16, (Target, TargetInfo)> = HashMap::new();
        for s in &m.services {
            let skey = (s.protocol.number(), s.vip, s.port);
            for r in &s.reals {
                let (Some(check), Some(addr)) = (&r.check, v4(r.address)) else {
                    continue;
                };
                let Ok(id) = reg.real_id((skey, r.address, r.port)) else {
                    continue;
                };
                let mut params = check.params.clone();
                if params.bind_addr.is_none() {
                    // Probe from the director's own address on the port that
                    // reaches the real (the kernel interface carries it).
                    params.bind_addr = m
                        .ports
                        .iter()
                        .find(|p| p.address.contains(addr))
                        .map(|p| p.address.addr);
                }
                let t = Target {
                    id: u32::from(id),
                    addr,
                    port: r.port,
                    kind: check.kind.clone(),
                    params,
                };
                let info = TargetInfo {
                    service: s.name.clone(),
                    real: SocketAddrV4::new(addr, r.port),
                    notify_up: check.notify_up.clone(),
                    notify_down: check.notify_down.clone(),
                };
                want.insert(id, (t, info));
            }
        }
        let gone: Vec<u16> = self
            .targets
            .keys()
            .copied()
            .filter(|id| !want.contains_key(id))
            .collect();
        for id in gone {
            self.engine.remove_target(u32::from(id));
            self.targets.remove(&id);
            self.up.remove(&id);
        }
        for (id, (t, info)) in want {
            let alpha = t.params.alpha;
            let res = if self.targets.contains_key(&id) {
                self.engine.update_target(t)
            } else {
                self.engine.add_target(t)
            };
            match res {
                Ok(()) => {
                    self.up.entry(id).or_insert((!alpha, None));
                    self.targets.insert(id, info);
                }
                Err(e) => tracing::warn!(real = %info.real, "health check not started: {e}"),
            }
        }
    }

    /// Run the checker for up to `max_wait`; true when a real changed state
    /// (the caller republishes).
    pub fn poll(&mut self, max_wait: Duration) -> bool {
        self.notifier.reap();
        let events = self.engine.run_once(max_wait);
        let mut changed = false;
        for ev in events {
            let (id, up, weight) = match &ev {
                Event::Up(id) => (*id, Some(true), None),
                Event::Down(id, _) => (*id, Some(false), None),
                Event::Weight(id, w) => (*id, None, Some(*w)),
            };
            let Ok(id) = u16::try_from(id) else { continue };
            let entry = self.up.entry(id).or_insert((true, None));
            if let Some(u) = up {
                if entry.0 != u {
                    self.transitions += 1;
                }
                entry.0 = u;
            }
            if let Some(w) = weight {
                entry.1 = Some(w);
            }
            changed = true;
            if let Some(info) = self.targets.get(&id) {
                match &ev {
                    Event::Up(_) => {
                        tracing::info!(service = %info.service, real = %info.real, "real server up");
                        if let Some(c) = &info.notify_up {
                            self.notifier.notify(
                                c,
                                &NotifyEvent::RealUp {
                                    service: info.service.clone(),
                                    real: info.real,
                                },
                            );
                        }
                    }
                    Event::Down(_, why) => {
                        tracing::warn!(service = %info.service, real = %info.real, reason = %why, "real server down");
                        if let Some(c) = &info.notify_down {
                            self.notifier.notify(
                                c,
                                &NotifyEvent::RealDown {
                                    service: info.service.clone(),
                                    real: info.real,
                                },
                            );
                        }
                    }
                    Event::Weight(_, w) => {
                        tracing::info!(service = %info.service, real = %info.real, weight = w, "dynamic weight")
                    }
                }
            }
        }
        changed
    }

    /// Effective weights and sorry servers for the next snapshot.
    pub fn overrides(&mut self, m: &Model, reg: &mut Registry) -> Overrides {
        let mut ov = Overrides::default();
        for s in &m.services {
            let skey = (s.protocol.number(), s.vip, s.port);
            let sid = reg.service_id(skey);
            let mut reals = Vec::new();
            let mut on_failure = OnFailure::Inhibit;
            for r in &s.reals {
                let Ok(id) = reg.real_id((skey, r.address, r.port)) else {
                    continue;
                };
                if let Some(c) = &r.check {
                    on_failure = c.on_failure;
                }
                let (up, w) = self.up.get(&id).copied().unwrap_or((true, None));
                reals.push(RealHealth {
                    id: u32::from(id),
                    weight: r.weight,
                    up,
                    weight_override: w,
                });
            }
            let sorry = s.sorry.as_ref().and_then(|so| {
                Some(SorryServer {
                    addr: SocketAddrV4::new(v4(so.address)?, so.port),
                    weight: 1,
                })
            });
            let policy = ServicePolicy {
                quorum: s.quorum,
                hysteresis: s.hysteresis,
                on_failure,
                sorry,
            };
            let state = self.quorum.entry(sid).or_default();
            let eff = evaluate(&policy, &reals, state);
            if let Some(t) = eff.transition {
                let (cmd, ev) = match t {
                    QuorumTransition::Up => (
                        &s.quorum_up,
                        NotifyEvent::QuorumUp {
                            service: s.name.clone(),
                        },
                    ),
                    QuorumTransition::Down => (
                        &s.quorum_down,
                        NotifyEvent::QuorumDown {
                            service: s.name.clone(),
                        },
                    ),
                };
                tracing::warn!(service = %s.name, live_weight = eff.live_weight, quorum = s.quorum, "quorum {}", if t == QuorumTransition::Up { "gained" } else { "lost" });
                if let Some(c) = cmd {
                    self.notifier.notify(c, &ev);
                }
            }
            for r in &eff.reals {
                if let Ok(id) = u16::try_from(r.id) {
                    ov.reals.insert(id, (r.weight, r.removed));
                }
            }
            if eff.sorry_active {
                ov.sorry.insert(sid);
            }
        }
        ov
    }

    /// `lvsadm show health`.
    pub fn status(&self) -> serde_json::Value {
        let mut rows: Vec<serde_json::Value> = self
            .engine
            .status()
            .into_iter()
            .filter_map(|st| {
                let id = u16::try_from(st.id).ok()?;
                let info = self.targets.get(&id)?;
                Some(serde_json::json!({
                    "service": info.service,
                    "real": info.real.to_string(),
                    "up": st.up,
                    "weight_override": st.weight_override,
                    "successes_in_row": st.successes_in_row,
                    "failures_in_row": st.failures_in_row,
                    "last_check": st.last_result.as_ref().map(|r| serde_json::json!({
                        "ok": r.ok,
                        "detail": r.detail,
                        "duration_ms": r.duration.as_secs_f64() * 1000.0,
                        "age_ms": r.at.elapsed().as_millis() as u64,
                    })),
                }))
            })
            .collect();
        rows.sort_by(|a, b| a["real"].as_str().cmp(&b["real"].as_str()));
        serde_json::json!({ "reals": rows, "transitions": self.transitions })
    }

    /// Is real `id` up (true when it has no check)?
    pub fn is_up(&self, id: u16) -> bool {
        self.up.get(&id).is_none_or(|s| s.0)
    }
}
