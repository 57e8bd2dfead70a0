//! Notify commands (`notify_up`, `notify_down`, `quorum_up`, `quorum_down`).
//!
//! Invariants:
//! * No shell: the command string is split on ASCII whitespace; the event's
//!   arguments are appended: `up|down <service> <real ip:port>` or
//!   `quorum_up|quorum_down <service>`. Env `LVSD_EVENT`, `LVSD_SERVICE`
//!   and (for real events) `LVSD_REAL` are set.
//! * Never blocks: children are spawned and reaped later by [`Notifier::reap`]
//!   (or on the next `notify`); at most `max_running` run at once, further
//!   notifications are dropped with a warning rather than queued forever.
//! * stdin/stdout/stderr are /dev/null.

use std::net::SocketAddrV4;
use std::process::{Child, Command, Stdio};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyEvent {
    RealUp { service: String, real: SocketAddrV4 },
    RealDown { service: String, real: SocketAddrV4 },
    QuorumUp { service: String },
    QuorumDown { service: String },
}

impl NotifyEvent {
    pub fn name(&self) -> &'static str {
        match self {
            NotifyEvent::RealUp { .. } => "up",
            NotifyEvent::RealDown { .. } => "down",
            NotifyEvent::QuorumUp { .. } => "quorum_up",
            NotifyEvent::QuorumDown { .. } => "quorum_down",
        }
    }

    fn service(&self) -> &str {
        match self {
            NotifyEvent::RealUp { service, .. }
            | NotifyEvent::RealDown { service, .. }
            | NotifyEvent::QuorumUp { service }
            | NotifyEvent::QuorumDown { service } => service,
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
        let mut v = vec![self.name().to_string(), self.service().to_string()];
        if let Some(r) = self.real() {
            v.push(r.to_string());
        }
        v
    }
}

/// Builds the `Command` for `cmdline` and `ev`; `None` if `cmdline` is blank.
pub fn build_command(cmdline: &str, ev: &NotifyEvent) -> Option<Command> {
    let mut parts = cmdline.split_ascii_whitespace();
    let prog = parts.next()?;
    let mut c = Command::new(prog);
    c.args(parts)
        .args(ev.args())
        .env("LVSD_EVENT", ev.name())
        .env("LVSD_SERVICE", ev.service())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(r) = ev.real() {
        c.env("LVSD_REAL", r.to_string());
    }
    Some(c)
}

/// Runs notify commands without blocking.
#[derive(Debug)]
pub struct Notifier {
    children: Vec<Child>,
    max_running: usize,
    dropped: u64,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier::new(64)
    }
}

impl Notifier {
    pub fn new(max_running: usize) -> Self {
        Notifier {
            children: Vec::new(),
            max_running: max_running.max(1),
            dropped: 0,
        }
    }

    /// Spawns `cmdline` for `ev`. Returns whether a child was started.
    pub fn notify(&mut self, cmdline: &str, ev: &NotifyEvent) -> bool {
        self.reap();
        if self.children.len() >= self.max_running {
            self.dropped += 1;
            tracing::warn!(
                "notify {}: too many running notify commands, dropped",
                ev.name()
            );
            return false;
        }
        let Some(mut cmd) = build_command(cmdline, ev) else {
            return false;
        };
        match cmd.spawn() {
            Ok(c) => {
                self.children.push(c);
                true
            }
            Err(e) => {
                tracing::warn!("notify {} `{cmdline}` failed to start: {e}", ev.name());
                false
            }
        }
    }

    /// Reaps finished children; returns how many are still running.
    pub fn reap(&mut self) -> usize {
        self.children.retain_mut(|c| match c.try_wait() {
            Ok(Some(st)) => {
                if !st.success() {
                    tracing::debug!("notify command exited with {st}");
                }
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
        self.children.len()
    }

    pub fn running(&self) -> usize {
        self.children.len()
    }

    /// Notifications dropped because too many were running.
    pub fn dropped(&self) -> u64 {
        self.dropped
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
