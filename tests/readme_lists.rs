//! The README's drop-reason list is the code's, exactly (the metric list is
//! held against a live scrape in `e2e_metrics`).
#[path = "common/readme.rs"]
mod readme;
use lvsd::datapath::DropReason;
use std::collections::BTreeSet;

#[test]
fn readme_lists_every_drop_reason_and_no_other() {
    let code: BTreeSet<String> = DropReason::ALL
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    let doc = readme::drop_reasons();
    let missing: Vec<_> = code.difference(&doc).collect();
    let extra: Vec<_> = doc.difference(&code).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README '### Drop reasons' misses {missing:?} and lists unknown {extra:?}"
    );
}

#[test]
fn metric_names_expand_alternatives_and_drop_labels() {
    assert_eq!(
        readme::expand("lvsd_port_{rx,tx}_{packets,bytes}_total"),
        [
            "lvsd_port_rx_packets_total",
            "lvsd_port_rx_bytes_total",
            "lvsd_port_tx_packets_total",
            "lvsd_port_tx_bytes_total"
        ]
    );
    assert_eq!(
        readme::expand("lvsd_worker_drops_total{reason}"),
        ["lvsd_worker_drops_total"]
    );
}

#[test]
fn readme_layout_names_every_part_of_src() {
    let text = readme::text();
    let layout = readme::section(&text, "## Layout");
    let spans = readme::code_spans(layout);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut missing = Vec::new();
    for e in std::fs::read_dir(dir).expect("src").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let shown = if e.path().is_dir() {
            format!("src/{name}/")
        } else {
            format!("src/{name}")
        };
        if !spans.iter().any(|s| *s == shown) {
            missing.push(shown);
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "README '## Layout' does not name {missing:?}"
    );
}
