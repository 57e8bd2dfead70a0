//! `[limits]`: rate limits on what lvsd generates or passes up, each a
//! token bucket per worker (`rate` a second, `burst` saved up; rate 0 =
//! unlimited). ICMP defaults are Linux's `icmp_msgs_per_sec` and
//! `icmp_msgs_burst`.
use super::ctx::Ctx;
use super::raw::RawLimits;
use crate::types::{Rate, RateLimits};

/// Largest rate or burst accepted.
const MAX: i64 = 100_000_000;

pub(super) fn validate(cx: &mut Ctx, r: &RawLimits) -> RateLimits {
    let d = RateLimits::default();
    let rate = |cx: &mut Ctx, name: &str, rate: Option<i64>, burst: Option<i64>, d: Rate| Rate {
        rate: cx.int(&format!("limits.{name}_rate"), rate, d.rate, 0, MAX),
        burst: cx.int(&format!("limits.{name}_burst"), burst, d.burst, 1, MAX),
    };
    RateLimits {
        icmp: rate(cx, "icmp", r.icmp_rate, r.icmp_burst, d.icmp),
        kernel: rate(cx, "kernel", r.kernel_rate, r.kernel_burst, d.kernel),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load;
    use crate::types::{Rate, RateLimits};

    const BASE: &str = "[dpdk]\nlcores = \"0-1\"\n[[port]]\nname = \"ext\"\ndevice = \"net_null0\"\naddress = \"198.18.0.1/24\"\n";

    #[test]
    fn defaults_and_values() {
        let m = load(BASE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.limits, RateLimits::default());
        assert_eq!(
            m.limits.icmp,
            Rate {
                rate: 1000,
                burst: 50
            }
        );
        let text = format!("{BASE}[limits]\nicmp_rate = 0\nkernel_rate = 200\nkernel_burst = 20\n");
        let m = load(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.limits.icmp, Rate { rate: 0, burst: 50 });
        assert_eq!(
            m.limits.kernel,
            Rate {
                rate: 200,
                burst: 20
            }
        );
        // save-config writes them back.
        let again = load(&crate::config::emit::emit(&m)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.limits, m.limits);
    }

    #[test]
    fn each_bad_value_names_its_key() {
        for (line, key) in [
            ("icmp_rate = -1", "limits.icmp_rate"),
            ("icmp_burst = 0", "limits.icmp_burst"),
            ("kernel_rate = 100000001", "limits.kernel_rate"),
            ("kernel_burst = \"many\"", "limits.kernel_burst"),
            ("ping_rate = 5", "limits.ping_rate"),
        ] {
            let e = load(&format!("{BASE}[limits]\n{line}\n")).expect_err(line);
            assert_eq!(e.len(), 1, "{e}");
            assert_eq!(e.0[0].path, key, "{e}");
            assert_eq!(e.0[0].line, Some(8), "{e}");
        }
    }
}
