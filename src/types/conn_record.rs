//! One connection-table entry as the workers report it.
use std::net::Ipv4Addr;

/// One connection (or persistence template) as a worker reports it: the
/// rows of a listing (`lvsadm -Lnc`, the SIGUSR1 dump) and the records
/// synced to the HA peer. Addresses are IPv4 like the per-packet connection
/// key they are read from (`conn::ConnKey`); an IPv6 table widens both.
///
/// The HA wire record (`ha::msg::SyncRecord`) encodes this with the extra
/// fields its 30-byte format defines (op, IPVS flag word, fwd byte); the
/// ipvsadm listing model (`ipvsadm::ConnInfo`) is what ipvsadm prints for
/// any IPVS table, decoded from the control protocol's text fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnRecord {
    /// IP protocol number (6, 17; 0 = `IPPROTO_IP` for a fwmark template).
    pub proto: u8,
    /// IPVS state number: a TCP state, 0 for UDP, the `CTPL_S_*` bits of a
    /// template.
    pub state: u8,
    /// A persistence template, not a connection.
    pub template: bool,
    /// Counted active (IPVS `!IP_VS_CONN_F_INACTIVE`).
    pub active: bool,
    pub caddr: Ipv4Addr,
    pub cport: u16,
    pub vaddr: Ipv4Addr,
    pub vport: u16,
    pub raddr: Ipv4Addr,
    pub rport: u16,
    /// Remaining lifetime, milliseconds.
    pub expires_ms: u64,
}
