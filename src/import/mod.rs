//! `lvsd import`: a keepalived.conf, ldirectord.cf or Piranha lvs.cf → an
//! lvsd configuration that passes `lvsd check`, with a [`Warning`] naming
//! the source line of everything it cannot carry (nothing is dropped
//! silently). The README's "Importing" section maps every source construct.
//!
//! ```text
//! source text ──lex──▶ lines (file, line, words) ──per format──▶ Draft
//!   (keepalived/Piranha: ──blocks──▶ Node tree)       │ settle (lvsd's rules)
//!                                                     ▼
//!                                   emit ──▶ TOML ──config::load──▶ checked
//! ```
//!
//! Invariants:
//! * Each importer writes every value explicitly in lvsd's terms, so the
//!   source's defaults (keepalived's NAT, 60 s `delay_loop`, removal on
//!   failure) survive lvsd's different defaults.
//! * The emitted text is loaded by [`crate::config::load`] before it is
//!   returned; output that lvsd would refuse is an error, never printed.
//! * What the source does not say (DPDK cores, the director's ports and own
//!   addresses, the HA key) gets a placeholder marked `EDIT` and a note.

mod check_fit;
mod draft;
mod emit;
mod keepalived;
mod ldirectord;
mod lex;
mod notes;
mod piranha;
mod value;

#[cfg(test)]
mod tests;

pub use lex::Loc;
pub use notes::{Notes, Warning};

use std::path::{Path, PathBuf};

/// The formats `lvsd import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Keepalived,
    Ldirectord,
    Piranha,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Keepalived => "keepalived",
            Format::Ldirectord => "ldirectord",
            Format::Piranha => "piranha",
        }
    }
}

/// A finished import.
#[derive(Debug)]
pub struct Imported {
    /// The lvsd configuration (passes `lvsd check`).
    pub toml: String,
    /// Everything not carried, each with its source line.
    pub warnings: Vec<Warning>,
    /// Placeholders to edit (no source line).
    pub notes: Vec<String>,
}

/// Why an import produced nothing.
#[derive(Debug)]
pub enum ImportError {
    /// The source file could not be read.
    Read(PathBuf, std::io::Error),
    /// The generated configuration failed lvsd's own validation (a bug in
    /// the importer): the errors and the text.
    Invalid(crate::config::Errors, String),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::Read(p, e) => write!(f, "cannot read '{}': {e}", p.display()),
            ImportError::Invalid(errs, _) => {
                write!(
                    f,
                    "the imported configuration does not pass lvsd check:\n{errs}"
                )
            }
        }
    }
}

impl std::error::Error for ImportError {}

/// Imports the file at `path`.
pub fn import_file(format: Format, path: &Path) -> Result<Imported, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::Read(path.to_path_buf(), e))?;
    let text = String::from_utf8_lossy(&bytes);
    import_text(format, &path.display().to_string(), &text, path.parent())
}

/// Imports `text`, named `name` in warnings; keepalived `include`s are
/// resolved against `dir`.
pub fn import_text(
    format: Format,
    name: &str,
    text: &str,
    dir: Option<&Path>,
) -> Result<Imported, ImportError> {
    let mut notes = Notes::default();
    let mut d = match format {
        Format::Keepalived => keepalived::import(name, text, dir, &mut notes),
        Format::Ldirectord => ldirectord::import(name, text, &mut notes),
        Format::Piranha => piranha::import(name, text, &mut notes),
    };
    d.origin = format!("{} {name}", format.as_str());
    d.settle(&mut notes);
    let toml = emit::emit(&d);
    if let Err(errs) = crate::config::load(&toml) {
        return Err(ImportError::Invalid(errs, toml));
    }
    notes.note("[dpdk] lcores and every [[port]] (device, own address) are placeholders: edit them for this machine");
    if d.ha.is_some() {
        notes.note("[ha] key_file must hold the pair's pre-shared key (16 bytes or more, mode 0600), the same on both directors");
    }
    Ok(Imported {
        toml,
        warnings: notes.warnings,
        notes: notes.notes,
    })
}
