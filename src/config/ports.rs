//! `[[port]]`, `[[neighbor]]` and `[[route]]`: the director's interfaces,
//! static neighbors and gateways.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::ctx::Ctx;
use super::model::{Device, Neighbor, Port, Route};
use super::net::{parse_ipv4, parse_ipv4_net, parse_unicast_mac, Ipv4Net};
use super::raw::{RawNeighbor, RawPort, RawRoute};

/// What the service pass needs to know about the ports.
pub struct PortInfo {
    pub name: Option<String>,
    pub net: Option<Ipv4Net>,
}

fn valid_port_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Parses a vdev spec (`net_xxxN,k=v,...`) or a PCI address.
pub fn parse_device(s: &str) -> Result<Device, String> {
    let expect = "expected a vdev spec like \"net_af_xdp0,iface=eth0\" or a PCI address like \"0000:01:00.0\"";
    if let Some(pci) = parse_pci(s) {
        return Ok(Device::Pci(pci));
    }
    let mut parts = s.split(',');
    let name = parts.next().unwrap_or_default();
    let name_ok = name.len() > 4
        && name.starts_with("net_")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.bytes().last().is_some_and(|b| b.is_ascii_digit());
    if !name_ok {
        return Err(format!("invalid device '{s}': {expect}"));
    }
    for kv in parts {
        match kv.split_once('=') {
            Some((k, _)) if !k.is_empty() && !kv.contains(char::is_whitespace) => {}
            _ => {
                return Err(format!(
                    "invalid device '{s}': device argument '{kv}' is not key=value; {expect}"
                ))
            }
        }
    }
    Ok(Device::Vdev(s.to_owned()))
}

/// `DDDD:BB:DD.F` or `BB:DD.F`, normalised to lower-case full form.
fn parse_pci(s: &str) -> Option<String> {
    let hex = |t: &str, n: usize| -> Option<u32> {
        (t.len() == n && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(t, 16).ok())
            .flatten()
    };
    let (rest, func) = s.rsplit_once('.')?;
    let func = hex(func, 1).filter(|&f| f <= 7)?;
    let fields: Vec<&str> = rest.split(':').collect();
    let (dom, bus, dev) = match fields.as_slice() {
        [d, b, v] => (hex(d, 4)?, hex(b, 2)?, hex(v, 2)?),
        [b, v] => (0, hex(b, 2)?, hex(v, 2)?),
        _ => return None,
    };
    (dev <= 0x1f).then(|| format!("{dom:04x}:{bus:02x}:{dev:02x}.{func:x}"))
}

pub(super) fn validate_ports(cx: &mut Ctx, raw: &[RawPort]) -> (Vec<Port>, Vec<PortInfo>) {
    if raw.is_empty() {
        cx.err(
            "port",
            "no [[port]] defined: expected at least one with name, device and address",
        );
    }
    let mut ports = Vec::new();
    let mut infos: Vec<PortInfo> = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut devices: HashMap<String, usize> = HashMap::new();
    for (i, r) in raw.iter().enumerate() {
        let p = format!("port[{i}]");
        let name = port_name(cx, &p, r.name.as_ref(), i, &mut names);
        let device = port_device(cx, &p, r.device.as_ref(), i, &mut devices);
        let net = port_address(cx, &p, r.address.as_ref(), &infos);
        ports.push(Port {
            name: name.clone().unwrap_or_default(),
            device: device.unwrap_or(Device::Vdev(String::new())),
            address: net.unwrap_or(Ipv4Net {
                addr: Ipv4Addr::UNSPECIFIED,
                prefix: 0,
            }),
            rx_queues: cx.int(&format!("{p}.rx_queues"), r.rx_queues, 1, 1, 64),
            tx_queues: cx.int(&format!("{p}.tx_queues"), r.tx_queues, 0, 0, 64),
            mtu: cx.int(&format!("{p}.mtu"), r.mtu, 1500, 68, 9000),
            mac: cx.parse(&format!("{p}.mac"), r.mac.as_deref(), parse_unicast_mac),
            kernel_iface: kernel_iface(cx, &p, r.kernel_iface.as_deref(), name.as_deref()),
            floating: super::ha::floating(cx, &format!("{p}.floating"), r.floating.as_ref()),
        });
        infos.push(PortInfo { name, net });
    }
    (ports, infos)
}

