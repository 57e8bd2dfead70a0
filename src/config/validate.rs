//! Semantic validation: turns a [`RawConfig`] into a [`Model`], collecting
//! every mistake (with key path and line) instead of stopping at the first.
//!
//! This file covers the shared helpers ([`Ctx`]) and the global sections
//! (`dpdk`, `port`, `neighbor`, `route`, `arp`, `log`, `timeouts`, `conn`);
//! `service.rs` validates `[[service]]`.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::config::error::Error;
use crate::config::model::{
    Arp, Conn, Device, Dpdk, Log, LogFormat, Model, Neighbor, Port, Route, Timeouts,
};
use crate::config::net::{parse_ipv4, parse_ipv4_net, parse_lcores, parse_unicast_mac, Ipv4Net};
use crate::config::raw::{
    RawArp, RawConfig, RawConn, RawDpdk, RawLog, RawNeighbor, RawPort, RawRoute, RawTimeouts,
};
use crate::config::service::validate_services;
use crate::config::span::Spans;

/// Longest IPVS timeout accepted (31 days, in seconds).
pub const MAX_TIMEOUT_S: i64 = 2_678_400;

/// Error collector that knows how to find lines.
pub struct Ctx<'a> {
    spans: &'a Spans,
    errors: Vec<Error>,
}

impl<'a> Ctx<'a> {
    pub fn new(spans: &'a Spans) -> Self {
        Ctx {
            spans,
            errors: Vec::new(),
        }
    }

    /// Records an error about `path`.
    pub fn err(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(Error {
            path: path.to_owned(),
            line: self.spans.line(path),
            message: message.into(),
        });
    }

    /// Number of errors recorded so far.
    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    pub fn into_errors(self) -> Vec<Error> {
        self.errors
    }

    /// A required string; records "missing required key" when absent.
    pub fn required<'v>(
        &mut self,
        path: &str,
        v: Option<&'v String>,
        what: &str,
    ) -> Option<&'v str> {
        match v {
            Some(s) => Some(s.as_str()),
            None => {
                let key = path.rsplit('.').next().unwrap_or(path);
                self.err(
                    path,
                    format!("missing required key '{key}': expected {what}"),
                );
                None
            }
        }
    }

    /// An optional integer in `lo..=hi`, `default` when absent or invalid.
    pub fn int<T>(&mut self, path: &str, v: Option<i64>, default: T, lo: i64, hi: i64) -> T
    where
        T: TryFrom<i64> + Copy,
    {
        let Some(n) = v else { return default };
        match T::try_from(n) {
            Ok(t) if (lo..=hi).contains(&n) => t,
            _ => {
                self.err(
                    path,
                    format!("invalid value {n}: expected an integer in {lo}..={hi}"),
                );
                default
            }
        }
    }

    /// An optional count of seconds in `1..=max`.
    pub fn secs(&mut self, path: &str, v: Option<i64>, default: u64, max: i64) -> Duration {
        Duration::from_secs(self.int(path, v, default, 1, max))
    }

    /// Runs a string parser, recording its error message under `path`.
    pub fn parse<T>(
        &mut self,
        path: &str,
        v: Option<&str>,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match f(v?) {
            Ok(t) => Some(t),
            Err(msg) => {
                self.err(path, msg);
                None
            }
        }
    }
}

/// What the service pass needs to know about the ports.
pub struct PortInfo {
    pub name: Option<String>,
    pub net: Option<Ipv4Net>,
}

/// Validates the whole file.
pub fn validate(raw: RawConfig, spans: &Spans) -> Result<Model, Vec<Error>> {
    let mut cx = Ctx::new(spans);
    let dpdk = validate_dpdk(&mut cx, raw.dpdk);
    let (ports, infos) = validate_ports(&mut cx, &raw.port);
    let neighbors = validate_neighbors(&mut cx, &raw.neighbor, &infos);
    let routes = validate_routes(&mut cx, &raw.route, &infos);
    let arp = validate_arp(&mut cx, &raw.arp);
    let log = validate_log(&mut cx, raw.log);
    let timeouts = validate_timeouts(&mut cx, &raw.timeouts);
    let conn = validate_conn(&mut cx, &raw.conn);
    let services = validate_services(&mut cx, raw.service, &infos);
    let (control, metrics) = super::mgmt::validate(&mut cx, &raw.control, &raw.metrics);
    let ha = raw
        .ha
        .as_ref()
        .and_then(|h| super::ha::validate(&mut cx, h));
    if cx.error_count() > 0 {
        return Err(cx.into_errors());
    }
    Ok(Model {
        dpdk,
        ports,
        neighbors,
        routes,
        arp,
        log,
        timeouts,
        conn,
        services,
        control,
        metrics,
        ha,
    })
}

