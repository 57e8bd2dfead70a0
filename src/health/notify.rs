//! Notify commands: `notify_up`, `notify_down`, `quorum_up`, `quorum_down`
//! (health) and `notify_active`, `notify_backup`, `notify_fault` (HA).
//!
//! Invariants:
//! * No shell: the command string is split on ASCII whitespace; the event's
//!   arguments are appended: `up|down <service> <real ip:port>`,
//!   `quorum_up|quorum_down <service>` or `active|backup|fault <node> <reason>`.
//!   Env `LVSD_EVENT`, `LVSD_SERVICE` and (for real events) `LVSD_REAL`;
//!   for role events `LVSD_EVENT`, `LVSD_NODE` and `LVSD_REASON`.
//! * Every child follows [`child`](super::child)'s rules: cleared
//!   environment, own process group killed whole after the timeout,
//!   always reaped, first 4 KiB of its output logged.
//! * Never blocks: children are reaped by [`Notifier::reap`] (each
//!   management iteration) or on the next `notify`.
//! * Coalescing: at most one run per command and subject (the same real,
//!   the same service, or the node's role). While it runs, a newer event
//!   replaces the pending one; only the last is run once the running one
//!   exits, so flapping never piles up children. Across subjects at most
//!   `max_running` run at once; a new subject over the bound is dropped
//!   with a warning rather than queued.

use super::child::{self, Output};
use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// How long a notify command may run before its process group is killed.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyEvent {
    RealUp {
        service: String,
        real: SocketAddrV4,
    },
    RealDown {
        service: String,
        real: SocketAddrV4,
    },
    QuorumUp {
        service: String,
    },
    QuorumDown {
        service: String,
    },
    /// An HA role transition (`role` is `active`, `backup` or `fault`).
    Role {
        role: &'static str,
        node: String,
        reason: String,
    },
}

impl NotifyEvent {
    pub fn name(&self) -> &'static str {
        match self {
            NotifyEvent::RealUp { .. } => "up",
            NotifyEvent::RealDown { .. } => "down",
            NotifyEvent::QuorumUp { .. } => "quorum_up",
            NotifyEvent::QuorumDown { .. } => "quorum_down",
            NotifyEvent::Role { role, .. } => role,
        }
    }

    fn service(&self) -> Option<&str> {
        match self {
            NotifyEvent::RealUp { service, .. }
            | NotifyEvent::RealDown { service, .. }
            | NotifyEvent::QuorumUp { service }
            | NotifyEvent::QuorumDown { service } => Some(service),
            NotifyEvent::Role { .. } => None,
        }
    }

    fn real(&self) -> Option<SocketAddrV4> {
        match self {
            NotifyEvent::RealUp { real, .. } | NotifyEvent::RealDown { real, .. } => Some(*real),
            _ => None,
        }
    }

    /// Arguments appended to the command.
    pub fn args(&self) -> Vec<String> {
        let mut v = vec![self.name().to_string()];
        if let NotifyEvent::Role { node, reason, .. } = self {
            v.push(node.clone());
            v.push(reason.clone());
        }
        if let Some(s) = self.service() {
            v.push(s.to_string());
        }
        if let Some(r) = self.real() {
            v.push(r.to_string());
        }
        v
    }

    /// What successive events replace each other for (see the module doc).
    fn subject(&self) -> String {
        match (self.service(), self.real()) {
            (Some(s), Some(r)) => format!("{s} {r}"),
            (Some(s), None) => format!("quorum {s}"),
            _ => "role".to_string(),
        }
    }
}

/// Builds the `Command` for `cmdline` and `ev`; `None` if `cmdline` is blank.
pub fn build_command(cmdline: &str, ev: &NotifyEvent) -> Option<Command> {
    let mut parts = cmdline.split_ascii_whitespace();
    let prog = parts.next()?;
    let mut c = Command::new(prog);
    child::isolate(&mut c)
        .args(parts)
        .args(ev.args())
        .env("LVSD_EVENT", ev.name());
    if let Some(s) = ev.service() {
        c.env("LVSD_SERVICE", s);
    }
    if let Some(r) = ev.real() {
        c.env("LVSD_REAL", r.to_string());
    }
    if let NotifyEvent::Role { node, reason, .. } = ev {
        c.env("LVSD_NODE", node).env("LVSD_REASON", reason);
    }
    Some(c)
}

/// One running notify command.
#[derive(Debug)]
struct Run {
    child: Child,
    output: Output,
    deadline: Instant,
    killed: bool,
    event: &'static str,
}

/// The run and the pending event of one command and subject.
#[derive(Debug)]
struct Slot {
    cmdline: String,
    running: Option<Run>,
    pending: Option<NotifyEvent>,
}

/// Runs notify commands without blocking.
#[derive(Debug)]
pub struct Notifier {
    slots: HashMap<(String, String), Slot>,
    max_running: usize,
    timeout: Duration,
    dropped: u64,
    coalesced: u64,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier::new(64)
    }
}

impl Notifier {
    pub fn new(max_running: usize) -> Self {
        Notifier::with_timeout(max_running, NOTIFY_TIMEOUT)
    }

    /// A notifier whose commands are killed after `timeout`.
    pub fn with_timeout(max_running: usize, timeout: Duration) -> Self {
        Notifier {
            slots: HashMap::new(),
            max_running: max_running.max(1),
            timeout,
            dropped: 0,
            coalesced: 0,
        }
    }

