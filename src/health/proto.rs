//! Protocol logic of the checks, free of sockets: compiling a [`CheckKind`]
//! into a ready-to-run [`Plan`], building requests (HTTP, DNS) and judging
//! replies.
//!
//! Invariants:
//! * All judging functions take arbitrary bytes from the network and never
//!   panic (only checked slicing, no `unwrap`).
//! * A judge returns `None` while more bytes may change the verdict and
//!   `Some(verdict)` once it is final; with `eof == true` it always returns
//!   `Some`.
//! * Regexes/digests are validated and compiled once, in [`compile`].

use crate::health::check::{decode_escapes, CheckKind, HealthError, StatusRange, Target};
use md5::{Digest, Md5};
use regex::bytes::Regex;
use std::fmt::Write as _;

/// Outcome of one probe before it is turned into a `CheckResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok(String),
    /// Success that also sets a weight (exec `dynamic`).
    OkWeight(u32, String),
    Fail(String),
}

/// Largest response kept in memory for a stream check.
pub const MAX_RESPONSE: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct HttpPlan {
    pub request: Vec<u8>,
    pub status: Vec<StatusRange>,
    pub regex: Option<Regex>,
    /// Lower-case hex.
    pub digest: Option<String>,
    /// HEAD: no body follows the headers.
    pub head: bool,
    /// HTTPS: the name presented in the TLS handshake.
    pub tls: Option<rustls::pki_types::ServerName<'static>>,
}

/// A validated, compiled check.
#[derive(Debug, Clone)]
pub enum Plan {
    Tcp,
    Http(HttpPlan),
    SendExpect {
        send: Vec<u8>,
        expect: Option<Regex>,
    },
    Exec {
        command: String,
        args: Vec<String>,
        dynamic: bool,
    },
    Udp {
        payload: Vec<u8>,
        expect: Option<Vec<u8>>,
    },
    Dns {
        qtype: u16,
        name: String,
    },
    None,
}

fn regex(s: &str) -> Result<Regex, HealthError> {
    Regex::new(s).map_err(|e| HealthError::BadRegex(e.to_string()))
}

