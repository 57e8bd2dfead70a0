//! Layers point one way (ARCHITECTURE.md, "Layers"): every `crate::<module>`
//! path in `src/<module>/**.rs` and `src/<module>.rs` (and every `super::`
//! chain that climbs out of its top-level module) must name a module its
//! layer may import, by the table below. Everything is checked, `#[cfg(test)]`
//! code included: a test below `ctl` that needs `ctl` is a layering bug too.
//! Comments and string literals are not code and are skipped; `src/lib.rs`
//! (the module list) and `src/bin/` (the top) are not checked.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may import, bottom to top.
const ALLOWED: &[(&str, &[&str])] = &[
    ("types", &[]),
    ("packet", &["types"]),
    ("frame", &["packet"]),
    ("sched", &["types"]),
    ("conn", &["types", "packet"]),
    ("xlate", &["types", "packet", "frame"]),
    ("config", &["types"]),
    (
        "datapath",
        &[
            "types", "packet", "frame", "sched", "conn", "xlate", "config",
        ],
    ),
    ("dpdk", &["types", "frame"]),
    (
        "worker",
        &[
            "types", "packet", "frame", "sched", "conn", "xlate", "config", "datapath", "dpdk",
        ],
    ),
    ("health", &["types", "config"]),
    ("ha", &["types", "config"]),
    ("ipvsadm", &["types", "config"]),
    ("import", &["types", "config"]),
    (
        "perfgen",
        &[
            "types", "packet", "frame", "sched", "conn", "xlate", "config", "datapath", "dpdk",
            "worker",
        ],
    ),
    (
        "ctl",
        &[
            "types", "packet", "frame", "sched", "conn", "xlate", "config", "datapath", "dpdk",
            "worker", "health", "ha", "ipvsadm", "perfgen",
        ],
    ),
    ("app", &["*"]),
    ("demo", &["*"]),
    ("testbed", &["*"]),
];

/// Edges still present that other changes remove; each must disappear from
/// this list (the test fails once an entry is no longer used).
const TEMPORARY: &[(&str, &str)] = &[];

/// One `module -> target` reference at `file:line`.
#[derive(Debug)]
struct Edge {
    from: String,
    to: String,
    file: PathBuf,
    line: usize,
}

