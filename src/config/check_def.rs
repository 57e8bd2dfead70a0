//! Health-check definitions: what to probe on a real server, how often and
//! what to do when it fails. Plain data shared by the configuration (which
//! validates them) and `health` (which runs them); see ARCHITECTURE.md.
//!
//! Invariants:
//! * Every type here is plain data (`Clone + PartialEq`), so the engine can
//!   tell whether a replaced target's check is "unchanged" by comparing it.
//! * [`CheckParams::sanitized`] clamps every duration/threshold into a range
//!   that cannot overflow `Instant` arithmetic or busy-loop the engine.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::raw::RawCheck;

/// Inclusive HTTP status-code range (`200` is `200..=200`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusRange {
    pub lo: u16,
    pub hi: u16,
}

impl StatusRange {
    pub fn single(code: u16) -> Self {
        StatusRange { lo: code, hi: code }
    }
    pub fn new(lo: u16, hi: u16) -> Self {
        StatusRange {
            lo: lo.min(hi),
            hi: lo.max(hi),
        }
    }
    pub fn contains(&self, code: u16) -> bool {
        (self.lo..=self.hi).contains(&code)
    }
    /// Parses `"200"` or `"200-299"` (keepalived `status_code`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        match s.split_once('-') {
            Some((a, b)) => Some(Self::new(a.trim().parse().ok()?, b.trim().parse().ok()?)),
            None => Some(Self::single(s.parse().ok()?)),
        }
    }
    /// keepalived's default when no `status_code` is given.
    pub fn default_ok() -> Vec<StatusRange> {
        vec![StatusRange::new(200, 299)]
    }
}

/// What a check does. `None` means "no checker": the real is always up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// Success = TCP connect within the timeout (keepalived TCP_CHECK).
    Tcp,
    /// HTTP/1.0 request; success = status in `status` (empty ⇒ 200-299),
    /// body matches `body_regex` (if any) and its MD5 equals `digest` (if any).
    Http {
        method: String,
        path: String,
        /// `Host:` header; default `addr:port` of the probed socket.
        host: Option<String>,
        status: Vec<StatusRange>,
        body_regex: Option<String>,
        /// Lower/upper-case hex MD5 of the body (keepalived `digest`).
        digest: Option<String>,
        /// HTTPS (keepalived SSL_GET): the request goes over TLS; the
        /// certificate is not verified (see [`crate::health::tls`]).
        tls: bool,
    },
    /// Piranha nanny / ldirectord `negotiate`: send `send` (escapes
    /// `\r \n \t \\ \0 \xHH` decoded; empty ⇒ nothing sent), then success
    /// once the received bytes match regex `expect` (empty ⇒ success after
    /// the send).
    SendExpect { send: String, expect: String },
    /// Child process (keepalived MISC_CHECK / ldirectord checkcommand).
    /// In `args`, `%h` is replaced by the real's IP and `%p` by the checked
    /// port; env `LVSD_REAL_ADDR`, `LVSD_REAL_PORT`, `LVSD_REAL` (`ip:port`)
    /// are set. Exit 0 = up, else down; with `dynamic`, 2..=255 = up with
    /// weight `status - 2` (misc_dynamic).
    Exec {
        command: String,
        args: Vec<String>,
        dynamic: bool,
    },
    /// Connected UDP socket sends `payload`. With `expect`, success needs a
    /// reply starting with those bytes; without it, success = no ICMP error
    /// (ECONNREFUSED) within the timeout (keepalived UDP_CHECK).
    Udp {
        payload: Vec<u8>,
        expect: Option<Vec<u8>>,
    },
    /// DNS query over UDP; success = reply with our id, QR set and RCODE 0.
    /// `qtype`: A NS CNAME SOA MX TXT AAAA; `name` "." = root.
    Dns { qtype: String, name: String },
    /// No checker: always up, never probed.
    None,
}

impl CheckKind {
    /// Short label for logs.
    pub fn label(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "tcp",
            CheckKind::Http { tls: false, .. } => "http",
            CheckKind::Http { tls: true, .. } => "https",
            CheckKind::SendExpect { .. } => "send-expect",
            CheckKind::Exec { .. } => "exec",
            CheckKind::Udp { .. } => "udp",
            CheckKind::Dns { .. } => "dns",
            CheckKind::None => "none",
        }
    }

    /// Convenience: a plain `GET <path>` expecting 2xx.
    pub fn http_get(path: &str) -> Self {
        CheckKind::Http {
            method: "GET".into(),
            path: path.into(),
            host: None,
            status: Vec::new(),
            body_regex: None,
            digest: None,
            tls: false,
        }
    }
}