fn validate_dpdk(cx: &mut Ctx, raw: Option<RawDpdk>) -> Dpdk {
    let raw = match raw {
        Some(r) => {
            let s = cx.required(
                "dpdk.lcores",
                r.lcores.as_ref(),
                "an EAL core list such as \"0-1\"",
            );
            let lcores = cx.parse("dpdk.lcores", s, parse_lcores).unwrap_or_default();
            if lcores.len() == 1 {
                cx.err(
                    "dpdk.lcores",
                    format!(
                        "core list '{}' has only lcore {}: expected at least two lcores (the first manages, the rest are workers)",
                        s.unwrap_or_default(),
                        lcores[0]
                    ),
                );
            }
            (r, lcores)
        }
        None => {
            cx.err(
                "dpdk",
                "missing required table [dpdk]: expected at least `lcores = \"0-1\"`",
            );
            (RawDpdk::default(), Vec::new())
        }
    };
    let (r, lcores) = raw;
    let file_prefix = r.file_prefix.unwrap_or_else(|| "lvsd".to_owned());
    if file_prefix.is_empty()
        || file_prefix.len() > 64
        || !file_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        cx.err(
            "dpdk.file_prefix",
            format!(
                "invalid file prefix '{file_prefix}': expected 1..=64 characters of [A-Za-z0-9_-]"
            ),
        );
    }
    Dpdk {
        lcores,
        memory_mb: cx.int("dpdk.memory_mb", r.memory_mb, 512, 1, 1 << 20),
        hugepages: r.hugepages.unwrap_or(false),
        file_prefix,
        args: r.args.unwrap_or_default(),
        burst: cx.int("dpdk.burst", r.burst, 32, 1, 512),
        mbufs: cx.int("dpdk.mbufs", r.mbufs, 8191, 1023, i64::from(u32::MAX)),
    }
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

fn validate_ports(cx: &mut Ctx, raw: &[RawPort]) -> (Vec<Port>, Vec<PortInfo>) {
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
        let name = cx
            .required(
                &format!("{p}.name"),
                r.name.as_ref(),
                "a port name matching [a-z0-9_-]{1,15}",
            )
            .map(str::to_owned);
        if let Some(n) = &name {
            if !valid_port_name(n) {
                cx.err(
                    &format!("{p}.name"),
                    format!("invalid port name '{n}': expected 1..=15 characters of [a-z0-9_-]"),
                );
            } else if let Some(j) = names.get(n) {
                cx.err(
                    &format!("{p}.name"),
                    format!("duplicate port name '{n}': already used by port[{j}]"),
                );
            } else {
                names.insert(n.clone(), i);
            }
        }
        let dpath = format!("{p}.device");
        let dev = cx.required(&dpath, r.device.as_ref(), "a vdev spec or PCI address");
        let device = cx.parse(&dpath, dev, parse_device);
        if let Some(d) = &device {
            // EAL device names (vdev instance or PCI address) must be unique.
            let id = d.vdev_name().unwrap_or(d.as_str()).to_owned();
            if let Some(j) = devices.get(&id) {
                cx.err(
                    &dpath,
                    format!("duplicate device '{id}': already used by port[{j}]"),
                );
            } else {
                devices.insert(id, i);
            }
        }
        let apath = format!("{p}.address");
        let addr = cx.required(
            &apath,
            r.address.as_ref(),
            "the port's IPv4 address with prefix length, e.g. \"198.18.0.1/24\"",
        );
        let mut net = cx.parse(&apath, addr, parse_ipv4_net);
        if let Some(n) = net {
            if let Some((j, o)) = infos
                .iter()
                .enumerate()
                .find_map(|(j, o)| o.net.filter(|o| o.overlaps(&n)).map(|o| (j, o)))
            {
                cx.err(
                    &apath,
                    format!(
                        "subnet {}/{} of '{n}' overlaps port[{j}]'s subnet {}/{}: expected disjoint connected subnets",
                        n.network(),
                        n.prefix,
                        o.network(),
                        o.prefix
                    ),
                );
                net = None;
            }
        }
        let mac = cx.parse(&format!("{p}.mac"), r.mac.as_deref(), parse_unicast_mac);
        let kernel_iface = match r.kernel_iface.as_deref() {
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
            None => name
                .as_ref()
                .map(|n| format!("lvk-{n}").chars().take(15).collect()),
        };
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
            mac,
            kernel_iface,
            floating: super::ha::floating(cx, &format!("{p}.floating"), r.floating.as_ref()),
        });
        infos.push(PortInfo { name, net });
    }
    (ports, infos)
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

