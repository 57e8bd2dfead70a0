//! Packet mempools (`rte_pktmbuf_pool_create`). A pool is shared by the
//! workers (DPDK mempools are thread-safe with per-lcore caches) and freed
//! when the last owner drops it; all mbufs must be back in the pool by then.
use super::{ffi, Mbuf};
use crate::frame::FrameAlloc;
use std::ffi::CString;
use std::ptr::NonNull;

/// An mbuf pool.
#[derive(Debug)]
pub struct Mempool {
    ptr: NonNull<ffi::rte_mempool>,
}

// SAFETY: rte_mempool get/put are multi-thread safe (lock-free ring plus per-lcore
// caches); the pointer is only freed in Drop, when no other owner exists.
unsafe impl Send for Mempool {}
// SAFETY: as above; every method takes &self and calls thread-safe DPDK APIs.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Create a pool of `n` mbufs with the default data room (2048 + headroom).
    pub fn new(name: &str, n: u32, cache: u32, socket: i32) -> anyhow::Result<Mempool> {
        let cname = CString::new(name)?;
        let room = ffi::RTE_MBUF_DEFAULT_BUF_SIZE as u16;
        // SAFETY: EAL is up (callers hold an Eal); name is a valid C string
        // that DPDK copies.
        let p = unsafe { ffi::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, room, socket) };
        match NonNull::new(p) {
            Some(ptr) => Ok(Mempool { ptr }),
            None => anyhow::bail!(
                "rte_pktmbuf_pool_create({name}, {n}): {}",
                super::last_error()
            ),
        }
    }

    /// Mbufs currently allocated from the pool (in flight anywhere).
    pub fn in_use(&self) -> u32 {
        // SAFETY: ptr is a live mempool for the lifetime of self.
        unsafe { ffi::lvsd_mempool_in_use(self.ptr.as_ptr()) }
    }

    /// Mbufs free in the pool (including per-lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: ptr is a live mempool for the lifetime of self.
        unsafe { ffi::lvsd_mempool_avail(self.ptr.as_ptr()) }
    }

    /// One mbuf, reset, with default headroom; `None` when exhausted.
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: ptr is a live pktmbuf pool.
        let m = unsafe { ffi::lvsd_pktmbuf_alloc(self.ptr.as_ptr()) };
        // SAFETY: a non-null result is a freshly allocated mbuf we now own.
        NonNull::new(m).map(|p| unsafe { Mbuf::from_raw(p) })
    }

    /// Append `n` fresh mbufs (reset, default headroom) to `out`, all or
    /// none: false (nothing appended) when the pool cannot supply `n`.
    /// Allocates nothing when `out` has room for `n` more.
    pub fn alloc_bulk(&self, out: &mut Vec<Mbuf>, n: usize) -> bool {
        if n == 0 {
            return true;
        }
        let Ok(count) = u32::try_from(n) else {
            return false;
        };
        out.reserve(n);
        let len = out.len();
        // SAFETY: `out` has room for `n` more Mbufs (repr(transparent) pointers); on success DPDK
        // wrote `n` valid, newly owned mbufs there (length may grow), on failure nothing we keep.
        unsafe {
            let slots = out.as_mut_ptr().add(len) as *mut *mut ffi::rte_mbuf;
            if ffi::lvsd_pktmbuf_alloc_bulk(self.ptr.as_ptr(), slots, count) != 0 {
                return false;
            }
            out.set_len(len + n);
        }
        true
    }

    pub(super) fn as_ptr(&self) -> *mut ffi::rte_mempool {
        self.ptr.as_ptr()
    }
}

impl FrameAlloc for &Mempool {
    type Frame = Mbuf;
    fn alloc(&mut self) -> Option<Mbuf> {
        Mempool::alloc(self)
    }
}

/// The shared pool as a worker holds it.
impl FrameAlloc for std::sync::Arc<Mempool> {
    type Frame = Mbuf;
    #[inline]
    fn alloc(&mut self) -> Option<Mbuf> {
        Mempool::alloc(self)
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: no port references the pool any more (ports are closed
        // before their pools are dropped) and this is the only owner.
        unsafe { ffi::rte_mempool_free(self.ptr.as_ptr()) }
    }
}
