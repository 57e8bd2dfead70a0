//! Packet forwarding method of a real server, and its encoding in the IPVS
//! connection flags (`IP_VS_CONN_F_FWD_MASK`).
use serde::{Deserialize, Serialize};
use std::fmt;

/// Packet forwarding method of a real server. Serialized lowercase (`"nat"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Masquerading (DNAT in, SNAT out).
    Nat,
    /// Direct routing (only the destination MAC changes).
    Dr,
    /// IP-in-IP tunnelling.
    Tun,
}

impl Method {
    /// Every method, in documentation order.
    pub const ALL: [Method; 3] = [Method::Nat, Method::Dr, Method::Tun];

    /// `"nat"` / `"dr"` / `"tun"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Nat => "nat",
            Method::Dr => "dr",
            Method::Tun => "tun",
        }
    }

    /// Inverse of [`Method::as_str`].
    pub fn from_name(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The forwarding bits of an IPVS connection or destination
/// (`IP_VS_CONN_F_FWD_MASK` of `ip_vs.h`): a [`Method`], or one of the
/// values only the kernel sets (`LOCALNODE`, `BYPASS`), which ipvsadm may
/// still print. Not a second method type: it is the flag field's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FwdFlag(u16);

impl FwdFlag {
    /// `IP_VS_CONN_F_FWD_MASK`.
    pub const MASK: u16 = 0x0007;
    /// `IP_VS_CONN_F_MASQ`.
    pub const MASQ: FwdFlag = FwdFlag(0);
    /// `IP_VS_CONN_F_LOCALNODE`.
    pub const LOCAL: FwdFlag = FwdFlag(1);
    /// `IP_VS_CONN_F_TUNNEL`.
    pub const TUNNEL: FwdFlag = FwdFlag(2);
    /// `IP_VS_CONN_F_DROUTE`.
    pub const DROUTE: FwdFlag = FwdFlag(3);
    /// `IP_VS_CONN_F_BYPASS`.
    pub const BYPASS: FwdFlag = FwdFlag(4);

    /// The forwarding bits of a flag word. lvsd never writes the unused
    /// values 5..7; like BYPASS they have no [`Method`] (and ipvsadm's
    /// formatter prints them as `Bypass`, as its `default:` case does).
    #[inline(always)]
    pub const fn from_flags(flags: u16) -> FwdFlag {
        FwdFlag(flags & Self::MASK)
    }

    /// The flag bits (0..=7).
    #[inline]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// The method, for the values a configured real can have.
    pub const fn method(self) -> Option<Method> {
        match self.0 {
            0 => Some(Method::Nat),
            2 => Some(Method::Tun),
            3 => Some(Method::Dr),
            _ => None,
        }
    }
}

impl From<Method> for FwdFlag {
    #[inline]
    fn from(m: Method) -> FwdFlag {
        match m {
            Method::Nat => FwdFlag::MASQ,
            Method::Dr => FwdFlag::DROUTE,
            Method::Tun => FwdFlag::TUNNEL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FwdFlag, Method};

    #[test]
    fn flag_bits_round_trip_and_kernel_only_values() {
        for m in Method::ALL {
            let f = FwdFlag::from(m);
            assert_eq!(f.method(), Some(m));
            assert_eq!(FwdFlag::from_flags(f.bits() | 0x0100), f);
            assert_eq!(Method::from_name(m.as_str()), Some(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert_eq!(FwdFlag::from(Method::Nat).bits(), 0);
        assert_eq!(FwdFlag::from(Method::Tun).bits(), 2);
        assert_eq!(FwdFlag::from(Method::Dr).bits(), 3);
        assert_eq!(FwdFlag::LOCAL.method(), None);
        assert_eq!(FwdFlag::from_flags(4), FwdFlag::BYPASS);
        for v in 4..8 {
            assert_eq!(FwdFlag::from_flags(v).method(), None);
        }
    }
}
