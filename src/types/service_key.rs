//! The identity of an address-based virtual service.
use super::Protocol;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// A virtual service by its address: protocol, virtual IP and port (0 =
/// all ports, with persistence). The address may be IPv4 or IPv6; the
/// datapath's per-packet lookup keys stay IPv4 until it forwards IPv6.
/// On the control protocol: `{"protocol":"tcp","vip":"198.18.0.100","port":80}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceKey {
    pub protocol: Protocol,
    pub vip: IpAddr,
    pub port: u16,
}

impl fmt::Display for ServiceKey {
    /// `tcp 198.18.0.100:80` (`tcp [2001:db8::1]:80` for IPv6).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.vip {
            IpAddr::V4(a) => write!(f, "{} {a}:{}", self.protocol, self.port),
            IpAddr::V6(a) => write!(f, "{} [{a}]:{}", self.protocol, self.port),
        }
    }
}