fn header_safe(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// Validates a target's check and compiles it.
pub fn compile(t: &Target) -> Result<Plan, HealthError> {
    Ok(match &t.kind {
        CheckKind::Tcp => Plan::Tcp,
        CheckKind::None => Plan::None,
        CheckKind::Http {
            method,
            path,
            host,
            status,
            body_regex,
            digest,
            tls,
        } => {
            let method = if method.is_empty() {
                "GET"
            } else {
                method.as_str()
            };
            let path = if path.is_empty() { "/" } else { path.as_str() };
            if !method.bytes().all(|b| b.is_ascii_alphabetic())
                || path.bytes().any(|b| b.is_ascii_whitespace() || b == 0)
            {
                return Err(HealthError::BadHttp(format!("{method} {path}")));
            }
            let host = match host {
                Some(h) if header_safe(h) => h.clone(),
                Some(h) => return Err(HealthError::BadHttp(format!("host {h:?}"))),
                None => format!("{}:{}", t.addr, t.check_port()),
            };
            let digest = match digest {
                Some(d) => {
                    let d = d.trim().to_ascii_lowercase();
                    if d.len() != 32 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(HealthError::BadDigest(d));
                    }
                    Some(d)
                }
                None => None,
            };
            let request = format!(
                "{method} {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: lvsd-health\r\n\
                 Connection: close\r\n\r\n"
            )
            .into_bytes();
            Plan::Http(HttpPlan {
                request,
                status: if status.is_empty() {
                    StatusRange::default_ok()
                } else {
                    status.clone()
                },
                regex: body_regex.as_deref().map(regex).transpose()?,
                digest,
                head: method.eq_ignore_ascii_case("HEAD"),
                tls: tls.then(|| crate::health::tls::server_name(Some(&host), t.addr.into())),
            })
        }
        CheckKind::SendExpect { send, expect } => Plan::SendExpect {
            send: decode_escapes(send),
            expect: if expect.is_empty() {
                None
            } else {
                Some(regex(expect)?)
            },
        },
        CheckKind::Exec {
            command,
            args,
            dynamic,
        } => {
            if command.trim().is_empty() || command.contains('\0') {
                return Err(HealthError::BadExec(format!("command {command:?}")));
            }
            let ip = t.addr.to_string();
            let port = t.check_port().to_string();
            let args = args
                .iter()
                .map(|a| a.replace("%h", &ip).replace("%p", &port))
                .collect();
            Plan::Exec {
                command: command.clone(),
                args,
                dynamic: *dynamic,
            }
        }
        CheckKind::Udp { payload, expect } => Plan::Udp {
            payload: payload.clone(),
            expect: expect.clone(),
        },
        CheckKind::Dns { qtype, name } => {
            let q = dns_qtype(qtype).ok_or_else(|| HealthError::BadDnsType(qtype.clone()))?;
            // Validate the name once.
            dns_query(0, name, q).ok_or_else(|| HealthError::BadDnsName(name.clone()))?;
            Plan::Dns {
                qtype: q,
                name: name.clone(),
            }
        }
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Lower-case hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    let d = Md5::digest(data);
    let mut s = String::with_capacity(32);
    for b in d.iter() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Judges an HTTP response received so far.
pub fn judge_http(p: &HttpPlan, buf: &[u8], eof: bool) -> Option<Verdict> {
    let Some(line_end) = find(buf, b"\n") else {
        return eof.then(|| Verdict::Fail(empty_or("bad HTTP status line", buf)));
    };
    let line = buf.get(..line_end).unwrap_or_default();
    let code = parse_status_line(line);
    let Some(code) = code else {
        return Some(Verdict::Fail("bad HTTP status line".into()));
    };
    if !p.status.iter().any(|r| r.contains(code)) {
        return Some(Verdict::Fail(format!("HTTP {code}")));
    }
    if p.regex.is_none() && p.digest.is_none() {
        return Some(Verdict::Ok(format!("HTTP {code}")));
    }
    let (head_end, sep) = match (find(buf, b"\r\n\r\n"), find(buf, b"\n\n")) {
        (Some(a), Some(b)) if b < a => (b, 2),
        (Some(a), _) => (a, 4),
        (None, Some(b)) => (b, 2),
        (None, None) => {
            return eof.then(|| Verdict::Fail("truncated HTTP headers".into()));
        }
    };
    let headers = buf.get(..head_end).unwrap_or_default();
    let mut body = buf.get(head_end + sep..).unwrap_or_default();
    if p.head {
        body = &[];
    } else {
        match content_length(headers) {
            Some(cl) if body.len() >= cl => body = body.get(..cl).unwrap_or(body),
            Some(_) | None if !eof => return None,
            Some(_) => return Some(Verdict::Fail("truncated HTTP body".into())),
            None => {}
        }
    }
    if let Some(want) = &p.digest {
        let got = md5_hex(body);
        if &got != want {
            return Some(Verdict::Fail(format!("HTTP {code} digest mismatch {got}")));
        }
    }
    if let Some(re) = &p.regex {
        if !re.is_match(body) {
            return Some(Verdict::Fail(format!("HTTP {code} body regex not matched")));
        }
    }
    Some(Verdict::Ok(format!("HTTP {code}")))
}

fn empty_or(msg: &str, buf: &[u8]) -> String {
    if buf.is_empty() {
        "connection closed without response".into()
    } else {
        msg.into()
    }
}

fn parse_status_line(line: &[u8]) -> Option<u16> {
    let s = std::str::from_utf8(line).ok()?;
    let mut it = s.split_ascii_whitespace();
    if !it.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = it.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

fn content_length(headers: &[u8]) -> Option<usize> {
    for line in headers.split(|&b| b == b'\n') {
        let line = std::str::from_utf8(line).ok()?;
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                return v.trim().parse().ok();
            }
        }
    }
    None
}

/// Judges a send/expect exchange received so far.
pub fn judge_expect(expect: Option<&Regex>, buf: &[u8], eof: bool) -> Option<Verdict> {
    match expect {
        None => Some(Verdict::Ok("sent".into())),
        Some(re) if re.is_match(buf) => Some(Verdict::Ok("expect matched".into())),
        Some(_) if eof => Some(Verdict::Fail(empty_or("expect not matched", buf))),
        Some(_) => None,
    }
}

/// Judges one UDP datagram reply.
pub fn judge_udp(expect: Option<&[u8]>, reply: &[u8]) -> Verdict {
    match expect {
        Some(e) if !reply.starts_with(e) => Verdict::Fail("unexpected UDP reply".into()),
        _ => Verdict::Ok(format!("UDP reply {} bytes", reply.len())),
    }
}

/// DNS QTYPE number for a name (keepalived DNS_CHECK set).
pub fn dns_qtype(s: &str) -> Option<u16> {
    Some(match s.to_ascii_uppercase().as_str() {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "SOA" => 6,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        _ => return None,
    })
}

/// Builds a recursive query (`RD=1`, class IN); `None` if `name` is invalid
/// (label longer than 63 or empty inner label, name longer than 253).
pub fn dns_query(id: u16, name: &str, qtype: u16) -> Option<Vec<u8>> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.len() > 253 {
        return None;
    }
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    if !name.is_empty() {
        for label in name.split('.') {
            let len = u8::try_from(label.len())
                .ok()
                .filter(|l| (1..=63).contains(l))?;
            q.push(len);
            q.extend_from_slice(label.as_bytes());
        }
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    Some(q)
}

/// Judges a DNS reply; `None` means "not ours" (bad id/too short/not a
/// response), keep waiting.
pub fn judge_dns(id: u16, reply: &[u8]) -> Option<Verdict> {
    let h = reply.get(..12)?;
    if u16::from_be_bytes([h[0], h[1]]) != id || h[2] & 0x80 == 0 {
        return None;
    }
    let rcode = h[3] & 0x0f;
    let ancount = u16::from_be_bytes([h[6], h[7]]);
    Some(if rcode == 0 {
        Verdict::Ok(format!("DNS NOERROR, {ancount} answers"))
    } else {
        Verdict::Fail(format!("DNS rcode {rcode}"))
    })
}

/// Verdict for an exited child (`code == None`: killed by a signal).
pub fn judge_exit(code: Option<i32>, signal: Option<i32>, dynamic: bool) -> Verdict {
    match code {
        Some(0) => Verdict::Ok("exit 0".into()),
        Some(c @ 2..=255) if dynamic => Verdict::OkWeight((c - 2) as u32, format!("exit {c}")),
        Some(c) => Verdict::Fail(format!("exit {c}")),
        None => Verdict::Fail(format!("killed by signal {}", signal.unwrap_or(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::check::CheckParams;
    use std::net::Ipv4Addr;

    fn http(kind: CheckKind) -> HttpPlan {
        let t = Target {
            id: 1,
            addr: Ipv4Addr::LOCALHOST,
            port: 80,
            kind,
            params: CheckParams::default(),
        };
        match compile(&t) {
            Ok(Plan::Http(p)) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http_status_only_decides_on_first_line() {
        let p = http(CheckKind::http_get("/"));
        assert_eq!(judge_http(&p, b"HTTP/1.1 20", false), None);
        assert_eq!(
            judge_http(&p, b"HTTP/1.1 204 No\r\n", false),
            Some(Verdict::Ok("HTTP 204".into()))
        );
        assert_eq!(
            judge_http(&p, b"HTTP/1.0 500 x\r\n", false),
            Some(Verdict::Fail("HTTP 500".into()))
        );
        assert!(matches!(
            judge_http(&p, b"SSH-2.0\r\n", false),
            Some(Verdict::Fail(_))
        ));
        assert!(matches!(judge_http(&p, b"", true), Some(Verdict::Fail(_))));
        let req = String::from_utf8(p.request).unwrap();
        assert!(
            req.starts_with("GET / HTTP/1.0\r\nHost: 127.0.0.1:80\r\n"),
            "{req}"
        );
    }

    #[test]
    fn http_body_checks() {
        let body = b"hello world";
        let p = http(CheckKind::Http {
            method: "GET".into(),
            path: "/x".into(),
            host: Some("example".into()),
            status: vec![StatusRange::single(200)],
            body_regex: Some("wor+ld".into()),
            digest: Some(md5_hex(body).to_uppercase()),
            tls: false,
        });
        let full = b"HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
        assert_eq!(judge_http(&p, &full[..full.len() - 1], false), None);
        assert_eq!(
            judge_http(&p, full, false),
            Some(Verdict::Ok("HTTP 200".into()))
        );
        let bad = b"HTTP/1.0 200 OK\r\n\r\nhello there";
        assert_eq!(judge_http(&p, bad, false), None);
        assert!(
            matches!(judge_http(&p, bad, true), Some(Verdict::Fail(d)) if d.contains("digest"))
        );
    }

    #[test]
    fn compile_rejects_bad_input() {
        let mk = |kind| Target {
            id: 1,
            addr: Ipv4Addr::LOCALHOST,
            port: 1,
            kind,
            params: CheckParams::default(),
        };
        assert!(compile(&mk(CheckKind::SendExpect {
            send: "".into(),
            expect: "(".into()
        }))
        .is_err());
        assert!(compile(&mk(CheckKind::Dns {
            qtype: "PTR".into(),
            name: ".".into()
        }))
        .is_err());
        let long = "a".repeat(64);
        assert!(compile(&mk(CheckKind::Dns {
            qtype: "A".into(),
            name: long
        }))
        .is_err());
        assert!(compile(&mk(CheckKind::Exec {
            command: " ".into(),
            args: vec![],
            dynamic: false
        }))
        .is_err());
        let mut h = CheckKind::http_get("/");
        if let CheckKind::Http { digest, .. } = &mut h {
            *digest = Some("zz".into());
        }
        assert!(compile(&mk(h)).is_err());
        assert!(compile(&mk(CheckKind::http_get("/a b"))).is_err());
    }

    #[test]
    fn dns_roundtrip() {
        let q = dns_query(0x1234, "example.com.", 1).unwrap();
        assert_eq!(&q[12..25], b"\x07example\x03com\x00");
        assert_eq!(dns_query(1, ".", 6).unwrap().len(), 17);
        let mut r = q.clone();
        r[2] |= 0x80;
        assert!(matches!(judge_dns(0x1234, &r), Some(Verdict::Ok(_))));
        r[3] |= 3;
        assert_eq!(
            judge_dns(0x1234, &r),
            Some(Verdict::Fail("DNS rcode 3".into()))
        );
        assert_eq!(judge_dns(0x1235, &r), None);
        assert_eq!(judge_dns(0x1234, &r[..5]), None);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(
            judge_exit(Some(0), None, true),
            Verdict::Ok("exit 0".into())
        );
        assert_eq!(
            judge_exit(Some(1), None, true),
            Verdict::Fail("exit 1".into())
        );
        assert_eq!(
            judge_exit(Some(7), None, true),
            Verdict::OkWeight(5, "exit 7".into())
        );
        assert_eq!(
            judge_exit(Some(7), None, false),
            Verdict::Fail("exit 7".into())
        );
        assert!(matches!(judge_exit(None, Some(9), false), Verdict::Fail(_)));
    }
}
