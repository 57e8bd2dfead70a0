//! Tests of the HA modules.
mod link;
mod role;
mod startup;
mod wire;
