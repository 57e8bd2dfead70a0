//! Tracked commands of the HA pair (`[ha] track`, keepalived's
//! `track_script`): each command runs every `interval`; `fall` consecutive
//! failures raise a local fault, `rise` consecutive successes clear it.
//!
//! Invariants:
//! * One run at a time per command: a run starts at most every
//!   `interval`, and never while the previous one is still running
//!   (coalesced, as keepalived does).
//! * A run that exits 0 is a success; another exit status, a signal, a
//!   failure to start, or running past `interval` (its whole process group
//!   is then killed) is a failure.
//! * Every child follows [`child`](super::child)'s rules (no shell, cleared
//!   environment, own process group, stdin/stdout/stderr to /dev/null) and
//!   is reaped: by [`Tracker::poll`] while it runs, on drop after a kill.
//! * A command starts healthy; the fault names the first failed command
//!   and its last result.
//! * The timing and counting ([`TrackCore`]) are pure: they take `now` and
//!   results, so they are tested on a simulated clock.

use super::child;
use crate::config::ha::Track;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A change of a tracked command's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `fall` failures in a row: the command is failed.
    Failed,
    /// `rise` successes in a row: the command is healthy again.
    Recovered,
}

/// One tracked command's schedule and fall/rise counting (pure).
#[derive(Debug, Clone)]
pub struct TrackCore {
    interval: Duration,
    fall: u32,
    rise: u32,
    failures_in_row: u32,
    successes_in_row: u32,
    failed: bool,
    /// When the next run may start.
    next: Instant,
    /// When the running run started, if one runs.
    running_since: Option<Instant>,
    last: String,
}

impl TrackCore {
    /// Healthy; the first run is due at `now`.
    pub fn new(interval: Duration, fall: u32, rise: u32, now: Instant) -> TrackCore {
        TrackCore {
            interval: interval.max(Duration::from_millis(1)),
            fall: fall.max(1),
            rise: rise.max(1),
            failures_in_row: 0,
            successes_in_row: 0,
            failed: false,
            next: now,
            running_since: None,
            last: String::new(),
        }
    }

    /// Should a run start now? If so it is recorded as started.
    pub fn start(&mut self, now: Instant) -> bool {
        if self.running_since.is_some() || now < self.next {
            return false;
        }
        self.running_since = Some(now);
        self.next = now.checked_add(self.interval).unwrap_or(now);
        true
    }

    /// Has the running run passed its time (`interval`)?
    pub fn overdue(&self, now: Instant) -> bool {
        self.running_since
            .is_some_and(|s| now.saturating_duration_since(s) >= self.interval)
    }

    /// The run ended (or could not start) with `ok`; `detail` says how.
    pub fn finished(&mut self, ok: bool, detail: String) -> Option<Change> {
        self.running_since = None;
        self.last = detail;
        if ok {
            self.failures_in_row = 0;
            self.successes_in_row = self.successes_in_row.saturating_add(1);
            if self.failed && self.successes_in_row >= self.rise {
                self.failed = false;
                return Some(Change::Recovered);
            }
        } else {
            self.successes_in_row = 0;
            self.failures_in_row = self.failures_in_row.saturating_add(1);
            if !self.failed && self.failures_in_row >= self.fall {
                self.failed = true;
                return Some(Change::Failed);
            }
        }
        None
    }

    /// Is the command failed (`fall` reached, `rise` not yet)?
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The last run's result ("exit 1", "timeout after 1s", ...).
    pub fn last(&self) -> &str {
        &self.last
    }
}

/// One tracked command and its running child.
#[derive(Debug)]
struct Script {
    command: String,
    core: TrackCore,
    child: Option<Child>,
    /// The running child was killed for its timeout (its failure is
    /// already counted); it is reaped on a later poll.
    killed: bool,
}

/// Runs the tracked commands without blocking (see the module docs).
#[derive(Debug, Default)]
pub struct Tracker {
    scripts: Vec<Script>,
}

impl Tracker {
    /// The commands of `[ha] track`; the first runs are due at once.
    pub fn new(track: &[Track], now: Instant) -> Tracker {
        let scripts = track
            .iter()
            .map(|t| Script {
                command: t.command.clone(),
                core: TrackCore::new(t.interval, t.fall, t.rise, now),
                child: None,
                killed: false,
            })
            .collect();
        Tracker { scripts }
    }

    /// Reaps finished runs, kills overdue ones, starts due ones. Returns
    /// the fault (the first failed command and its last result), `None`
    /// while every command is healthy.
    pub fn poll(&mut self, now: Instant) -> Option<String> {
        for s in &mut self.scripts {
            s.poll(now);
        }
        self.scripts
            .iter()
            .find(|s| s.core.failed())
            .map(|s| format!("track {} failed: {}", s.command, s.core.last()))
    }
}

