//! The rules every child process lvsd starts follows (notify commands,
//! exec checks, quorum commands).
//!
//! Invariants:
//! * A cleared environment: only `PATH` ([`PATH`]) plus the `LVSD_*`
//!   variables the caller sets (documented in the README).
//! * Its own process group (`setpgid(0, 0)` at spawn): a timeout kills the
//!   whole group with `SIGKILL`, grandchildren included ([`kill_group`]).
//! * stdin is /dev/null; stdout and stderr share one non-blocking pipe of
//!   which at most [`OUTPUT_CAP`] bytes are kept for the log ([`Output`]);
//!   the rest is read and discarded so that the child never blocks on it.
//! * The caller keeps every spawned `Child` and `try_wait`s it each
//!   management iteration until it exits: no zombies.
//! * With `[children] run_as`, every child runs as that user and its
//!   primary group (set in the child before `exec`, supplementary groups
//!   dropped); [`set_run_as`] holds the process-wide choice the management
//!   loop keeps equal to the running configuration.

use crate::config::children::RunAs;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// The only inherited-looking variable a child gets.
pub const PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Bytes of a run's combined stdout/stderr kept for the log.
pub const OUTPUT_CAP: usize = 4096;

/// Most bytes read from a child's pipe in one [`Output::drain`] call (the
/// management loop must not spend long on a chatty child).
const DRAIN_BUDGET: usize = 64 * 1024;

/// `uid << 32 | gid` of `[children] run_as`; [`AS_SELF`]: lvsd's own user.
static RUN_AS: AtomicU64 = AtomicU64::new(AS_SELF);
/// No `run_as` (uid and gid -1 are never a user's).
const AS_SELF: u64 = u64::MAX;

/// The user children run as from now on (`None`: lvsd's own user).
pub fn set_run_as(run_as: Option<&RunAs>) {
    let v = run_as.map_or(AS_SELF, |r| u64::from(r.uid) << 32 | u64::from(r.gid));
    RUN_AS.store(v, Ordering::Relaxed);
}

/// `(uid, gid)` children run as, if not lvsd's own.
fn run_as() -> Option<(u32, u32)> {
    let v = RUN_AS.load(Ordering::Relaxed);
    (v != AS_SELF).then_some(((v >> 32) as u32, v as u32))
}

/// Applies the rules to `cmd`: cleared environment with [`PATH`], own
/// process group, stdin from /dev/null, stdout/stderr to /dev/null, the
/// `run_as` user. The caller adds its `LVSD_*` variables afterwards.
pub fn isolate(cmd: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = run_as() {
        cmd.uid(uid).gid(gid);
    }
    cmd.env_clear()
        .env("PATH", PATH)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}

/// Connects `cmd`'s stdout and stderr to one pipe; returns its read end.
pub fn capture(cmd: &mut Command) -> io::Result<Output> {
    let (r, w) = io::pipe()?;
    cmd.stdout(w.try_clone()?).stderr(w);
    let flags = fcntl(&r, FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(&r, FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
    Ok(Output {
        pipe: Some(r),
        kept: Vec::new(),
        discarded: 0,
    })
}

/// Kills `child`'s whole process group (it leads one: see [`isolate`]).
/// An already-gone group is not an error.
pub fn kill_group(child: &Child) {
    let Ok(pid) = i32::try_from(child.id()) else {
        return;
    };
    if killpg(Pid::from_raw(pid), Signal::SIGKILL).is_err() {
        // No group left (every member exited): the leader may still be
        // a zombie waiting for `try_wait`; nothing else to kill.
    }
}

/// The bounded output of one run.
#[derive(Debug)]
pub struct Output {
    pipe: Option<io::PipeReader>,
    kept: Vec<u8>,
    discarded: u64,
}

impl Output {
    /// Reads what is available now (bounded); closes the pipe at EOF.
    pub fn drain(&mut self) {
        let Some(pipe) = self.pipe.as_mut() else {
            return;
        };
        let mut buf = [0u8; 4096];
        let mut budget = DRAIN_BUDGET;
        while budget > 0 {
            match pipe.read(&mut buf) {
                Ok(0) => {
                    self.pipe = None;
                    return;
                }
                Ok(n) => {
                    budget = budget.saturating_sub(n);
                    let room = OUTPUT_CAP.saturating_sub(self.kept.len()).min(n);
                    self.kept.extend_from_slice(&buf[..room]);
                    self.discarded += (n - room) as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// The kept output as text (lossy), with a note of what was cut.
    pub fn text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.kept).trim_end().to_string();
        if self.discarded > 0 {
            s.push_str(&format!(" [{} more bytes discarded]", self.discarded));
        }
        s
    }
}
