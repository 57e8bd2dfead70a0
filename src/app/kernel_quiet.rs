//! The kernel ignores what arrives on the interfaces lvsd owns. A
//! `net_af_packet` port reads a kernel interface with a packet socket, and
//! the kernel still receives every frame itself: it would answer a ping to
//! the director's address a second time (weak host model: the address sits
//! on the port's kernel interface) and see TCP to it twice. lvsd installs
//! an nftables `netdev` ingress chain with policy drop on each such
//! interface at start and removes it at stop; packet sockets see frames
//! before the ingress hook, so lvsd still receives them. `net_af_xdp` needs
//! nothing: its XDP program hands the queue's frames to lvsd alone.
use crate::config::{Device, Model};
use std::io::Write;
use std::process::{Command, Stdio};

/// The installed table, deleted on drop.
pub(super) struct KernelQuiet {
    table: String,
}

/// The interface a `net_af_packet` vdev reads (`iface=`), if `dev` is one.
pub(super) fn af_packet_iface(dev: &Device) -> Option<&str> {
    if !dev.vdev_name()?.starts_with("net_af_packet") {
        return None;
    }
    super::carrier::iface_of(dev)
}

/// An nftables identifier from the EAL file prefix (letters, digits, `_`).
fn table_name(prefix: &str) -> String {
    let clean: String = prefix
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("lvsd_{clean}")
}

/// The nft script: (re)create the table with one drop chain per interface.
fn script(table: &str, ifaces: &[&str]) -> String {
    let mut s =
        format!("add table netdev {table}\ndelete table netdev {table}\ntable netdev {table} {{\n");
    for (i, iface) in ifaces.iter().enumerate() {
        s += &format!(
            "  chain in{i} {{ type filter hook ingress device \"{iface}\" priority -500; policy drop; }}\n"
        );
    }
    s + "}\n"
}

fn nft(input: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("nft: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl KernelQuiet {
    /// Quiet the kernel on every `net_af_packet` port of `m`. Failing to
    /// (no `nft`, no nftables in the kernel) is a warning: lvsd forwards
    /// all the same, and the kernel answers its own address twice.
    pub(super) fn install(m: &Model) -> Option<KernelQuiet> {
        let ifaces: Vec<&str> = m
            .ports
            .iter()
            .filter_map(|p| af_packet_iface(&p.device))
            .collect();
        if ifaces.is_empty() {
            return None;
        }
        let table = table_name(&m.dpdk.file_prefix);
        match nft(&script(&table, &ifaces)) {
            Ok(()) => {
                tracing::info!(?ifaces, table = %table, "kernel input dropped on af_packet ports (nftables netdev ingress)");
                Some(KernelQuiet { table })
            }
            Err(e) => {
                tracing::warn!(?ifaces, "the kernel also receives the af_packet ports' frames (it may answer twice): {e}");
                None
            }
        }
    }
}

impl Drop for KernelQuiet {
    fn drop(&mut self) {
        if let Err(e) = nft(&format!("delete table netdev {}\n", self.table)) {
            tracing::warn!(table = %self.table, "removing the kernel input drop: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn af_packet_ports_name_their_interface() {
        let d = |s: &str| Device::Vdev(s.to_string());
        assert_eq!(
            af_packet_iface(&d("net_af_packet0,iface=lv-ext")),
            Some("lv-ext")
        );
        assert_eq!(
            af_packet_iface(&d("net_af_packet1,qpairs=2,iface=eth1")),
            Some("eth1")
        );
        assert_eq!(af_packet_iface(&d("net_af_xdp0,iface=lv-ext")), None);
        assert_eq!(af_packet_iface(&Device::Pci("0000:01:00.0".into())), None);
    }

    #[test]
    fn the_script_recreates_one_table_with_a_drop_chain_per_interface() {
        let s = script(&table_name("lt6b-34g0"), &["lv-ext", "lv-int"]);
        assert!(
            s.starts_with("add table netdev lvsd_lt6b_34g0\ndelete table netdev lvsd_lt6b_34g0\n"),
            "{s}"
        );
        assert_eq!(s.matches("policy drop").count(), 2, "{s}");
        assert!(s.contains("device \"lv-int\""), "{s}");
    }
}
