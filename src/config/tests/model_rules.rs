//! `validate_model`: the rules a model edited at runtime can break, checked
//! on the model itself, with the key paths the file's errors name.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::{real, FULL};
use crate::config::{load, validate_model, Method, Model};

fn model(text: &str) -> Model {
    load(text).unwrap_or_else(|e| panic!("{e}"))
}

/// The single error of `validate_model(m)`, as `(path, message)`.
fn one_error(m: &Model) -> (String, String) {
    let e = validate_model(m).expect_err("an invalid model");
    assert_eq!(e.len(), 1, "{e}");
    assert_eq!(e.0[0].line, None, "{e}");
    (e.0[0].path.clone(), e.0[0].message.clone())
}

#[test]
fn a_loaded_model_is_valid() {
    assert_eq!(validate_model(&model(FULL)), Ok(()));
}

#[test]
fn weight_out_of_range() {
    let mut m = model(&real("", ""));
    m.services[0].reals[0].weight = 70_000;
    let (path, msg) = one_error(&m);
    assert_eq!(path, "service[0].real[0].weight");
    assert!(msg.contains("expected an integer in 0..=65535"), "{msg}");
}

#[test]
fn dr_real_cannot_change_the_port() {
    let mut m = model(&real("", ""));
    m.services[0].reals[0].port = 8080;
    let (path, msg) = one_error(&m);
    assert_eq!(path, "service[0].real[0].port");
    assert!(msg.contains("differs from the service port 80"), "{msg}");
    m.services[0].reals[0].method = Method::Nat;
    assert_eq!(validate_model(&m), Ok(()));
}

#[test]
fn duplicate_real_and_service() {
    let mut m = model(&real("", ""));
    let r = m.services[0].reals[0].clone();
    m.services[0].reals.push(r);
    let (path, msg) = one_error(&m);
    assert_eq!(path, "service[0].real[1].address");
    assert!(
        msg.contains("duplicate real server 198.18.1.11:80"),
        "{msg}"
    );

    let mut m = model(&real("", ""));
    let mut s = m.services[0].clone();
    s.name = "other".into();
    m.services.push(s);
    let (path, msg) = one_error(&m);
    assert_eq!(path, "service[1].vip");
    assert!(
        msg.contains("duplicate service tcp 198.18.0.100:80"),
        "{msg}"
    );
}

#[test]
fn vip_thresholds_persistence_and_timeouts() {
    let mut m = model(&real("", ""));
    m.services[0].vip = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
    assert_eq!(one_error(&m).0, "service[0].vip");

    let mut m = model(&real("", ""));
    m.services[0].reals[0].upper_threshold = 5;
    m.services[0].reals[0].lower_threshold = 5;
    assert_eq!(one_error(&m).0, "service[0].real[0].lower_threshold");

    let mut m = model(&real("persistence = { timeout = 60 }", ""));
    m.services[0].persistence.as_mut().unwrap().netmask = Ipv4Addr::new(255, 0, 255, 0);
    let (path, msg) = one_error(&m);
    assert_eq!(path, "service[0].persistence.netmask");
    assert!(msg.contains("not contiguous"), "{msg}");

    let mut m = model(&real("", ""));
    m.timeouts.udp = Duration::from_secs(3_000_000);
    assert_eq!(one_error(&m).0, "timeouts.udp");
}

#[test]
fn a_real_added_at_runtime_gets_the_service_check() {
    let m = model(&real(
        "[service.check]\ntype = \"http\"\npath = \"/health\"\n",
        "  [service.real.check]\n  path = \"/own\"\n",
    ));
    let s = &m.services[0];
    let inherited = crate::config::real_check(s, None).expect("the service's check");
    assert_eq!(
        inherited.kind,
        crate::config::check_def::CheckKind::http_get("/health")
    );
    let own = s.reals[0].check_raw.as_ref();
    assert_eq!(crate::config::real_check(s, own), s.reals[0].check);
}