    /// Runs `cmdline` for `ev`, or makes `ev` the pending event of the
    /// run already going for the same command and subject. Returns whether
    /// a child was started now.
    pub fn notify(&mut self, cmdline: &str, ev: &NotifyEvent) -> bool {
        self.reap();
        if cmdline.split_ascii_whitespace().next().is_none() {
            return false;
        }
        let key = (cmdline.to_string(), ev.subject());
        if let Some(slot) = self.slots.get_mut(&key) {
            if slot.pending.replace(ev.clone()).is_some() {
                self.coalesced += 1;
            }
            return false;
        }
        if self.running() >= self.max_running {
            self.dropped += 1;
            tracing::warn!(
                "notify {}: too many running notify commands, dropped",
                ev.name()
            );
            return false;
        }
        let Some(run) = self.spawn(cmdline, ev) else {
            return false;
        };
        let slot = Slot {
            cmdline: cmdline.to_string(),
            running: Some(run),
            pending: None,
        };
        self.slots.insert(key, slot);
        true
    }

    fn spawn(&self, cmdline: &str, ev: &NotifyEvent) -> Option<Run> {
        let mut cmd = build_command(cmdline, ev)?;
        let output = match child::capture(&mut cmd) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!("notify {} `{cmdline}`: no output pipe: {e}", ev.name());
                return None;
            }
        };
        // `cmd` holds the pipe's write end: dropped at the end of this
        // function, so only the child keeps it open.
        match cmd.spawn() {
            Ok(child) => Some(Run {
                child,
                output,
                deadline: Instant::now() + self.timeout,
                killed: false,
                event: ev.name(),
            }),
            Err(e) => {
                tracing::warn!("notify {} `{cmdline}` failed to start: {e}", ev.name());
                None
            }
        }
    }

    /// Reaps finished children, kills the process group of those past
    /// their timeout and starts pending events; returns how many run.
    pub fn reap(&mut self) -> usize {
        let now = Instant::now();
        for slot in self.slots.values_mut() {
            if let Some(run) = slot.running.as_mut() {
                if poll_run(run, &slot.cmdline, now) {
                    slot.running = None;
                }
            }
        }
        let mut free = self.max_running.saturating_sub(self.running());
        let mut starts = Vec::new();
        for (key, slot) in &mut self.slots {
            if slot.running.is_none() && free > 0 {
                if let Some(ev) = slot.pending.take() {
                    starts.push((key.clone(), ev));
                    free -= 1;
                }
            }
        }
        for (key, ev) in starts {
            let run = self.spawn(&key.0, &ev);
            if let Some(slot) = self.slots.get_mut(&key) {
                slot.running = run;
            }
        }
        self.slots
            .retain(|_, s| s.running.is_some() || s.pending.is_some());
        self.running()
    }

    pub fn running(&self) -> usize {
        self.slots.values().filter(|s| s.running.is_some()).count()
    }

    /// Process ids of the running commands.
    pub fn pids(&self) -> Vec<u32> {
        self.slots
            .values()
            .filter_map(|s| s.running.as_ref().map(|r| r.child.id()))
            .collect()
    }

    /// Notifications dropped because too many were running.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Pending events replaced by a newer one before they ran.
    pub fn coalesced(&self) -> u64 {
        self.coalesced
    }
}

/// Advances one run: output, exit, timeout. True once it has been reaped.
fn poll_run(run: &mut Run, cmdline: &str, now: Instant) -> bool {
    run.output.drain();
    match run.child.try_wait() {
        Ok(Some(st)) => {
            run.output.drain();
            let out = run.output.text();
            if run.killed {
                tracing::warn!(
                    "notify {} `{cmdline}` killed after timeout: {out}",
                    run.event
                );
            } else if !st.success() {
                tracing::warn!("notify {} `{cmdline}` exited with {st}: {out}", run.event);
            } else if !out.is_empty() {
                tracing::info!("notify {} `{cmdline}`: {out}", run.event);
            }
            true
        }
        Ok(None) => {
            if now >= run.deadline && !run.killed {
                child::kill_group(&run.child);
                let _ = run.child.kill();
                run.killed = true;
            }
            false
        }
        Err(e) => {
            tracing::warn!("notify {} `{cmdline}`: wait failed: {e}", run.event);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::{Duration, Instant};

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("lvsd-notify-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn wait_reaped(n: &mut Notifier) {
        let end = Instant::now() + Duration::from_secs(5);
        while n.reap() > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(n.running(), 0);
    }

    #[test]
    fn args_and_env_are_passed() {
        let dir = tmpdir("args");
        let out = dir.join("out");
        let script = dir.join("n.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$* | $LVSD_EVENT $LVSD_SERVICE $LVSD_REAL\" > {}\n",
                out.display()
            ),
        )
        .unwrap();
        let mut n = Notifier::default();
        let ev = NotifyEvent::RealDown {
            service: "web".into(),
            real: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080),
        };
        assert!(n.notify(&format!("sh {} extra", script.display()), &ev));
        wait_reaped(&mut n);
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            got.trim(),
            "extra down web 127.0.0.1:8080 | down web 127.0.0.1:8080"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn quorum_args_blank_and_missing_commands() {
        let ev = NotifyEvent::QuorumUp {
            service: "s".into(),
        };
        assert_eq!(ev.args(), vec!["quorum_up", "s"]);
        let mut n = Notifier::new(1);
        assert!(!n.notify("   ", &ev));
        assert!(!n.notify("/nonexistent/lvsd-notify", &ev));
        // (`sleep 0.2` alone would fail on the appended event arguments.)
        let dir = tmpdir("slow");
        let script = dir.join("slow.sh");
        std::fs::write(&script, "#!/bin/sh\nsleep 0.2\n").unwrap();
        assert!(n.notify(&format!("sh {}", script.display()), &ev));
        // Bound reached: dropped, not blocked.
        assert!(!n.notify("true", &ev));
        assert_eq!(n.dropped(), 1);
        wait_reaped(&mut n);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
