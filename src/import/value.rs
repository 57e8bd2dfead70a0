//! Value conversions shared by the importers: seconds → milliseconds,
//! netmasks, hex strings → lvsd's `\xHH` escapes, safe names.
use std::net::Ipv4Addr;

/// A time in seconds (`5`, `2.5`) as whole milliseconds.
pub fn seconds_ms(s: &str) -> Option<i64> {
    let v: f64 = s.trim().parse().ok()?;
    (0.0..1e12)
        .contains(&v)
        .then(|| (v * 1000.0).round() as i64)
}

/// A non-negative integer.
pub fn int(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok().filter(|v| *v >= 0)
}

/// A contiguous IPv4 netmask, dotted (`255.255.255.0`) or a prefix length
/// (`24`, `/24`).
pub fn netmask(s: &str) -> Option<Ipv4Addr> {
    let s = s.trim();
    if let Ok(m) = s.parse::<Ipv4Addr>() {
        let bits = u32::from(m);
        return (bits.leading_ones() + bits.trailing_zeros() == 32).then_some(m);
    }
    let len: u32 = s.trim_start_matches('/').parse().ok()?;
    (len <= 32).then(|| Ipv4Addr::from(u32::MAX.checked_shl(32 - len).unwrap_or(0)))
}

/// keepalived's free-form hex (`Ab12f 3 456`: whitespace separates groups,
/// read in pairs, a group's odd last digit is `0X`) as lvsd's escaped
/// string (`\xab\x12\x0f\x03\x45\x06`). `None` when a character is not
/// hex (a `X` mask nibble included).
pub fn hex_escapes(s: &str) -> Option<String> {
    let mut out = String::new();
    for group in s.split_whitespace() {
        if !group.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        for pair in group.as_bytes().chunks(2) {
            let hex = String::from_utf8_lossy(pair).to_ascii_lowercase();
            out.push_str("\\x");
            if hex.len() == 1 {
                out.push('0');
            }
            out.push_str(&hex);
        }
    }
    Some(out)
}

/// A name lvsd accepts for a service or node: 1..=64 characters without
/// whitespace or control characters.
pub fn safe_name(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .take(64)
        .collect();
    if n.is_empty() {
        "imported".to_string()
    } else {
        n
    }
}

/// A port name lvsd accepts (`[a-z0-9_-]{1,15}`) made from an interface
/// name (`eth0:1` → `eth0`).
pub fn port_name(iface: &str) -> String {
    let base = iface.split(':').next().unwrap_or(iface);
    let n: String = base
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(15)
        .collect();
    if n.is_empty() {
        "port".to_string()
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(seconds_ms("6"), Some(6000));
        assert_eq!(seconds_ms("2.5"), Some(2500));
        assert_eq!(seconds_ms("-1"), None);
        assert_eq!(seconds_ms("x"), None);
        assert_eq!(
            netmask("255.255.255.0"),
            Some(Ipv4Addr::new(255, 255, 255, 0))
        );
        assert_eq!(netmask("/16"), Some(Ipv4Addr::new(255, 255, 0, 0)));
        assert_eq!(netmask("0"), Some(Ipv4Addr::UNSPECIFIED));
        assert_eq!(netmask("255.0.255.0"), None);
        assert_eq!(
            hex_escapes("Ab12f 3").as_deref(),
            Some("\\xab\\x12\\x0f\\x03")
        );
        assert_eq!(hex_escapes("12x4"), None);
        assert_eq!(safe_name("my web"), "my-web");
        assert_eq!(port_name("Eth0:1"), "eth0");
        assert_eq!(port_name("bond0.100"), "bond0-100");
    }
}
