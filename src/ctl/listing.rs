//! Text listings in ipvsadm's formats (reference §7).
use crate::conn::record_state_name;
use crate::types::ConnRecord;
use std::fmt::Write;

/// Protocol name as ipvsadm prints it (`TCP`, `UDP`, …).
pub fn proto_name(p: u8) -> &'static str {
    match p {
        6 => "TCP",
        17 => "UDP",
        132 => "SCTP",
        0 => "IP",
        _ => "???",
    }
}

/// `ipvsadm -Lnc`: header and one row per entry,
/// `"%-3s %-6s %-11s %-18s %-18s %s"` with expiry as `MM:SS`.
pub fn connections(rows: &[ConnRecord]) -> String {
    let mut s = String::from("IPVS connection entries\npro expire state       source             virtual            destination\n");
    for r in rows {
        let secs = r.expires_ms / 1000;
        let expire = format!("{:02}:{:02}", secs / 60, secs % 60);
        let (src, vip, dst) = (
            format!("{}:{}", r.caddr, r.cport),
            format!("{}:{}", r.vaddr, r.vport),
            format!("{}:{}", r.raddr, r.rport),
        );
        let _ = writeln!(
            s,
            "{:<3} {:<6} {:<11} {src:<18} {vip:<18} {dst}",
            proto_name(r.proto),
            expire,
            record_state_name(r)
        );
    }
    s
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
