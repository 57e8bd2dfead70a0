//! The management loop on the main lcore: link states, rate samples,
//! reloads, the control and metrics sockets, HA and health checks, until
//! SIGINT or SIGTERM.
use super::director::Director;
use crate::config::Model;
use crate::ctl::metrics::MetricsServer;
use crate::ctl::runtime::Runtime;
use crate::ctl::server::ControlServer;
use crate::ctl::signals::Signals;
use crate::dpdk::Port;
use crate::worker;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often the management loop checks port links (and frees retired
/// snapshots), and samples rates. With `[ha]` links are checked every
/// `interval_ms` when that is shorter: a data port that loses link moves
/// the role within about one interval (each check is a DPDK link read and
/// a small sysfs read).
const LINK_CHECK_EVERY: Duration = Duration::from_millis(500);
const RATES_EVERY: Duration = Duration::from_secs(2);
/// With `[ha]`, the longest the management loop sleeps: the workers' event
/// rings (peer adverts, sync records for the peer; 65,536 entries each)
/// and the HA timers are polled, not waited on. Without HA the loop sleeps
/// until there is work: a management thread that woke every 5 ms cost the
/// worker ~100 preemptions a second by the RCU grace-period thread
/// (perf/RESULTS.md, fifth pass).
const MGMT_HA_POLL: Duration = Duration::from_millis(5);

/// A management loop iteration longer than this is logged (at most once
/// per `SLOW_LOG_EVERY`), with where its time went.
const SLOW_ITERATION: Duration = Duration::from_millis(20);
const SLOW_LOG_EVERY: Duration = Duration::from_secs(10);

/// The management side's sockets.
pub(super) struct Servers {
    pub(super) control: ControlServer,
    pub(super) metrics: Option<MetricsServer>,
}

/// The loop's timers and the link states it last saw.
struct Timers {
    last_links: Vec<bool>,
    link_every: Duration,
    last_rates: Instant,
    last_links_check: Instant,
    last_slow_log: Instant,
}

/// Run the management loop until a stop signal.
pub(super) fn run(
    m: &Model,
    rt: &mut Runtime,
    d: &Director,
    signals: &Signals,
    servers: &mut Servers,
) -> anyhow::Result<()> {
    let port_names: Vec<(String, &Port)> = m
        .ports
        .iter()
        .map(|p| p.name.clone())
        .zip(d.ports().iter())
        .collect();
    let mut t = Timers {
        last_links: vec![false; d.ports().len()],
        link_every: m
            .ha
            .as_ref()
            .map_or(LINK_CHECK_EVERY, |h| h.interval.min(LINK_CHECK_EVERY)),
        last_rates: Instant::now(),
        last_links_check: Instant::now() - LINK_CHECK_EVERY,
        last_slow_log: Instant::now() - SLOW_LOG_EVERY,
    };
    // The loop sleeps in the health engine's wait until a socket, a signal
    // or a timer needs it (see `MGMT_HA_POLL` for the one exception).
    rt.health.wake_on(signals.fd())?;
    rt.health.wake_on(servers.control.fd())?;
    if let Some(ms) = &servers.metrics {
        rt.health.wake_on(ms.fd())?;
    }
    while !signals.stopping() {
        let started = Instant::now();
        signals.drain();
        t.periodic(m, rt, d);
        if signals.reload.swap(false, Ordering::Relaxed) {
            // SIGHUP: re-read the file (refused while runtime changes are unsaved).
            let _ = rt.reload(false);
        }
        // The sockets are served without blocking; `soon` is how long the
        // loop may sleep before a client with work in progress needs it.
        let before_control = started.elapsed();
        let mut soon = servers.control.poll(rt);
        let before_metrics = started.elapsed();
        if let Some(ms) = &mut servers.metrics {
            soon = soon.min(ms.poll(rt, &port_names, d.pool()));
        }
        let after_metrics = started.elapsed();
        if signals.dump.swap(false, Ordering::Relaxed) {
            dump_connections(rt);
        }
        // Children started from here on run as the running configuration
        // says (a reload may have changed it).
        crate::health::child::set_run_as(rt.model.children.run_as.as_ref());
        rt.poll_ha();
        let took = started.elapsed();
        if let Some(ms) = &mut servers.metrics {
            ms.note_iteration(took);
        }
        if took > SLOW_ITERATION && t.last_slow_log.elapsed() >= SLOW_LOG_EVERY {
            t.last_slow_log = Instant::now();
            tracing::warn!(
                took = ?took,
                timers = ?before_control,
                control = ?(before_metrics - before_control),
                metrics = ?(after_metrics - before_metrics),
                "slow management loop iteration"
            );
        }
        // Health checks run here, in the management loop's idle time; the
        // wait ends early for a check's socket or timer, a control or
        // metrics connection, or a signal.
        rt.poll_health(t.wait(rt, soon));
    }
    // Stopping: an active hands the role over at once.
    let snap = rt.snapshot();
    if let Some(ha) = rt.ha.as_mut() {
        ha.resign(&snap, &rt.commands);
    }
    Ok(())
}

impl Timers {
    /// Link states (and retired snapshots) and rate samples, when due.
    fn periodic(&mut self, m: &Model, rt: &mut Runtime, d: &Director) {
        if self.last_links_check.elapsed() >= self.link_every {
            self.last_links_check = Instant::now();
            let mut down = Vec::new();
            for (i, p) in d.ports().iter().enumerate().take(m.ports.len()) {
                let up = p.link_up() && !super::carrier::kernel_down(&m.ports[i].device);
                if up != self.last_links[i] {
                    tracing::info!(port = %m.ports[i].name, up, "link state");
                    self.last_links[i] = up;
                }
                if !up {
                    down.push(m.ports[i].name.as_str());
                }
            }
            // A data port without link is a local fault: the pair's other
            // director takes over (keepalived's track_interface).
            if let Some(ha) = rt.ha.as_mut() {
                ha.report_fault(
                    (!down.is_empty()).then(|| format!("link down: {}", down.join(","))),
                );
            }
            rt.published.collect();
        }
        if self.last_rates.elapsed() >= RATES_EVERY {
            self.last_rates = Instant::now();
            rt.sample_rates();
        }
    }

    /// How long the loop may sleep: until the next timer, at most
    /// `MGMT_HA_POLL` with HA, at most `soon` (a socket's client has work
    /// in progress, or more connections wait).
    fn wait(&self, rt: &Runtime, soon: Duration) -> Duration {
        let due = (self.last_links_check + self.link_every).min(self.last_rates + RATES_EVERY);
        let mut wait = due.saturating_duration_since(Instant::now());
        if rt.ha.is_some() {
            wait = wait.min(MGMT_HA_POLL);
        }
        wait.min(soon)
    }
}

/// SIGUSR1: print the connection table (ipvsadm -Lnc format) on stdout.
/// A stdout nobody reads (closed pipe, closed journal stream) costs a
/// warning, never the process (`print!` would panic on EPIPE).
fn dump_connections(rt: &Runtime) {
    use std::io::Write as _;
    let (rows, missing) = worker::collect(&rt.mailboxes, Duration::from_secs(1));
    let text = format!(
        "{}-- {} entries ({} workers did not answer)\n",
        crate::ctl::listing::connections(&rows),
        rows.len(),
        missing
    );
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        tracing::warn!("SIGUSR1: connection table not printed: stdout: {e}");
    }
}
