//! Tests of the HA modules.
mod link;
mod role;
mod wire;
