//! The tokenizer the importers share: source text → lines of words, each
//! line with its file and line number, comments removed and double quotes
//! resolved; and, for the brace-structured formats (keepalived, Piranha),
//! the lines → a tree of [`Node`]s.
use super::notes::{Located, Notes};

/// A place in a source file (1-based line).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: String,
    pub line: usize,
}

/// Lexical rules of one format.
pub struct Syntax {
    /// Characters that start a comment outside quotes.
    pub comments: &'static [char],
    /// Characters that are words of their own outside quotes.
    pub specials: &'static [char],
}

/// keepalived: `#` and `!` comments, braces.
pub const KEEPALIVED: Syntax = Syntax {
    comments: &['#', '!'],
    specials: &['{', '}'],
};
/// Piranha lvs.cf: `#` comments, braces, `key = value`.
pub const PIRANHA: Syntax = Syntax {
    comments: &['#'],
    specials: &['{', '}', '='],
};
/// ldirectord.cf: `#` comments, `key = value`, sections by indentation.
pub const LDIRECTORD: Syntax = Syntax {
    comments: &['#'],
    specials: &['='],
};

/// One word; `quoted` when it was written in double quotes (a quoted `{`
/// is text, not a brace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub quoted: bool,
}

impl Word {
    /// Whether this is the unquoted special `c`.
    pub fn is(&self, c: &str) -> bool {
        !self.quoted && self.text == c
    }
}

/// One non-empty source line.
#[derive(Clone, Debug)]
pub struct Line {
    pub loc: Loc,
    /// Starts with a space or tab (ldirectord's virtual sections).
    pub indented: bool,
    pub words: Vec<Word>,
    /// The line as written, trimmed.
    pub source: String,
}

impl Located for Line {
    fn loc(&self) -> &Loc {
        &self.loc
    }
    fn source(&self) -> &str {
        &self.source
    }
}

/// Splits `text` into lines of words by `syn`; lines without words are
/// left out.
pub fn lex(text: &str, file: &str, syn: &Syntax) -> Vec<Line> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let words = words(raw, syn);
        if words.is_empty() {
            continue;
        }
        out.push(Line {
            loc: Loc {
                file: file.to_string(),
                line: i + 1,
            },
            indented: raw.starts_with([' ', '\t']),
            words,
            source: raw.trim().to_string(),
        });
    }
    out
}

/// The words of one line.
fn words(raw: &str, syn: &Syntax) -> Vec<Word> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = raw.chars();
    let flush = |cur: &mut String, out: &mut Vec<Word>| {
        if !cur.is_empty() {
            out.push(Word {
                text: std::mem::take(cur),
                quoted: false,
            });
        }
    };
    while let Some(c) = chars.next() {
        if c == '"' {
            flush(&mut cur, &mut out);
            let text: String = chars.by_ref().take_while(|&q| q != '"').collect();
            out.push(Word { text, quoted: true });
        } else if syn.comments.contains(&c) {
            break;
        } else if syn.specials.contains(&c) {
            flush(&mut cur, &mut out);
            out.push(Word {
                text: c.to_string(),
                quoted: false,
            });
        } else if c.is_whitespace() {
            flush(&mut cur, &mut out);
        } else {
            cur.push(c);
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// A statement and, when it opens a block, its children.
#[derive(Clone, Debug)]
pub struct Node {
    pub loc: Loc,
    pub source: String,
    pub words: Vec<Word>,
    pub children: Option<Vec<Node>>,
}

impl Located for Node {
    fn loc(&self) -> &Loc {
        &self.loc
    }
    fn source(&self) -> &str {
        &self.source
    }
}

impl Node {
    /// The keyword (first word), `""` for none.
    pub fn key(&self) -> &str {
        self.words.first().map_or("", |w| w.text.as_str())
    }

    /// The `i`-th argument after the keyword.
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i + 1).map(|w| w.text.as_str())
    }

    /// The arguments after the keyword, joined by spaces.
    pub fn rest(&self) -> String {
        let v: Vec<&str> = self.words.iter().skip(1).map(|w| w.text.as_str()).collect();
        v.join(" ")
    }

    /// The children (empty for a plain statement).
    pub fn kids(&self) -> &[Node] {
        self.children.as_deref().unwrap_or(&[])
    }
}

