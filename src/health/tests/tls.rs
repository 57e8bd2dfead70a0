//! The `https` check against real TLS servers on 127.0.0.1 only: Python's
//! `http.server` over its `ssl` module (OpenSSL; TLS 1.3 only, EC
//! certificate, real 404s, closes without close_notify) and
//! `openssl s_server -WWW` (TLS 1.2 only, RSA certificate), both
//! self-signed.
//!
//! Invariants: each server is a child process killed by PID when its guard
//! drops; its temporary directory is removed; every wait is bounded.

use super::net::{closed_port, detail, params, run_for, target, tcp_server, up};
use crate::health::check::{CheckKind, CheckParams, StatusRange};
use crate::health::engine::HealthEngine;
use crate::health::state::Event;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A TLS web server serving files from its own directory.
struct TlsServer {
    port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl TlsServer {
    /// `newkey`: `openssl req -newkey` arguments; `server`: the command,
    /// run in the directory, `{port}` replaced.
    fn start(tag: &str, newkey: &[&str], server: &[&str]) -> TlsServer {
        let dir = std::env::temp_dir().join(format!("lvsd-tls-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=real"])
            .args(newkey)
            .args(["-keyout", "key.pem", "-out", "cert.pem"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl is installed (deploy/setup.sh)");
        assert!(st.success(), "openssl req failed");
        std::fs::write(dir.join("health"), "ok from lvsd's tls real\n").unwrap();
        let port = closed_port();
        let args: Vec<String> = server
            .iter()
            .map(|a| a.replace("{port}", &port.to_string()))
            .collect();
        let child = Command::new(&args[0])
            .args(&args[1..])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let srv = TlsServer {
            port,
            child: Some(child),
            dir,
        };
        let end = Instant::now() + Duration::from_secs(10);
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        while TcpStream::connect_timeout(&addr.into(), Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < end, "s_server did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        srv
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// HTTP/1.0 file server over TLS 1.3 on 127.0.0.1:argv[1].
const PY_SERVER: &str = "
import http.server, ssl, sys
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain('cert.pem', 'key.pem')
srv = http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
srv.serve_forever()
";

fn https(path: &str, status: u16, body_regex: Option<&str>, tls: bool) -> CheckKind {
    CheckKind::Http {
        method: "GET".into(),
        path: path.into(),
        host: Some("real.example".into()),
        status: vec![StatusRange::single(status)],
        body_regex: body_regex.map(str::to_string),
        digest: None,
        tls,
    }
}

fn alpha(p: CheckParams) -> CheckParams {
    CheckParams { alpha: true, ..p }
}

#[test]
fn https_check_over_tls13_and_tls12() {
    let mut v13 = TlsServer::start(
        "13",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        &["python3", "-c", PY_SERVER, "{port}"],
    );
    let v12 = TlsServer::start(
        "12",
        &["-newkey", "rsa:2048"],
        &[
            "openssl",
            "s_server",
            "-accept",
            "127.0.0.1:{port}",
            "-cert",
            "cert.pem",
            "-key",
            "key.pem",
            "-WWW",
            "-quiet",
            "-tls1_2",
        ],
    );
    // A plain-HTTP real that answers 200 to anything.
    let plain = tcp_server(|mut s| {
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    let mut eng = HealthEngine::new().unwrap();
    let p = params(100, 1, 1);
    // Expected up (1, 5): start down so that only a real success brings
    // them up. Expected down (2, 3, 4, 6): start up so that only a real
    // failure takes them down.
    let targets = [
        (
            1,
            v13.port,
            https("/health", 200, Some("tls real"), true),
            alpha(p.clone()),
        ),
        (
            5,
            v12.port,
            https("/health", 200, Some("^ok from"), true),
            alpha(p.clone()),
        ),
        (2, v13.port, https("/missing", 200, None, true), p.clone()),
        (3, v13.port, https("/health", 200, None, false), p.clone()),
        (4, plain.port, https("/", 200, None, true), p.clone()),
        (
            6,
            v12.port,
            https("/health", 200, Some("^absent"), true),
            p.clone(),
        ),
    ];
    for (id, port, kind, params) in targets {
        eng.add_target(target(id, port, kind, params)).unwrap();
    }
    let evs = run_for(&mut eng, Duration::from_millis(1500));
    let st: Vec<bool> = (1..=6).map(|i| up(&eng, i)).collect();
    assert_eq!(
        st,
        vec![true, false, false, false, true, false],
        "{evs:?} {:?}",
        eng.status()
    );
    assert_eq!(detail(&eng, 1), "HTTP 200");
    assert_eq!(detail(&eng, 5), "HTTP 200");
    assert_eq!(detail(&eng, 2), "HTTP 404");
    assert!(detail(&eng, 4).starts_with("tls:"), "{}", detail(&eng, 4));
    assert!(detail(&eng, 6).contains("regex"), "{}", detail(&eng, 6));
    assert!(
        evs.contains(&Event::Up(1)) && evs.contains(&Event::Up(5)),
        "{evs:?}"
    );
    // The plain check of a TLS port and the https check of a plain port
    // fail; the https check of plain HTTP never reads its "200".
    assert!(!detail(&eng, 3).contains("200"), "{}", detail(&eng, 3));
    // The TLS service dies: its https check goes down.
    v13.stop();
    let evs = run_for(&mut eng, Duration::from_millis(600));
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Down(1, d) if d.contains("refused"))),
        "{evs:?}"
    );
    assert!(up(&eng, 5));
}
