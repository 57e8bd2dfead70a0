//! What an import could not carry: one [`Warning`] per source construct,
//! each naming the file and line it came from, and general [`Notes`] about
//! the skeleton the user must complete (ports, keys) that have no source
//! line.
use super::lex::Loc;
use std::collections::HashSet;
use std::fmt;

/// A source construct that is not carried (or carried with a difference).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Warning {
    pub loc: Loc,
    /// The source line, trimmed.
    pub source: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "warning: {}:{}: {}\n    | {}",
            self.loc.file, self.loc.line, self.message, self.source
        )
    }
}

/// Something located in a source file (a line or a block).
pub trait Located {
    fn loc(&self) -> &Loc;
    fn source(&self) -> &str;
}

/// The warnings and notes of one import, in the order they were found.
#[derive(Debug, Default)]
pub struct Notes {
    pub warnings: Vec<Warning>,
    /// Skeleton notes with no source line (placeholders to edit).
    pub notes: Vec<String>,
    given: HashSet<Warning>,
}

impl Notes {
    /// Records that `at` is not carried (or carried differently): `message`.
    /// A warning already given (a group's block is read once per address)
    /// is not repeated.
    pub fn warn(&mut self, at: &impl Located, message: impl Into<String>) {
        let w = Warning {
            loc: at.loc().clone(),
            source: at.source().to_string(),
            message: message.into(),
        };
        if self.given.insert(w.clone()) {
            self.warnings.push(w);
        }
    }

    /// Records a note about the generated skeleton.
    pub fn note(&mut self, message: impl Into<String>) {
        let m = message.into();
        if !self.notes.contains(&m) {
            self.notes.push(m);
        }
    }
}
