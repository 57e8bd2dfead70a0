//! The crate's vocabulary: one type per domain word, shared by config, the
//! control protocol, the datapath, HA and ipvsadm. This module is the bottom
//! layer: it imports nothing from the crate, only `std` and `serde`.
//!
//! Human spellings are lowercase (`"tcp"`, `"nat"`, `"wlc"`); ipvsadm's own
//! spellings (`"TCP"`, `"Masq"`, `-m`) live only in `crate::ipvsadm`.

mod conn_record;
mod ids;
mod method;
mod protocol;
mod rate_limits;
mod rng;
mod scheduler;
mod service_key;
mod timeouts;

pub use conn_record::ConnRecord;
pub use ids::{LcoreId, PortId, QueueId, WorkerId};
pub use method::{FwdFlag, Method};
pub use protocol::Protocol;
pub use rate_limits::{Rate, RateLimits};
pub use rng::Xorshift;
pub use scheduler::Scheduler;
pub use service_key::ServiceKey;
pub use timeouts::Timeouts;
