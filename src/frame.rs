//! `Frame`: what the datapath needs from a packet buffer.
//!
//! `dpdk::Mbuf` implements it over a single-segment mbuf; [`VecFrame`] is the
//! test double (and the buffer the pure-Rust tools use). Invariants: `data()`
//! is the whole packet from the Ethernet header on; `prepend`/`append` either
//! grow the packet by exactly `n` bytes and return `true`, or change nothing
//! and return `false` (no room).
/// A packet buffer with headroom, owned by the code holding it.
pub trait Frame {
    /// The packet bytes, Ethernet header first.
    fn data(&self) -> &[u8];
    /// The packet bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Packet length in bytes.
    fn len(&self) -> usize {
        self.data().len()
    }
    /// True for an empty buffer.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Grow the packet at the front by `n` bytes (contents unspecified).
    fn prepend(&mut self, n: usize) -> bool;
    /// Remove `n` bytes from the front; false (no change) if `n > len`.
    fn trim_front(&mut self, n: usize) -> bool;
    /// Grow the packet at the end by `n` bytes (contents unspecified).
    fn append(&mut self, n: usize) -> bool;
    /// Shorten the packet to `len` bytes (no-op if already shorter).
    fn truncate(&mut self, len: usize);
}

/// Something that hands out empty frames (a mempool, or a Vec in tests).
pub trait FrameAlloc {
    /// The frame type produced.
    type Frame: Frame;
    /// An empty frame with headroom, or `None` when the pool is exhausted.
    fn alloc(&mut self) -> Option<Self::Frame>;
}

/// Headroom a [`VecFrame`] starts with, like an mbuf's `RTE_PKTMBUF_HEADROOM`.
pub const VEC_HEADROOM: usize = 128;

/// A heap-backed frame for tests and tools. Not used on the fast path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecFrame {
    buf: Vec<u8>,
    start: usize,
}

impl VecFrame {
    /// A frame holding a copy of `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        let mut buf = vec![0u8; VEC_HEADROOM];
        buf.extend_from_slice(bytes);
        VecFrame {
            buf,
            start: VEC_HEADROOM,
        }
    }
    /// An empty frame (what `FrameAlloc::alloc` gives).
    pub fn empty() -> Self {
        Self::new(&[])
    }
    /// The bytes as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.data().to_vec()
    }
}

impl Frame for VecFrame {
    fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.start {
            return false;
        }
        self.start -= n;
        true
    }
    fn trim_front(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.start += n;
        true
    }
    fn append(&mut self, n: usize) -> bool {
        if self.buf.len() + n > 16384 {
            return false;
        }
        self.buf.resize(self.buf.len() + n, 0);
        true
    }
    fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.buf.truncate(self.start + len);
        }
    }
}

/// A `FrameAlloc` for tests: hands out `VecFrame`s, optionally a limited number.
#[derive(Debug, Default)]
pub struct VecAlloc {
    /// How many more frames may be allocated (`None` = unlimited).
    pub remaining: Option<usize>,
}

impl FrameAlloc for VecAlloc {
    type Frame = VecFrame;
    fn alloc(&mut self) -> Option<VecFrame> {
        match &mut self.remaining {
            Some(0) => None,
            Some(n) => {
                *n -= 1;
                Some(VecFrame::empty())
            }
            None => Some(VecFrame::empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepend_trim_append() {
        let mut f = VecFrame::new(&[1, 2, 3]);
        assert!(f.prepend(2));
        assert_eq!(f.len(), 5);
        f.data_mut()[0] = 9;
        assert!(f.trim_front(2));
        assert_eq!(f.data(), &[1, 2, 3]);
        assert!(!f.trim_front(4));
        assert!(f.append(2));
        assert_eq!(f.len(), 5);
        f.truncate(1);
        assert_eq!(f.data(), &[1]);
        assert!(!f.prepend(VEC_HEADROOM + 1));
    }

    #[test]
    fn limited_alloc() {
        let mut a = VecAlloc { remaining: Some(1) };
        assert!(a.alloc().is_some());
        assert!(a.alloc().is_none());
    }
}
