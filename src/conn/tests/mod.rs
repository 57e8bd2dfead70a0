//! Tests that span `conn`'s files (one file per topic).
mod mem;
mod pressure;
mod state;
mod table;
