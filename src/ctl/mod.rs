//! The management side: turning configuration into published snapshots,
//! the control socket and its protocol, listings, rates and metrics.
pub mod explain;
pub mod ha;
pub mod ha_show;
pub mod health;
pub mod listing;
pub mod metrics;
pub mod proto;
pub mod rates;
pub mod runtime;
pub mod server;
pub mod signals;
