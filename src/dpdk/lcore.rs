//! Launching closures on EAL worker lcores and waiting for them.
use super::ffi;
use std::os::raw::{c_int, c_void};

type Job = Box<dyn FnOnce() -> i32 + Send + 'static>;

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<Job> leaked by `launch` for exactly this call;
    // EAL calls the function once, so the box is reclaimed once.
    let job: Box<Job> = unsafe { Box::from_raw(arg as *mut Job) };
    job()
}

/// The worker lcores EAL was started with, in order (the main lcore excluded).
pub fn worker_lcores() -> Vec<u32> {
    let mut out = Vec::new();
    // SAFETY: plain queries of EAL's lcore configuration after init.
    let mut i = unsafe { ffi::rte_get_next_lcore(u32::MAX, 1, 0) };
    while (i as usize) < ffi::RTE_MAX_LCORE as usize {
        out.push(i);
        // SAFETY: as above.
        i = unsafe { ffi::rte_get_next_lcore(i, 1, 0) };
    }
    out
}

/// The main lcore's number.
pub fn main_lcore() -> u32 {
    // SAFETY: plain query of EAL's configuration after init.
    unsafe { ffi::rte_get_main_lcore() }
}

/// Run `f` on worker lcore `lcore`. The lcore must be idle.
pub fn launch<F: FnOnce() -> i32 + Send + 'static>(lcore: u32, f: F) -> anyhow::Result<()> {
    let job: Box<Job> = Box::new(Box::new(f));
    let arg = Box::into_raw(job) as *mut c_void;
    // SAFETY: trampoline matches lcore_function_t and reclaims `arg` once;
    // on failure EAL never calls it, so we reclaim the box here.
    let rc = unsafe { ffi::rte_eal_remote_launch(Some(trampoline), arg, lcore) };
    if rc != 0 {
        // SAFETY: the job was not started, so we still own `arg`.
        drop(unsafe { Box::from_raw(arg as *mut Job) });
        anyhow::bail!(
            "rte_eal_remote_launch on lcore {lcore}: {}",
            super::strerror(rc)
        );
    }
    Ok(())
}

/// Wait for the job on `lcore` to finish; its return value.
pub fn wait(lcore: u32) -> i32 {
    // SAFETY: waiting on a worker lcore is always allowed from the main lcore.
    unsafe { ffi::rte_eal_wait_lcore(lcore) }
}
