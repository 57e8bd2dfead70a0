//! The running director's DPDK parts, owned together. The fields of
//! [`Director`] are declared in shutdown order, which is their drop order:
//! the workers are stopped and joined first (with them the frames between
//! workers), then the ports are stopped and closed, then the mempool is
//! reported (every mbuf must be back) and freed, then EAL is cleaned up and
//! the hugepage files removed. Whatever returns early, at any step of
//! bring-up or later, shuts down in that order.
use super::{eal_args, setup_kernel_iface, KERNEL_VDEV};
use crate::config::mbufs::{KERNEL_DESCRIPTORS, POOL_CACHE, PORT_DESCRIPTORS};
use crate::config::{Device, Model};
use crate::datapath::neigh::NeighConfig;
use crate::dpdk::{self, port::PortSetup, Eal, Mbuf, Mempool, Port};
use crate::packet::ethernet::MacAddr;
use crate::types::{PortId, WorkerId};
use crate::worker::{self, DpdkPorts, Links, Published, Rings, Startup, WorkerSetup};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the workers may take to build their tables and start polling.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// A kernel interface's RX queue: (tap port, queue, its data port).
type KernelRx = (PortId, u16, PortId);

/// EAL, the mempool, the ports and the workers of a running director.
pub(super) struct Director {
    /// Stopped and joined first.
    workers: Workers,
    /// Data ports, then kernel interfaces, closed once no worker polls;
    /// then the mempool is reported and freed.
    io: PortsAndPool,
    /// EAL cleanup, after every DPDK object is gone.
    eal: Eal,
    /// The kernel's input on af_packet ports dropped while lvsd runs.
    _kernel_quiet: Option<super::kernel_quiet::KernelQuiet>,
    /// Removes this process's hugepage files after EAL cleanup.
    _hugepages: HugepageFiles,
    /// The data ports' MACs, in port order.
    pub(super) macs: Vec<MacAddr>,
    /// Kernel interfaces: (tap port, queue, its data port), for worker 0.
    kernel_rx: Vec<KernelRx>,
    kernel_ports: Vec<PortId>,
    lcores: Vec<u32>,
}

impl Director {
    /// Bring up EAL, the mempool, the data ports and the kernel interfaces.
    /// `stop` is the flag that stops the workers.
    pub(super) fn bring_up(m: &Model, stop: Arc<AtomicBool>) -> anyhow::Result<Director> {
        let hugepages = HugepageFiles(m.dpdk.hugepages.then(|| m.dpdk.file_prefix.clone()));
        let args = eal_args(m);
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
        let lcores = dpdk::lcore::worker_lcores();
        if lcores.is_empty() {
            anyhow::bail!(
                "dpdk.lcores: at least two lcores are needed (one management, one worker)"
            );
        }
        let cache = POOL_CACHE.min(m.dpdk.mbufs / 4);
        let pool = Arc::new(Mempool::new("lvsd_pool", m.dpdk.mbufs, cache, -1)?);
        let mut opened = Opened::default();
        open_data_ports(m, &pool, lcores.len(), &mut opened)?;
        let macs: Vec<MacAddr> = opened.ports.iter().map(|p| MacAddr(p.mac())).collect();
        let (kernel_rx, kernel_ports) =
            open_kernel_ifaces(m, &pool, &macs, lcores.len(), &mut opened)?;
        Ok(Director {
            workers: Workers::new(stop),
            io: PortsAndPool {
                ports: Arc::new(opened.ports),
                reserves: opened.reserves,
                pool,
            },
            eal,
            _kernel_quiet: super::kernel_quiet::KernelQuiet::install(m),
            _hugepages: hugepages,
            macs,
            kernel_rx,
            kernel_ports,
            lcores,
        })
    }

    /// Every port (data ports first, in configuration order).
    pub(super) fn ports(&self) -> &[Port] {
        &self.io.ports
    }

    /// The mempool.
    pub(super) fn pool(&self) -> &Mempool {
        &self.io.pool
    }

    /// Number of workers (worker lcores).
    pub(super) fn worker_count(&self) -> usize {
        self.lcores.len()
    }

