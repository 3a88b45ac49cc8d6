//! The Pictor network: the coordinator service (HTTP API, store, blobs, escrow ledger, events) and
//! the commands of the `pictor` CLI.

pub mod clock;
pub mod store;
