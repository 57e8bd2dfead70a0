//! Semantic validation: turns a [`RawConfig`] into a [`Model`], collecting
//! every mistake (with key path and line) instead of stopping at the first.
//! Each section has its own validator (`globals`, `ports`, `services`,
//! `checks`, `ha`, `mgmt`); this file runs them in order.

use super::ctx::Ctx;
use super::globals::{validate_arp, validate_conn, validate_dpdk, validate_log, validate_timeouts};
use super::model::Model;
use super::ports::{validate_neighbors, validate_ports, validate_routes};
use super::raw::RawConfig;
use super::services::validate_services;

/// Validates the whole file.
pub fn validate(cx: &mut Ctx, raw: RawConfig) -> Model {
    let dpdk = validate_dpdk(cx, raw.dpdk);
    let (ports, infos) = validate_ports(cx, &raw.port);
    let neighbors = validate_neighbors(cx, &raw.neighbor, &infos);
    let routes = validate_routes(cx, &raw.route, &infos);
    let arp = validate_arp(cx, &raw.arp);
    let log = validate_log(cx, raw.log);
    let timeouts = validate_timeouts(cx, &raw.timeouts);
    let conn = validate_conn(cx, &raw.conn);
    let services = validate_services(cx, raw.service, &infos);
    let (control, metrics) = super::mgmt::validate(cx, &raw.control, &raw.metrics);
    let ha = raw.ha.as_ref().and_then(|h| super::ha::validate(cx, h));
    Model {
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
    }
}
