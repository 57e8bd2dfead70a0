//! The lvsd rules every import is settled to, each change warned with the
//! source line (shown through keepalived input).
use super::*;

#[test]
fn services_and_reals_lvsd_would_refuse_are_warned() {
    let t = "\
virtual_server 10.0.0.1 80 {
    real_server 10.0.0.1 80 {
    }
    real_server 10.1.0.1 80 {
        weight 70000
        uthreshold 10
        lthreshold 10
    }
    real_server 10.1.0.1 80 {
    }
}
virtual_server 10.0.0.1 80 {
}
virtual_server 10.0.0.2 {
}
virtual_server 10.0.0.3 80 {
    ops
}
";
    let (m, ws) = run(Format::Keepalived, t);
    assert_eq!(m.services.len(), 2);
    let s = svc(&m, "10.0.0.1", 80);
    assert_eq!(s.reals.len(), 1);
    let r = real(s, "10.1.0.1");
    assert_eq!(
        (r.weight, r.upper_threshold, r.lower_threshold),
        (65_535, 10, 0)
    );
    assert_warned(&ws, 2, "is the service VIP");
    assert_warned(&ws, 4, "65535");
    assert_warned(&ws, 4, "below the upper threshold");
    assert_warned(&ws, 9, "listed twice");
    assert_warned(&ws, 12, "defined twice");
    assert_warned(&ws, 14, "needs persistence");
    assert_warned(&ws, 17, "UDP services only");
    assert!(!svc(&m, "10.0.0.3", 80).ops);
}
