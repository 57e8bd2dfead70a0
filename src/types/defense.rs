//! How a connection table defends itself when it nears full (`[conn]
//! defense`, `defense_threshold`): see ARCHITECTURE.md, "Table pressure".

/// When the pressure policy runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefenseMode {
    /// Never: a full table refuses new connections (IPVS without
    /// `drop_entry` / `secure_tcp`).
    Off,
    /// Embryonic entries are recycled when room is needed, and their
    /// timeouts shrink while the table holds at least the threshold.
    Auto,
    /// As `Auto`, the timeouts shrunk whatever the occupancy.
    Always,
}

impl DefenseMode {
    /// Every mode, in documentation order.
    pub const ALL: [DefenseMode; 3] = [DefenseMode::Auto, DefenseMode::Off, DefenseMode::Always];

    /// `"off"` / `"auto"` / `"always"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DefenseMode::Off => "off",
            DefenseMode::Auto => "auto",
            DefenseMode::Always => "always",
        }
    }

    /// Inverse of [`DefenseMode::as_str`].
    pub fn from_name(s: &str) -> Option<DefenseMode> {
        DefenseMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The table-pressure policy of one connection table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Defense {
    pub mode: DefenseMode,
    /// Occupancy, in percent of the capacity (1..=100), from which `Auto`
    /// counts the table as under pressure.
    pub threshold_pct: u8,
}

impl Defense {
    /// The configuration default: `auto` from 90 % occupancy.
    pub const DEFAULT: Defense = Defense {
        mode: DefenseMode::Auto,
        threshold_pct: 90,
    };
    /// No defense (a table built by hand starts so).
    pub const OFF: Defense = Defense {
        mode: DefenseMode::Off,
        threshold_pct: 90,
    };
}

impl Default for Defense {
    fn default() -> Self {
        Defense::DEFAULT
    }
}
