//! The kernel's view of a virtual port's link. DPDK 22.11's af_packet and
//! af_xdp drivers report their link up whatever the state of the kernel
//! interface they sit on, so a port on `iface=NAME` is also read from
//! `/sys/class/net/NAME/operstate` (in lvsd's network namespace).
use crate::config::model::Device;

/// The kernel interface a virtual device sits on (`iface=NAME`).
pub(super) fn iface_of(device: &Device) -> Option<&str> {
    let Device::Vdev(spec) = device else {
        return None;
    };
    spec.split(',')
        .find_map(|kv| kv.strip_prefix("iface="))
        .filter(|n| !n.is_empty() && !n.contains('/') && *n != "." && *n != "..")
}

/// True when the kernel says the device's interface is down.
pub(super) fn kernel_down(device: &Device) -> bool {
    iface_of(device).is_some_and(|n| {
        std::fs::read_to_string(format!("/sys/class/net/{n}/operstate"))
            .is_ok_and(|s| s.trim() == "down")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iface_is_read_from_vdev_specs_only() {
        let v = |s: &str| Device::Vdev(s.into());
        assert_eq!(iface_of(&v("net_af_packet0,iface=lv-ext")), Some("lv-ext"));
        assert_eq!(
            iface_of(&v("net_af_xdp1,iface=eth1,queue_count=2")),
            Some("eth1")
        );
        assert_eq!(iface_of(&v("net_af_packet0")), None);
        assert_eq!(iface_of(&v("net_af_packet0,iface=../x")), None);
        assert_eq!(iface_of(&Device::Pci("0000:01:00.0".into())), None);
    }
}