/// `name`: required, well-formed and unique (`names`: name → port index).
fn port_name(
    cx: &mut Ctx,
    p: &str,
    raw: Option<&String>,
    i: usize,
    names: &mut HashMap<String, usize>,
) -> Option<String> {
    let path = format!("{p}.name");
    let name = cx
        .required(&path, raw, "a port name matching [a-z0-9_-]{1,15}")
        .map(str::to_owned)?;
    if !valid_port_name(&name) {
        cx.err(
            &path,
            format!("invalid port name '{name}': expected 1..=15 characters of [a-z0-9_-]"),
        );
    } else if let Some(j) = names.get(&name) {
        cx.err(
            &path,
            format!("duplicate port name '{name}': already used by port[{j}]"),
        );
    } else {
        names.insert(name.clone(), i);
    }
    Some(name)
}

/// `device`: required, a vdev spec or PCI address not used by another port.
fn port_device(
    cx: &mut Ctx,
    p: &str,
    raw: Option<&String>,
    i: usize,
    devices: &mut HashMap<String, usize>,
) -> Option<Device> {
    let path = format!("{p}.device");
    let dev = cx.required(&path, raw, "a vdev spec or PCI address");
    let device = cx.parse(&path, dev, parse_device)?;
    // EAL device names (vdev instance or PCI address) must be unique.
    let id = device.vdev_name().unwrap_or(device.as_str()).to_owned();
    if let Some(j) = devices.get(&id) {
        cx.err(
            &path,
            format!("duplicate device '{id}': already used by port[{j}]"),
        );
    } else {
        devices.insert(id, i);
    }
    Some(device)
}

/// `address`: required, with a subnet disjoint from the earlier ports'.
fn port_address(
    cx: &mut Ctx,
    p: &str,
    raw: Option<&String>,
    earlier: &[PortInfo],
) -> Option<Ipv4Net> {
    let path = format!("{p}.address");
    let addr = cx.required(
        &path,
        raw,
        "the port's IPv4 address with prefix length, e.g. \"198.18.0.1/24\"",
    );
    let n = cx.parse(&path, addr, parse_ipv4_net)?;
    let clash = earlier
        .iter()
        .enumerate()
        .find_map(|(j, o)| o.net.filter(|o| o.overlaps(&n)).map(|o| (j, o)));
    let Some((j, o)) = clash else { return Some(n) };
    cx.err(
        &path,
        format!(
            "subnet {}/{} of '{n}' overlaps port[{j}]'s subnet {}/{}: expected disjoint connected subnets",
            n.network(),
            n.prefix,
            o.network(),
            o.prefix
        ),
    );
    None
}

/// `kernel_iface`: `""` disables the kernel path; default `lvk-<name>`.
fn kernel_iface(cx: &mut Ctx, p: &str, raw: Option<&str>, name: Option<&str>) -> Option<String> {
    match raw {
        Some("") => None,
        Some(k)
            if k.len() <= 15
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Some(k.to_owned())
        }
        Some(k) => {
            cx.err(
                &format!("{p}.kernel_iface"),
                format!("invalid interface name '{k}': expected 1..=15 characters of [A-Za-z0-9_-], or \"\" to disable"),
            );
            None
        }
        None => name.map(|n| format!("lvk-{n}").chars().take(15).collect()),
    }
}

/// Resolves a port name to its index, recording an error when unknown.
fn port_ref(cx: &mut Ctx, path: &str, name: &str, infos: &[PortInfo]) -> Option<usize> {
    if let Some(i) = infos.iter().position(|p| p.name.as_deref() == Some(name)) {
        return Some(i);
    }
    let known: Vec<&str> = infos.iter().filter_map(|p| p.name.as_deref()).collect();
    cx.err(
        path,
        format!(
            "unknown port '{name}': expected the name of a [[port]] ({})",
            if known.is_empty() {
                "none defined".to_owned()
            } else {
                known.join(", ")
            }
        ),
    );
    None
}

pub(super) fn validate_neighbors(
    cx: &mut Ctx,
    raw: &[RawNeighbor],
    infos: &[PortInfo],
) -> Vec<Neighbor> {
    let mut out = Vec::new();
    let mut seen: HashMap<(usize, Ipv4Addr), usize> = HashMap::new();
    for (i, r) in raw.iter().enumerate() {
        let p = format!("neighbor[{i}]");
        let ppath = format!("{p}.port");
        let pname = cx.required(&ppath, r.port.as_ref(), "the name of a [[port]]");
        let port = pname.and_then(|n| port_ref(cx, &ppath, n, infos));
        let apath = format!("{p}.address");
        let a = cx.required(&apath, r.address.as_ref(), "an IPv4 address");
        let addr = cx.parse(&apath, a, parse_ipv4);
        if let (Some(pi), Some(a)) = (port, addr) {
            if let Some(net) = infos.get(pi).and_then(|x| x.net) {
                if a == net.addr {
                    cx.err(
                        &apath,
                        format!(
                            "address {a} is port '{}'s own address: expected another host in {}/{}",
                            pname.unwrap_or_default(),
                            net.network(),
                            net.prefix
                        ),
                    );
                } else if !net.contains(a) {
                    cx.err(&apath, format!("address {a} is not in port '{}'s subnet {}/{}: expected an on-link host", pname.unwrap_or_default(), net.network(), net.prefix));
                } else if let Some(j) = seen.insert((pi, a), i) {
                    cx.err(
                        &apath,
                        format!(
                            "duplicate neighbor {a} on port '{}': already defined by neighbor[{j}]",
                            pname.unwrap_or_default()
                        ),
                    );
                }
            }
        }
        let mpath = format!("{p}.mac");
        let m = cx.required(
            &mpath,
            r.mac.as_ref(),
            "a unicast MAC such as \"02:00:00:00:01:0b\"",
        );
        let mac = cx.parse(&mpath, m, parse_unicast_mac);
        if let (Some(port), Some(address), Some(mac)) = (port, addr, mac) {
            out.push(Neighbor { port, address, mac });
        }
    }
    out
}

