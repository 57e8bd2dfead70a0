//! Prometheus metrics: the text exposition format (0.0.4) served over HTTP
//! from the management loop. Values are read at scrape time from the
//! workers' single-writer counters (relaxed loads: a scrape never stalls a
//! worker), DPDK port stats and the mempool. The exposition is written
//! directly rather than through the `prometheus` crate's registry, because
//! that registry wants to own the counters, and ours live in the workers.
use super::ha::{unix_ms, HaMgr, WorkerSync};
use super::proto::StatsData;
use super::runtime::{proto_name, Runtime};
use crate::datapath::service::ServiceView;
use crate::datapath::{Counters, DropReason, Snapshot};
use crate::dpdk::port::PortStats;
use crate::dpdk::{Mempool, Port};
use std::borrow::Borrow;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The metrics listener, served without blocking from the management loop:
/// each scraper has its own buffers and [`SCRAPE_DEADLINE`] for the whole
/// exchange; a request head is at most [`MAX_HEAD`] bytes; at most
/// [`MAX_SCRAPERS`] are served at once (beyond, a connection is closed at
/// once).
pub struct MetricsServer {
    listener: TcpListener,
    scrapers: Vec<Scraper>,
    /// The longest management loop iteration since the previous scrape.
    loop_max: Duration,
}

/// The longest request head.
pub const MAX_HEAD: usize = 8 << 10;
/// Scrapers served at once.
pub const MAX_SCRAPERS: usize = 64;
/// The time a scraper has for its whole exchange.
const SCRAPE_DEADLINE: Duration = Duration::from_secs(5);

/// One connected scraper.
struct Scraper {
    stream: TcpStream,
    head: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    answered: bool,
    deadline: Instant,
}

struct Exp(String);

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Exp {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: u64) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {v}");
            return;
        }
        let l: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", esc(v)))
            .collect();
        let _ = writeln!(self.0, "{name}{{{}}} {v}", l.join(","));
    }
    /// A sample with a fractional value (seconds).
    fn sample_f(&mut self, name: &str, v: f64) {
        let _ = writeln!(self.0, "{name} {v}");
    }
    /// A family of one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, v: u64) {
        self.family(name, kind, help);
        self.sample(name, &[], v);
    }
    /// Each family in turn: its header, then one sample per item.
    fn table<V, R: Borrow<V>>(&mut self, families: &[Family<V>], items: &[(Labels, R)]) {
        for (name, kind, help, get) in families {
            self.family(name, kind, help);
            for (labels, v) in items {
                let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.sample(name, &l, get(v.borrow()));
            }
        }
    }
}

