//! The management loop's signals: SIGINT/SIGTERM (stop), SIGHUP (reload)
//! and SIGUSR1 (dump the connection table) set flags, and each also writes
//! a byte to a self-pipe whose read end the loop's wait watches
//! ([`HealthEngine::wake_on`](crate::health::engine::HealthEngine::wake_on)),
//! so a signal ends the loop's sleep at once, whichever thread the kernel
//! delivered it to.
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use libc::c_int;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

/// The flags and the read end of the self-pipe.
pub struct Signals {
    pub stop: Arc<AtomicBool>,
    pub dump: Arc<AtomicBool>,
    pub reload: Arc<AtomicBool>,
    pipe: UnixStream,
}

impl Signals {
    /// Install the handlers (for the life of the process).
    pub fn register() -> io::Result<Signals> {
        let (stop, dump, reload) = (flag(), flag(), flag());
        let pipe = install(&[
            (SIGINT, &stop),
            (SIGTERM, &stop),
            (SIGUSR1, &dump),
            (SIGHUP, &reload),
        ])?;
        Ok(Signals {
            stop,
            dump,
            reload,
            pipe,
        })
    }

    /// The self-pipe's read end, to wait on.
    pub fn fd(&self) -> RawFd {
        self.pipe.as_raw_fd()
    }

    /// Empty the self-pipe (its readiness is edge-triggered).
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.pipe).read(&mut buf), Ok(n) if n > 0) {}
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// Set `flag` and write a byte to a new self-pipe on each signal; returns
/// the pipe's (non-blocking) read end.
fn install(sigs: &[(c_int, &Arc<AtomicBool>)]) -> io::Result<UnixStream> {
    let (read, write) = UnixStream::pair()?;
    read.set_nonblocking(true)?;
    for &(sig, flag) in sigs {
        // The flag first: the loop reads it after the pipe woke it.
        signal_hook::flag::register(sig, flag.clone())?;
        signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A signal wakes a wait on the pipe at once, and the pipe drains.
    #[test]
    fn a_signal_ends_a_long_wait() {
        // Not `register`: the test process keeps its own SIGINT/SIGTERM.
        let (stop, dump, reload) = (flag(), flag(), flag());
        let pipe = install(&[(signal_hook::consts::SIGUSR2, &dump)]).unwrap();
        let s = Signals {
            stop,
            dump,
            reload,
            pipe,
        };
        let eng = crate::health::engine::HealthEngine::new().unwrap();
        eng.wake_on(s.fd()).unwrap();
        let mut eng = eng;
        let t = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            signal_hook::low_level::raise(signal_hook::consts::SIGUSR2).unwrap();
        });
        let t0 = Instant::now();
        let _ = eng.run_once(Duration::from_secs(20));
        let waited = t0.elapsed();
        t.join().unwrap();
        assert!(waited < Duration::from_secs(10), "waited {waited:?}");
        assert!(s.dump.swap(false, Ordering::Relaxed));
        s.drain();
        let mut buf = [0u8; 1];
        assert!((&s.pipe).read(&mut buf).is_err(), "drained");
    }
}
