//! Maps key paths (`service[0].real[2].weight`) to line numbers and byte
//! offsets back to key paths.
//!
//! The text is parsed a second time with `toml_edit::ImDocument`, which keeps
//! the byte span of every key, value and table header. Lookups are
//! best-effort: a missing key resolves to the line of its nearest existing
//! ancestor (e.g. the `[[port]]` header for a missing `port[0].device`).

use std::ops::Range;

use toml_edit::{ImDocument, Item, TableLike, TomlError, Value};

/// One step of a key path: a key, optionally followed by an array index.
#[derive(Debug, PartialEq, Eq)]
struct Segment<'a> {
    key: &'a str,
    index: Option<usize>,
}

fn parse_path(path: &str) -> Vec<Segment<'_>> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(|part| match part.split_once('[') {
            Some((key, rest)) => Segment {
                key,
                index: rest.trim_end_matches(']').parse().ok(),
            },
            None => Segment {
                key: part,
                index: None,
            },
        })
        .collect()
}

/// Line lookup over one configuration text.
pub struct Spans {
    doc: Option<ImDocument<String>>,
    line_starts: Vec<usize>,
}

impl Spans {
    /// Indexes `text`; if it is not valid TOML only offset→line works.
    pub fn new(text: &str) -> Self {
        Spans {
            doc: ImDocument::parse(text.to_owned()).ok(),
            line_starts: line_starts(text),
        }
    }

    /// Parses `text` once: the document (for the reader) with its spans.
    pub fn parse(text: &str) -> Result<Self, TomlError> {
        Ok(Spans {
            doc: Some(ImDocument::parse(text.to_owned())?),
            line_starts: line_starts(text),
        })
    }

    /// Line lookup only, for a text that is not valid TOML.
    pub fn lines_only(text: &str) -> Self {
        Spans {
            doc: None,
            line_starts: line_starts(text),
        }
    }

    /// The parsed document's root table (`None` if the text is not TOML).
    pub fn root(&self) -> Option<&toml_edit::Table> {
        self.doc.as_ref().map(|d| d.as_table())
    }

    /// 1-based line of a byte offset.
    pub fn line_of_offset(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset).max(1)
    }

    /// 1-based line of the key at `path`, or of its nearest existing ancestor.
    pub fn line(&self, path: &str) -> Option<usize> {
        self.span(path).map(|r| self.line_of_offset(r.start))
    }

    fn span(&self, path: &str) -> Option<Range<usize>> {
        let doc = self.doc.as_ref()?;
        let mut item: &Item = doc.as_item();
        let mut best: Option<Range<usize>> = None;
        for seg in parse_path(path) {
            let Some((key, value)) = item.as_table_like().and_then(|t| t.get_key_value(seg.key))
            else {
                break;
            };
            best = value.span().or_else(|| key.span()).or(best);
            item = value;
            if let Some(i) = seg.index {
                let Some(elem) = item.get(i) else { break };
                best = elem.span().or(best);
                item = elem;
            }
        }
        best
    }

    /// The deepest key path whose key, value or table header covers `offset`.
    pub fn path_at(&self, offset: usize) -> Option<String> {
        let doc = self.doc.as_ref()?;
        let mut best = None;
        walk_table(doc.as_table(), "", 0, offset, &mut best);
        best.map(|(_, p)| p)
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    starts
}

fn covers(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|r| r.start <= offset && offset < r.end.max(r.start + 1))
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

type Best = Option<(usize, String)>;

fn consider(best: &mut Best, depth: usize, path: &str) {
    if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
        *best = Some((depth, path.to_owned()));
    }
}

fn walk_table(t: &dyn TableLike, prefix: &str, depth: usize, off: usize, best: &mut Best) {
    for (name, _) in t.iter() {
        let Some((key, item)) = t.get_key_value(name) else {
            continue;
        };
        let path = join(prefix, name);
        if covers(key.span(), off) || covers(item.span(), off) {
            consider(best, depth + 1, &path);
        }
        walk_item(item, &path, depth + 1, off, best);
    }
}

fn walk_item(item: &Item, path: &str, depth: usize, off: usize, best: &mut Best) {
    match item {
        Item::Table(t) => walk_table(t, path, depth, off, best),
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if covers(t.span(), off) {
                    consider(best, depth + 1, &p);
                }
                walk_table(t, &p, depth + 1, off, best);
            }
        }
        Item::Value(v) => walk_value(v, path, depth, off, best),
        Item::None => {}
    }
}

fn walk_value(v: &Value, path: &str, depth: usize, off: usize, best: &mut Best) {
    match v {
        Value::InlineTable(t) => walk_table(t, path, depth, off, best),
        Value::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if covers(e.span(), off) {
                    consider(best, depth + 1, &p);
                }
                walk_value(e, &p, depth + 1, off, best);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[dpdk]\nlcores = \"0-1\"\n\n[[port]]\nname = \"a\"\n\n[[port]]\nname = \"b\"\naddress = \"x\"\n\n[[service]]\npersistence = { timeout = 5 }\n[[service.real]]\naddress = \"r\"\n";

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("service[0].real[2].weight"),
            vec![
                Segment {
                    key: "service",
                    index: Some(0)
                },
                Segment {
                    key: "real",
                    index: Some(2)
                },
                Segment {
                    key: "weight",
                    index: None
                },
            ]
        );
    }

    #[test]
    fn lines() {
        let s = Spans::new(TEXT);
        assert_eq!(s.line("dpdk.lcores"), Some(2));
        assert_eq!(s.line("dpdk"), Some(1));
        assert_eq!(s.line("port[1].address"), Some(9));
        assert_eq!(s.line("port[1].device"), Some(7));
        assert_eq!(s.line("port[0]"), Some(4));
        assert_eq!(s.line("service[0].persistence.timeout"), Some(12));
        assert_eq!(s.line("service[0].real[0].address"), Some(14));
        assert_eq!(s.line("service[0].real[0].weight"), Some(13));
        assert_eq!(s.line("arp.timeout_s"), None);
        assert_eq!(s.line_of_offset(0), 1);
    }

    #[test]
    fn reverse() {
        let s = Spans::new(TEXT);
        let off = TEXT.find("address = \"x\"").unwrap();
        assert_eq!(s.path_at(off).as_deref(), Some("port[1].address"));
        let off = TEXT.find("timeout = 5").unwrap();
        assert_eq!(
            s.path_at(off).as_deref(),
            Some("service[0].persistence.timeout")
        );
    }
}
