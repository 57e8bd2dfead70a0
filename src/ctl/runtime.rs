//! The management side's state: the running configuration (file plus
//! runtime changes), snapshot publication, counter aggregation and the
//! handling of control requests.
//!
//! Rules:
//! - Every change is applied to a copy of the running [`Model`], which is
//!   then checked by [`config::validate_model`] — the file's rules and
//!   messages, applied to the model itself. Only a valid model is
//!   published, as one snapshot; otherwise nothing changes.
//! - Runtime changes are never lost silently: a reload (SIGHUP, `lvsadm
//!   reload`) while runtime changes exist that the file does not contain is
//!   refused with a message, unless `discard_runtime` is given. `lvsadm
//!   save-config > FILE` writes the running configuration; once the file
//!   holds it, reloads proceed.
//! - Topology changes that keep a real keep its connections (stable ids in
//!   the [`Registry`]).
use super::health::HealthMgr;
use super::proto::*;
use super::rates::Estimator;
use crate::config::{self, Model};
use crate::datapath::topology::{self, Registry};
use crate::datapath::{Counters, Snapshot};
use crate::packet::ethernet::MacAddr;
use crate::worker::{self, Mailbox, Published};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything the management loop owns.
pub struct Runtime {
    pub health: HealthMgr,
    /// Active/backup machinery (with `[ha]`).
    pub ha: Option<super::ha::HaMgr>,
    /// This director serves VIPs and floating addresses (always without `[ha]`).
    pub ha_active: bool,
    pub path: PathBuf,
    /// The running configuration.
    pub model: Model,
    /// The configuration as last loaded from `path`.
    pub file_model: Model,
    registry: Registry,
    generation: u64,
    macs: Vec<MacAddr>,
    pub published: Arc<Published>,
    pub counters: Vec<Arc<Counters>>,
    pub mailboxes: Vec<Arc<Mailbox>>,
    /// Per-worker command rings (HA: installs, adverts, GARP, bulk dumps).
    pub commands: Vec<Arc<worker::CommandRing>>,
    /// Per-worker event rings (HA: sync records, adverts seen).
    pub events: Vec<Arc<crate::datapath::EventRing>>,
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    pub rates: Estimator,
    /// Counter values at the last `-Z`, by real id: shown values are deltas.
    zero: Vec<StatsData>,
}

fn svc_matches(s: &config::Service, k: &ServiceKey) -> bool {
    s.protocol == k.protocol && s.vip == k.vip && s.port == k.port
}

fn find_service(m: &Model, k: &ServiceKey) -> Option<usize> {
    m.services.iter().position(|s| svc_matches(s, k))
}

/// The index of the service `k`, or "no service ...".
fn service_index(m: &Model, k: &ServiceKey) -> Result<usize, String> {
    find_service(m, k).ok_or_else(|| format!("no service {} {}:{}", k.protocol, k.vip, k.port))
}

/// `-A` (`add`) or `-E`: a service with the given settings; an edit keeps
/// the service's reals, method, checks and quorum.
fn upsert_service(m: &mut Model, spec: &ServiceSpec, add: bool) -> Result<(), String> {
    let key = &spec.key;
    let pos = find_service(m, key);
    if add && pos.is_some() {
        return Err(format!(
            "service {} {}:{} already exists",
            key.protocol, key.vip, key.port
        ));
    }
    if !add && pos.is_none() {
        return Err(format!(
            "no service {} {}:{}",
            key.protocol, key.vip, key.port
        ));
    }
    let protocol = key.protocol;
    let scheduler = spec.scheduler;
    let flags = service_flags(&spec.flags)?;
    let persistence = spec.persistence.as_ref().map(|p| config::Persistence {
        timeout: Duration::from_secs(u64::from(p.timeout)),
        netmask: p.netmask,
    });
    match pos {
        Some(i) => {
            let s = &mut m.services[i];
            s.scheduler = scheduler;
            s.flags = flags;
            s.persistence = persistence;
            s.ops = spec.ops;
        }
        None => m
            .services
            .push(new_service(spec, protocol, scheduler, flags, persistence)),
    }
    Ok(())
}

