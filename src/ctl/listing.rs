//! The connection listing (`lvsadm -Lnc`, the SIGUSR1 dump): worker
//! records → control-protocol rows → ipvsadm's format.
use super::proto::ConnData;
use crate::conn::record_state_name;
use crate::ipvsadm::{self, format};
use crate::types::ConnRecord;
use std::net::SocketAddrV4;

/// A worker's record as the control protocol's `connections` answer
/// carries it (protocol and state as ipvsadm names them).
pub fn conn_data(r: &ConnRecord) -> ConnData {
    ConnData {
        protocol: format::proto_number_name(r.proto).into(),
        state: record_state_name(r).to_string(),
        expires_ms: r.expires_ms,
        client: SocketAddrV4::new(r.caddr, r.cport),
        vip: SocketAddrV4::new(r.vaddr, r.vport),
        real: SocketAddrV4::new(r.raddr, r.rport),
    }
}

/// A control-protocol row as ipvsadm's listing model.
pub fn conn_info(c: &ConnData) -> ipvsadm::ConnInfo {
    ipvsadm::ConnInfo {
        proto: format::proto_from_name(&c.protocol),
        state: c.state.clone(),
        expires_secs: c.expires_ms / 1000,
        caddr: *c.client.ip(),
        cport: c.client.port(),
        vaddr: *c.vip.ip(),
        vport: c.vip.port(),
        raddr: *c.real.ip(),
        rport: c.real.port(),
    }
}

/// `ipvsadm -Lnc`: header and one row per entry,
/// `"%-3s %-6s %-11s %-18s %-18s %s"` with expiry as `MM:SS`.
pub fn connections(rows: &[ConnRecord]) -> String {
    let infos: Vec<ipvsadm::ConnInfo> = rows.iter().map(|r| conn_info(&conn_data(r))).collect();
    format::connections(&infos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn lnc_format() {
        let rows = [ConnRecord {
            proto: 6,
            state: crate::conn::TcpState::Established as u8,
            template: false,
            active: true,
            expires_ms: 899_000,
            caddr: Ipv4Addr::new(198, 18, 0, 2),
            cport: 40000,
            vaddr: Ipv4Addr::new(198, 18, 0, 100),
            vport: 80,
            raddr: Ipv4Addr::new(198, 18, 1, 11),
            rport: 8080,
        }];
        assert_eq!(
            connections(&rows),
            "IPVS connection entries\n\
             pro expire state       source             virtual            destination\n\
             TCP 14:59  ESTABLISHED 198.18.0.2:40000   198.18.0.100:80    198.18.1.11:8080\n"
        );
    }
}
