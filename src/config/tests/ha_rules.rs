//! Validation rules of `[ha]` `track` entries: each broken entry yields
//! exactly one error naming the key path (`ha.track[i].<key>`) and line.

use super::{check, errs, BASE};
use crate::config::load;
use std::time::Duration;

/// BASE with a valid `[ha]` whose last line is `extra`.
fn ha(extra: &str) -> String {
    format!(
        "{BASE}\n[ha]\nnode = \"lvs-a\"\npeer = \"198.18.9.2:5511\"\nlisten = \"198.18.9.1:5511\"\nkey_file = \"/etc/lvsd/ha.key\"\n{extra}\n"
    )
}

#[test]
fn track_entries_load_with_defaults() {
    let text = ha("track = [{ command = \"/bin/true -x\", interval_ms = 200, fall = 3, rise = 2 }, { command = \"/bin/false\" }]");
    let m = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let t = &m.ha.as_ref().unwrap().track;
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].command, "/bin/true -x");
    assert_eq!(
        (t[0].interval, t[0].fall, t[0].rise),
        (Duration::from_millis(200), 3, 2)
    );
    assert_eq!(
        (t[1].interval, t[1].fall, t[1].rise),
        (Duration::from_secs(1), 1, 1)
    );
    // The array-of-tables spelling is the same thing.
    let text = ha("[[ha.track]]\ncommand = \"/bin/false\"\nfall = 2\n");
    let m = load(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.ha.unwrap().track[0].fall, 2);
}

rule!(
    track_command_missing,
    ha("track = [{ interval_ms = 200 }]"),
    "ha.track[0].command",
    "track =",
    "missing key: the command to run"
);
rule!(
    track_command_empty,
    ha("track = [{ command = \"/bin/true\" }, { command = \"  \" }]"),
    "ha.track[1].command",
    "track =",
    "empty command"
);
rule!(
    track_interval,
    ha("track = [{ command = \"/bin/true\", interval_ms = 5 }]"),
    "ha.track[0].interval_ms",
    "track =",
    "expected an integer in 10..=3600000"
);
rule!(
    track_fall,
    ha("track = [{ command = \"/bin/true\", fall = 0 }]"),
    "ha.track[0].fall",
    "track =",
    "expected an integer in 1..=1000"
);
rule!(
    track_rise,
    ha("track = [{ command = \"/bin/true\", rise = 1001 }]"),
    "ha.track[0].rise",
    "track =",
    "expected an integer in 1..=1000"
);
rule!(
    track_unknown_key,
    ha("track = [{ command = \"/bin/true\", timeout_ms = 5 }]"),
    "ha.track[0].timeout_ms",
    "track =",
    "unknown key `timeout_ms`"
);
rule!(
    track_not_tables,
    ha("track = \"/bin/true\""),
    "ha.track",
    "track =",
    "expected an array of tables"
);

#[test]
fn every_track_mistake_is_reported_at_once() {
    let e = errs(&ha(
        "track = [{ interval_ms = 1 }, { command = \"/bin/true\", fall = 0, rise = 0 }]",
    ));
    let paths: Vec<&str> = e.0.iter().map(|x| x.path.as_str()).collect();
    for p in [
        "ha.track[0].command",
        "ha.track[0].interval_ms",
        "ha.track[1].fall",
        "ha.track[1].rise",
    ] {
        assert!(paths.contains(&p), "{p} in {paths:?}");
    }
}