/// A service added at runtime: direct routing, no reals, checks or quorum
/// commands, the file's defaults otherwise.
fn new_service(
    spec: &ServiceSpec,
    protocol: config::Protocol,
    scheduler: config::Scheduler,
    flags: config::ServiceFlags,
    persistence: Option<config::Persistence>,
) -> config::Service {
    let key = &spec.key;
    config::Service {
        name: format!("{}-{}-{}", key.protocol, key.vip, key.port),
        protocol,
        vip: key.vip,
        port: key.port,
        scheduler,
        flags,
        persistence,
        ops: spec.ops,
        method: config::Method::Dr,
        maglev_size: 65537,
        reals: Vec::new(),
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        check_raw: None,
        sorry: None,
    }
}

/// Scheduler flag names (`-b`) as flag bits.
fn service_flags(names: &[String]) -> Result<config::ServiceFlags, String> {
    let mut flags = config::ServiceFlags::EMPTY;
    for f in names {
        flags.insert(match f.as_str() {
            "sh-fallback" | "mh-fallback" | "flag-1" => config::ServiceFlags::SCHED1,
            "sh-port" | "mh-port" | "flag-2" => config::ServiceFlags::SCHED2,
            "flag-3" => config::ServiceFlags::SCHED3,
            o => return Err(format!("service.flags: unknown flag '{o}'")),
        });
    }
    Ok(flags)
}

/// `-a` (`add`) or `-e`: a real of service `key`; an edited real keeps its
/// own check override.
fn upsert_real(m: &mut Model, key: &ServiceKey, real: &RealSpec, add: bool) -> Result<(), String> {
    let i = service_index(m, key)?;
    let s = &mut m.services[i];
    let method = real.method;
    let address = real.address;
    let pos = s
        .reals
        .iter()
        .position(|r| r.address == address && r.port == real.port);
    let check_raw = pos.and_then(|p| s.reals[p].check_raw.clone());
    let new = config::Real {
        address,
        port: real.port,
        weight: real.weight,
        method,
        upper_threshold: real.upper_threshold,
        lower_threshold: real.lower_threshold,
        check: config::real_check(s, check_raw.as_ref()),
        check_raw,
    };
    match (add, pos) {
        (true, Some(_)) => Err(format!(
            "real {}:{} already exists in that service",
            real.address, real.port
        )),
        (false, None) => Err(format!(
            "no real {}:{} in that service",
            real.address, real.port
        )),
        (true, None) => {
            s.reals.push(new);
            Ok(())
        }
        (false, Some(p)) => {
            s.reals[p] = new;
            Ok(())
        }
    }
}

/// `-d`: remove one real of service `key`.
fn delete_real(m: &mut Model, key: &ServiceKey, address: IpAddr, port: u16) -> Result<(), String> {
    let i = service_index(m, key)?;
    let s = &mut m.services[i];
    let p = s
        .reals
        .iter()
        .position(|r| r.address == address && r.port == port)
        .ok_or_else(|| format!("no real {address}:{port} in that service"))?;
    s.reals.remove(p);
    Ok(())
}

/// `--set tcp tcpfin udp`: a 0 keeps the current value.
fn set_timeouts(m: &mut Model, [tcp, tcp_fin, udp]: [u32; 3]) {
    for (v, t) in [
        (tcp, &mut m.timeouts.tcp),
        (tcp_fin, &mut m.timeouts.tcp_fin),
        (udp, &mut m.timeouts.udp),
    ] {
        if v != 0 {
            *t = Duration::from_secs(u64::from(v));
        }
    }
}