/// A metric family: name, type, help and how to read its value.
type Family<V> = (&'static str, &'static str, &'static str, fn(&V) -> u64);

/// A sample's labels.
type Labels = Vec<(&'static str, String)>;

/// Render every metric.
pub fn render(rt: &Runtime, ports: &[(String, &Port)], pool: &Mempool) -> String {
    let stats: Vec<(String, PortStats)> =
        ports.iter().map(|(n, p)| (n.clone(), p.stats())).collect();
    render_text(rt, &stats, pool.in_use())
}

/// One row per real of every service, from the workers' raw counters
/// (never the `lvsadm -Z` view: Prometheus counters stay monotonic).
struct Row {
    service: String,
    name: String,
    real: String,
    stats: StatsData,
    active: u64,
    inactive: u64,
    weight: u32,
    up: bool,
}

impl Row {
    fn labels(&self) -> Labels {
        vec![
            ("service", self.service.clone()),
            ("name", self.name.clone()),
            ("real", self.real.clone()),
        ]
    }
}

const REAL_FAMILIES: [Family<Row>; 9] = [
    (
        "lvsd_real_connections_total",
        "counter",
        "Connections scheduled to the real server.",
        |r| r.stats.conns,
    ),
    (
        "lvsd_real_active_connections",
        "gauge",
        "Active (established) connections of the real server.",
        |r| r.active,
    ),
    (
        "lvsd_real_inactive_connections",
        "gauge",
        "Inactive connections of the real server.",
        |r| r.inactive,
    ),
    (
        "lvsd_real_weight",
        "gauge",
        "Current scheduling weight of the real server.",
        |r| u64::from(r.weight),
    ),
    (
        "lvsd_real_up",
        "gauge",
        "1 when the real server passes its health check and has weight > 0, else 0.",
        |r| u64::from(r.up),
    ),
    (
        "lvsd_real_packets_in_total",
        "counter",
        "Packets from clients forwarded to the real server.",
        |r| r.stats.inpkts,
    ),
    (
        "lvsd_real_packets_out_total",
        "counter",
        "Reply packets from the real server (NAT).",
        |r| r.stats.outpkts,
    ),
    (
        "lvsd_real_bytes_in_total",
        "counter",
        "Bytes (in) of the real server's connections.",
        |r| r.stats.inbytes,
    ),
    (
        "lvsd_real_bytes_out_total",
        "counter",
        "Bytes (out) of the real server's connections.",
        |r| r.stats.outbytes,
    ),
];

const WORKER_FAMILIES: [Family<Counters>; 13] = [
    (
        "lvsd_worker_rx_packets_total",
        "counter",
        "Packets received by the worker.",
        |c| c.rx_packets.get(),
    ),
    (
        "lvsd_worker_rx_bytes_total",
        "counter",
        "Bytes received by the worker.",
        |c| c.rx_bytes.get(),
    ),
    (
        "lvsd_worker_tx_packets_total",
        "counter",
        "Packets transmitted by the worker.",
        |c| c.tx_packets.get(),
    ),
    (
        "lvsd_worker_tx_bytes_total",
        "counter",
        "Bytes transmitted by the worker.",
        |c| c.tx_bytes.get(),
    ),
    (
        "lvsd_worker_redirected_packets_total",
        "counter",
        "Packets handed to the owning worker.",
        |c| c.redirected.get(),
    ),
    (
        "lvsd_worker_connections_created_total",
        "counter",
        "Connections created by the worker.",
        |c| c.conns_created.get(),
    ),
    (
        "lvsd_worker_conn_table_entries",
        "gauge",
        "Entries in the worker's connection table.",
        |c| c.conn_table_len.get(),
    ),
    (
        "lvsd_worker_conn_table_capacity",
        "gauge",
        "Capacity of the worker's connection table.",
        |c| c.conn_table_capacity.get(),
    ),
    (
        "lvsd_worker_loop_iterations_total",
        "counter",
        "Poll-loop iterations (utilisation = busy / all).",
        |c| c.loop_iterations.get(),
    ),
    (
        "lvsd_worker_busy_iterations_total",
        "counter",
        "Poll-loop iterations that found work.",
        |c| c.busy_iterations.get(),
    ),
    (
        "lvsd_worker_busy_cycles_total",
        "counter",
        "TSC cycles spent in poll-loop iterations that found work.",
        |c| c.busy_cycles.get(),
    ),
    (
        "lvsd_worker_kernel_cycles_total",
        "counter",
        "TSC cycles spent in the kernel exception path's RX polls and TX bursts.",
        |c| c.kernel_cycles.get(),
    ),
    (
        "lvsd_worker_fast_path_packets_total",
        "counter",
        "Packets handled by the established fast path.",
        |c| c.fast_path.get(),
    ),
];

const PORT_FAMILIES: [Family<PortStats>; 8] = [
    (
        "lvsd_port_rx_packets_total",
        "counter",
        "Packets received by the port (DPDK ipackets).",
        |s| s.ipackets,
    ),
    (
        "lvsd_port_tx_packets_total",
        "counter",
        "Packets sent by the port (DPDK opackets).",
        |s| s.opackets,
    ),
    (
        "lvsd_port_rx_bytes_total",
        "counter",
        "Bytes received by the port.",
        |s| s.ibytes,
    ),
    (
        "lvsd_port_tx_bytes_total",
        "counter",
        "Bytes sent by the port.",
        |s| s.obytes,
    ),
    (
        "lvsd_port_rx_missed_total",
        "counter",
        "Packets the port dropped for lack of RX room (imissed).",
        |s| s.imissed,
    ),
    (
        "lvsd_port_rx_errors_total",
        "counter",
        "Erroneous received packets (ierrors).",
        |s| s.ierrors,
    ),
    (
        "lvsd_port_tx_errors_total",
        "counter",
        "Failed transmissions (oerrors).",
        |s| s.oerrors,
    ),
    (
        "lvsd_port_rx_nombuf_total",
        "counter",
        "RX mbuf allocation failures (rx_nombuf).",
        |s| s.rx_nombuf,
    ),
];

/// The exposition for `rt`, with the ports' stats and the mempool's mbufs
/// in use as read from DPDK.
fn render_text(rt: &Runtime, stats: &[(String, PortStats)], in_use: u32) -> String {
    let mut e = Exp(String::with_capacity(16 * 1024));
    let snap = rt.snapshot();
    let rows = real_rows(rt, &snap);
    let items: Vec<(Labels, &Row)> = rows.iter().map(|r| (r.labels(), r)).collect();
    e.table(&REAL_FAMILIES, &items);
    e.table(&SERVICE_FAMILIES, &service_rows(&snap, &rows));
    let workers: Vec<(Labels, &Counters)> = (rt.counters.iter().enumerate())
        .map(|(i, c)| (vec![("worker", i.to_string())], &**c))
        .collect();
    e.table(&WORKER_FAMILIES, &workers);
    drop_metrics(&mut e, &workers);
    let ports: Vec<(Labels, &PortStats)> = (stats.iter())
        .map(|(n, s)| (vec![("port", n.clone())], s))
        .collect();
    e.table(&PORT_FAMILIES, &ports);
    process_metrics(&mut e, rt, &snap, in_use);
    if let Some(ha) = &rt.ha {
        ha_metrics(&mut e, rt, ha);
    }
    e.single(
        "lvsd_services",
        "gauge",
        "Virtual services configured.",
        snap.services.list.len() as u64,
    );
    e.0
}

/// The `service` label of a virtual service: `proto:vip:port`.
fn service_label(sv: &ServiceView) -> String {
    format!("{}:{}:{}", proto_name(sv.proto), sv.vip, sv.port)
}

fn real_rows(rt: &Runtime, snap: &Snapshot) -> Vec<Row> {
    let mut rows = Vec::new();
    for sv in &snap.services.list {
        let service = service_label(sv);
        for (rv, d) in sv.reals.iter().zip(&sv.dests) {
            let (stats, active, inactive) = rt.real_totals(rv.id);
            rows.push(Row {
                service: service.clone(),
                name: sv.name.clone(),
                real: format!("{}:{}", rv.addr, rv.port),
                stats,
                active,
                inactive,
                weight: d.weight,
                up: rt.health.is_up(rv.id) && d.weight > 0,
            });
        }
    }
    rows
}

/// The per-service figures: connections (summed over its reals) and reals.
struct ServiceRow {
    conns: u64,
    reals: u64,
}

const SERVICE_FAMILIES: [Family<ServiceRow>; 2] = [
    (
        "lvsd_service_connections_total",
        "counter",
        "Connections scheduled by the virtual service.",
        |s| s.conns,
    ),
    (
        "lvsd_service_reals",
        "gauge",
        "Real servers configured in the virtual service.",
        |s| s.reals,
    ),
];

fn service_rows(snap: &Snapshot, rows: &[Row]) -> Vec<(Labels, ServiceRow)> {
    (snap.services.list.iter())
        .map(|sv| {
            let service = service_label(sv);
            let conns = (rows.iter())
                .filter(|r| r.service == service)
                .map(|r| r.stats.conns)
                .sum();
            let labels = vec![("service", service), ("name", sv.name.clone())];
            (
                labels,
                ServiceRow {
                    conns,
                    reals: sv.reals.len() as u64,
                },
            )
        })
        .collect()
}

/// Per worker and drop reason.
fn drop_metrics(e: &mut Exp, workers: &[(Labels, &Counters)]) {
    let name = "lvsd_worker_drops_total";
    e.family(name, "counter", "Packets dropped by the worker, by reason.");
    for (labels, c) in workers {
        let worker = labels.first().map_or("", |(_, i)| i.as_str());
        for r in DropReason::ALL {
            e.sample(
                name,
                &[("worker", worker), ("reason", r.as_str())],
                c.drops(*r),
            );
        }
    }
}

/// The process as a whole: mbufs, snapshot, reloads, health changes.
fn process_metrics(e: &mut Exp, rt: &Runtime, snap: &Snapshot, in_use: u32) {
    e.single(
        "lvsd_mempool_in_use",
        "gauge",
        "Mbufs currently allocated from the packet mempool.",
        u64::from(in_use),
    );
    e.single(
        "lvsd_snapshot_generation",
        "gauge",
        "Generation of the published topology snapshot.",
        snap.generation,
    );
    let name = "lvsd_config_reloads_total";
    e.family(name, "counter", "Configuration reloads, by result.");
    e.sample(name, &[("result", "success")], rt.reloads_ok);
    e.sample(name, &[("result", "failure")], rt.reloads_failed);
    e.single(
        "lvsd_health_transitions_total",
        "counter",
        "Real-server health state changes (up to down and down to up).",
        rt.health.transitions,
    );
}

/// Active/backup state and the peer link (with `[ha]`).
fn ha_metrics(e: &mut Exp, rt: &Runtime, ha: &HaMgr) {
    let name = "lvsd_ha_active";
    e.family(name, "gauge", "1 while this director is the active one.");
    e.sample(name, &[("role", ha.role_name())], u64::from(ha.is_active()));
    let singles: [(&str, &str, &str, u64); 5] = [
        (
            "lvsd_ha_peer_connected",
            "gauge",
            "1 while the authenticated peer link is up.",
            u64::from(ha.connected()),
        ),
        (
            "lvsd_ha_auth_failures_total",
            "counter",
            "Peer-link frames refused (bad MAC, replay, malformed).",
            ha.auth_failures(),
        ),
        (
            "lvsd_ha_transitions_total",
            "counter",
            "Role changes.",
            ha.stats.transitions,
        ),
        (
            "lvsd_ha_sync_records_sent_total",
            "counter",
            "Connection records sent to the peer.",
            ha.stats.records_sent,
        ),
        (
            "lvsd_ha_sync_records_received_total",
            "counter",
            "Connection records received from the peer.",
            ha.stats.records_received,
        ),
    ];
    for (name, kind, help, v) in singles {
        e.single(name, kind, help, v);
    }
    sync_dropped(e, rt, ha);
    let name = "lvsd_ha_adverts_refused_total";
    e.family(
        name,
        "counter",
        "Data-network adverts refused (forged, altered, replayed, malformed), by reason.",
    );
    for (reason, n) in ha.adverts_refused() {
        e.sample(name, &[("reason", reason)], n);
    }
    ha_state_metrics(e, rt, ha);
}

/// Sync records not replicated, by reason (`HaMgr::sync_dropped`).
fn sync_dropped(e: &mut Exp, rt: &Runtime, ha: &HaMgr) {
    let name = "lvsd_ha_sync_records_dropped_total";
    e.family(name, "counter", "Records not replicated, by reason.");
    for (reason, v) in ha.sync_dropped(WorkerSync::of(&rt.counters, &rt.events)) {
        e.sample(name, &[("reason", reason)], v);
    }
}

/// What `lvsadm show ha` shows beyond the families above: priorities,
/// preemption, the peer's liveness on both paths, link refusals, bulk
/// syncs, replication lag and transitions by reason.
fn ha_state_metrics(e: &mut Exp, rt: &Runtime, ha: &HaMgr) {
    let now = Instant::now();
    let gauges: [(&str, &str, u64); 3] = [
        (
            "lvsd_ha_priority",
            "The configured priority.",
            u64::from(ha.priority()),
        ),
        (
            "lvsd_ha_effective_priority",
            "The priority this director claims with now (0 in fault).",
            u64::from(ha.effective_priority()),
        ),
        (
            "lvsd_ha_preempt",
            "1 when preemption is configured.",
            u64::from(ha.preempt()),
        ),
    ];
    for (name, help, v) in gauges {
        e.single(name, "gauge", help, v);
    }
    let seen = ha.seen();
    let ages = [
        (
            "lvsd_ha_peer_heartbeat_age_seconds",
            "Seconds since the last heartbeat from the peer (peer link); absent until one arrived.",
            seen.heartbeat,
        ),
        (
            "lvsd_ha_peer_advert_age_seconds",
            "Seconds since the last accepted advert from the peer (data network); absent until one arrived.",
            seen.advert,
        ),
        (
            "lvsd_ha_sync_last_received_age_seconds",
            "Seconds since the last connection records from the peer; absent until some arrived.",
            seen.records,
        ),
    ];
    for (name, help, at) in ages {
        e.family(name, "gauge", help);
        if let Some(at) = at {
            e.sample_f(name, now.saturating_duration_since(at).as_secs_f64());
        }
    }
    let name = "lvsd_ha_peer_link_changed_timestamp_seconds";
    e.family(
        name,
        "gauge",
        "When the peer link last came up or went down (Unix time); absent until it first came up.",
    );
    if let Some((_, wall)) = seen.link_changed {
        e.sample_f(name, unix_ms(wall) as f64 / 1000.0);
    }
    ha_link_metrics(e, ha);
    ha_sync_metrics(e, rt, ha);
    ha_transition_metrics(e, ha);
}

/// Peer-link sessions and refusals.
fn ha_link_metrics(e: &mut Exp, ha: &HaMgr) {
    let name = "lvsd_ha_peer_link_events_total";
    e.family(name, "counter", "Peer-link sessions established and lost.");
    let st = ha.peer_status(Instant::now());
    e.sample(name, &[("event", "connected")], st.connects);
    e.sample(name, &[("event", "disconnected")], st.disconnects);
    let name = "lvsd_ha_peer_link_refused_total";
    e.family(
        name,
        "counter",
        "Peer-link frames and connections refused, by reason (before and after authentication).",
    );
    for (reason, n) in ha.link_refused() {
        e.sample(name, &[("reason", reason)], n);
    }
}

/// Bulk syncs and replication lag.
fn ha_sync_metrics(e: &mut Exp, rt: &Runtime, ha: &HaMgr) {
    let st = ha.sync_status(WorkerSync::of(&rt.counters, &rt.events), Instant::now());
    let name = "lvsd_ha_bulk_syncs_total";
    e.family(name, "counter", "Bulk syncs completed, by direction.");
    e.sample(name, &[("direction", "sent")], st.bulk_syncs_sent);
    e.sample(name, &[("direction", "received")], st.bulk_syncs_received);
    let name = "lvsd_ha_bulk_records_total";
    e.family(
        name,
        "counter",
        "Records carried by completed bulk syncs, by direction.",
    );
    e.sample(name, &[("direction", "sent")], st.bulk_records_sent);
    e.sample(name, &[("direction", "received")], st.bulk_records_received);
    e.single(
        "lvsd_ha_sync_lag_bytes",
        "gauge",
        "Bytes waiting in the peer link's send queue.",
        st.queued_bytes,
    );
    e.single(
        "lvsd_ha_sync_lag_records",
        "gauge",
        "Records and adverts the workers made that the management loop has not taken yet.",
        st.backlog_records,
    );
}

/// Role transitions by from, to and reason, and when the last one happened.
fn ha_transition_metrics(e: &mut Exp, ha: &HaMgr) {
    let name = "lvsd_ha_transitions_by_reason_total";
    e.family(
        name,
        "counter",
        "Role changes, by from, to and reason (only those that happened).",
    );
    for ((from, to, reason), n) in ha.history().counts() {
        e.sample(name, &[("from", from), ("to", to), ("reason", reason)], n);
    }
    let name = "lvsd_ha_last_transition_timestamp_seconds";
    e.family(
        name,
        "gauge",
        "When the last role change happened (Unix time); absent until one did.",
    );
    if let Some(last) = ha.history().last() {
        e.sample_f(name, unix_ms(last.wall) as f64 / 1000.0);
    }
}

impl MetricsServer {
    /// Listen on `addr`.
    pub fn bind(addr: SocketAddr) -> anyhow::Result<MetricsServer> {
        let listener =
            TcpListener::bind(addr).map_err(|e| anyhow::anyhow!("metrics.listen {addr}: {e}"))?;
        listener.set_nonblocking(true)?;
        Ok(MetricsServer {
            listener,
            scrapers: Vec::new(),
            loop_max: Duration::ZERO,
        })
    }

    /// The listening socket, for the management loop's wait.
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.listener.as_raw_fd()
    }

    /// One management loop iteration took `d` (its work, not its wait).
    pub fn note_iteration(&mut self, d: Duration) {
        self.loop_max = self.loop_max.max(d);
    }

    /// Accept new scrapers and advance each one without blocking; returns
    /// the longest the loop may wait (as
    /// [`ControlServer::poll`](super::server::ControlServer::poll)).
    pub fn poll(&mut self, rt: &Runtime, ports: &[(String, &Port)], pool: &Mempool) -> Duration {
        let mut wait = Duration::MAX;
        if self.accept(rt) {
            wait = Duration::ZERO;
        }
        let mut scrapers = std::mem::take(&mut self.scrapers);
        scrapers.retain_mut(|s| {
            if !s.answered {
                match s.read() {
                    Some(true) => {
                        let out = self.answer(&s.head, rt, ports, pool);
                        s.out = out;
                        s.answered = true;
                    }
                    Some(false) => {}
                    None => return false,
                }
            }
            let flushed = s.flush();
            let open = flushed.is_ok() && Instant::now() < s.deadline;
            if open && s.answered && s.sent == s.out.len() {
                return false;
            }
            if open && s.answered {
                wait = wait.min(Duration::from_millis(1));
            }
            open
        });
        self.scrapers = scrapers;
        wait
    }

    /// Accept at most 8 connections; `true` when more may be waiting.
    fn accept(&mut self, rt: &Runtime) -> bool {
        for _ in 0..8 {
            let Ok((stream, _)) = self.listener.accept() else {
                return false;
            };
            if self.scrapers.len() >= MAX_SCRAPERS || stream.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = rt.health.wake_on(stream.as_raw_fd());
            self.scrapers.push(Scraper {
                stream,
                head: Vec::new(),
                out: Vec::new(),
                sent: 0,
                answered: false,
                deadline: Instant::now() + SCRAPE_DEADLINE,
            });
        }
        true
    }

    /// The HTTP response to request `head`: the exposition for /metrics
    /// (which restarts the loop's longest-iteration window), else 404.
    fn answer(
        &mut self,
        head: &[u8],
        rt: &Runtime,
        ports: &[(String, &Port)],
        pool: &Mempool,
    ) -> Vec<u8> {
        let req = String::from_utf8_lossy(head);
        let path = req.split_whitespace().nth(1).unwrap_or("");
        let (status, body, ctype) = if path == "/metrics" || path.starts_with("/metrics?") {
            let mut body = render(rt, ports, pool);
            let mut e = Exp(String::new());
            e.family(LOOP_MAX, "gauge", LOOP_MAX_HELP);
            let _ = writeln!(e.0, "{LOOP_MAX} {}", self.loop_max.as_secs_f64());
            body.push_str(&e.0);
            self.loop_max = Duration::ZERO;
            ("200 OK", body, "text/plain; version=0.0.4; charset=utf-8")
        } else {
            (
                "404 Not Found",
                "not found: try /metrics\n".to_string(),
                "text/plain",
            )
        };
        let head = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        let mut out = head.into_bytes();
        out.extend_from_slice(body.as_bytes());
        out
    }
}

/// The management loop's longest iteration, rendered at scrape time.
const LOOP_MAX: &str = "lvsd_mgmt_loop_max_seconds";
const LOOP_MAX_HELP: &str = "The longest management loop iteration (its work, not its wait for events) since the previous scrape of /metrics (since start for the first).";

impl Scraper {
    /// Read what arrived: `Some(true)` once the head is complete (or the
    /// scraper stopped sending), `None` when the connection is to close
    /// (closed, failed, or a head over [`MAX_HEAD`]).
    fn read(&mut self) -> Option<bool> {
        let mut buf = [0u8; 2048];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return (!self.head.is_empty()).then_some(true),
                Ok(n) => {
                    self.head.extend_from_slice(&buf[..n]);
                    if self.head.len() > MAX_HEAD {
                        return None;
                    }
                    let h = &self.head;
                    if h.windows(4).any(|w| w == b"\r\n\r\n") || h.windows(2).any(|w| w == b"\n\n")
                    {
                        return Some(true);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Some(false),
                Err(_) => return None,
            }
        }
    }

    /// Write what the socket takes.
    fn flush(&mut self) -> std::io::Result<()> {
        while self.sent < self.out.len() {
            match self.stream.write(&self.out[self.sent..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The /metrics exposition, byte for byte, for a director with two ports,
/// two services, two workers with counts and `[ha]`.
#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    const CONFIG: &str = r#"
    [dpdk]
    lcores = "0-2"

    [[port]]
    name = "ext"
    device = "net_null0"
    address = "198.18.0.2/24"

    [[port]]
    name = "int"
    device = "net_null1"
    address = "198.18.1.2/24"

    [ha]
    node = "lvs-a"
    priority = 150
    peer = "127.0.0.1:9"
    listen = "127.0.0.1:0"
    key_file = "KEY"

    [[service]]
    name = "web"
    protocol = "tcp"
    vip = "198.18.0.100"
    port = 80
    scheduler = "wlc"
    method = "nat"

      [[service.real]]
      address = "198.18.1.10"
      port = 8080
      weight = 3

      [[service.real]]
      address = "198.18.1.11"
      port = 8080
      weight = 0

    [[service]]
    name = "dns"
    protocol = "udp"
    vip = "198.18.0.101"
    port = 53
    method = "dr"

      [[service.real]]
      address = "198.18.0.20"
      port = 53
    "#;

    fn runtime() -> Runtime {
        let dir = std::env::temp_dir().join(format!("lvsd-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let key = dir.join("ha.key");
        std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").expect("key file");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("key mode");
        let text = CONFIG.replace("KEY", &key.display().to_string());
        let m = crate::config::load(&text).expect("config");
        let mut links = crate::worker::Links::new(0);
        for w in 0..2u64 {
            let c = Counters::default();
            c.rx_packets.add(100 + w);
            c.rx_bytes.add(6400 + w);
            c.tx_packets.add(90 + w);
            c.fast_path.add(70);
            c.conn_table_len.add(5);
            c.sync_dropped.add(w);
            c.count_drop(DropReason::ALL[0]);
            c.count_drop(DropReason::ALL[DropReason::ALL.len() - 1]);
            if let Some(r) = c.real(0) {
                r.conns.add(7 + w);
                r.in_pkts.add(30);
                r.out_bytes.add(999);
                r.active.set(2);
                r.inactive.set(1);
            }
            links.counters.push(Arc::new(c));
        }
        let mut rt = Runtime::new(dir.join("lvsd.toml"), m, Vec::new(), links).expect("runtime");
        let _ = std::fs::remove_dir_all(&dir);
        rt.reloads_ok = 3;
        rt.reloads_failed = 1;
        rt
    }

    fn ports() -> Vec<(String, PortStats)> {
        let s = |k: u64| PortStats {
            ipackets: k,
            opackets: k + 1,
            ibytes: k + 2,
            obytes: k + 3,
            imissed: k + 4,
            ierrors: k + 5,
            oerrors: k + 6,
            rx_nombuf: k + 7,
        };
        vec![("ext".into(), s(10)), ("int".into(), s(20))]
    }

    /// The golden text is `metrics_golden.prom`; with LVSD_WRITE_METRICS_GOLDEN
    /// set to a path, the current exposition is also written there (to review a
    /// deliberate change with `git diff`).
    #[test]
    fn exposition_is_byte_for_byte_as_before() {
        let text = render_text(&runtime(), &ports(), 4098);
        if let Ok(path) = std::env::var("LVSD_WRITE_METRICS_GOLDEN") {
            std::fs::write(path, &text).expect("write golden");
        }
        assert_eq!(text, include_str!("metrics_golden.prom"));
    }
}
