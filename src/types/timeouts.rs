//! IPVS connection timeouts (`ipvsadm --set tcp tcpfin udp`, `[timeouts]`).
use std::time::Duration;

/// The three runtime-settable IPVS timeouts. Whole seconds in practice (the
/// connection table keeps seconds; see [`Timeouts::secs`]); a zero field in
/// a `--set` means "leave unchanged".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timeouts {
    /// ESTABLISHED.
    pub tcp: Duration,
    /// FIN_WAIT.
    pub tcp_fin: Duration,
    /// UDP.
    pub udp: Duration,
}

impl Timeouts {
    /// From whole seconds `(tcp, tcp_fin, udp)`.
    pub const fn from_secs(tcp: u32, tcp_fin: u32, udp: u32) -> Timeouts {
        Timeouts {
            tcp: Duration::from_secs(tcp as u64),
            tcp_fin: Duration::from_secs(tcp_fin as u64),
            udp: Duration::from_secs(udp as u64),
        }
    }

    /// Whole seconds `(tcp, tcp_fin, udp)`, saturating at `u32::MAX`.
    pub fn secs(&self) -> (u32, u32, u32) {
        let s = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
        (s(self.tcp), s(self.tcp_fin), s(self.udp))
    }
}

impl Default for Timeouts {
    /// The IPVS defaults: 900 s, 120 s, 300 s.
    fn default() -> Self {
        Timeouts::from_secs(900, 120, 300)
    }
}