pub(super) fn validate_routes(cx: &mut Ctx, raw: &[RawRoute], infos: &[PortInfo]) -> Vec<Route> {
    let mut out = Vec::new();
    let mut seen: HashMap<Ipv4Net, usize> = HashMap::new();
    for (i, r) in raw.iter().enumerate() {
        let p = format!("route[{i}]");
        let dest = route_destination(cx, &p, r.destination.as_ref(), i, &mut seen);
        let vpath = format!("{p}.via");
        let v = cx.required(&vpath, r.via.as_ref(), "the gateway's IPv4 address");
        let via = cx.parse(&vpath, v, parse_ipv4);
        let port = via.and_then(|g| gateway_port(cx, &vpath, g, infos));
        if let (Some(destination), Some(via), Some(port)) = (dest, via, port) {
            out.push(Route {
                destination,
                via,
                port,
            });
        }
    }
    out
}

/// `destination`: a network address (no host bits), not routed twice.
fn route_destination(
    cx: &mut Ctx,
    p: &str,
    raw: Option<&String>,
    i: usize,
    seen: &mut HashMap<Ipv4Net, usize>,
) -> Option<Ipv4Net> {
    let dpath = format!("{p}.destination");
    let d = cx.required(&dpath, raw, "a CIDR such as \"0.0.0.0/0\"");
    let n = cx.parse(&dpath, d, parse_ipv4_net)?;
    if n.has_host_bits() {
        cx.err(
            &dpath,
            format!(
                "destination '{n}' has host bits set: expected the network address {}/{}",
                n.network(),
                n.prefix
            ),
        );
        return None;
    }
    if let Some(j) = seen.insert(n, i) {
        cx.err(
            &dpath,
            format!("duplicate route to {n}: already defined by route[{j}]"),
        );
    }
    Some(n)
}

/// The port whose connected subnet holds gateway `g` (not its own address).
fn gateway_port(cx: &mut Ctx, vpath: &str, g: Ipv4Addr, infos: &[PortInfo]) -> Option<usize> {
    let nets: Vec<(usize, Ipv4Net)> = infos
        .iter()
        .enumerate()
        .filter_map(|(j, x)| x.net.map(|n| (j, n)))
        .collect();
    match nets.iter().find(|(_, n)| n.contains(g)) {
        Some((_, n)) if n.addr == g => {
            cx.err(vpath, format!("gateway {g} is the director's own address: expected another host on that subnet"));
            None
        }
        Some((j, _)) => Some(*j),
        None if nets.len() == infos.len() => {
            let list: Vec<String> = nets
                .iter()
                .map(|(_, n)| format!("{}/{}", n.network(), n.prefix))
                .collect();
            cx.err(vpath, format!("gateway {g} is not in any port's connected subnet: expected an address in one of {}", if list.is_empty() { "(no ports)".to_owned() } else { list.join(", ") }));
            None
        }
        // Some port address is itself invalid: it is already reported.
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices() {
        assert_eq!(
            parse_device("0000:01:00.0").unwrap(),
            Device::Pci("0000:01:00.0".into())
        );
        assert_eq!(
            parse_device("01:1F.7").unwrap(),
            Device::Pci("0000:01:1f.7".into())
        );
        assert!(parse_device("0000:01:20.0").is_err());
        assert!(parse_device("0000:01:00.8").is_err());
        let d = parse_device("net_af_xdp0,iface=lv-ext").unwrap();
        assert_eq!(d.vdev_name(), Some("net_af_xdp0"));
        assert!(parse_device("net_ring0").is_ok());
        assert!(parse_device("net_af_xdp").is_err());
        assert!(parse_device("eth0").is_err());
        assert!(parse_device("net_tap0,iface").is_err());
        assert!(parse_device("").is_err());
    }
}
