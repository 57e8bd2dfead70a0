//! TLS for the `https` check (rustls, ring provider): one shared client
//! configuration and a pump that drives a [`ClientConnection`] over a
//! non-blocking socket.
//!
//! Invariants:
//! * The server's certificate chain is **not** verified against any trust
//!   anchor, name or date — as keepalived's `SSL_GET` and ldirectord's
//!   `https` check: a health check asks "does the service answer", and a
//!   real server behind a director commonly carries the virtual service's
//!   name or a self-signed certificate. The handshake signatures are still
//!   verified with the certificate's key, so a peer that is not a TLS
//!   server fails the check.
//! * SNI is sent when the check's `host` is a DNS name (no SNI for an IP
//!   address, per RFC 6066).
//! * The pump runs every socket operation until `WouldBlock` (mio is
//!   edge-triggered) and never blocks; every failure is a short message.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use std::io::{ErrorKind, Read, Write};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

/// Accepts any certificate; verifies the handshake signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl AnyCertificate {
    fn algs(&self) -> &WebPkiSupportedAlgorithms {
        &self.0.signature_verification_algorithms
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, self.algs())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, self.algs())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs().supported_schemes()
    }
}

/// The shared client configuration (built once; `None` only if the
/// provider rejects its own defaults, which would be a rustls bug).
fn config() -> Option<Arc<ClientConfig>> {
    static CONFIG: OnceLock<Option<Arc<ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let cfg = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .ok()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            Some(Arc::new(cfg))
        })
        .clone()
}

/// The name to present: `host` without a `:port` suffix when it is a DNS
/// name or an address, else the real's address.
pub fn server_name(host: Option<&str>, addr: IpAddr) -> ServerName<'static> {
    let name = host.map(|h| match h.rsplit_once(':') {
        Some((n, p)) if !n.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => h,
    });
    name.and_then(|n| ServerName::try_from(n.to_string()).ok())
        .unwrap_or(ServerName::IpAddress(addr.into()))
}

/// A client TLS session over a caller-owned non-blocking socket.
pub struct TlsSession {
    conn: ClientConnection,
    /// The peer closed the TCP stream (or sent close_notify).
    eof: bool,
}

impl TlsSession {
    /// A new session that sends `request` once the handshake completes.
    pub fn new(name: ServerName<'static>, request: &[u8]) -> Result<TlsSession, String> {
        let cfg = config().ok_or("tls: no usable configuration")?;
        let mut conn = ClientConnection::new(cfg, name).map_err(|e| format!("tls: {e}"))?;
        conn.writer()
            .write_all(request)
            .map_err(|e| format!("tls: {e}"))?;
        Ok(TlsSession { conn, eof: false })
    }

    pub fn handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Moves bytes both ways until the socket would block, appending the
    /// decrypted reply to `plain` (at most `limit` bytes in total).
    /// Returns whether the peer has finished (EOF or close_notify).
    pub fn pump<S: Read + Write>(
        &mut self,
        sock: &mut S,
        plain: &mut Vec<u8>,
        limit: usize,
    ) -> Result<bool, String> {
        loop {
            while self.conn.wants_write() {
                match self.conn.write_tls(sock) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(crate::health::probe::describe("write", &e)),
                }
            }
            if self.eof {
                return Ok(true);
            }
            match self.conn.read_tls(sock) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(crate::health::probe::describe("read", &e)),
            }
            let state = self
                .conn
                .process_new_packets()
                .map_err(|e| format!("tls: {e}"))?;
            if state.peer_has_closed() {
                self.eof = true;
            }
            let mut chunk = [0u8; 16 * 1024];
            loop {
                match self.conn.reader().read(&mut chunk) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => {
                        plain.extend_from_slice(chunk.get(..n).unwrap_or_default());
                        if plain.len() > limit {
                            return Err("response too large".into());
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    // TCP closed without close_notify: what many HTTP/1.0
                    // servers do; the reply so far is judged as complete.
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                        self.eof = true;
                        break;
                    }
                    Err(e) => return Err(format!("tls: {e}")),
                }
            }
        }
    }
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("handshaking", &self.conn.is_handshaking())
            .field("eof", &self.eof)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::net::Ipv4Addr;

    #[test]
    fn server_name_from_host_header() {
        let a = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1));
        let dns = |s: &str| ServerName::try_from(s.to_string()).unwrap();
        assert_eq!(
            server_name(Some("www.example.com"), a),
            dns("www.example.com")
        );
        assert_eq!(
            server_name(Some("www.example.com:8443"), a),
            dns("www.example.com")
        );
        assert_eq!(server_name(None, a), ServerName::IpAddress(a.into()));
        assert_eq!(
            server_name(Some("198.18.1.2:443"), a),
            ServerName::IpAddress(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 2)).into())
        );
        // Not a name: fall back to the real's address.
        assert_eq!(
            server_name(Some("bad name!"), a),
            ServerName::IpAddress(a.into())
        );
    }

    #[test]
    fn config_builds() {
        assert!(config().is_some());
        assert!(TlsSession::new(ServerName::try_from("real").unwrap(), b"GET /").is_ok());
    }

    /// Garbage from a non-TLS peer fails with a TLS error, never panics.
    #[test]
    fn garbage_peer_is_a_tls_error() {
        struct Peer(io::Cursor<Vec<u8>>);
        impl Read for Peer {
            fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
                self.0.read(b)
            }
        }
        impl Write for Peer {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut s = TlsSession::new(ServerName::try_from("real").unwrap(), b"GET /").unwrap();
        let mut peer = Peer(io::Cursor::new(b"HTTP/1.0 200 OK\r\n\r\nplain".to_vec()));
        let mut out = Vec::new();
        let r = s.pump(&mut peer, &mut out, 1 << 20);
        assert!(matches!(r, Err(ref e) if e.starts_with("tls:")), "{r:?}");
        assert!(out.is_empty());
    }
}
