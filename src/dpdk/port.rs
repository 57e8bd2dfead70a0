//! Ethdev ports: configure N RX/TX queues, start, bursts, link status,
//! stats; stop and close on drop. RX/TX bursts on one queue must come from
//! one thread at a time: each worker owns its queues.
use super::{ffi, Mbuf, Mempool};
use std::ffi::CString;
use std::sync::Arc;

/// Port statistics as DPDK reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

/// Settings for [`Port::open`].
#[derive(Clone, Debug)]
pub struct PortSetup {
    /// DPDK device name as EAL probed it, e.g. `net_af_packet0` or a PCI address.
    pub device_name: String,
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub mtu: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
}

/// A configured and started ethdev port.
#[derive(Debug)]
pub struct Port {
    id: u16,
    name: String,
    mac: [u8; 6],
    rx_queues: u16,
    tx_queues: u16,
    // The pool RX queues fill from; kept alive until the port is closed.
    _pool: Arc<Mempool>,
}

impl Port {
    /// Find the device, configure queues from `pool`, enable promiscuous
    /// mode and start it.
    pub fn open(setup: &PortSetup, pool: Arc<Mempool>) -> anyhow::Result<Port> {
        let (id, info) = find(setup)?;
        let mut conf = ffi::rte_eth_conf::default();
        if setup.rx_queues > 1 {
            let wanted = (ffi::RTE_ETH_RSS_IP | ffi::RTE_ETH_RSS_TCP | ffi::RTE_ETH_RSS_UDP) as u64;
            conf.rxmode.mq_mode = ffi::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = wanted & info.flow_type_rss_offloads;
        }
        // SAFETY: valid port id and a fully initialised conf.
        let rc = unsafe { ffi::rte_eth_dev_configure(id, setup.rx_queues, setup.tx_queues, &conf) };
        if rc != 0 {
            anyhow::bail!(
                "rte_eth_dev_configure({}): {}",
                setup.device_name,
                super::strerror(rc)
            );
        }
        setup_queues(id, setup, &pool)?;
        // SAFETY: valid, configured port.
        let rc = unsafe { ffi::rte_eth_dev_set_mtu(id, setup.mtu) };
        if rc != 0 {
            tracing::debug!(port = %setup.device_name, "set mtu {}: {}", setup.mtu, super::strerror(rc));
        }
        // SAFETY: valid, configured port.
        let rc = unsafe { ffi::rte_eth_dev_start(id) };
        if rc != 0 {
            anyhow::bail!(
                "rte_eth_dev_start({}): {}",
                setup.device_name,
                super::strerror(rc)
            );
        }
        // SAFETY: valid, started port. Failure is harmless (some vdevs lack it).
        let _ = unsafe { ffi::rte_eth_promiscuous_enable(id) };
        let mut addr = ffi::rte_ether_addr::default();
        // SAFETY: valid port, valid out pointer.
        let _ = unsafe { ffi::rte_eth_macaddr_get(id, &mut addr) };
        Ok(Port {
            id,
            name: setup.device_name.clone(),
            mac: addr.addr_bytes,
            rx_queues: setup.rx_queues,
            tx_queues: setup.tx_queues,
            _pool: pool,
        })
    }

    /// DPDK port number.
    pub fn dpdk_id(&self) -> u16 {
        self.id
    }
    /// Device name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The port's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }
    /// Number of RX queues.
    pub fn rx_queues(&self) -> u16 {
        self.rx_queues
    }
    /// Number of TX queues.
    pub fn tx_queues(&self) -> u16 {
        self.tx_queues
    }

    /// Receive up to `out`'s spare capacity (at most 512) into `out`.
    /// Allocates nothing when `out` has capacity.
    pub fn rx_burst(&self, queue: u16, out: &mut Vec<Mbuf>) -> usize {
        // Straight into the vector's spare capacity (no scratch array to
        // zero and copy on every poll).
        let len = out.len();
        let want = (out.capacity() - len).min(512) as u16;
        if want == 0 {
            return 0;
        }
        // SAFETY: the spare capacity holds `want` Mbuf (repr(transparent)) slots; rx_burst fills `n <= want`
        // with newly owned mbufs before set_len exposes exactly those; the calling worker owns the queue.
        unsafe {
            let dst = out.as_mut_ptr().add(len) as *mut *mut ffi::rte_mbuf;
            let n = ffi::lvsd_rx_burst(self.id, queue, dst, want) as usize;
            let n = n.min(usize::from(want));
            out.set_len(len + n);
            n
        }
    }

