//! Small network value types and parsers used by the configuration layer:
//! [`Ipv4Net`] (an IPv4 address with a prefix length), MAC parsing, netmask
//! handling and the DPDK EAL core-list syntax.
//!
//! Every parser returns `Result<_, String>` where the error string is a full
//! human sentence ("invalid IPv4 prefix '…': …") ready to be attached to a
//! key path by the validator.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// Highest lcore id accepted in `dpdk.lcores` (DPDK's `RTE_MAX_LCORE` upper bound).
pub const MAX_LCORE: u32 = 1023;

/// An IPv4 address together with a prefix length, e.g. `198.18.0.1/24`.
///
/// `addr` keeps the host bits as written (a port's own address); use
/// [`Ipv4Net::network`] for the subnet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    /// The address as written, host bits included.
    pub addr: Ipv4Addr,
    /// Prefix length, `0..=32`.
    pub prefix: u8,
}

impl Ipv4Net {
    /// Builds a net; `None` if `prefix > 32`.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Self> {
        (prefix <= 32).then_some(Self { addr, prefix })
    }

    /// The netmask as an address, e.g. `255.255.255.0` for `/24`.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(prefix_to_mask(self.prefix))
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & prefix_to_mask(self.prefix))
    }

    /// Whether `ip` lies inside this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = prefix_to_mask(self.prefix);
        u32::from(ip) & mask == u32::from(self.addr) & mask
    }

    /// Whether the two subnets share at least one address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        let p = self.prefix.min(other.prefix);
        let mask = prefix_to_mask(p);
        u32::from(self.addr) & mask == u32::from(other.addr) & mask
    }

    /// Whether any host bit of `addr` is set.
    pub fn has_host_bits(&self) -> bool {
        u32::from(self.addr) & !prefix_to_mask(self.prefix) != 0
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The 32-bit mask for a prefix length (`prefix > 32` is treated as 32).
pub fn prefix_to_mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

/// Prefix length of a contiguous netmask, `None` if the mask has holes.
pub fn mask_to_prefix(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let ones = m.leading_ones();
    (m.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// Parses `a.b.c.d/len`.
pub fn parse_ipv4_net(s: &str) -> Result<Ipv4Net, String> {
    let Some((a, p)) = s.split_once('/') else {
        return Err(format!(
            "invalid IPv4 prefix '{s}': expected ADDRESS/LENGTH, e.g. 198.18.0.1/24"
        ));
    };
    let addr = a.parse::<Ipv4Addr>().map_err(|_| {
        format!("invalid IPv4 prefix '{s}': '{a}' is not an IPv4 address (expected a.b.c.d)")
    })?;
    let prefix = match p.parse::<u8>() {
        Ok(n) if n <= 32 && !p.starts_with('+') => n,
        _ => {
            return Err(format!(
                "invalid IPv4 prefix '{s}': prefix length must be 0..=32"
            ))
        }
    };
    Ok(Ipv4Net { addr, prefix })
}

/// Parses a dotted-quad IPv4 address.
pub fn parse_ipv4(s: &str) -> Result<Ipv4Addr, String> {
    s.parse::<Ipv4Addr>()
        .map_err(|_| format!("invalid IPv4 address '{s}': expected a.b.c.d, e.g. 198.18.0.1"))
}

/// A MAC address, six octets in transmission order.
pub type Mac = [u8; 6];

/// Formats a MAC as `02:00:00:00:00:01`.
pub fn format_mac(mac: &Mac) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

/// Parses `xx:xx:xx:xx:xx:xx` (also accepts `-` separators).
pub fn parse_mac(s: &str) -> Result<Mac, String> {
    let bad =
        || format!("invalid MAC address '{s}': expected six hex octets like 02:00:00:00:00:01");
    let sep = if s.contains('-') { '-' } else { ':' };
    let mut out = [0u8; 6];
    let mut n = 0;
    for part in s.split(sep) {
        if n >= 6
            || part.is_empty()
            || part.len() > 2
            || !part.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(bad());
        }
        out[n] = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        n += 1;
    }
    if n != 6 {
        return Err(bad());
    }
    Ok(out)
}

/// Parses a MAC that must be a usable unicast station address.
pub fn parse_unicast_mac(s: &str) -> Result<Mac, String> {
    let mac = parse_mac(s)?;
    if mac[0] & 1 != 0 {
        return Err(format!(
            "MAC address '{s}' is multicast/broadcast: expected a unicast MAC (lowest bit of first octet clear)"
        ));
    }
    if mac == [0; 6] {
        return Err(format!(
            "MAC address '{s}' is all zeros: expected a unicast MAC"
        ));
    }
    Ok(mac)
}

/// Parses an EAL core list ("0-1", "0,2,4", "1-3,6") into sorted, deduplicated ids.
pub fn parse_lcores(s: &str) -> Result<Vec<u32>, String> {
    let expect = "expected a core list like \"0-1\", \"0,2,4\" or \"1-3,6\"";
    if s.trim().is_empty() {
        return Err(format!("empty core list: {expect}"));
    }
    let id = |t: &str| -> Result<u32, String> {
        let t = t.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "invalid core list '{s}': '{t}' is not a core id; {expect}"
            ));
        }
        match t.parse::<u32>() {
            Ok(n) if n <= MAX_LCORE => Ok(n),
            _ => Err(format!(
                "invalid core list '{s}': lcore {t} is out of range 0..={MAX_LCORE}"
            )),
        }
    };
    let mut out = Vec::new();
    for item in s.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (id(a)?, id(b)?);
                if a > b {
                    return Err(format!(
                        "invalid core list '{s}': range {a}-{b} is descending"
                    ));
                }
                out.extend(a..=b);
            }
            None => out.push(id(item)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Whether `n` is prime (trial division; fine for `u32`).
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut d = 3u64;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

/// Parses an IPv4 address into the family-generic model type.
pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Ok(IpAddr::V4(a)),
        Ok(IpAddr::V6(_)) => Err(format!(
            "IPv6 address '{s}' is not supported yet: expected an IPv4 address"
        )),
        Err(_) => Err(format!(
            "invalid IPv4 address '{s}': expected a.b.c.d, e.g. 198.18.0.100"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets() {
        let n = parse_ipv4_net("198.18.0.1/24").unwrap();
        assert_eq!(n.network(), Ipv4Addr::new(198, 18, 0, 0));
        assert_eq!(n.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert!(n.contains(Ipv4Addr::new(198, 18, 0, 254)));
        assert!(!n.contains(Ipv4Addr::new(198, 18, 1, 1)));
        assert!(parse_ipv4_net("0.0.0.0/0")
            .unwrap()
            .contains(Ipv4Addr::BROADCAST));
        assert!(parse_ipv4_net("1.2.3.4/33")
            .unwrap_err()
            .contains("prefix length must be 0..=32"));
        assert!(parse_ipv4_net("1.2.3.4").is_err());
        assert!(parse_ipv4_net("1.2.3/4").is_err());
        assert_eq!(n.to_string(), "198.18.0.1/24");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_to_prefix(Ipv4Addr::new(255, 255, 255, 0)), Some(24));
        assert_eq!(mask_to_prefix(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(mask_to_prefix(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(mask_to_prefix(Ipv4Addr::new(255, 0, 255, 0)), None);
    }

    #[test]
    fn macs() {
        assert_eq!(parse_mac("02:00:00:00:01:0b").unwrap(), [2, 0, 0, 0, 1, 11]);
        assert_eq!(format_mac(&[2, 0, 0, 0, 1, 11]), "02:00:00:00:01:0b");
        assert!(parse_mac("02:00:00:00:01").is_err());
        assert!(parse_mac("02:00:00:00:01:0b:07").is_err());
        assert!(parse_mac("02:00:00:00:01:0g").is_err());
        assert!(parse_mac("02:00:00:00:01:+b").is_err());
        assert!(parse_unicast_mac("01:00:5e:00:00:01").is_err());
        assert!(parse_unicast_mac("00:00:00:00:00:00").is_err());
    }

    #[test]
    fn lcores() {
        assert_eq!(parse_lcores("0-1").unwrap(), vec![0, 1]);
        assert_eq!(parse_lcores("4,0,2,2").unwrap(), vec![0, 2, 4]);
        assert_eq!(parse_lcores("1-3,6").unwrap(), vec![1, 2, 3, 6]);
        assert!(parse_lcores("3-1").is_err());
        assert!(parse_lcores("0-4000000000").is_err());
        assert!(parse_lcores("a").is_err());
        assert!(parse_lcores("").is_err());
        assert!(parse_lcores("1,").is_err());
    }

    #[test]
    fn primes() {
        assert!(is_prime(65537));
        assert!(is_prime(251));
        assert!(!is_prime(65536));
        assert!(!is_prime(1));
        assert!(is_prime(2));
    }
}
