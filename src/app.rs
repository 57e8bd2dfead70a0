//! `lvsd run`: bring up EAL, the mempool and the ports from the
//! configuration, publish the first snapshot, start one worker per worker
//! lcore, and run the management loop on the main lcore until SIGINT or
//! SIGTERM; then stop the workers, close the ports and report the mempool
//! (every mbuf must be back) before EAL cleanup releases the hugepages.
use crate::config::{Device, Model};
use crate::ctl::metrics::MetricsServer;
use crate::ctl::runtime::Runtime;
use crate::ctl::server::ControlServer;
use crate::ctl::signals::Signals;
use crate::datapath::{neigh::NeighConfig, Counters, DropReason};
use crate::dpdk::{self, port::PortSetup, Eal, Mempool, Port};
use crate::packet::ethernet::MacAddr;
use crate::types::{PortId, WorkerId};
use crate::worker::{self, WorkerSetup};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// How often the management loop checks port links (and frees retired
/// snapshots), and samples rates.
const LINK_CHECK_EVERY: Duration = Duration::from_millis(500);
const RATES_EVERY: Duration = Duration::from_secs(2);
/// With `[ha]`, the longest the management loop sleeps: the workers' event
/// rings (peer adverts, sync records for the peer; 65,536 entries each)
/// and the HA timers are polled, not waited on. Without HA the loop sleeps
/// until there is work: a management thread that woke every 5 ms cost the
/// worker ~100 preemptions a second by the RCU grace-period thread
/// (perf/RESULTS.md, fifth pass).
const MGMT_HA_POLL: Duration = Duration::from_millis(5);

