//! Lock-free rings between workers: a packet that arrives at a worker that
//! does not own its flow moves to the owner (software redirect), and
//! neighbours learned by one worker are shared with the others. One bounded
//! queue per (from, to) pair; a full ring is a counted drop, never a stall.
use crate::packet::ethernet::MacAddr;
use crate::types::PortId;
use crossbeam::queue::ArrayQueue;
use std::net::Ipv4Addr;

/// What moves between workers (`F`: the packet buffer, an mbuf when
/// running).
pub enum Xfer<F> {
    /// A received frame for its owner, with the port it arrived on.
    Packet(PortId, F),
    /// A neighbour learned from ARP.
    Learn(PortId, Ipv4Addr, MacAddr),
}

/// All rings of `n` workers.
pub struct Rings<F> {
    n: usize,
    q: Vec<ArrayQueue<Xfer<F>>>,
}

impl<F> Rings<F> {
    /// Rings for `n` workers, `capacity` entries each.
    pub fn new(n: usize, capacity: usize) -> Rings<F> {
        Rings {
            n,
            q: (0..n * n)
                .map(|_| ArrayQueue::new(capacity.max(1)))
                .collect(),
        }
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.n
    }

    /// Queue `x` from worker `from` to worker `to`; gives it back if full.
    #[inline]
    pub fn push(&self, from: usize, to: usize, x: Xfer<F>) -> Result<(), Xfer<F>> {
        match self.q.get(from * self.n + to) {
            Some(q) => q.push(x),
            None => Err(x),
        }
    }

    /// Next item for worker `to` from worker `from`.
    #[inline]
    pub fn pop(&self, from: usize, to: usize) -> Option<Xfer<F>> {
        self.q.get(from * self.n + to).and_then(|q| q.pop())
    }
}