/// Timing and addressing parameters of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckParams {
    /// Time between the starts of consecutive checks (keepalived delay_loop).
    pub interval: Duration,
    /// Deadline for one check (connect + exchange, or child run time).
    pub timeout: Duration,
    /// Consecutive successes needed to go up.
    pub rise: u32,
    /// Consecutive failures needed to go down.
    pub fall: u32,
    /// First check is delayed by a random amount in `[0, warmup]`.
    pub warmup: Duration,
    /// Start down (until `rise` successes) instead of up.
    pub alpha: bool,
    pub bind_addr: Option<Ipv4Addr>,
    pub bind_port: Option<u16>,
    /// Port to probe; default: the real's port.
    pub connect_port: Option<u16>,
}

impl Default for CheckParams {
    fn default() -> Self {
        CheckParams {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            rise: 1,
            fall: 1,
            warmup: Duration::ZERO,
            alpha: false,
            bind_addr: None,
            bind_port: None,
            connect_port: None,
        }
    }
}

/// Smallest interval/timeout the engine honours (avoids busy loops).
pub const MIN_PERIOD: Duration = Duration::from_millis(1);
/// Largest interval/timeout/warmup honoured (keeps `Instant` math safe).
pub const MAX_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);

impl CheckParams {
    /// Copy with durations clamped to `[MIN_PERIOD, MAX_PERIOD]` (warmup to
    /// `[0, MAX_PERIOD]`) and rise/fall at least 1.
    pub fn sanitized(&self) -> CheckParams {
        CheckParams {
            interval: self.interval.clamp(MIN_PERIOD, MAX_PERIOD),
            timeout: self.timeout.clamp(MIN_PERIOD, MAX_PERIOD),
            rise: self.rise.max(1),
            fall: self.fall.max(1),
            warmup: self.warmup.min(MAX_PERIOD),
            ..self.clone()
        }
    }
}

/// What happens to a real whose check fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// keepalived `inhibit_on_failure` / ldirectord `quiescent=yes`.
    #[default]
    Inhibit,
    /// Delete the destination (its connections are expired).
    Remove,
}

/// A validated check of one real (the service's table overridden by the
/// real's, field by field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub kind: CheckKind,
    pub params: CheckParams,
    pub on_failure: OnFailure,
    /// Commands run on transitions (no shell; event arguments appended).
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    /// The raw table, kept so the running configuration can be written back.
    pub raw: RawCheck,
}

/// The sorry server of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sorry {
    pub address: IpAddr,
    pub port: u16,
}

/// Decodes `\r \n \t \\ \0 \xHH` escapes (Piranha `send`); any other
/// backslash sequence is kept literally.
pub fn decode_escapes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'\\' || i + 1 >= b.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = b[i + 1];
        let simple = match n {
            b'r' => Some(b'\r'),
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'\\' => Some(b'\\'),
            b'0' => Some(0),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            i += 2;
            continue;
        }
        if n == b'x' {
            let hex = b
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            decode_escapes(r"GET / HTTP/1.0\r\n\r\n"),
            b"GET / HTTP/1.0\r\n\r\n"
        );
        assert_eq!(decode_escapes(r"a\tb\\c\x41\0"), b"a\tb\\cA\0");
        assert_eq!(decode_escapes(r"\q\x4"), b"\\q\\x4");
        assert_eq!(decode_escapes("\\"), b"\\");
        assert_eq!(decode_escapes(""), b"");
    }

    #[test]
    fn status_ranges() {
        assert_eq!(StatusRange::parse("200"), Some(StatusRange::single(200)));
        assert_eq!(
            StatusRange::parse(" 301 - 300"),
            Some(StatusRange::new(300, 301))
        );
        assert_eq!(StatusRange::parse("x"), None);
        assert!(StatusRange::new(200, 299).contains(204));
        assert!(!StatusRange::new(200, 299).contains(300));
    }

    #[test]
    fn sanitize_clamps() {
        let p = CheckParams {
            interval: Duration::ZERO,
            timeout: Duration::MAX,
            rise: 0,
            fall: 0,
            warmup: Duration::MAX,
            ..Default::default()
        }
        .sanitized();
        assert_eq!(p.interval, MIN_PERIOD);
        assert_eq!(p.timeout, MAX_PERIOD);
        assert_eq!((p.rise, p.fall), (1, 1));
        assert_eq!(p.warmup, MAX_PERIOD);
    }
}
