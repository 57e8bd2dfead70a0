//! `[service.check]` / `[service.real.check]`: types, the real's override and
//! the https variant.

use super::{check, real, svc};
use crate::config::check_def::{CheckKind, StatusRange};
use crate::config::load;

rule!(
    check_type_unknown,
    real("[service.check]\ntype = \"ssl\"\n", ""),
    "service[0].check.type",
    "type = \"ssl\"",
    "expected tcp, http, https, send-expect, exec, udp, dns or none"
);

#[test]
fn https_check_is_http_over_tls_and_a_real_overrides_it() {
    let text = format!(
        "{}[[service.real]]\naddress = \"198.18.1.12\"\n  [service.real.check]\n  type = \"http\"\n",
        real(
            "[service.check]\ntype = \"https\"\npath = \"/health\"\nhost = \"www.example.com\"\nstatus = [200]\n",
            ""
        )
    );
    let m = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let reals = &m.services[0].reals;
    let kinds: Vec<_> = reals
        .iter()
        .map(|r| r.check.as_ref().map(|c| c.kind.clone()))
        .collect();
    let http = |tls| CheckKind::Http {
        method: "GET".into(),
        path: "/health".into(),
        host: Some("www.example.com".into()),
        status: vec![StatusRange::single(200)],
        body_regex: None,
        digest: None,
        tls,
    };
    assert_eq!(kinds, vec![Some(http(true)), Some(http(false))]);
    assert_eq!(kinds[0].as_ref().map(CheckKind::label), Some("https"));
}

rule!(
    https_check_bad_status,
    svc("[service.check]\ntype = \"https\"\nstatus = [700]\n[[service.real]]\naddress = \"198.18.1.11\"\n"),
    "service[0].check.status[0]",
    "status = [700]",
    "invalid status"
);