impl Script {
    fn poll(&mut self, now: Instant) {
        if let Some(c) = self.child.as_mut() {
            match c.try_wait() {
                Ok(None) if !self.killed && self.core.overdue(now) => {
                    child::kill_group(c);
                    let _ = c.kill();
                    self.killed = true;
                    let why = format!("timeout after {:?}", self.core.interval);
                    self.record(false, why);
                }
                Ok(None) => {}
                Ok(Some(st)) => {
                    self.child = None;
                    if !std::mem::take(&mut self.killed) {
                        let (ok, detail) = judge(st);
                        self.record(ok, detail);
                    }
                }
                Err(e) => {
                    self.child = None;
                    if !std::mem::take(&mut self.killed) {
                        self.record(false, format!("wait failed: {e}"));
                    }
                }
            }
        }
        if self.child.is_none() && self.core.start(now) {
            match self.spawn() {
                Ok(c) => self.child = Some(c),
                Err(e) => self.record(false, format!("spawn failed: {e}")),
            }
        }
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let mut parts = self.command.split_ascii_whitespace();
        let prog = parts.next().unwrap_or_default();
        child::isolate(&mut Command::new(prog)).args(parts).spawn()
    }

    fn record(&mut self, ok: bool, detail: String) {
        match self.core.finished(ok, detail) {
            Some(Change::Failed) => tracing::warn!(
                command = %self.command,
                result = self.core.last(),
                "HA track failed"
            ),
            Some(Change::Recovered) => {
                tracing::info!(command = %self.command, "HA track healthy again")
            }
            None => {}
        }
    }
}

/// A finished run: success, and how it ended.
fn judge(st: ExitStatus) -> (bool, String) {
    match (st.code(), st.signal()) {
        (Some(0), _) => (true, "exit 0".into()),
        (Some(c), _) => (false, format!("exit {c}")),
        (None, Some(s)) => (false, format!("killed by signal {s}")),
        (None, None) => (false, "ended".into()),
    }
}

impl Drop for Tracker {
    /// A run still going when lvsd stops is killed with its group and
    /// reaped.
    fn drop(&mut self) {
        for s in &mut self.scripts {
            if let Some(c) = s.child.as_mut() {
                child::kill_group(c);
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IV: Duration = Duration::from_millis(100);

    /// One run per interval on a simulated clock, each with the given
    /// result; the changes seen, by run index.
    fn drive(core: &mut TrackCore, t0: Instant, results: &[bool]) -> Vec<(usize, Change)> {
        let mut out = Vec::new();
        for (i, ok) in results.iter().enumerate() {
            let at = t0 + IV * i as u32;
            assert!(core.start(at), "run {i} due");
            assert!(!core.start(at), "one run at a time");
            if let Some(c) = core.finished(*ok, format!("run {i}")) {
                out.push((i, c));
            }
        }
        out
    }

    #[test]
    fn fall_failures_raise_rise_successes_clear() {
        let t0 = Instant::now();
        let mut c = TrackCore::new(IV, 3, 2, t0);
        assert!(!c.failed(), "starts healthy");
        let runs = [
            true, false, false, true, // a run of two failures is not enough
            false, false, false, // the third in a row fails it
            true, false, true, true, // two successes in a row clear it
            false,
        ];
        assert_eq!(
            drive(&mut c, t0, &runs),
            vec![(6, Change::Failed), (10, Change::Recovered)]
        );
        assert!(!c.failed());
        assert_eq!(c.last(), "run 11");
    }

    #[test]
    fn runs_are_spaced_by_the_interval_and_time_out_after_it() {
        let t0 = Instant::now();
        let mut c = TrackCore::new(IV, 1, 1, t0);
        assert!(c.start(t0));
        assert!(!c.overdue(t0 + IV - Duration::from_millis(1)));
        assert!(c.overdue(t0 + IV), "a run is killed after the interval");
        assert_eq!(c.finished(false, "timeout".into()), Some(Change::Failed));
        // A fast run: the next one waits for the interval.
        let at = t0 + IV;
        assert!(c.start(at));
        assert_eq!(c.finished(true, "exit 0".into()), Some(Change::Recovered));
        assert!(!c.start(at + IV - Duration::from_millis(1)));
        assert!(c.start(at + IV));
        // A slow run holds the next one back until it ends.
        assert!(!c.start(at + 3 * IV));
        c.finished(true, "exit 0".into());
        assert!(c.start(at + 3 * IV));
    }

    #[test]
    fn real_commands_fail_recover_and_time_out() {
        let t = |cmd: &str, ms: u64| Track {
            command: cmd.into(),
            interval: Duration::from_millis(ms),
            fall: 2,
            rise: 1,
        };
        let mut tr = Tracker::new(&[t("/bin/true", 20), t("/bin/false", 20)], Instant::now());
        let end = Instant::now() + Duration::from_secs(5);
        let mut fault = None;
        while fault.is_none() && Instant::now() < end {
            fault = tr.poll(Instant::now());
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(fault.as_deref(), Some("track /bin/false failed: exit 1"));
        // A command that outlives its interval is killed: a failure.
        let mut tr = Tracker::new(&[t("/bin/sleep 5", 30)], Instant::now());
        let started = Instant::now();
        let mut fault = None;
        while fault.is_none() && started.elapsed() < Duration::from_secs(3) {
            fault = tr.poll(Instant::now());
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(
            fault.as_deref(),
            Some("track /bin/sleep 5 failed: timeout after 30ms")
        );
        assert!(started.elapsed() < Duration::from_secs(2), "not waited out");
    }
}
