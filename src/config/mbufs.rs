//! `dpdk.mbufs`: how many packet buffers the mempool needs.
//!
//! Every descriptor of every queue may hold an mbuf (an RX ring is filled
//! at start and refilled one for one; a TX ring keeps each sent frame until
//! the driver reaps it), each worker keeps a receive burst, its output list
//! and the unsent tail of each port's TX buffer, and each lcore's mempool
//! cache may hold up to 1.5 × its size. A pool smaller than their sum can
//! leave an RX ring without buffers (the port stops receiving), so a
//! configured `mbufs` below it is a configuration error that says how many
//! are needed; an unset `mbufs` is that sum, rounded up to the mempool's
//! preferred 2^k − 1 and at least [`DEFAULT_MBUFS`].
use super::model::{Dpdk, Port};

/// Descriptors per RX and per TX queue of a data port.
pub const PORT_DESCRIPTORS: u16 = 1024;
/// Descriptors per RX and per TX queue of a kernel interface (`net_tap`).
pub const KERNEL_DESCRIPTORS: u16 = 512;
/// Per-lcore mempool cache size (smaller for pools under 4 × this).
pub const POOL_CACHE: u32 = 256;
/// The smallest pool an unset `dpdk.mbufs` gives.
pub const DEFAULT_MBUFS: u32 = 8191;
/// The smallest `dpdk.mbufs` accepted at all.
pub const MIN_MBUFS: u32 = 1023;

/// What the mbufs are needed for, summed by [`MbufBudget::total`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MbufBudget {
    /// Data ports: Σ (RX queues + TX queues) × [`PORT_DESCRIPTORS`].
    pub port_descriptors: u64,
    /// Kernel interfaces: one RX and one TX queue per worker each, ×
    /// [`KERNEL_DESCRIPTORS`].
    pub kernel_descriptors: u64,
    /// Per worker: a receive burst, the engine's output list (8 bursts +
    /// 64) and a kept tail of 2 bursts per port (data and kernel).
    pub worker_bursts: u64,
    /// 1.5 × [`POOL_CACHE`] per lcore.
    pub caches: u64,
}

impl MbufBudget {
    /// The budget of `dpdk` with `ports`.
    pub fn of(dpdk: &Dpdk, ports: &[Port]) -> MbufBudget {
        let workers = dpdk.worker_lcores().len() as u64;
        let port_descriptors = ports
            .iter()
            .map(|p| u64::from(p.rx_queues) + p.tx_queue_count(workers as usize) as u64)
            .sum::<u64>()
            * u64::from(PORT_DESCRIPTORS);
        let kernel = ports.iter().filter(|p| p.kernel_iface.is_some()).count() as u64;
        let kernel_descriptors = kernel * 2 * workers * u64::from(KERNEL_DESCRIPTORS);
        let burst = u64::from(dpdk.burst);
        let all_ports = ports.len() as u64 + kernel;
        let worker_bursts = workers * (burst + burst * 8 + 64 + all_ports * burst * 2);
        let caches = dpdk.lcores.len() as u64 * u64::from(POOL_CACHE) * 3 / 2;
        MbufBudget {
            port_descriptors,
            kernel_descriptors,
            worker_bursts,
            caches,
        }
    }

    /// The mbufs needed.
    pub fn total(&self) -> u64 {
        self.port_descriptors + self.kernel_descriptors + self.worker_bursts + self.caches
    }

    /// The pool size an unset `dpdk.mbufs` gives: the total rounded up to
    /// 2^k − 1, at least [`DEFAULT_MBUFS`] (saturates at `u32::MAX`).
    pub fn default_pool(&self) -> u32 {
        let need = self.total().max(u64::from(DEFAULT_MBUFS));
        let pow = (need + 1).next_power_of_two();
        u32::try_from(pow - 1).unwrap_or(u32::MAX)
    }

