//! The error collector every section validator writes to: it records each
//! mistake with its key path and, through [`Spans`], its line, and hands them
//! back in file order.

use std::time::Duration;

use super::error::{Error, Errors};
use super::span::Spans;

/// Error collector that knows how to find lines.
pub struct Ctx<'a> {
    /// `None` when validating a model that has no file (runtime changes).
    spans: Option<&'a Spans>,
    errors: Vec<Error>,
}

impl<'a> Ctx<'a> {
    /// A collector for the file indexed by `spans`.
    pub fn new(spans: &'a Spans) -> Self {
        Ctx {
            spans: Some(spans),
            errors: Vec::new(),
        }
    }

    /// A collector for a model without a file: errors carry no line.
    pub fn detached() -> Self {
        Ctx {
            spans: None,
            errors: Vec::new(),
        }
    }

    /// Records an error about `path`.
    pub fn err(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(Error {
            path: path.to_owned(),
            line: self.spans.and_then(|s| s.line(path)),
            message: message.into(),
        });
    }

    /// The errors in file order (by line; errors without a line first).
    pub fn into_errors(self) -> Vec<Error> {
        let mut errors = self.errors;
        errors.sort_by_key(|e| e.line.unwrap_or(0));
        errors
    }

    /// `value` if no error was recorded, else every error in file order.
    pub fn finish<T>(self, value: T) -> Result<T, Errors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(Errors(self.into_errors()))
        }
    }

    /// Whether an error about exactly `path` was recorded.
    pub fn has_error(&self, path: &str) -> bool {
        self.errors.iter().any(|e| e.path == path)
    }

    /// Records that the key at `path` is missing, unless it was present
    /// with a wrong value (already reported by the reader).
    pub fn missing(&mut self, path: &str, message: impl Into<String>) {
        if !self.has_error(path) {
            self.err(path, message);
        }
    }

    /// A required string; records "missing required key" when absent.
    pub fn required<'v>(
        &mut self,
        path: &str,
        v: Option<&'v String>,
        what: &str,
    ) -> Option<&'v str> {
        match v {
            Some(s) => Some(s.as_str()),
            None => {
                let key = path.rsplit('.').next().unwrap_or(path);
                self.missing(
                    path,
                    format!("missing required key '{key}': expected {what}"),
                );
                None
            }
        }
    }

    /// An optional integer in `lo..=hi`, `default` when absent or invalid.
    pub fn int<T>(&mut self, path: &str, v: Option<i64>, default: T, lo: i64, hi: i64) -> T
    where
        T: TryFrom<i64> + Copy,
    {
        let Some(n) = v else { return default };
        match T::try_from(n) {
            Ok(t) if (lo..=hi).contains(&n) => t,
            _ => {
                self.err(
                    path,
                    format!("invalid value {n}: expected an integer in {lo}..={hi}"),
                );
                default
            }
        }
    }

    /// An optional count of seconds in `1..=max`.
    pub fn secs(&mut self, path: &str, v: Option<i64>, default: u64, max: i64) -> Duration {
        Duration::from_secs(self.int(path, v, default, 1, max))
    }

    /// Runs a string parser, recording its error message under `path`.
    pub fn parse<T>(
        &mut self,
        path: &str,
        v: Option<&str>,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match f(v?) {
            Ok(t) => Some(t),
            Err(msg) => {
                self.err(path, msg);
                None
            }
        }
    }
}
