//! Tests that span `conn`'s files (one file per topic).
mod mem;
mod state;
mod table;
