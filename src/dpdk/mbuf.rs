//! The owning `Mbuf`: a single-segment packet buffer, freed on drop and
//! handed back to DPDK (moved) on TX. lvsd configures no scatter RX, so an
//! mbuf's data is one contiguous slice; a multi-segment mbuf is never built.
use super::ffi;
use crate::frame::Frame;
use std::ptr::NonNull;

/// An owned `rte_mbuf`.
#[repr(transparent)]
#[derive(Debug)]
pub struct Mbuf {
    ptr: NonNull<ffi::rte_mbuf>,
}

// SAFETY: an mbuf is owned by exactly one Mbuf value; moving it to another
// thread moves that ownership (DPDK frees to the pool from any lcore).
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Take ownership of a raw mbuf.
    ///
    /// # Safety
    /// `ptr` must be a valid mbuf that nothing else owns or will free.
    pub unsafe fn from_raw(ptr: NonNull<ffi::rte_mbuf>) -> Mbuf {
        Mbuf { ptr }
    }

    /// Give up ownership (e.g. to a TX burst).
    pub fn into_raw(self) -> *mut ffi::rte_mbuf {
        let p = self.ptr.as_ptr();
        std::mem::forget(self);
        p
    }

    /// Number of segments (1 for everything lvsd builds or receives).
    pub fn segments(&self) -> u16 {
        // SAFETY: ptr is a valid mbuf we own.
        unsafe { ffi::lvsd_pktmbuf_nb_segs(self.ptr.as_ptr()) }
    }

    /// The DPDK port number the mbuf arrived on.
    pub fn dpdk_port(&self) -> u16 {
        // SAFETY: ptr is a valid mbuf we own.
        unsafe { ffi::lvsd_mbuf_port(self.ptr.as_ptr()) }
    }

    /// The RSS hash the NIC computed (0 if none).
    pub fn rss_hash(&self) -> u32 {
        // SAFETY: ptr is a valid mbuf we own.
        unsafe { ffi::lvsd_mbuf_rss_hash(self.ptr.as_ptr()) }
    }

    /// Prefetch the packet's first cache line.
    #[inline]
    pub fn prefetch(&self) {
        // The data pointer read from the mbuf fields (no C shim call).
        super::prefetch_ptr(self.data().as_ptr());
    }

    fn data_len(&self) -> usize {
        // SAFETY: ptr is a valid mbuf we own.
        usize::from(unsafe { ffi::lvsd_pktmbuf_data_len(self.ptr.as_ptr()) })
    }
}

/// Free every mbuf in `v` with one `rte_pktmbuf_free_bulk` call and
/// empty it (cheaper than dropping them one by one).
pub fn free_bulk(v: &mut Vec<Mbuf>) {
    let n = v.len();
    if n == 0 {
        return;
    }
    // SAFETY: Mbuf is repr(transparent) over NonNull<rte_mbuf>, so the buffer holds `n` valid mbuf pointers we
    // own; DPDK frees each once and set_len(0) forgets them without running Drop (no double free).
    unsafe {
        ffi::rte_pktmbuf_free_bulk(v.as_mut_ptr() as *mut *mut ffi::rte_mbuf, n as u32);
        v.set_len(0);
    }
}

impl Frame for Mbuf {
    // Speed trick: `data`/`data_mut` read the mbuf fields directly
    // (`rte_pktmbuf_mtod` is `buf_addr + data_off`) instead of two C shim
    // calls per access: the datapath takes the slice many times per packet.
    #[inline]
    fn data(&self) -> &[u8] {
        // SAFETY: single-segment mbuf we own: buf_addr + data_off points at data_len initialised bytes
        // of its buffer, which lives as long as self and is not aliased mutably while &self is borrowed.
        unsafe {
            let m = self.ptr.as_ptr();
            let start = ((*m).buf_addr as *const u8).add(usize::from((*m).data_off));
            std::slice::from_raw_parts(start, usize::from((*m).data_len))
        }
    }
    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in data(); &mut self guarantees exclusive access.
        unsafe {
            let m = self.ptr.as_ptr();
            let start = ((*m).buf_addr as *mut u8).add(usize::from((*m).data_off));
            std::slice::from_raw_parts_mut(start, usize::from((*m).data_len))
        }
    }
    fn prepend(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else {
            return false;
        };
        // SAFETY: rte_pktmbuf_prepend checks headroom and returns NULL
        // (changing nothing) when there is not enough.
        !unsafe { ffi::lvsd_pktmbuf_prepend(self.ptr.as_ptr(), n) }.is_null()
    }
    fn trim_front(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else {
            return false;
        };
        // SAFETY: rte_pktmbuf_adj checks n <= data_len and returns NULL
        // (changing nothing) otherwise.
        !unsafe { ffi::lvsd_pktmbuf_adj(self.ptr.as_ptr(), n) }.is_null()
    }
    fn append(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else {
            return false;
        };
        // SAFETY: rte_pktmbuf_append checks tailroom and returns NULL
        // (changing nothing) when there is not enough.
        !unsafe { ffi::lvsd_pktmbuf_append(self.ptr.as_ptr(), n) }.is_null()
    }
    fn truncate(&mut self, len: usize) {
        let cur = self.data_len();
        if len < cur {
            // cur - len fits u16 since cur is a u16 data_len.
            let cut = (cur - len) as u16;
            // SAFETY: cut <= data_len of the (only) segment, so trim succeeds.
            let _ = unsafe { ffi::lvsd_pktmbuf_trim(self.ptr.as_ptr(), cut) };
        }
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf; it goes back to its pool exactly once.
        unsafe { ffi::lvsd_pktmbuf_free(self.ptr.as_ptr()) }
    }
}
