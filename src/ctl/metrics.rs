//! Prometheus metrics: the text exposition format (0.0.4) served over HTTP
//! from the management loop. Values are read at scrape time from the
//! workers' single-writer counters (relaxed loads: a scrape never stalls a
//! worker), DPDK port stats and the mempool. The exposition is written
//! directly rather than through the `prometheus` crate's registry, because
//! that registry wants to own the counters, and ours live in the workers.
use super::runtime::Runtime;
use crate::datapath::DropReason;
use crate::dpdk::port::PortStats;
use crate::dpdk::{Mempool, Port};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// The metrics listener.
pub struct MetricsServer {
    listener: TcpListener,
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
}

/// Render every metric.
pub fn render(rt: &Runtime, ports: &[(String, &Port)], pool: &Mempool) -> String {
    let stats: Vec<(String, crate::dpdk::port::PortStats)> =
        ports.iter().map(|(n, p)| (n.clone(), p.stats())).collect();
    render_text(rt, &stats, pool.in_use())
}

/// The exposition for `rt`, with the ports' stats and the mempool's mbufs
/// in use as read from DPDK.
pub(super) fn render_text(rt: &Runtime, stats: &[(String, PortStats)], in_use: u32) -> String {
    let mut e = Exp(String::with_capacity(16 * 1024));
    let snap = rt.snapshot();
    // One row per real of every service, from the workers' raw counters
    // (never the `lvsadm -Z` view: Prometheus counters stay monotonic).
    struct Row {
        service: String,
        name: String,
        real: String,
        stats: super::proto::StatsData,
        active: u64,
        inactive: u64,
        weight: u32,
        up: bool,
    }
    let mut rows = Vec::new();
    for sv in &snap.services.list {
        let service = format!(
            "{}:{}:{}",
            super::runtime::proto_name(sv.proto),
            sv.vip,
            sv.port
        );
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
    type RowGet = fn(&Row) -> u64;
    let real_families: [(&str, &str, &str, RowGet); 9] = [
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
    for (name, kind, help, get) in real_families {
        e.family(name, kind, help);
        for r in &rows {
            e.sample(
                name,
                &[
                    ("service", &r.service),
                    ("name", &r.name),
                    ("real", &r.real),
                ],
                get(r),
            );
        }
    }
    e.family(
        "lvsd_service_connections_total",
        "counter",
        "Connections scheduled by the virtual service.",
    );
    for sv in &snap.services.list {
        let service = format!(
            "{}:{}:{}",
            super::runtime::proto_name(sv.proto),
            sv.vip,
            sv.port
        );
        let total: u64 = rows
            .iter()
            .filter(|r| r.service == service)
            .map(|r| r.stats.conns)
            .sum();
        e.sample(
            "lvsd_service_connections_total",
            &[("service", &service), ("name", &sv.name)],
            total,
        );
    }
    e.family(
        "lvsd_service_reals",
        "gauge",
        "Real servers configured in the virtual service.",
    );
    for sv in &snap.services.list {
        let service = format!(
            "{}:{}:{}",
            super::runtime::proto_name(sv.proto),
            sv.vip,
            sv.port
        );
        e.sample(
            "lvsd_service_reals",
            &[("service", &service), ("name", &sv.name)],
            sv.reals.len() as u64,
        );
    }

    type WGet = fn(&crate::datapath::Counters) -> u64;
    let worker_families: [(&str, &str, &str, WGet); 13] = [
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
    for (name, kind, help, get) in worker_families {
        e.family(name, kind, help);
        for (i, c) in rt.counters.iter().enumerate() {
            e.sample(name, &[("worker", &i.to_string())], get(c));
        }
    }
    e.family(
        "lvsd_worker_drops_total",
        "counter",
        "Packets dropped by the worker, by reason.",
    );
    for (i, c) in rt.counters.iter().enumerate() {
        for r in DropReason::ALL {
            e.sample(
                "lvsd_worker_drops_total",
                &[("worker", &i.to_string()), ("reason", r.as_str())],
                c.drops(*r),
            );
        }
    }
    type PGet = fn(&crate::dpdk::port::PortStats) -> u64;
    let port_families: [(&str, &str, PGet); 8] = [
        (
            "lvsd_port_rx_packets_total",
            "Packets received by the port (DPDK ipackets).",
            |s| s.ipackets,
        ),
        (
            "lvsd_port_tx_packets_total",
            "Packets sent by the port (DPDK opackets).",
            |s| s.opackets,
        ),
        (
            "lvsd_port_rx_bytes_total",
            "Bytes received by the port.",
            |s| s.ibytes,
        ),
        ("lvsd_port_tx_bytes_total", "Bytes sent by the port.", |s| {
            s.obytes
        }),
        (
            "lvsd_port_rx_missed_total",
            "Packets the port dropped for lack of RX room (imissed).",
            |s| s.imissed,
        ),
        (
            "lvsd_port_rx_errors_total",
            "Erroneous received packets (ierrors).",
            |s| s.ierrors,
        ),
        (
            "lvsd_port_tx_errors_total",
            "Failed transmissions (oerrors).",
            |s| s.oerrors,
        ),
        (
            "lvsd_port_rx_nombuf_total",
            "RX mbuf allocation failures (rx_nombuf).",
            |s| s.rx_nombuf,
        ),
    ];
    for (name, help, get) in port_families {
        e.family(name, "counter", help);
        for (n, s) in stats {
            e.sample(name, &[("port", n)], get(s));
        }
    }
    e.family(
        "lvsd_mempool_in_use",
        "gauge",
        "Mbufs currently allocated from the packet mempool.",
    );
    e.sample("lvsd_mempool_in_use", &[], u64::from(in_use));
    e.family(
        "lvsd_snapshot_generation",
        "gauge",
        "Generation of the published topology snapshot.",
    );
    e.sample("lvsd_snapshot_generation", &[], snap.generation);
    e.family(
        "lvsd_config_reloads_total",
        "counter",
        "Configuration reloads, by result.",
    );
    e.sample(
        "lvsd_config_reloads_total",
        &[("result", "success")],
        rt.reloads_ok,
    );
    e.sample(
        "lvsd_config_reloads_total",
        &[("result", "failure")],
        rt.reloads_failed,
    );
    e.family(
        "lvsd_health_transitions_total",
        "counter",
        "Real-server health state changes (up to down and down to up).",
    );
    e.sample("lvsd_health_transitions_total", &[], rt.health.transitions);
    if let Some(ha) = &rt.ha {
        e.family(
            "lvsd_ha_active",
            "gauge",
            "1 while this director is the active one.",
        );
        e.sample(
            "lvsd_ha_active",
            &[("role", ha.role_name())],
            u64::from(ha.is_active()),
        );
        e.family(
            "lvsd_ha_peer_connected",
            "gauge",
            "1 while the authenticated peer link is up.",
        );
        e.sample("lvsd_ha_peer_connected", &[], u64::from(ha.connected()));
        e.family(
            "lvsd_ha_auth_failures_total",
            "counter",
            "Peer-link frames refused (bad MAC, replay, malformed).",
        );
        e.sample("lvsd_ha_auth_failures_total", &[], ha.auth_failures());
        e.family("lvsd_ha_transitions_total", "counter", "Role changes.");
        e.sample("lvsd_ha_transitions_total", &[], ha.stats.transitions);
        e.family(
            "lvsd_ha_sync_records_sent_total",
            "counter",
            "Connection records sent to the peer.",
        );
        e.sample(
            "lvsd_ha_sync_records_sent_total",
            &[],
            ha.stats.records_sent,
        );
        e.family(
            "lvsd_ha_sync_records_received_total",
            "counter",
            "Connection records received from the peer.",
        );
        e.sample(
            "lvsd_ha_sync_records_received_total",
            &[],
            ha.stats.records_received,
        );
        e.family(
            "lvsd_ha_sync_records_dropped_total",
            "counter",
            "Records not replicated: sync fell behind or the peer was away.",
        );
        let lost: u64 = rt
            .counters
            .iter()
            .map(|c| c.sync_dropped.get())
            .sum::<u64>()
            + ha.stats.records_dropped
            + ha.stats.install_full;
        e.sample("lvsd_ha_sync_records_dropped_total", &[], lost);
    }
    e.family("lvsd_services", "gauge", "Virtual services configured.");
    e.sample("lvsd_services", &[], snap.services.list.len() as u64);
    e.0
}

impl MetricsServer {
    /// Listen on `addr`.
    pub fn bind(addr: SocketAddr) -> anyhow::Result<MetricsServer> {
        let listener =
            TcpListener::bind(addr).map_err(|e| anyhow::anyhow!("metrics.listen {addr}: {e}"))?;
        listener.set_nonblocking(true)?;
        Ok(MetricsServer { listener })
    }

    /// The listening socket, for the management loop's wait.
    pub fn fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.listener)
    }

    /// Answer the pending scrapes, at most 8 per call; `true` when more may
    /// be waiting (as [`ControlServer::poll`](super::server::ControlServer::poll)).
    pub fn poll(&self, rt: &Runtime, ports: &[(String, &Port)], pool: &Mempool) -> bool {
        for _ in 0..8 {
            let Ok((mut s, _)) = self.listener.accept() else {
                return false;
            };
            let _ = s.set_nonblocking(false);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 2048];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let path = req.split_whitespace().nth(1).unwrap_or("");
            let (status, body, ctype) = if path == "/metrics" || path.starts_with("/metrics?") {
                (
                    "200 OK",
                    render(rt, ports, pool),
                    "text/plain; version=0.0.4; charset=utf-8",
                )
            } else {
                (
                    "404 Not Found",
                    "not found: try /metrics\n".to_string(),
                    "text/plain",
                )
            };
            let head = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body.as_bytes());
        }
        true
    }
}
