//! Configuration errors: one [`Error`] per mistake, collected into [`Errors`].
//!
//! Every error names the key path it is about (`port[1].address`), the
//! 1-based line in the file when it can be located, and a message saying
//! what is wrong and what is expected.

use std::fmt;

/// One configuration mistake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Key path such as `service[0].real[2].weight`; empty when the file
    /// could not be parsed far enough to know (TOML syntax errors).
    pub path: String,
    /// 1-based line number, when known.
    pub line: Option<usize>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("error: ")?;
        match (self.path.is_empty(), self.line) {
            (false, Some(l)) => write!(f, "{} (line {l}): ", self.path)?,
            (false, None) => write!(f, "{}: ", self.path)?,
            (true, Some(l)) => write!(f, "line {l}: ")?,
            (true, None) => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Every mistake found in one configuration file, in file order where possible.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors(pub Vec<Error>);

impl Errors {
    /// A list holding one error.
    pub fn single(
        path: impl Into<String>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Errors(vec![Error {
            path: path.into(),
            line,
            message: message.into(),
        }])
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the errors.
    pub fn iter(&self) -> std::slice::Iter<'_, Error> {
        self.0.iter()
    }

    /// Whether some error is about exactly this key path.
    pub fn has_path(&self, path: &str) -> bool {
        self.0.iter().any(|e| e.path == path)
    }
}

impl fmt::Display for Errors {
    /// One error per line: `error: port[1].address (line 12): ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

impl IntoIterator for Errors {
    type Item = Error;
    type IntoIter = std::vec::IntoIter<Error>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Errors {
    type Item = &'a Error;
    type IntoIter = std::slice::Iter<'a, Error>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
