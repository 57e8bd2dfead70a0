//! Rate limits on what lvsd generates or passes up (`[limits]`).

/// A token bucket's settings: `rate` tokens a second, at most `burst`
/// saved up. `rate == 0` means unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub rate: u32,
    pub burst: u32,
}

impl Rate {
    /// No limit.
    pub const UNLIMITED: Rate = Rate { rate: 0, burst: 0 };
}

/// The limits a worker applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// ICMP errors and echo replies a worker sends (Linux's
    /// `icmp_msgs_per_sec` / `icmp_msgs_burst`: 1000 and 50). Fragmentation
    /// needed is never limited (path MTU discovery, as in Linux).
    pub icmp: Rate,
    /// Packets a worker passes to one port's kernel interface.
    pub kernel: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            icmp: Rate {
                rate: 1000,
                burst: 50,
            },
            kernel: Rate {
                rate: 10_000,
                burst: 1000,
            },
        }
    }
}