    /// Start one worker per worker lcore and wait until each polls.
    pub(super) fn start_workers(
        &mut self,
        m: &Model,
        published: &Arc<Published>,
        links: &Links,
    ) -> anyhow::Result<()> {
        let n = self.lcores.len();
        if links.counters.len() != n || links.mailboxes.len() != n {
            anyhow::bail!("{} worker links for {n} workers", links.counters.len());
        }
        let rings = Arc::new(Rings::new(n, 4096));
        self.workers.rings = Some(rings.clone());
        let startup = Arc::new(Startup::default());
        let real_loads = Arc::new(crate::datapath::real_load::RealLoads::default());
        let epoch = Instant::now();
        for (i, &lcore) in self.lcores.iter().enumerate() {
            let setup = WorkerSetup {
                id: WorkerId(i as u16),
                io: DpdkPorts(self.io.ports.clone()),
                rx: rx_queues(m, i, n),
                tx_queue: i as u16,
                alloc: self.io.pool.clone(),
                published: published.clone(),
                stop: self.workers.stop.clone(),
                counters: links.counters[i].clone(),
                burst: usize::from(m.dpdk.burst),
                neigh: neigh_config(m),
                epoch,
                tsc_hz: self.eal.tsc_hz(),
                conn_capacity: m.conn.capacity as usize,
                seed: worker::fresh_seed(),
                workers: n,
                rings: rings.clone(),
                mailbox: links.mailboxes[i].clone(),
                kernel_ports: self.kernel_ports.clone(),
                kernel_rx: if i == 0 {
                    self.kernel_rx.clone()
                } else {
                    Vec::new()
                },
                commands: links.commands[i].clone(),
                events: links.events[i].clone(),
                real_loads: real_loads.clone(),
                startup: startup.clone(),
            };
            dpdk::lcore::launch(lcore, move || worker::run(setup))?;
            self.workers.lcores.push(lcore);
        }
        startup.wait(n, STARTUP_TIMEOUT).map_err(anyhow::Error::msg)
    }

    /// Stop the workers and wait for them (also done on drop).
    pub(super) fn stop_workers(&mut self) {
        self.workers.stop();
    }
}

/// The (port, rx queue) pairs worker `i` of `n` polls.
fn rx_queues(m: &Model, i: usize, n: usize) -> Vec<(PortId, u16)> {
    m.ports
        .iter()
        .enumerate()
        .flat_map(|(pi, p)| {
            (0..p.rx_queues)
                .filter(move |q| usize::from(*q) % n == i)
                .map(move |q| (PortId(pi as u16), q))
        })
        .collect()
}

fn neigh_config(m: &Model) -> NeighConfig {
    NeighConfig {
        timeout_ms: m.arp.timeout.as_millis() as u64,
        retry_ms: m.arp.retry.as_millis() as u64,
        per_neighbor: m.arp.pending as usize,
        max_held: (m.arp.pending as usize * 16).max(1024),
        capacity: 4096,
    }
}

/// Ports opened so far, and the mbufs each one's driver took from the
/// pool as it started (its RX reserve).
#[derive(Default)]
struct Opened {
    ports: Vec<Port>,
    reserves: Vec<u32>,
}

impl Opened {
    /// Open and start a port, noting its reserve.
    fn open(&mut self, setup: &PortSetup, pool: &Arc<Mempool>) -> anyhow::Result<&Port> {
        let before = pool.in_use();
        let port = Port::open(setup, pool.clone())?;
        self.reserves.push(pool.in_use().saturating_sub(before));
        self.ports.push(port);
        self.ports.last().ok_or_else(|| anyhow::anyhow!("no port"))
    }
}

/// Open and start every data port.
fn open_data_ports(
    m: &Model,
    pool: &Arc<Mempool>,
    workers: usize,
    opened: &mut Opened,
) -> anyhow::Result<()> {
    for p in &m.ports {
        let device_name = match &p.device {
            Device::Vdev(_) => p.device.vdev_name().unwrap_or_default().to_string(),
            Device::Pci(s) => s.clone(),
        };
        let setup = PortSetup {
            device_name,
            rx_queues: p.rx_queues,
            tx_queues: p.tx_queue_count(workers) as u16,
            mtu: p.mtu,
            rx_desc: PORT_DESCRIPTORS,
            tx_desc: PORT_DESCRIPTORS,
        };
        let port = opened
            .open(&setup, pool)
            .map_err(|e| anyhow::anyhow!("port {}: {e}", p.name))?;
        tracing::info!(port = %p.name, device = %port.name(), mac = %MacAddr(port.mac()), address = %p.address.addr, "port started");
    }
    Ok(())
}