/// Run the director until a stop signal. Returns the process exit code.
pub fn run(path: std::path::PathBuf, m: Model) -> anyhow::Result<i32> {
    let signals = Signals::register()?;
    let stop = signals.stop.clone();

    let args = eal_args(&m);
    tracing::info!(?args, version = %dpdk::version(), "starting EAL");
    let eal = Eal::init(&args)?;
    if m.dpdk.hugepages {
        // Secondary processes (dpdk-dumpcap, dpdk-proc-info) attach through
        // the shared configuration, which --no-huge runs do not have.
        match eal.enable_pdump() {
            Ok(()) => tracing::info!(
                "packet capture enabled (dpdk-dumpcap --file-prefix {})",
                m.dpdk.file_prefix
            ),
            Err(e) => tracing::warn!("packet capture unavailable: {e}"),
        }
    }
    let workers = dpdk::lcore::worker_lcores();
    if workers.is_empty() {
        anyhow::bail!("dpdk.lcores: at least two lcores are needed (one management, one worker)");
    }
    let pool = Arc::new(Mempool::new(
        "lvsd_pool",
        m.dpdk.mbufs,
        256.min(m.dpdk.mbufs / 4),
        -1,
    )?);
    let mut ports = Vec::new();
    for p in &m.ports {
        let device_name = match &p.device {
            Device::Vdev(_) => p.device.vdev_name().unwrap_or_default().to_string(),
            Device::Pci(s) => s.clone(),
        };
        let setup = PortSetup {
            device_name,
            rx_queues: p.rx_queues,
            tx_queues: p.tx_queue_count(workers.len()) as u16,
            mtu: p.mtu,
            rx_desc: 1024,
            tx_desc: 1024,
        };
        let port = Port::open(&setup, pool.clone())
            .map_err(|e| anyhow::anyhow!("port {}: {e}", p.name))?;
        tracing::info!(port = %p.name, device = %port.name(), mac = %MacAddr(port.mac()), address = %p.address.addr, "port started");
        ports.push(port);
    }
    let macs: Vec<MacAddr> = ports.iter().map(|p| MacAddr(p.mac())).collect();
    // Kernel interfaces (exception path), after the data ports.
    let mut kernel_rx = Vec::new();
    let mut kernel_ports = Vec::new();
    for (i, p) in m.ports.iter().enumerate() {
        let Some(k) = &p.kernel_iface else { continue };
        let setup = PortSetup {
            device_name: format!("{KERNEL_VDEV}{i}"),
            // net_tap pairs its queues: as many RX as TX queues (one TX per
            // worker); worker 0 drains every RX queue.
            rx_queues: workers.len() as u16,
            tx_queues: workers.len() as u16,
            mtu: p.mtu,
            rx_desc: 512,
            tx_desc: 512,
        };
        let tap = Port::open(&setup, pool.clone())
            .map_err(|e| anyhow::anyhow!("port {} kernel interface {k}: {e}", p.name))?;
        let mac = p.mac.map(MacAddr).unwrap_or(macs[i]);
        setup_kernel_iface(&m, i, k, mac)
            .map_err(|e| anyhow::anyhow!("port {} kernel interface {k}: {e}", p.name))?;
        tracing::info!(port = %p.name, iface = %k, "kernel interface ready");
        for q in 0..workers.len() as u16 {
            kernel_rx.push((PortId(ports.len() as u16), q, PortId(i as u16)));
        }
        kernel_ports.push(PortId(ports.len() as u16));
        ports.push(tap);
    }
    let mut rt = Runtime::new(path, m.clone(), macs)?;
    let published = rt.published.clone();
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
    let ports = Arc::new(ports);
    let neigh = NeighConfig {
        timeout_ms: m.arp.timeout.as_millis() as u64,
        retry_ms: m.arp.retry.as_millis() as u64,
        per_neighbor: m.arp.pending as usize,
        max_held: (m.arp.pending as usize * 16).max(1024),
        capacity: 4096,
    };
    let epoch = Instant::now();
    let rings = Arc::new(worker::Rings::new(workers.len(), 4096));
    let mut counters = Vec::new();
    let mailboxes: Vec<Arc<worker::Mailbox>> = workers.iter().map(|_| Arc::default()).collect();
    let commands: Vec<Arc<worker::CommandRing>> = workers
        .iter()
        .map(|_| Arc::new(worker::CommandRing::new(65_536)))
        .collect();
    let events: Vec<Arc<crate::datapath::EventRing>> = workers
        .iter()
        .map(|_| Arc::new(crate::datapath::EventRing::new(65_536)))
        .collect();
    let n_workers = workers.len();
    let startup = Arc::new(worker::Startup::default());
    for (i, &lcore) in workers.iter().enumerate() {
        let c = Arc::new(Counters::default());
        counters.push(c.clone());
        let rx = m
            .ports
            .iter()
            .enumerate()
            .flat_map(|(pi, p)| {
                (0..p.rx_queues)
                    .filter(move |q| usize::from(*q) % n_workers == i)
                    .map(move |q| (PortId(pi as u16), q))
            })
            .collect();
        let setup = WorkerSetup {
            id: WorkerId(i as u16),
            io: worker::DpdkPorts(ports.clone()),
            rx,
            tx_queue: i as u16,
            alloc: pool.clone(),
            published: published.clone(),
            stop: stop.clone(),
            counters: c,
            burst: usize::from(m.dpdk.burst),
            neigh,
            epoch,
            tsc_hz: eal.tsc_hz(),
            conn_capacity: m.conn.capacity as usize,
            workers: n_workers,
            rings: rings.clone(),
            mailbox: mailboxes[i].clone(),
            kernel_ports: kernel_ports.clone(),
            kernel_rx: if i == 0 {
                kernel_rx.clone()
            } else {
                Vec::new()
            },
            commands: commands[i].clone(),
            events: events[i].clone(),
            startup: startup.clone(),
        };
        dpdk::lcore::launch(lcore, move || worker::run(setup))?;
    }
    if let Err(e) = startup.wait(n_workers, Duration::from_secs(120)) {
        stop.store(true, Ordering::Relaxed);
        for &lcore in &workers {
            dpdk::lcore::wait(lcore);
        }
        anyhow::bail!("{e}");
    }
    rt.counters = counters.clone();
    rt.mailboxes = mailboxes.clone();
    rt.commands = commands.clone();
    rt.events = events.clone();
    tracing::info!(workers = workers.len(), "lvsd running");

    let port_names: Vec<(String, &Port)> = m
        .ports
        .iter()
        .map(|p| p.name.clone())
        .zip(ports.iter())
        .collect();
    let mut last_links: Vec<bool> = vec![false; ports.len()];
    let mut last_rates = Instant::now();
    let mut last_links_check = Instant::now() - LINK_CHECK_EVERY;
    // The loop sleeps in the health engine's wait until a socket, a signal
    // or a timer needs it (see `MGMT_HA_POLL` for the one exception).
    rt.health.wake_on(signals.fd())?;
    rt.health.wake_on(control.fd())?;
    if let Some(ms) = &metrics {
        rt.health.wake_on(ms.fd())?;
    }
    while !signals.stopping() {
        signals.drain();
        if last_links_check.elapsed() >= LINK_CHECK_EVERY {
            last_links_check = Instant::now();
            for (i, p) in ports.iter().enumerate().take(m.ports.len()) {
                let up = p.link_up();
                if up != last_links[i] {
                    tracing::info!(port = %m.ports[i].name, up, "link state");
                    last_links[i] = up;
                }
            }
            published.collect();
        }
        if last_rates.elapsed() >= RATES_EVERY {
            last_rates = Instant::now();
            rt.sample_rates();
        }
        if signals.reload.swap(false, Ordering::Relaxed) {
            // SIGHUP: re-read the file (refused while runtime changes are unsaved).
            let _ = rt.reload(false);
        }
        let mut more = control.poll(&mut rt);
        if let Some(ms) = &metrics {
            more |= ms.poll(&rt, &port_names, &pool);
        }
        if signals.dump.swap(false, Ordering::Relaxed) {
            // SIGUSR1: print the connection table (ipvsadm -Lnc format).
            let (rows, missing) = worker::collect(&mailboxes, Duration::from_secs(1));
            print!("{}", crate::ctl::listing::connections(&rows));
            println!(
                "-- {} entries ({} workers did not answer)",
                rows.len(),
                missing
            );
        }
        rt.poll_ha();
        // Health checks run here, in the management loop's idle time; the
        // wait ends early for a check's socket or timer, a control or
        // metrics connection, or a signal.
        let due = (last_links_check + LINK_CHECK_EVERY).min(last_rates + RATES_EVERY);
        let mut wait = due.saturating_duration_since(Instant::now());
        if rt.ha.is_some() {
            wait = wait.min(MGMT_HA_POLL);
        }
        if more {
            wait = Duration::ZERO;
        }
        rt.poll_health(wait);
    }
    drop(port_names);
    drop(control);
    drop(metrics);

    tracing::info!("stopping");
    for &lcore in &workers {
        dpdk::lcore::wait(lcore);
    }
    report(&m, &ports, &counters);
    drop(published);
    drop(rt);
    drop(rings);
    let ports =
        Arc::try_unwrap(ports).map_err(|_| anyhow::anyhow!("ports still shared at shutdown"))?;
    drop(ports);
    let in_use = pool.in_use();
    tracing::info!(mempool_in_use = in_use, "mempool at exit");
    if in_use != 0 {
        tracing::warn!(mempool_in_use = in_use, "mbufs leaked");
    }
    drop(pool);
    drop(eal);
    if m.dpdk.hugepages {
        remove_hugepage_files(&m.dpdk.file_prefix);
    }
    tracing::info!("stopped");
    Ok(0)
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

/// Remove this process's hugepage files (`<prefix>map_*`) from every
/// hugetlbfs mount, so no pages stay reserved after exit.
fn remove_hugepage_files(prefix: &str) {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let want = format!("{prefix}map_");
    for dir in mounts
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("hugetlbfs"))
        .filter_map(|l| l.split_whitespace().nth(1))
    {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&want) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
