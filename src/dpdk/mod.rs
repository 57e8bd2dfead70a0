//! The DPDK layer: the only module with `unsafe`. Every unsafe block carries
//! a `// SAFETY:` note; every public item here is safe to call.
//!
//! - [`eal`]: EAL init (once per process) and cleanup.
//! - [`mempool`]: packet mempools; [`mbuf`]: the owning `Mbuf`.
//! - [`port`]: ethdev configuration, bursts, link and stats.
//! - [`lcore`]: launching closures on worker lcores.
//!
//! Clippy enforces the `// SAFETY:` notes (`undocumented_unsafe_blocks`,
//! denied here; only the generated bindings in `ffi` are exempt).
#![deny(clippy::undocumented_unsafe_blocks)]
mod ffi;

pub mod eal;
pub mod lcore;
pub mod mbuf;
pub mod mempool;
pub mod port;

pub use eal::Eal;
pub use mbuf::Mbuf;
pub use mempool::Mempool;
pub use port::Port;

use std::ffi::CStr;

/// The last DPDK error (`rte_errno`) as text.
pub fn last_error() -> String {
    // SAFETY: lvsd_errno reads a thread-local int; always valid.
    let e = unsafe { ffi::lvsd_errno() };
    strerror(e)
}

/// DPDK's text for an error number (positive or negative).
pub fn strerror(e: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local
    // NUL-terminated string for any errnum.
    let s = unsafe { CStr::from_ptr(ffi::rte_strerror(e.abs())) };
    format!("{} ({})", s.to_string_lossy(), e.abs())
}

/// Hint the CPU to fetch the cache line holding `p` (no DPDK involved;
/// here because it needs `unsafe`). Used to prefetch connection-table
/// buckets across an RX burst.
#[inline(always)]
pub fn prefetch_ptr(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults and never reads into
    // the program, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Ask the kernel to back the whole 2 MB pages of the address range
/// `[start, start + len)` with transparent huge pages, before the memory is
/// first touched (the connection table's `conn::PageAdvice`): the table's
/// index and records are read at random across tens of MB, where
/// 4 KB pages cost a TLB miss (a page walk) per lookup. Advisory only
/// (no DPDK involved; here because it needs `unsafe`): without THP, or if
/// the kernel refuses, nothing changes.
pub fn advise_huge_pages(start: usize, len: usize) {
    const HUGE: usize = 2 << 20;
    let end = start.saturating_add(len);
    let (a, b) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
    if b > a {
        // MADV_HUGEPAGE only changes how the kernel backs those pages,
        // never their contents or their validity, whoever owns them; on a
        // range that is not mapped the kernel returns ENOMEM and changes
        // nothing.
        // SAFETY: an advisory madvise on whole pages inside [start, start + len).
        let _ = unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_HUGEPAGE) };
    }
}

/// DPDK's version string, e.g. "DPDK 22.11.11".
pub fn version() -> String {
    // SAFETY: rte_version returns a pointer to a static NUL-terminated string.
    let s = unsafe { CStr::from_ptr(ffi::rte_version()) };
    s.to_string_lossy().into_owned()
}