    /// Why `have` mbufs are too few, or `None` when they suffice.
    pub fn shortfall(&self, have: u32) -> Option<String> {
        let need = self.total();
        (u64::from(have) < need).then(|| {
            format!(
                "{have} mbufs are too few: at least {need} are needed ({} for data port descriptors, {} for kernel interface descriptors, {} for worker bursts, {} for mempool caches); raise it or leave it unset to size the pool automatically",
                self.port_descriptors, self.kernel_descriptors, self.worker_bursts, self.caches
            )
        })
    }
}

/// Fill in or check `dpdk.mbufs` once the ports are known: `set` tells
/// whether the file gave it. A value already refused is left alone.
pub(super) fn settle(cx: &mut super::ctx::Ctx, dpdk: &mut Dpdk, ports: &[Port], set: bool) {
    let budget = MbufBudget::of(dpdk, ports);
    if !set {
        dpdk.mbufs = budget.default_pool();
    } else if !cx.has_error("dpdk.mbufs") {
        if let Some(why) = budget.shortfall(dpdk.mbufs) {
            cx.err("dpdk.mbufs", why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;

    /// Two af_packet ports (kernel interfaces on) with `lcores` and the
    /// `[dpdk]` extra line `extra`, `queues` RX queues each.
    fn text(lcores: &str, queues: u16, extra: &str) -> String {
        let mut t = format!("[dpdk]\nlcores = \"{lcores}\"\n{extra}\n");
        for (i, name) in ["ext", "int"].iter().enumerate() {
            t += &format!(
                "[[port]]\nname = \"{name}\"\ndevice = \"net_af_packet{i},iface=lv-{name}\"\naddress = \"198.18.{i}.1/24\"\nrx_queues = {queues}\n"
            );
        }
        t
    }

    #[test]
    fn one_worker_fits_the_old_default() {
        let m = load(&text("0-1", 1, "")).unwrap_or_else(|e| panic!("{e}"));
        let b = MbufBudget::of(&m.dpdk, &m.ports);
        // 2 ports × (1 RX + 1 TX) × 1024; 2 kernel interfaces × 2 × 512;
        // one worker's 32 + 256 + 64 + 4 ports × 64; 2 lcores × 384.
        assert_eq!(
            (
                b.port_descriptors,
                b.kernel_descriptors,
                b.worker_bursts,
                b.caches
            ),
            (4096, 2048, 608, 768)
        );
        assert_eq!(b.total(), 7520);
        assert_eq!(m.dpdk.mbufs, DEFAULT_MBUFS);
    }

    #[test]
    fn two_workers_two_queues_refuse_the_old_default_and_size_themselves() {
        let t = text("0-2", 2, "mbufs = 8191");
        let e = load(&t).expect_err("8191 is too few for 2 workers × 2 queues");
        assert_eq!(e.len(), 1, "{e}");
        assert_eq!(e.0[0].path, "dpdk.mbufs");
        assert_eq!(e.0[0].line, Some(3));
        assert!(e.0[0].message.contains("at least 14656 are needed"), "{e}");
        // Enough is accepted as given; unset is sized.
        let m = load(&text("0-2", 2, "mbufs = 14656")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.dpdk.mbufs, 14656);
        let m = load(&text("0-2", 2, "")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.dpdk.mbufs, 16383);
    }

    #[test]
    fn default_pool_is_two_to_the_k_minus_one() {
        let mut b = MbufBudget {
            port_descriptors: 0,
            kernel_descriptors: 0,
            worker_bursts: 0,
            caches: 0,
        };
        assert_eq!(b.default_pool(), 8191);
        b.port_descriptors = 8191;
        assert_eq!(b.default_pool(), 8191);
        b.port_descriptors = 8192;
        assert_eq!(b.default_pool(), 16383);
        b.port_descriptors = u64::MAX / 4;
        assert_eq!(b.default_pool(), u32::MAX);
    }

    #[test]
    fn a_value_out_of_range_is_reported_once() {
        let e = load(&text("0-2", 2, "mbufs = 100")).expect_err("below the minimum");
        assert_eq!(e.len(), 1, "{e}");
        assert!(
            e.0[0].message.contains("expected an integer in 1023"),
            "{e}"
        );
    }
}