fn validate_neighbors(cx: &mut Ctx, raw: &[RawNeighbor], infos: &[PortInfo]) -> Vec<Neighbor> {
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

fn validate_routes(cx: &mut Ctx, raw: &[RawRoute], infos: &[PortInfo]) -> Vec<Route> {
    let mut out = Vec::new();
    let mut seen: HashMap<Ipv4Net, usize> = HashMap::new();
    for (i, r) in raw.iter().enumerate() {
        let p = format!("route[{i}]");
        let dpath = format!("{p}.destination");
        let d = cx.required(
            &dpath,
            r.destination.as_ref(),
            "a CIDR such as \"0.0.0.0/0\"",
        );
        let mut dest = cx.parse(&dpath, d, parse_ipv4_net);
        if let Some(n) = dest {
            if n.has_host_bits() {
                cx.err(
                    &dpath,
                    format!(
                        "destination '{n}' has host bits set: expected the network address {}/{}",
                        n.network(),
                        n.prefix
                    ),
                );
                dest = None;
            } else if let Some(j) = seen.insert(n, i) {
                cx.err(
                    &dpath,
                    format!("duplicate route to {n}: already defined by route[{j}]"),
                );
            }
        }
        let vpath = format!("{p}.via");
        let v = cx.required(&vpath, r.via.as_ref(), "the gateway's IPv4 address");
        let via = cx.parse(&vpath, v, parse_ipv4);
        let mut port = None;
        if let Some(g) = via {
            let nets: Vec<(usize, Ipv4Net)> = infos
                .iter()
                .enumerate()
                .filter_map(|(j, x)| x.net.map(|n| (j, n)))
                .collect();
            match nets.iter().find(|(_, n)| n.contains(g)) {
                Some((_, n)) if n.addr == g => {
                    cx.err(&vpath, format!("gateway {g} is the director's own address: expected another host on that subnet"));
                }
                Some((j, _)) => port = Some(*j),
                None if nets.len() == infos.len() => {
                    let list: Vec<String> = nets
                        .iter()
                        .map(|(_, n)| format!("{}/{}", n.network(), n.prefix))
                        .collect();
                    cx.err(&vpath, format!("gateway {g} is not in any port's connected subnet: expected an address in one of {}", if list.is_empty() { "(no ports)".to_owned() } else { list.join(", ") }));
                }
                // Some port address is itself invalid: it is already reported.
                None => {}
            }
        }
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

fn validate_arp(cx: &mut Ctx, r: &RawArp) -> Arp {
    Arp {
        timeout: cx.secs("arp.timeout_s", r.timeout_s, 300, 86_400),
        retry: Duration::from_millis(cx.int("arp.retry_ms", r.retry_ms, 1000u64, 1, 3_600_000)),
        pending: cx.int("arp.pending", r.pending, 64, 1, 4096),
    }
}

fn validate_log(cx: &mut Ctx, r: RawLog) -> Log {
    let format = match r.format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            cx.err(
                "log.format",
                format!("unknown log format '{other}': expected \"text\" or \"json\""),
            );
            LogFormat::Text
        }
    };
    let level = r.level.unwrap_or_else(|| "info".to_owned());
    if level.trim().is_empty() || level.contains(char::is_whitespace) {
        cx.err("log.level", format!("invalid log level '{level}': expected a tracing filter such as \"info\" or \"info,lvsd=debug\""));
    }
    Log { format, level }
}

fn validate_timeouts(cx: &mut Ctx, r: &RawTimeouts) -> Timeouts {
    Timeouts {
        tcp: cx.secs("timeouts.tcp", r.tcp, 900, MAX_TIMEOUT_S),
        tcp_fin: cx.secs("timeouts.tcp_fin", r.tcp_fin, 120, MAX_TIMEOUT_S),
        udp: cx.secs("timeouts.udp", r.udp, 300, MAX_TIMEOUT_S),
    }
}

fn validate_conn(cx: &mut Ctx, r: &RawConn) -> Conn {
    Conn {
        capacity: cx.int(
            "conn.capacity",
            r.capacity,
            1 << 20,
            1024,
            i64::from(u32::MAX),
        ),
        expire_nodest_conn: r.expire_nodest_conn.unwrap_or(false),
        expire_quiescent_template: r.expire_quiescent_template.unwrap_or(false),
        sloppy_tcp: r.sloppy_tcp.unwrap_or(false),
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
