//! The worker's clocks: the datapath's millisecond clock read from the
//! cycle counter, and the busy/idle accounting of loop iterations.
use super::io::PortIo;
use std::marker::PhantomData;
use std::time::Instant;

/// The datapath's millisecond clock (ms since `epoch`), read once per loop
/// iteration from the TSC instead of `Instant::elapsed()`, and re-anchored
/// on `Instant` every `resync` so it cannot drift; never goes backwards.
pub(super) struct Clock<P> {
    epoch: Instant,
    base_ms: u64,
    base_tsc: u64,
    /// Milliseconds per TSC cycle, fixed point with 40 fractional bits
    /// (a multiply instead of a division per iteration).
    ms_per_cycle: u64,
    pub(super) last_ms: u64,
    /// TSC read by the last `now_ms` (start of the current iteration).
    pub(super) last_tsc: u64,
    tsc: PhantomData<fn() -> P>,
}

impl<P: PortIo> Clock<P> {
    pub(super) fn new(epoch: Instant, tsc_hz: u64) -> Self {
        let mut c = Clock {
            epoch,
            base_ms: 0,
            base_tsc: 0,
            ms_per_cycle: u64::try_from((1000u128 << 40) / u128::from(tsc_hz.max(1)))
                .unwrap_or(u64::MAX),
            last_ms: 0,
            last_tsc: 0,
            tsc: PhantomData,
        };
        c.resync();
        c
    }

    pub(super) fn resync(&mut self) {
        self.base_tsc = P::tsc();
        self.base_ms = self.epoch.elapsed().as_millis() as u64;
    }

    #[inline]
    pub(super) fn now_ms(&mut self) -> u64 {
        self.last_tsc = P::tsc();
        let cycles = self.last_tsc.wrapping_sub(self.base_tsc);
        let d = ((u128::from(cycles) * u128::from(self.ms_per_cycle)) >> 40) as u64;
        self.last_ms = self.last_ms.max(self.base_ms + d);
        self.last_ms
    }
}

/// Whether the current loop iteration found work, and since when its cycles
/// count as busy (`busy_cycles`).
pub(super) struct Busy<P> {
    pub(super) found: bool,
    pub(super) since: u64,
    /// The iteration did not read the clock (idle iterations mostly skip it).
    stale: bool,
    tsc: PhantomData<fn() -> P>,
}

impl<P: PortIo> Default for Busy<P> {
    fn default() -> Self {
        Busy {
            found: false,
            since: 0,
            stale: false,
            tsc: PhantomData,
        }
    }
}

impl<P: PortIo> Busy<P> {
    /// A new iteration whose clock reading is `tsc` (stale unless `fresh`).
    #[inline]
    pub(super) fn begin(&mut self, tsc: u64, fresh: bool) {
        self.found = false;
        self.since = tsc;
        self.stale = !fresh;
    }

    /// The iteration found work. If it did not read the clock, its busy time
    /// starts now, not at the last reading (which would count up to
    /// `CLOCK_IDLE_EVERY` idle iterations as busy).
    #[inline]
    pub(super) fn mark(&mut self) {
        if !self.found && self.stale {
            self.since = P::tsc();
        }
        self.found = true;
    }
}