/// Builds the block tree of brace-structured lines. A `{` alone on a line
/// opens the block of the statement before it. Unbalanced braces are
/// warned about and closed.
pub fn blocks(lines: Vec<Line>, notes: &mut Notes) -> Vec<Node> {
    // Each frame: the node whose block is open (None for the root) and the
    // children gathered so far.
    let mut stack: Vec<(Option<Node>, Vec<Node>)> = vec![(None, Vec::new())];
    for line in lines {
        let mut buf: Vec<Word> = Vec::new();
        let node = |words: Vec<Word>| Node {
            loc: line.loc.clone(),
            source: line.source.clone(),
            words,
            children: None,
        };
        for w in line.words.iter().cloned() {
            if w.is("{") {
                let frame = stack.last_mut().map(|f| &mut f.1);
                let reopen = buf.is_empty()
                    && frame
                        .as_ref()
                        .and_then(|f| f.last())
                        .is_some_and(|n| n.children.is_none());
                let open = match (reopen, frame) {
                    (true, Some(f)) => f.pop().unwrap_or_else(|| node(Vec::new())),
                    _ => node(std::mem::take(&mut buf)),
                };
                stack.push((Some(open), Vec::new()));
            } else if w.is("}") {
                if !buf.is_empty() {
                    if let Some(f) = stack.last_mut() {
                        f.1.push(node(std::mem::take(&mut buf)));
                    }
                }
                if stack.len() == 1 {
                    notes.warn(&line, "unmatched `}`: ignored");
                    continue;
                }
                close(&mut stack);
            } else {
                buf.push(w);
            }
        }
        if !buf.is_empty() {
            if let Some(f) = stack.last_mut() {
                f.1.push(node(buf));
            }
        }
    }
    while stack.len() > 1 {
        if let Some(Some(open)) = stack.last().map(|f| f.0.as_ref()) {
            notes.warn(open, "block not closed by `}` before the end of the file");
        }
        close(&mut stack);
    }
    stack.pop().map(|f| f.1).unwrap_or_default()
}

/// Closes the innermost open block into its parent frame.
fn close(stack: &mut Vec<(Option<Node>, Vec<Node>)>) {
    if let Some((Some(mut open), kids)) = stack.pop() {
        open.children = Some(kids);
        if let Some(parent) = stack.last_mut() {
            parent.1.push(open);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(l: &Line) -> Vec<&str> {
        l.words.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn words_quotes_comments_and_specials() {
        let ls = lex(
            "a \"b c\" d{ # x\n\n  ! only\nk=\"v = w\" ! c\n",
            "f",
            &KEEPALIVED,
        );
        assert_eq!(ls.len(), 2, "{ls:?}");
        assert_eq!(texts(&ls[0]), ["a", "b c", "d", "{"]);
        assert!(ls[0].words[1].quoted && !ls[0].indented);
        assert_eq!(ls[1].loc.line, 4);
        assert_eq!(texts(&ls[1]), ["k=", "v = w"]);
        let p = lex("  send = \"GET / #1\"\n", "f", &PIRANHA);
        assert_eq!(texts(&p[0]), ["send", "=", "GET / #1"]);
        assert!(p[0].indented);
    }

    #[test]
    fn blocks_nest_reopen_and_warn() {
        let mut n = Notes::default();
        let text = "g\n{\n  x 1\n}\nv 1 { a { b } c }\n}\nopen {\n  y\n";
        let tree = blocks(lex(text, "k.conf", &KEEPALIVED), &mut n);
        assert_eq!(tree.len(), 3, "{tree:#?}");
        assert_eq!(tree[0].key(), "g");
        assert_eq!(tree[0].kids()[0].rest(), "1");
        let v = &tree[1];
        assert_eq!((v.key(), v.arg(0)), ("v", Some("1")));
        assert_eq!(v.kids().len(), 2);
        assert_eq!(v.kids()[0].kids()[0].key(), "b");
        assert_eq!(v.kids()[1].key(), "c");
        assert_eq!(tree[2].kids()[0].key(), "y");
        let lines: Vec<usize> = n.warnings.iter().map(|w| w.loc.line).collect();
        assert_eq!(lines, [6, 7], "{:?}", n.warnings);
    }
}