    /// Transmit the mbufs in `pkts` from the front; those sent leave the
    /// vector (now owned by the driver), those not sent stay in it.
    pub fn tx_burst(&self, queue: u16, pkts: &mut Vec<Mbuf>) -> usize {
        let n = pkts.len().min(u16::MAX as usize) as u16;
        // SAFETY: Mbuf is repr(transparent) over NonNull<rte_mbuf>, so the vector's buffer is an
        // array of `n` valid mbuf pointers; the queue is owned by the calling worker.
        let sent = unsafe {
            ffi::lvsd_tx_burst(
                self.id,
                queue,
                pkts.as_mut_ptr() as *mut *mut ffi::rte_mbuf,
                n,
            )
        } as usize;
        let rest = pkts.len() - sent;
        // SAFETY: the first `sent` mbufs now belong to the driver: shift the unsent tail to the front and shorten
        // the vector without dropping (freeing) the sent ones. Regions may overlap: ptr::copy handles it.
        unsafe {
            std::ptr::copy(pkts.as_ptr().add(sent), pkts.as_mut_ptr(), rest);
            pkts.set_len(rest);
        }
        sent
    }

    /// Let the driver free the mbufs of finished transmits before the port
    /// closes: an empty `tx_burst` on every TX queue, twice, 1 ms apart.
    /// (net_af_xdp transmits mbufs zero-copy and frees them only when a
    /// later `tx_burst` reaps its completion ring; it frees none at close.)
    /// Only once no worker transmits any more (dropping the port does it).
    pub fn reap_tx(&self) {
        let mut none: Vec<Mbuf> = Vec::new();
        for round in 0..2 {
            if round > 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            for q in 0..self.tx_queues {
                self.tx_burst(q, &mut none);
            }
        }
    }

    /// Link up?
    pub fn link_up(&self) -> bool {
        let mut link = ffi::rte_eth_link::default();
        // SAFETY: valid port, valid out pointer.
        let rc = unsafe { ffi::rte_eth_link_get_nowait(self.id, &mut link) };
        rc == 0 && link.link_status() != 0
    }

    /// Port counters.
    pub fn stats(&self) -> PortStats {
        let mut s = ffi::rte_eth_stats::default();
        // SAFETY: valid port, valid out pointer.
        let _ = unsafe { ffi::rte_eth_stats_get(self.id, &mut s) };
        PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }
}

/// The device's port id and capabilities; an error if it is unknown or
/// has fewer queues than `setup` asks for.
fn find(setup: &PortSetup) -> anyhow::Result<(u16, ffi::rte_eth_dev_info)> {
    let cname = CString::new(setup.device_name.as_str())?;
    let mut id: u16 = 0;
    // SAFETY: cname is a valid C string; id is a valid out pointer.
    let rc = unsafe { ffi::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
    if rc != 0 {
        anyhow::bail!(
            "device {:?} not found (did EAL probe it?): {}",
            setup.device_name,
            super::strerror(rc)
        );
    }
    let mut info = ffi::rte_eth_dev_info::default();
    // SAFETY: id is a valid port; info is a valid out pointer.
    let rc = unsafe { ffi::rte_eth_dev_info_get(id, &mut info) };
    if rc != 0 {
        anyhow::bail!(
            "rte_eth_dev_info_get({}): {}",
            setup.device_name,
            super::strerror(rc)
        );
    }
    if setup.rx_queues > info.max_rx_queues || setup.tx_queues > info.max_tx_queues {
        anyhow::bail!(
            "device {} supports at most {} RX / {} TX queues, {} / {} requested",
            setup.device_name,
            info.max_rx_queues,
            info.max_tx_queues,
            setup.rx_queues,
            setup.tx_queues
        );
    }
    Ok((id, info))
}

/// Set up the RX queues (filled from `pool`) and TX queues of configured
/// port `id`.
fn setup_queues(id: u16, setup: &PortSetup, pool: &Mempool) -> anyhow::Result<()> {
    let (mut nrx, mut ntx) = (setup.rx_desc, setup.tx_desc);
    // SAFETY: valid port id and out pointers.
    let _ = unsafe { ffi::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut nrx, &mut ntx) };
    // SAFETY: valid port id.
    let socket = unsafe { ffi::rte_eth_dev_socket_id(id) };
    let socket = if socket < 0 { 0 } else { socket as u32 };
    for q in 0..setup.rx_queues {
        // SAFETY: port configured with rx_queues queues; NULL rx_conf means
        // the driver default; the pool outlives the port (kept in _pool).
        let rc = unsafe {
            ffi::rte_eth_rx_queue_setup(id, q, nrx, socket, std::ptr::null(), pool.as_ptr())
        };
        if rc != 0 {
            anyhow::bail!(
                "rx queue {q} setup on {}: {}",
                setup.device_name,
                super::strerror(rc)
            );
        }
    }
    for q in 0..setup.tx_queues {
        // SAFETY: port configured with tx_queues queues; NULL = defaults.
        let rc = unsafe { ffi::rte_eth_tx_queue_setup(id, q, ntx, socket, std::ptr::null()) };
        if rc != 0 {
            anyhow::bail!(
                "tx queue {q} setup on {}: {}",
                setup.device_name,
                super::strerror(rc)
            );
        }
    }
    Ok(())
}

impl Drop for Port {
    fn drop(&mut self) {
        self.reap_tx();
        // SAFETY: valid port; workers that polled it have been joined.
        unsafe {
            let _ = ffi::rte_eth_dev_stop(self.id);
            let _ = ffi::rte_eth_dev_close(self.id);
        }
    }
}
