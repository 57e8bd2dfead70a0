//! Validation of `[[service.real]]` entries: address, port and forwarding
//! method, weight and thresholds, the effective health check, and the
//! uniqueness of reals within a service.
//!
//! As in `services.rs`, the rules an edited real can break are small
//! functions used both for the file and, through [`check_reals`], for the
//! reals of an edited [`Service`].

use std::collections::HashMap;
use std::net::IpAddr;

use super::check_def::Check;
use super::checks;
use super::ctx::Ctx;
use super::model::{Method, Real, Service};
use super::net::parse_ip;
use super::raw::{RawCheck, RawReal};

/// Largest real weight (IPVS's limit).
const MAX_WEIGHT: i64 = 65_535;

/// A forwarding method name.
pub(super) fn parse_method(s: &str) -> Result<Method, String> {
    match s {
        "nat" => Ok(Method::Nat),
        "dr" => Ok(Method::Dr),
        "tun" => Ok(Method::Tun),
        _ => Err(format!(
            "unknown forwarding method '{s}': expected \"nat\", \"dr\" or \"tun\""
        )),
    }
}

/// Validates the reals of the service at `p`.
pub(super) fn validate_reals(
    cx: &mut Ctx,
    p: &str,
    raw: &[RawReal],
    svc_port: u16,
    svc_method: Method,
    vip: Option<IpAddr>,
    svc_check: Option<&RawCheck>,
) -> Vec<Real> {
    let mut out = Vec::new();
    for (k, r) in raw.iter().enumerate() {
        let rp = format!("{p}.real[{k}]");
        let apath = format!("{rp}.address");
        let a = cx.required(&apath, r.address.as_ref(), "the real server's IPv4 address");
        let address = cx.parse(&apath, a, parse_ip);
        address_not_vip(cx, &rp, address, vip);
        let method = cx
            .parse(&format!("{rp}.method"), r.method.as_deref(), parse_method)
            .unwrap_or(svc_method);
        let port: u16 = cx.int(&format!("{rp}.port"), r.port, svc_port, 0, 65_535);
        let port = same_port_unless_nat(cx, &rp, port, svc_port, method);
        let (weight, upper, lower) =
            weight_and_thresholds(cx, &rp, r.weight, r.upper_threshold, r.lower_threshold);
        let Some(address) = address else { continue };
        out.push((
            k,
            Real {
                address,
                port,
                weight,
                method,
                upper_threshold: upper,
                lower_threshold: lower,
                check_raw: r.check.clone(),
                check: effective_check(cx, p, &rp, svc_check, r.check.as_ref()),
            },
        ));
    }
    unique_reals(cx, p, out.iter().map(|(k, r)| (*k, r)));
    out.into_iter().map(|(_, r)| r).collect()
}

/// The rules the reals of an edited service can break.
pub(super) fn check_reals(cx: &mut Ctx, p: &str, s: &Service) {
    for (k, r) in s.reals.iter().enumerate() {
        let rp = format!("{p}.real[{k}]");
        address_not_vip(cx, &rp, Some(r.address), Some(s.vip));
        same_port_unless_nat(cx, &rp, r.port, s.port, r.method);
        weight_and_thresholds(
            cx,
            &rp,
            Some(i64::from(r.weight)),
            Some(i64::from(r.upper_threshold)),
            Some(i64::from(r.lower_threshold)),
        );
    }
    unique_reals(cx, p, s.reals.iter().enumerate());
}

/// The check of a real: the service's table overridden by the real's,
/// field by field, validated at the path of the table that applies.
pub(super) fn effective_check(
    cx: &mut Ctx,
    p: &str,
    rp: &str,
    svc_check: Option<&RawCheck>,
    real_check: Option<&RawCheck>,
) -> Option<Check> {
    match (svc_check, real_check) {
        (None, None) => None,
        (Some(s), None) => checks::validate(cx, &format!("{p}.check"), s),
        (None, Some(o)) => checks::validate(cx, &format!("{rp}.check"), o),
        (Some(s), Some(o)) => checks::validate(cx, &format!("{rp}.check"), &checks::merge(s, o)),
    }
}

fn address_not_vip(cx: &mut Ctx, rp: &str, address: Option<IpAddr>, vip: Option<IpAddr>) {
    if address.is_some() && address == vip {
        cx.err(
            &format!("{rp}.address"),
            "real server address equals the service VIP: expected a backend address",
        );
    }
}

/// Only NAT can change the port; otherwise the service port is used.
fn same_port_unless_nat(cx: &mut Ctx, rp: &str, port: u16, svc_port: u16, method: Method) -> u16 {
    if method != Method::Nat && port != svc_port {
        cx.err(&format!("{rp}.port"), format!("port {port} differs from the service port {svc_port}: \"{method}\" forwarding cannot change the port (omit it, or use method = \"nat\")"));
        return svc_port;
    }
    port
}

/// `weight` (0..=65535) and the connection thresholds (lower below upper).
fn weight_and_thresholds(
    cx: &mut Ctx,
    rp: &str,
    weight: Option<i64>,
    upper: Option<i64>,
    lower: Option<i64>,
) -> (u32, u32, u32) {
    let max = i64::from(u32::MAX);
    let weight: u32 = cx.int(&format!("{rp}.weight"), weight, 1, 0, MAX_WEIGHT);
    let upper: u32 = cx.int(&format!("{rp}.upper_threshold"), upper, 0, 0, max);
    let lower: u32 = cx.int(&format!("{rp}.lower_threshold"), lower, 0, 0, max);
    if upper != 0 && lower >= upper {
        cx.err(
            &format!("{rp}.lower_threshold"),
            format!("lower_threshold {lower} must be below upper_threshold {upper}"),
        );
    }
    (weight, upper, lower)
}

/// No two reals of one service share address and port.
fn unique_reals<'a>(cx: &mut Ctx, p: &str, reals: impl Iterator<Item = (usize, &'a Real)>) {
    let mut seen: HashMap<(IpAddr, u16), usize> = HashMap::new();
    for (k, r) in reals {
        if let Some(j) = seen.insert((r.address, r.port), k) {
            cx.err(
                &format!("{p}.real[{k}].address"),
                format!(
                    "duplicate real server {}:{}: already defined by real[{j}]",
                    r.address, r.port
                ),
            );
        }
    }
}
