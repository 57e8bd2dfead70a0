//! `lvsd run`: bring up EAL, the mempool and the ports from the
//! configuration, publish the first snapshot, start one worker per worker
//! lcore, and run the management loop on the main lcore until SIGINT or
//! SIGTERM; then stop the workers, close the ports and report the mempool
//! (every mbuf must be back) before EAL cleanup releases the hugepages.
//! The DPDK parts are owned by a [`director::Director`] whose drop order is
//! that shutdown order, whatever step fails.
mod carrier;
mod director;
mod kernel_quiet;
mod manage;

use crate::config::{Device, Model};
use crate::ctl::metrics::MetricsServer;
use crate::ctl::runtime::Runtime;
use crate::ctl::server::ControlServer;
use crate::ctl::signals::Signals;
use crate::datapath::{Counters, DropReason};
use crate::dpdk::Port;
use crate::packet::ethernet::MacAddr;
use crate::worker;
use director::Director;
use manage::Servers;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// EAL arguments for a configuration.
pub fn eal_args(m: &Model) -> Vec<String> {
    let d = &m.dpdk;
    // Lcore ids beyond the machine's CPUs are mapped onto CPUs round-robin
    // (`--lcores N@cpu`), so a small test machine can run more workers.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let lcores = d
        .lcores
        .iter()
        .map(|&l| {
            if l < cpus {
                l.to_string()
            } else {
                format!("{l}@{}", l % cpus)
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    let mut a = vec![
        format!("--lcores={lcores}"),
        format!("--file-prefix={}", d.file_prefix),
    ];
    a.push(format!("--main-lcore={}", d.main_lcore()));
    if d.hugepages {
        // Hugepage files stay linked while running so that secondary
        // processes (dpdk-dumpcap) can map them; lvsd removes its own files
        // after EAL cleanup (see `remove_hugepage_files`).
        a.extend(["-m".into(), d.memory_mb.to_string()]);
    } else {
        a.extend([
            "--no-huge".into(),
            "--no-shconf".into(),
            "-m".into(),
            d.memory_mb.to_string(),
        ]);
    }
    let mut pci = false;
    for p in &m.ports {
        match &p.device {
            Device::Vdev(s) => a.extend(["--vdev".into(), s.clone()]),
            Device::Pci(s) => {
                pci = true;
                a.extend(["-a".into(), s.clone()]);
            }
        }
    }
    for (i, p) in m.ports.iter().enumerate() {
        if let Some(k) = &p.kernel_iface {
            a.extend(["--vdev".into(), format!("{}{i},iface={k}", KERNEL_VDEV)]);
        }
    }
    if !pci {
        a.push("--no-pci".into());
    }
    a.extend(d.args.iter().cloned());
    a
}

/// Prefix of the kernel-interface (net_tap) vdev names lvsd creates.
const KERNEL_VDEV: &str = "net_tap_lvk";

/// Give a port's kernel interface the port's MAC, address and routes, and
/// bring it up, so the kernel's own traffic (health checks, ssh) uses the
/// data network through lvsd.
fn setup_kernel_iface(m: &Model, i: usize, iface: &str, mac: MacAddr) -> anyhow::Result<()> {
    let p = &m.ports[i];
    let run = |args: &[&str]| -> anyhow::Result<()> {
        let out = std::process::Command::new("ip").args(args).output()?;
        if !out.status.success() {
            anyhow::bail!(
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    };
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{iface}/disable_ipv6"), "1");
    run(&["link", "set", "dev", iface, "address", &mac.to_string()])?;
    run(&["addr", "replace", &p.address.to_string(), "dev", iface])?;
    run(&["link", "set", "dev", iface, "mtu", &p.mtu.to_string(), "up"])?;
    for r in m.routes.iter().filter(|r| r.port == i) {
        run(&[
            "route",
            "replace",
            &r.destination.to_string(),
            "via",
            &r.via.to_string(),
            "dev",
            iface,
        ])?;
    }
    Ok(())
}

/// Run the director until a stop signal. Returns the process exit code.
pub fn run(path: std::path::PathBuf, m: Model) -> anyhow::Result<i32> {
    let signals = Signals::register()?;
    // The workers have their own stop flag, set only once the management
    // loop is done: a stopping active still sends its priority-0 adverts
    // through a worker.
    let mut d = Director::bring_up(&m, Arc::new(AtomicBool::new(false)))?;
    let links = worker::Links::new(d.worker_count());
    let mut rt = Runtime::new(path, m.clone(), d.macs.clone(), links.clone())?;
    let mut servers = bind_servers(&m)?;
    d.start_workers(&m, &rt.published, &links)?;
    fail_point("workers")?;
    tracing::info!(workers = d.worker_count(), "lvsd running");
    manage::run(&m, &mut rt, &d, &signals, &mut servers)?;
    drop(servers);
    d.stop_workers();
    report(&m, d.ports(), &links.counters);
    drop(rt);
    drop(d);
    tracing::info!("stopped");
    Ok(0)
}

/// The control socket and, if configured, the metrics listener.
fn bind_servers(m: &Model) -> anyhow::Result<Servers> {
    let control = ControlServer::bind(&m.control.socket)?;
    tracing::info!(socket = %m.control.socket.display(), "control socket ready");
    let metrics = match m.metrics.listen {
        Some(a) => {
            let s = MetricsServer::bind(a)?;
            tracing::info!(listen = %a, "metrics ready at /metrics");
            Some(s)
        }
        None => None,
    };
    Ok(Servers { control, metrics })
}

/// Test hook, for the end-to-end tests only: with
/// `LVSD_TEST_FAIL_AFTER=<step>` in the environment, `run` fails right
/// after that bring-up step (`workers`), to show that a failure at any
/// point shuts down cleanly. Not a configuration setting.
fn fail_point(step: &str) -> anyhow::Result<()> {
    if std::env::var("LVSD_TEST_FAIL_AFTER").is_ok_and(|v| v == step) {
        anyhow::bail!("injected failure after {step} (LVSD_TEST_FAIL_AFTER)");
    }
    Ok(())
}

fn report(m: &Model, ports: &[Port], counters: &[Arc<Counters>]) {
    for (i, c) in counters.iter().enumerate() {
        let drops: Vec<String> = DropReason::ALL
            .iter()
            .filter(|r| c.drops(**r) > 0)
            .map(|r| format!("{}={}", r.as_str(), c.drops(*r)))
            .collect();
        tracing::info!(
            worker = i,
            rx = c.rx_packets.get(),
            tx = c.tx_packets.get(),
            arp_replies = c.arp_replies_sent.get(),
            arp_requests = c.arp_requests_sent.get(),
            echo_replies = c.icmp_echo_replies.get(),
            redirected = c.redirected.get(),
            conns_created = c.conns_created.get(),
            conns_expired = c.conns_expired.get(),
            conn_table = c.conn_table_len.get(),
            fast_path = c.fast_path.get(),
            loop_iterations = c.loop_iterations.get(),
            busy_iterations = c.busy_iterations.get(),
            busy_cycles = c.busy_cycles.get(),
            kernel_cycles = c.kernel_cycles.get(),
            cycles_per_packet = c.busy_cycles.get() / c.rx_packets.get().max(1),
            drops = %drops.join(","),
            "worker counters"
        );
    }
    for (p, cfg) in ports.iter().zip(&m.ports) {
        let s = p.stats();
        tracing::info!(port = %cfg.name, ipackets = s.ipackets, opackets = s.opackets, imissed = s.imissed, ierrors = s.ierrors, oerrors = s.oerrors, rx_nombuf = s.rx_nombuf, "port counters");
    }
}
