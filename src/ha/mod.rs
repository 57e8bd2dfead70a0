//! High availability for lvsd: an active/backup pair of directors.
//!
//! Modules:
//! * [`wire`] — framing and HMAC-SHA256 authentication of the control link.
//! * [`msg`] — control messages and their big-endian payload encoding.
//! * [`link`] — [`link::PeerLink`], the non-blocking TCP control link
//!   (`conn` holds its per-connection I/O).
//! * [`role`] — [`role::RoleMachine`], the pure role state machine.
//! * [`bulk`] — [`bulk::BulkSync`], the pure bulk-sync handshake.
//! * [`key`] — reading and checking the pre-shared key file.
//! * [`advert`] — authenticated data-network adverts (encode, verify).
//! * [`history`] — [`history::History`], the last role transitions (bounded).
//!
//! Everything here runs on the management thread and never blocks.
//!
//! # Protocol
//! The two directors connect to each other over TCP between their
//! management addresses (`[ha] listen`, `[ha] peer`); each dials the other
//! and accepts the other's dial, and exactly one connection is kept as the
//! session: the one dialled by the node with the lower node name, unless a
//! session already exists and the newcomer is not that one (see [`link`]).
//! On a session:
//! 1. each side sends `Hello { node, priority, nonce }` with a fresh random
//!    16-byte nonce;
//! 2. each side answers the peer's Hello with a confirm ping that carries
//!    both nonces; the session is up once the peer's confirm arrives;
//! 3. then `Heartbeat` every `interval` both ways, and from the active
//!    `SyncRecords` (incremental) and `BulkStart`/`SyncRecords`…/`BulkEnd`
//!    (full table, on the backup's `BulkRequest`).
//!
//! # Authentication
//! Every frame carries an HMAC-SHA256 tag, under the pre-shared `[ha] key`,
//! over the whole frame. After the Hellos every frame carries the sender's
//! and the receiver's session nonces and a per-direction sequence number
//! that strictly increases from 1. A bad tag, wrong nonces (a frame replayed
//! from another session, or reflected back at its sender), a stale seq, or a
//! malformed frame is refused, counted in [`wire::AuthStats`], and the
//! connection dropped. Nothing from a connection is delivered before it is
//! authenticated and chosen, so a peer with the wrong key gets nothing
//! through. Frames are limited to 1 MiB. Incoming connections are taken
//! only from the peer's IP address; at most `max_pending` (4)
//! unauthenticated ones are held (a newer one evicts the oldest), each for
//! at most `handshake_timeout` (1 s) and 256 bytes read; our own outgoing
//! dial is never blocked by them. Refusals are logged rate-limited. The link gives integrity and
//! freshness, not confidentiality: the management network must be trusted
//! not to mind reading connection tuples.
//!
//! # Split brain
//! A backup becomes active only when *neither* liveness path has shown an
//! active peer for `dead_interval`: heartbeats over the control link, and
//! VRRP-style adverts that the active sends on the data network. A cut of
//! the control link alone leaves the adverts flowing, so the backup stays
//! backup. If both paths are cut both nodes may become active; when either
//! path comes back, the lower-ranked active (priority, then node name over
//! heartbeats / source address over adverts) hears the other and steps down.
//! Adverts are authenticated ([`advert`]): a forged, altered or replayed
//! advert is refused and changes nothing.
//!
//! Typical management-loop use:
//! ```ignore
//! for ev in link.poll(now) {
//!     match ev {
//!         Event::Message(Msg::Heartbeat { node, priority, state, .. }) => {
//!             if let Some(t) = roles.heartbeat(&node, priority, state, now) { apply(t) }
//!         }
//!         _ => {}
//!     }
//! }
//! for t in roles.tick(now) { apply(t) }
//! ```

pub mod advert;
pub mod bulk;
mod conn;
pub mod history;
pub mod key;
pub mod link;
pub mod msg;
pub mod ratelog;
pub mod role;
pub mod wire;

#[cfg(test)]
mod tests;

pub use link::{Event, LinkConfig, LinkStats, PeerLink, SendError};
pub use msg::{Msg, SyncRecord};
pub use role::{Reason, Role, RoleConfig, RoleMachine, Transition};
pub use wire::{AuthKind, AuthStats};
