//! The names the README lists (drop reasons, metric families), read from
//! the README itself, so tests can hold the lists against the code.
#![allow(dead_code)]
use std::collections::BTreeSet;

/// The README's text.
pub fn text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// The body of the section whose heading line is `heading` (up to the next
/// heading of any level).
pub fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no section '{heading}'"))
        + heading.len()
        + 2;
    let rest = &readme[start..];
    let end = rest.find("\n#").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// Every `code span` in `text`.
pub fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Expands shell-style alternatives: `a_{x,y}_b` → `a_x_b`, `a_y_b`. A
/// brace group without a comma is a label list (`_total{reason}`) and is
/// dropped.
pub fn expand(name: &str) -> Vec<String> {
    let Some(open) = name.find('{') else {
        return vec![name.to_string()];
    };
    let Some(close) = name[open..].find('}').map(|c| open + c) else {
        return vec![name.to_string()];
    };
    let (head, group, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    if !group.contains(',') {
        return expand(&format!("{head}{tail}"));
    }
    group
        .split(',')
        .flat_map(|alt| expand(&format!("{head}{alt}{tail}")))
        .collect()
}

/// Every metric family the README names anywhere (code spans starting
/// with `lvsd_`, alternatives expanded, label lists dropped).
pub fn metric_names() -> BTreeSet<String> {
    let readme = text();
    code_spans(&readme)
        .into_iter()
        .filter(|s| s.starts_with("lvsd_"))
        .filter(|s| {
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_{},=\"".contains(c))
        })
        .flat_map(expand)
        .collect()
}

/// The drop reasons listed under "### Drop reasons".
pub fn drop_reasons() -> BTreeSet<String> {
    let readme = text();
    code_spans(section(&readme, "### Drop reasons"))
        .into_iter()
        .filter(|s| {
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect()
}
