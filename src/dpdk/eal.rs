//! EAL initialisation and cleanup. `rte_eal_init` works once per process
//! (a second call fails even after cleanup), so [`Eal::init`] refuses a second
//! call itself, and dropping the [`Eal`] runs `rte_eal_cleanup`, which
//! releases hugepage files.
use super::ffi;
use std::ffi::CString;
use std::os::raw::c_char;
use std::sync::atomic::{AtomicBool, Ordering};

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Proof that EAL is up; cleanup on drop. Hold it until every port,
/// mempool and mbuf is gone.
#[derive(Debug)]
pub struct Eal {
    _private: (),
}

impl Eal {
    /// Initialise EAL with `args` (without the program name, which is added).
    pub fn init(args: &[String]) -> anyhow::Result<Eal> {
        if INITIALISED.swap(true, Ordering::SeqCst) {
            anyhow::bail!("EAL already initialised in this process");
        }
        let mut owned: Vec<CString> = Vec::with_capacity(args.len() + 1);
        owned.push(CString::new("lvsd")?);
        for a in args {
            owned.push(
                CString::new(a.as_str())
                    .map_err(|_| anyhow::anyhow!("EAL argument {a:?} contains NUL"))?,
            );
        }
        // EAL may permute argv, so it gets its own pointer array; the strings
        // stay alive in `owned` for the whole process (leaked below), because
        // EAL keeps pointers into argv.
        let mut argv: Vec<*mut c_char> = owned.iter().map(|s| s.as_ptr() as *mut c_char).collect();
        let argc = argv.len() as i32;
        // SAFETY: argv holds argc valid NUL-terminated strings that outlive the process (both vectors are leaked
        // right after); EAL init runs once per process (guarded by INITIALISED) from the main thread.
        let rc = unsafe { ffi::rte_eal_init(argc, argv.as_mut_ptr()) };
        std::mem::forget(owned);
        std::mem::forget(argv);
        if rc < 0 {
            anyhow::bail!("rte_eal_init failed: {}", super::last_error());
        }
        Ok(Eal { _private: () })
    }

    /// Enable packet capture by secondary processes (`dpdk-dumpcap`,
    /// `dpdk-pdump`). Needs the shared configuration, i.e. hugepages.
    pub fn enable_pdump(&self) -> anyhow::Result<()> {
        // SAFETY: EAL is initialised (self exists); called once from the main lcore.
        let rc = unsafe { ffi::rte_pdump_init() };
        if rc != 0 {
            anyhow::bail!("rte_pdump_init: {}", super::last_error());
        }
        Ok(())
    }

    /// The lcore the calling thread runs on (`u32::MAX` off EAL threads).
    pub fn current_lcore() -> u32 {
        // SAFETY: reads a per-thread variable; valid on any thread.
        unsafe { ffi::lvsd_lcore_id() }
    }

    /// TSC frequency in Hz.
    pub fn tsc_hz(&self) -> u64 {
        // SAFETY: EAL is initialised (self exists), which calibrates the TSC.
        unsafe { ffi::lvsd_get_tsc_hz() }
    }

    /// Current TSC value.
    pub fn tsc() -> u64 {
        // SAFETY: reads the time-stamp counter; no preconditions.
        unsafe { ffi::lvsd_get_tsc_cycles() }
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: EAL was initialised by this value; every lcore has been
        // joined and every DPDK object freed by the owners dropped before us.
        let rc = unsafe { ffi::rte_eal_cleanup() };
        if rc != 0 {
            tracing::warn!("rte_eal_cleanup: {}", super::strerror(rc));
        }
    }
}