/// `text` with comments, string and char literals blanked (newlines kept,
/// so offsets keep their line numbers).
fn code_only(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        let prev_ident = i > 0 && ident(b[i - 1]);
        if b[i..].starts_with(b"//") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if !prev_ident && (b[i] == b'r' || b[i..].starts_with(b"br")) && raw_start(b, i) {
            let mut j = i + if b[i] == b'b' { 2 } else { 1 };
            let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
            j += hashes + 1;
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            j = (j + close.len()).min(b.len());
            blank(&mut out, i, j);
            i = j;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|n| i + 2 + n)
            } else {
                let w = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + w) == Some(&b'\'')).then_some(i + 1 + w)
            };
            match end {
                Some(e) => {
                    blank(&mut out, i, e + 1);
                    i = e + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Whether a raw string literal (`r"`, `r#"`, `br"`...) starts at `i`.
fn raw_start(b: &[u8], i: usize) -> bool {
    let j = i + if b[i] == b'b' { 2 } else { 1 };
    let hashes = b[j.min(b.len())..]
        .iter()
        .take_while(|&&c| c == b'#')
        .count();
    b.get(j + hashes) == Some(&b'"')
}

/// The identifiers a path continues with at `i` (just after `::`): one
/// name, or each first name of a `{a, b::c, self}` group.
fn path_heads(code: &[u8], mut i: usize) -> Vec<(String, usize)> {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let skip_ws = |i: &mut usize| {
        while *i < code.len() && code[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let word = |i: usize| {
        let n = code[i..].iter().take_while(|&&c| ident(c)).count();
        String::from_utf8_lossy(&code[i..i + n]).into_owned()
    };
    skip_ws(&mut i);
    if code.get(i) != Some(&b'{') {
        return vec![(word(i), i)];
    }
    let (mut heads, mut depth, mut expect) = (Vec::new(), 0, true);
    while i < code.len() {
        match code[i] {
            b'{' => {
                depth += 1;
                expect = depth == 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            b',' if depth == 1 => expect = true,
            c if ident(c) && expect => {
                heads.push((word(i), i));
                expect = false;
                i += heads.last().map_or(1, |h| h.0.len());
                continue;
            }
            c if !c.is_ascii_whitespace() => expect = false,
            _ => {}
        }
        i += 1;
    }
    heads
}

/// The offset after `::` if one follows `i` (spaces allowed around it).
fn colons(code: &[u8], mut i: usize) -> Option<usize> {
    while i < code.len() && code[i].is_ascii_whitespace() {
        i += 1;
    }
    code[i..].starts_with(b"::").then_some(i + 2)
}

/// Depth of the module a file is, counted from the crate root
/// (`src/a.rs`, `src/a/mod.rs`: 1; `src/a/b.rs`: 2).
fn file_depth(rel: &Path) -> usize {
    let parts: Vec<_> = rel.components().collect();
    let last = rel.file_name().and_then(|s| s.to_str()).unwrap_or("");
    parts.len() - usize::from(last == "mod.rs")
}

/// The top-level modules named by the code of one file (by `crate::`,
/// `$crate::` or a `super::` chain that reaches the crate root).
fn references(text: &str, rel: &Path) -> Vec<(String, usize)> {
    let code = code_only(text);
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let line_of = |at: usize| code[..at].iter().filter(|&&c| c == b'\n').count() + 1;
    let base = file_depth(rel);
    // Inline `mod x { .. }` blocks: brace depth at which each one opened.
    let (mut inline, mut braces): (Vec<usize>, usize) = (Vec::new(), 0);
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        if c == b'{' {
            braces += 1;
        } else if c == b'}' {
            braces = braces.saturating_sub(1);
            if inline.last() == Some(&braces) {
                inline.pop();
            }
        }
        let starts_word = (i == 0 || !ident(code[i - 1])) && ident(c);
        if !starts_word {
            i += 1;
            continue;
        }
        let n = code[i..].iter().take_while(|&&c| ident(c)).count();
        let w = &code[i..i + n];
        if w == b"mod" {
            let mut j = i + n;
            while j < code.len() && (ident(code[j]) || code[j].is_ascii_whitespace()) {
                j += 1;
            }
            if code.get(j) == Some(&b'{') {
                inline.push(braces);
            }
        } else if let (b"crate", Some(j)) = (w, colons(&code, i + n)) {
            for (m, at) in path_heads(&code, j) {
                found.push((m, line_of(at)));
            }
        } else if w == b"super" {
            let (mut supers, mut j) = (0, i);
            while code[j..].starts_with(b"super::") {
                supers += 1;
                j += 7;
            }
            if supers > 0 && supers >= base + inline.len() {
                for (m, at) in path_heads(&code, j) {
                    found.push((m, line_of(at)));
                }
            }
            i = j.max(i + n);
            continue;
        }
        i += n;
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Every cross-module reference under `src`, by its file's top-level module.
fn edges(src: &Path) -> Vec<Edge> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut all = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src").to_path_buf();
        let top = rel.components().next().expect("a component");
        let top = top.as_os_str().to_string_lossy();
        let from = top.strip_suffix(".rs").unwrap_or(&top).to_string();
        if from == "lib" || from == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        for (to, line) in references(&text, &rel) {
            if to != from {
                all.push(Edge {
                    from: from.clone(),
                    to,
                    file: file.clone(),
                    line,
                });
            }
        }
    }
    all
}

/// The layering findings for the tree at `src`; empty when all is well.
fn check(src: &Path) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut problems = Vec::new();
    let mut used_temporary = BTreeSet::new();
    for e in edges(src) {
        let Some(ok) = allowed.get(e.from.as_str()) else {
            problems.push(format!(
                "{}:{}: module `{}` is not in the layer table (tests/layers.rs ALLOWED)",
                e.file.display(),
                e.line,
                e.from
            ));
            continue;
        };
        if ok.contains(&"*") || ok.contains(&e.to.as_str()) {
            continue;
        }
        if TEMPORARY.contains(&(e.from.as_str(), e.to.as_str())) {
            used_temporary.insert((e.from.clone(), e.to.clone()));
            continue;
        }
        problems.push(format!(
            "{}:{}: `{}` imports `crate::{}`, which its layer may not",
            e.file.display(),
            e.line,
            e.from,
            e.to
        ));
    }
    for (from, to) in TEMPORARY {
        if !used_temporary.contains(&(from.to_string(), to.to_string())) {
            problems.push(format!(
                "temporary exception {from} -> {to} is no longer used: delete it from TEMPORARY"
            ));
        }
    }
    problems
}

#[test]
fn layers_import_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = check(&src);
    assert!(
        problems.is_empty(),
        "layering violations:\n{}",
        problems.join("\n")
    );
}

/// The reader itself: what counts as a reference and what does not.
#[test]
fn references_are_read_from_code_only() {
    let text = r##"
//! Docs may name crate::ctl freely.
use crate::{types::PortId, config::{self, Model}};
use super::sibling;
/* crate::app in a block comment */
const S: &str = "crate::worker in a string";
const R: &str = r#"crate::worker in a raw string"#;
const C: char = '"';
fn f<'a>(x: &'a str) -> crate::packet::Thing { crate :: frame::g() }
mod tests {
    use super::super::super::health::X;
    use super::super::index::Y;
    use super::*;
}
"##;
    let refs: Vec<String> = references(text, Path::new("conn/table.rs"))
        .into_iter()
        .map(|(m, line)| format!("{m}@{line}"))
        .collect();
    assert_eq!(
        refs,
        ["types@3", "config@3", "packet@9", "frame@9", "health@11"],
        "in:\n{text}"
    );
}
