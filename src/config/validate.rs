//! Semantic validation: turns a [`RawConfig`] into a [`Model`], collecting
//! every mistake (with key path and line) instead of stopping at the first.
//! Each section has its own validator (`globals`, `ports`, `services`,
//! `reals`, `checks`, `ha`, `mgmt`, `children`); this file runs them in
//! order.
//!
//! [`validate_model`] applies the rules that a model edited at runtime can
//! break (ranges, references, uniqueness) to the model itself; the messages
//! name the same key paths as for the file.

use super::check_def::Check;
use super::ctx::Ctx;
use super::error::Errors;
use super::globals::{
    check_timeouts, validate_arp, validate_conn, validate_dpdk, validate_log, validate_timeouts,
};
use super::model::{Model, Service};
use super::ports::{validate_neighbors, validate_ports, validate_routes, PortInfo};
use super::raw::{RawCheck, RawConfig};
use super::reals::effective_check;
use super::services::{check_services, validate_services};

/// Validates the whole file.
pub fn validate(cx: &mut Ctx, raw: RawConfig) -> Model {
    let mbufs_set = raw.dpdk.as_ref().is_some_and(|d| d.mbufs.is_some());
    let mut dpdk = validate_dpdk(cx, raw.dpdk);
    let (ports, infos) = validate_ports(cx, &raw.port);
    super::mbufs::settle(cx, &mut dpdk, &ports, mbufs_set);
    let neighbors = validate_neighbors(cx, &raw.neighbor, &infos);
    let routes = validate_routes(cx, &raw.route, &infos);
    let arp = validate_arp(cx, &raw.arp);
    let log = validate_log(cx, raw.log);
    let timeouts = validate_timeouts(cx, &raw.timeouts);
    let conn = validate_conn(cx, &raw.conn);
    let limits = super::limits::validate(cx, &raw.limits);
    let services = validate_services(cx, raw.service, &infos);
    let (control, metrics) = super::mgmt::validate(cx, &raw.control, &raw.metrics);
    let ha = raw.ha.as_ref().and_then(|h| super::ha::validate(cx, h));
    let children = super::children::validate(cx, &raw.children);
    Model {
        dpdk,
        ports,
        neighbors,
        routes,
        arp,
        log,
        timeouts,
        conn,
        limits,
        services,
        control,
        metrics,
        ha,
        children,
    }
}

/// Checks a model changed at runtime (services, reals, timeouts) against
/// the rules the file obeys. Errors carry no line (there is no file).
pub fn validate_model(m: &Model) -> Result<(), Errors> {
    let mut cx = Ctx::detached();
    let ports: Vec<PortInfo> = m
        .ports
        .iter()
        .map(|p| PortInfo {
            name: Some(p.name.clone()),
            net: Some(p.address),
        })
        .collect();
    check_timeouts(&mut cx, &m.timeouts);
    check_services(&mut cx, &m.services, &ports);
    cx.finish(())
}

/// The effective check of a real of `s` whose own check table is
/// `real_check` (both tables were validated when the file was loaded).
pub fn real_check(s: &Service, real_check: Option<&RawCheck>) -> Option<Check> {
    let mut cx = Ctx::detached();
    effective_check(&mut cx, "service", "real", s.check_raw.as_ref(), real_check)
}
