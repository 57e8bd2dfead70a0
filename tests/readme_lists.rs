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

/// The README's configuration reference: the TOML block of
/// "## Configuration reference", which `lvsd.toml(5)` is generated from.
fn config_reference() -> toml_edit::DocumentMut {
    let text = readme::text();
    let sec = readme::section(&text, "## Configuration reference");
    let start = sec.find("```toml\n").expect("a ```toml block") + "```toml\n".len();
    let end = start + sec[start..].find("\n```").expect("a closed block");
    sec[start..end]
        .parse()
        .expect("the configuration reference is TOML")
}

/// The table an item holds: itself, the first of an array of tables, or
/// the first inline table of an array.
fn table_of(item: &mut toml_edit::Item) -> Option<&mut dyn toml_edit::TableLike> {
    if item.is_array_of_tables() {
        let first = item.as_array_of_tables_mut()?.get_mut(0)?;
        return Some(first as &mut dyn toml_edit::TableLike);
    }
    if item.is_array() {
        let first = item.as_array_mut()?.get_mut(0)?.as_inline_table_mut()?;
        return Some(first as &mut dyn toml_edit::TableLike);
    }
    item.as_table_like_mut()
}

/// One table the README shows: its path and the keys it documents there
/// (an empty table whose header says "same keys as [X]" documents X's).
type Documented = (Vec<String>, BTreeSet<String>, Option<String>);

/// The "[X]" an empty table's header comment refers to.
fn same_keys_as(item: &toml_edit::Item) -> Option<String> {
    let t = item.as_table().filter(|t| t.is_empty())?;
    let comment = t.decor().suffix()?.as_str()?;
    let rest = comment.split_once("same keys as [")?.1;
    Some(rest.split_once(']')?.0.to_string())
}

/// The keys the README documents in every table it shows, by path.
fn documented_tables(
    path: &[String],
    t: &mut dyn toml_edit::TableLike,
    alias: Option<String>,
    out: &mut Vec<Documented>,
) {
    let keys: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
    out.push((path.to_vec(), keys.iter().cloned().collect(), alias));
    for k in keys {
        let item = t.get_mut(&k).expect("a key just listed");
        let alias = same_keys_as(item);
        if let Some(sub) = table_of(item) {
            let mut p = path.to_vec();
            p.push(k);
            documented_tables(&p, sub, alias, out);
        }
    }
}

/// The keys the configuration reader knows in the table at `path`: an
/// unknown key put there is refused with the list of the known ones.
fn known_keys(path: &[String]) -> BTreeSet<String> {
    const PROBE: &str = "zz_probe_key";
    let mut doc = config_reference();
    let mut t: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for k in path {
        t = table_of(t.get_mut(k).expect("a documented table")).expect("a table");
    }
    t.insert(PROBE, toml_edit::value(0));
    let errs = match lvsd::config::load(&doc.to_string()) {
        Ok(_) => panic!("{PROBE} in [{}] was accepted", path.join(".")),
        Err(e) => e.to_string(),
    };
    let line = errs
        .lines()
        .find(|l| l.contains(&format!("unknown key `{PROBE}`")))
        .unwrap_or_else(|| panic!("no unknown-key error for [{}]: {errs}", path.join(".")));
    let expected = line.split_once("expected ").expect("the known keys").1;
    readme::code_spans(expected)
        .into_iter()
        .map(str::to_string)
        .collect()
}

#[test]
fn configuration_reference_documents_every_key_the_reader_knows() {
    let mut doc = config_reference();
    let mut tables = Vec::new();
    documented_tables(&[], doc.as_table_mut(), None, &mut tables);
    let mut wrong = Vec::new();
    for (path, documented, alias) in &tables {
        let known = known_keys(path);
        let documented = match alias {
            Some(a) => tables
                .iter()
                .find(|(p, ..)| p.join(".") == *a)
                .map(|(_, d, _)| d)
                .unwrap_or_else(|| {
                    panic!("[{}] refers to [{a}], which is not shown", path.join("."))
                }),
            None => documented,
        };
        let missing: Vec<_> = known.difference(documented).collect();
        let extra: Vec<_> = documented.difference(&known).collect();
        if !missing.is_empty() || !extra.is_empty() {
            wrong.push(format!(
                "[{}]: misses {missing:?}, names unknown {extra:?}",
                path.join(".")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "README '## Configuration reference' (lvsd.toml(5)) differs from the reader:\n{}",
        wrong.join("\n")
    );
}