/// Kernel interfaces (exception path), appended after the data ports;
/// what worker 0 drains, and every kernel interface port.
fn open_kernel_ifaces(
    m: &Model,
    pool: &Arc<Mempool>,
    macs: &[MacAddr],
    workers: usize,
    opened: &mut Opened,
) -> anyhow::Result<(Vec<KernelRx>, Vec<PortId>)> {
    let (mut kernel_rx, mut kernel_ports) = (Vec::new(), Vec::new());
    for (i, p) in m.ports.iter().enumerate() {
        let Some(k) = &p.kernel_iface else { continue };
        let setup = PortSetup {
            device_name: format!("{KERNEL_VDEV}{i}"),
            // net_tap pairs its queues: as many RX as TX queues (one TX per
            // worker); worker 0 drains every RX queue.
            rx_queues: workers as u16,
            tx_queues: workers as u16,
            mtu: p.mtu,
            rx_desc: KERNEL_DESCRIPTORS,
            tx_desc: KERNEL_DESCRIPTORS,
        };
        let tap_id = PortId(opened.ports.len() as u16);
        opened
            .open(&setup, pool)
            .map_err(|e| anyhow::anyhow!("port {} kernel interface {k}: {e}", p.name))?;
        let mac = p.mac.map(MacAddr).unwrap_or(macs[i]);
        setup_kernel_iface(m, i, k, mac)
            .map_err(|e| anyhow::anyhow!("port {} kernel interface {k}: {e}", p.name))?;
        tracing::info!(port = %p.name, iface = %k, "kernel interface ready");
        for q in 0..workers as u16 {
            kernel_rx.push((tap_id, q, PortId(i as u16)));
        }
        kernel_ports.push(tap_id);
    }
    Ok((kernel_rx, kernel_ports))
}

/// The worker lcores that run; stopped and joined on drop, then the rings
/// between them (and the frames in them) are freed.
struct Workers {
    stop: Arc<AtomicBool>,
    /// Lcores with a launched worker.
    lcores: Vec<u32>,
    rings: Option<Arc<Rings<Mbuf>>>,
}

impl Workers {
    fn new(stop: Arc<AtomicBool>) -> Workers {
        Workers {
            stop,
            lcores: Vec::new(),
            rings: None,
        }
    }

    /// Set the stop flag and wait for every launched worker to return.
    fn stop(&mut self) {
        if self.lcores.is_empty() {
            return;
        }
        tracing::info!("stopping");
        self.stop.store(true, Ordering::Relaxed);
        for lcore in self.lcores.drain(..) {
            dpdk::lcore::wait(lcore);
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The ports and the mempool. On drop the ports are closed one by one,
/// and the mempool reported: every mbuf must be back, except those a
/// driver keeps after its port closed. (net_af_xdp fills its fill ring
/// from the pool when the port starts, refills it one for one as frames
/// arrive, and frees none of it at close: its reserve stays out.) A port
/// whose driver gave back less at close than it took at start keeps the
/// difference; any other mbuf still out was lost by lvsd.
struct PortsAndPool {
    ports: Arc<Vec<Port>>,
    /// Per port: mbufs its driver took from the pool as the port started.
    reserves: Vec<u32>,
    pool: Arc<Mempool>,
}

impl Drop for PortsAndPool {
    fn drop(&mut self) {
        let mut kept = 0u32;
        match Arc::try_unwrap(std::mem::take(&mut self.ports)) {
            Ok(ports) => {
                // Completed transmits first, so that what a port gives
                // back when it closes is its RX reserve.
                for port in &ports {
                    port.reap_tx();
                }
                for (i, port) in ports.into_iter().enumerate() {
                    let before = self.pool.in_use();
                    drop(port);
                    let returned = before.saturating_sub(self.pool.in_use());
                    let reserve = self.reserves.get(i).copied().unwrap_or(0);
                    kept = kept.saturating_add(reserve.saturating_sub(returned));
                }
            }
            Err(_) => tracing::warn!("ports still shared at shutdown"),
        }
        let in_use = self.pool.in_use().saturating_sub(kept);
        tracing::info!(
            mempool_in_use = in_use,
            kept_by_drivers = kept,
            "mempool at exit"
        );
        if in_use != 0 {
            tracing::warn!(mempool_in_use = in_use, "mbufs leaked");
        }
    }
}

/// With hugepages: this process's hugepage files, removed on drop (after
/// EAL cleanup), so no pages stay reserved after exit. They stay linked
/// while running so that secondary processes (dpdk-dumpcap) can map them.
struct HugepageFiles(Option<String>);

impl Drop for HugepageFiles {
    fn drop(&mut self) {
        if let Some(prefix) = &self.0 {
            remove_hugepage_files(prefix);
        }
    }
}

/// Remove this process's hugepage files (`<prefix>map_*`) from every
/// hugetlbfs mount.
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