impl Runtime {
    /// Build the first snapshot and the publication point.
    pub fn new(
        path: PathBuf,
        model: Model,
        macs: Vec<MacAddr>,
        workers: worker::Links,
    ) -> anyhow::Result<Runtime> {
        let mut registry = Registry::default();
        let mut health = HealthMgr::new()?;
        health.sync(&model, &mut registry);
        let ov = health.overrides(&model, &mut registry);
        let snap = topology::build(&model, &macs, 1, &mut registry, &ov)?;
        let ha = match &model.ha {
            Some(h) => Some(super::ha::HaMgr::new(
                h.clone(),
                super::ha::own_addr(&model),
            )?),
            None => None,
        };
        Ok(Runtime {
            ha,
            ha_active: false,
            health,
            path,
            file_model: model.clone(),
            model,
            registry,
            generation: 1,
            macs,
            published: Arc::new(Published::new(snap)),
            counters: workers.counters,
            mailboxes: workers.mailboxes,
            commands: workers.commands,
            events: workers.events,
            reloads_ok: 0,
            reloads_failed: 0,
            rates: Estimator::default(),
            zero: Vec::new(),
        })
    }

    /// The snapshot workers run on now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.published.load()
    }

    /// Publish `m` if it is valid: checked by the file's rules, then built
    /// and swapped in whole.
    fn install(&mut self, m: Model) -> Result<(), String> {
        config::validate_model(&m).map_err(|e| e.to_string().trim_end().replace('\n', "; "))?;
        let checked = m;
        if checked.ports != self.model.ports || checked.dpdk != self.model.dpdk {
            return Err("dpdk and port settings cannot change while running (restart lvsd)".into());
        }
        self.health.sync(&checked, &mut self.registry);
        let mut ov = self.health.overrides(&checked, &mut self.registry);
        ov.active = self.ha_active;
        let snap = match topology::build(
            &checked,
            &self.macs,
            self.generation + 1,
            &mut self.registry,
            &ov,
        ) {
            Ok(s) => s,
            Err(e) => {
                let m = self.model.clone();
                self.health.sync(&m, &mut self.registry);
                return Err(e.to_string());
            }
        };
        self.generation += 1;
        self.published.publish(snap);
        self.model = checked;
        Ok(())
    }

    /// Run health checks for up to `max_wait`; a state change republishes
    /// the snapshot with the new effective weights.
    pub fn poll_health(&mut self, max_wait: Duration) {
        if !self.health.poll(max_wait) {
            return;
        }
        self.republish();
    }

    /// One step of the HA machinery; a role change republishes the snapshot
    /// (VIPs and floating addresses served or not).
    pub fn poll_ha(&mut self) {
        let snap = self.snapshot();
        let Some(ha) = self.ha.as_mut() else { return };
        if let Some(active) = ha.poll(&snap, &self.commands, &self.events) {
            self.ha_active = active;
            self.republish();
            if active {
                // The new snapshot serves the VIPs: announce them now.
                let snap = self.snapshot();
                if let Some(ha) = self.ha.as_mut() {
                    ha.poll(&snap, &self.commands, &self.events);
                }
            }
        }
    }

    /// Rebuild and publish the snapshot from the running model with the
    /// current health and HA state.
    fn republish(&mut self) {
        let mut ov = self.health.overrides(&self.model, &mut self.registry);
        ov.active = self.ha_active;
        match topology::build(
            &self.model,
            &self.macs,
            self.generation + 1,
            &mut self.registry,
            &ov,
        ) {
            Ok(snap) => {
                self.generation += 1;
                self.published.publish(snap);
            }
            Err(e) => tracing::error!("snapshot after a health change: {e}"),
        }
    }

    /// Re-read the file (SIGHUP / `lvsadm reload`).
    pub fn reload(&mut self, discard_runtime: bool) -> Result<(), String> {
        let r = self.reload_inner(discard_runtime);
        match &r {
            Ok(()) => {
                self.reloads_ok += 1;
                tracing::info!(generation = self.generation, "configuration reloaded");
            }
            Err(e) => {
                self.reloads_failed += 1;
                tracing::warn!("reload refused: {e}");
            }
        }
        r
    }

    fn reload_inner(&mut self, discard_runtime: bool) -> Result<(), String> {
        let m = config::load_file(&self.path)
            .map_err(|e| e.to_string().trim_end().replace('\n', "; "))?;
        // Runtime changes survive a reload only if they were saved to the
        // file; otherwise the reload is refused rather than losing them.
        if self.model != self.file_model && m != self.model && !discard_runtime {
            return Err(format!(
                "the running configuration has unsaved runtime changes; save them (lvsadm save-config > {}) or reload with --discard-runtime",
                self.path.display()
            ));
        }
        self.install(m.clone())?;
        self.file_model = m;
        Ok(())
    }

    /// Apply one request to `m` (no publication).
    fn apply(&self, m: &mut Model, r: &Request) -> Result<(), String> {
        match r {
            Request::AddService { service } => upsert_service(m, service, true),
            Request::EditService { service } => upsert_service(m, service, false),
            Request::DeleteService { key } => {
                let i = service_index(m, key)?;
                m.services.remove(i);
                Ok(())
            }
            Request::Clear => {
                m.services.clear();
                Ok(())
            }
            Request::AddReal { key, real } => upsert_real(m, key, real, true),
            Request::EditReal { key, real } => upsert_real(m, key, real, false),
            Request::DeleteReal { key, address, port } => delete_real(m, key, *address, *port),
            Request::SetTimeouts { tcp, tcp_fin, udp } => {
                set_timeouts(m, [*tcp, *tcp_fin, *udp]);
                Ok(())
            }
            Request::Batch { requests } => {
                for (i, r) in requests.iter().enumerate() {
                    self.apply(m, r)
                        .map_err(|e| format!("request {}: {e}", i + 1))?;
                }
                Ok(())
            }
            _ => Err("not a configuration change".into()),
        }
    }

    /// Handle one request.
    pub fn handle(&mut self, r: Request) -> Response {
        match r {
            Request::Status => Response::data(serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"),
                "protocol": VERSION,
                "generation": self.generation,
                "workers": self.counters.len(),
                "services": self.model.services.len(),
                "runtime_changes": self.model != self.file_model,
            })),
            Request::List => match serde_json::to_value(self.list()) {
                Ok(v) => Response::data(v),
                Err(e) => Response::err(e.to_string()),
            },
            Request::Connections => {
                let (rows, missing) = worker::collect(&self.mailboxes, Duration::from_secs(1));
                let data: Vec<ConnData> = rows.iter().map(super::listing::conn_data).collect();
                if missing > 0 {
                    return Response::err(format!("{missing} workers did not answer"));
                }
                Response::data(serde_json::json!(data))
            }
            Request::Reload { discard_runtime } => match self.reload(discard_runtime) {
                Ok(()) => Response::ok(),
                Err(e) => Response::err(e),
            },
            Request::SaveConfig => {
                Response::data(serde_json::Value::String(config::emit::emit(&self.model)))
            }
            Request::Zero { key } => {
                self.zero_stats(key.as_ref());
                Response::ok()
            }
            Request::Health => Response::data(self.health.status()),
            Request::Ha => Response::data(match &self.ha {
                Some(ha) => {
                    let w = super::ha::WorkerSync::of(&self.counters, &self.events);
                    serde_json::to_value(ha.status(w, std::time::Instant::now()))
                        .unwrap_or_default()
                }
                None => serde_json::json!({ "configured": false }),
            }),
            Request::Explain {
                protocol,
                client,
                vip,
            } => match super::explain::explain(&self.snapshot(), &protocol, client, vip) {
                Ok(v) => Response::data(v),
                Err(e) => Response::err(e),
            },
            change => {
                let mut m = self.model.clone();
                match self.apply(&mut m, &change).and_then(|()| self.install(m)) {
                    Ok(()) => Response::ok(),
                    Err(e) => Response::err(e),
                }
            }
        }
    }

    /// Counters of real `id` summed over workers (never zeroed), with its
    /// active and inactive connection counts.
    pub fn real_totals(&self, id: u16) -> (StatsData, u64, u64) {
        let mut s = StatsData::default();
        let (mut active, mut inactive) = (0, 0);
        for c in &self.counters {
            if let Some(r) = c.real(id) {
                s.conns += r.conns.get();
                s.inpkts += r.in_pkts.get();
                s.outpkts += r.out_pkts.get();
                s.inbytes += r.in_bytes.get();
                s.outbytes += r.out_bytes.get();
                active += r.active.get();
                inactive += r.inactive.get();
            }
        }
        (s, active, inactive)
    }

    fn zeroed(&self, id: u16, s: StatsData) -> StatsData {
        let z = self.zero.get(usize::from(id)).copied().unwrap_or_default();
        StatsData {
            conns: s.conns.saturating_sub(z.conns),
            inpkts: s.inpkts.saturating_sub(z.inpkts),
            outpkts: s.outpkts.saturating_sub(z.outpkts),
            inbytes: s.inbytes.saturating_sub(z.inbytes),
            outbytes: s.outbytes.saturating_sub(z.outbytes),
        }
    }

    fn zero_stats(&mut self, key: Option<&ServiceKey>) {
        let snap = self.snapshot();
        for svc in &snap.services.list {
            let k = svc.key();
            if key.is_some_and(|want| *want != k) {
                continue;
            }
            for r in &svc.reals {
                let (s, _, _) = self.real_totals(r.id);
                let i = usize::from(r.id);
                if self.zero.len() <= i {
                    self.zero.resize(i + 1, StatsData::default());
                }
                self.zero[i] = s;
            }
        }
    }

    /// Feed the rate estimator (every 2 s from the management loop).
    pub fn sample_rates(&mut self) {
        let snap = self.snapshot();
        let mut samples = Vec::new();
        for svc in &snap.services.list {
            for r in &svc.reals {
                samples.push((r.id, self.real_totals(r.id).0));
            }
        }
        self.rates.sample(&samples);
    }

    /// The `list` answer.
    pub fn list(&self) -> ListData {
        let snap = self.snapshot();
        let mut services = Vec::new();
        for svc in &snap.services.list {
            let cfg = self.model.services.iter().find(|s| {
                s.protocol.number() == svc.proto
                    && s.vip == IpAddr::V4(svc.vip)
                    && s.port == svc.port
            });
            let mut reals = Vec::new();
            let mut sstats = StatsData::default();
            let mut srates = RatesData::default();
            for (r, d) in svc.reals.iter().zip(&svc.dests) {
                let (raw, active, inactive) = self.real_totals(r.id);
                let stats = self.zeroed(r.id, raw);
                let rates = self.rates.get(r.id);
                add_stats(&mut sstats, &stats);
                add_rates(&mut srates, &rates);
                reals.push(RealData {
                    address: r.addr,
                    port: r.port,
                    method: crate::ipvsadm::format::method_name(r.method).to_string(),
                    weight: d.weight,
                    upper_threshold: d.u_threshold,
                    lower_threshold: d.l_threshold,
                    active,
                    inactive,
                    persistent: 0,
                    stats,
                    rates,
                });
            }
            services.push(ServiceData {
                name: svc.name.clone(),
                key: svc.key(),
                scheduler: svc.table.kind(),
                flags: cfg
                    .map(|c| {
                        config::emit::flag_names(c)
                            .into_iter()
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
                persistence: svc.persistence.map(|p| PersistSpec {
                    timeout: p.timeout_s,
                    netmask: p.netmask,
                }),
                ops: svc.ops,
                stats: sstats,
                rates: srates,
                reals,
            });
        }
        ListData {
            services,
            timeouts: snap.timeouts.secs(),
            conn_capacity: self
                .counters
                .iter()
                .map(|c| c.conn_table_capacity.get())
                .sum(),
        }
    }
}

fn add_stats(a: &mut StatsData, b: &StatsData) {
    a.conns += b.conns;
    a.inpkts += b.inpkts;
    a.outpkts += b.outpkts;
    a.inbytes += b.inbytes;
    a.outbytes += b.outbytes;
}

fn add_rates(a: &mut RatesData, b: &RatesData) {
    a.cps += b.cps;
    a.inpps += b.inpps;
    a.outpps += b.outpps;
    a.inbps += b.inbps;
    a.outbps += b.outbps;
}

/// "tcp"/"udp" for a protocol number ("ip" for any other).
pub fn proto_name(p: u8) -> &'static str {
    crate::types::Protocol::from_number(p).map_or("ip", crate::types::Protocol::as_str)
}
