//! What a worker needs from its ports and its CPU: bursts in and out of
//! (port, queue) pairs, a cycle counter and cache prefetches. DPDK's ports
//! implement it ([`DpdkPorts`]); tests use an in-memory version over
//! `VecFrame`s, so a whole loop iteration runs without DPDK.
use crate::dpdk::{Eal, Mbuf, Port};
use crate::frame::Frame;
use crate::types::PortId;
use std::sync::Arc;

/// A worker's view of every port (indexed by lvsd `PortId`).
pub trait PortIo {
    /// The packet buffer the ports hand out and take.
    type Buf: Frame;
    /// Number of ports.
    fn port_count(&self) -> usize;
    /// Receive into `out`'s spare capacity from `queue` of `port`; how many
    /// arrived (0 for an unknown port).
    fn rx_burst(&self, port: PortId, queue: u16, out: &mut Vec<Self::Buf>) -> usize;
    /// Transmit from the front of `pkts` on `queue` of `port`; those sent
    /// leave the vector, those not sent stay in it, in order.
    fn tx_burst(&self, port: PortId, queue: u16, pkts: &mut Vec<Self::Buf>) -> usize;
    /// The cycle counter (the datapath's clock; `WorkerSetup::tsc_hz` per
    /// second).
    fn tsc() -> u64;
    /// Ask for a received buffer's packet bytes to be fetched into cache.
    #[inline(always)]
    fn prefetch_frame(_buf: &Self::Buf) {}
    /// Ask for the cache line at `p` (a connection-table bucket) to be
    /// fetched; a hint only.
    #[inline(always)]
    fn touch(_p: *const u8) {}
    /// Advice for the connection table's big allocations (see
    /// `conn::PageAdvice`); none by default.
    fn page_advice() -> crate::conn::PageAdvice {
        crate::conn::no_advice
    }
}

/// The DPDK ports of a running director.
#[derive(Clone)]
pub struct DpdkPorts(pub Arc<Vec<Port>>);

impl PortIo for DpdkPorts {
    type Buf = Mbuf;

    #[inline]
    fn port_count(&self) -> usize {
        self.0.len()
    }

    #[inline]
    fn rx_burst(&self, port: PortId, queue: u16, out: &mut Vec<Mbuf>) -> usize {
        match self.0.get(usize::from(port.0)) {
            Some(dev) => dev.rx_burst(queue, out),
            None => 0,
        }
    }

    #[inline]
    fn tx_burst(&self, port: PortId, queue: u16, pkts: &mut Vec<Mbuf>) -> usize {
        match self.0.get(usize::from(port.0)) {
            Some(dev) => dev.tx_burst(queue, pkts),
            None => 0,
        }
    }

    #[inline(always)]
    fn tsc() -> u64 {
        Eal::tsc()
    }

    #[inline(always)]
    fn prefetch_frame(buf: &Mbuf) {
        buf.prefetch();
    }

    #[inline(always)]
    fn touch(p: *const u8) {
        crate::dpdk::prefetch_ptr(p);
    }

    fn page_advice() -> crate::conn::PageAdvice {
        crate::dpdk::advise_huge_pages
    }
}
