//! Damaged sources: every sample with each line removed, cut after each
//! line, or with each line's numbers made huge or zero. No import panics,
//! and every output passes lvsd's validation (an `Invalid` result fails).
use super::*;

const SAMPLES: [(Format, &str); 3] = [
    (
        Format::Keepalived,
        include_str!("../../../tests/data/import/keepalived.conf"),
    ),
    (
        Format::Ldirectord,
        include_str!("../../../tests/data/import/ldirectord.cf"),
    ),
    (
        Format::Piranha,
        include_str!("../../../tests/data/import/lvs.cf"),
    ),
];

/// `line` with every run of digits replaced by `with`.
fn renumber(line: &str, with: &str) -> String {
    let mut out = String::new();
    let mut in_num = false;
    for c in line.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                out.push_str(with);
            }
            in_num = true;
        } else {
            out.push(c);
            in_num = false;
        }
    }
    out
}

#[test]
fn damaged_samples_still_give_valid_configurations() {
    for (format, text) in SAMPLES {
        let lines: Vec<&str> = text.lines().collect();
        for i in 0..lines.len() {
            let mut variants = vec![
                lines[..i].join("\n"),
                [&lines[..i], &lines[i + 1..]].concat().join("\n"),
            ];
            for with in ["99999999999999999999", "0"] {
                let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                v[i] = renumber(lines[i], with);
                variants.push(v.join("\n"));
            }
            for v in variants {
                if let Err(e) = import_text(format, "src.conf", &v, None) {
                    panic!("{format:?}, line {}: {e}\n--- source ---\n{v}", i + 1);
                }
            }
        }
    }
}

#[test]
fn control_characters_stay_out_of_comments() {
    let t = "virtual_server 10.0.0.1 80 { \u{c}\n    real_server 10.1.0.1 80 {\u{1b}\n    }\n}\n";
    let (m, _) = run(Format::Keepalived, t);
    assert_eq!(m.services[0].reals.len(), 1);
}

#[test]
fn a_file_that_is_not_utf8_is_read_lossily() {
    let p = std::env::temp_dir().join(format!("lvsd-import-latin1-{}.cf", std::process::id()));
    std::fs::write(
        &p,
        b"# caf\xe9\nvirtual=10.0.0.1:80\n\treal=10.1.0.1:80 gate\n",
    )
    .unwrap();
    let out = super::super::import_file(Format::Ldirectord, &p);
    let _ = std::fs::remove_file(&p);
    let out = out.unwrap_or_else(|e| panic!("{e}"));
    assert!(out.toml.contains("10.1.0.1"), "{}", out.toml);
}
