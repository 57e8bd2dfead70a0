//! The control socket: a Unix stream socket, mode 0600 (owner only; the
//! kernel refuses other users at connect), polled without blocking from the
//! management loop. One request line per connection, one response line.
use super::proto::{Envelope, Response, VERSION};
use super::runtime::Runtime;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The listening socket; removed on drop.
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlServer {
    /// Bind `path` (creating its directory), mode 0600. A stale socket file
    /// left by a dead lvsd is replaced; a live one is an error.
    pub fn bind(path: &Path) -> anyhow::Result<ControlServer> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                anyhow::bail!(
                    "control.socket {}: another lvsd is listening there",
                    path.display()
                );
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        Ok(ControlServer {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// Serve the pending connections, at most 16 per call; `true` when
    /// more may be waiting (the caller then polls again without sleeping:
    /// readiness is edge-triggered).
    pub fn poll(&self, rt: &mut Runtime) -> bool {
        for _ in 0..16 {
            match self.listener.accept() {
                Ok((stream, _)) => serve(stream, rt),
                Err(_) => return false,
            }
        }
        true
    }

    /// The listening socket, for the management loop's wait.
    pub fn fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.listener)
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(stream: UnixStream, rt: &mut Runtime) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    let mut reader = BufReader::new(&stream).take(16 << 20);
    let resp = match reader.read_line(&mut line) {
        Ok(0) | Err(_) => return,
        Ok(_) => match serde_json::from_str::<Envelope>(&line) {
            Ok(env) if env.version != VERSION => Response::err(format!(
                "version: this lvsd speaks protocol version {VERSION}, the request has {}",
                env.version
            )),
            Ok(env) => rt.handle(env.request),
            Err(e) => Response::err(format!("malformed request: {e}")),
        },
    };
    let mut out = serde_json::to_string(&resp)
        .unwrap_or_else(|_| r#"{"ok":false,"error":"encoding"}"#.into());
    out.push('\n');
    let mut s = &stream;
    let _ = s.write_all(out.as_bytes());
}

/// Client side: send one request, read the response.
pub fn request(path: &Path, env: &Envelope) -> anyhow::Result<Response> {
    let mut s = UnixStream::connect(path)
        .map_err(|e| anyhow::anyhow!("cannot connect to lvsd at {}: {e}", path.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut line = serde_json::to_string(env)?;
    line.push('\n');
    s.write_all(line.as_bytes())?;
    let mut resp = String::new();
    BufReader::new(&s).read_line(&mut resp)?;
    Ok(serde_json::from_str(&resp)?)
}
