//! The management side: turning configuration into published snapshots.
pub mod listing;
pub mod topology;
