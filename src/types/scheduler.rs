//! IPVS scheduling algorithm names.
use serde::{Deserialize, Serialize};
use std::fmt;

/// IPVS scheduling algorithm. Serialized lowercase (`"wlc"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    /// ipvsadm's default (`DEF_SCHED`).
    #[default]
    Wlc,
    Sed,
    Nq,
    Sh,
    Dh,
    Lblc,
    Lblcr,
    Fo,
    Ovf,
    Mh,
    Twos,
}

impl Scheduler {
    /// Every scheduler, in documentation order.
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Sh,
        Scheduler::Dh,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];

    /// The ipvsadm name (`"wlc"`, `"mh"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Sh => "sh",
            Scheduler::Dh => "dh",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
        }
    }

    /// Inverse of [`Scheduler::as_str`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Scheduler;

    #[test]
    fn names_are_lowercase_on_the_wire() {
        for s in Scheduler::ALL {
            assert_eq!(Scheduler::from_name(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(Scheduler::default(), Scheduler::Wlc);
    }
}
