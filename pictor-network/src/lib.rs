//! The Pictor network: the coordinator service (HTTP API, store, blobs, escrow ledger, events) and
//! the commands of the `pictor` CLI.
#![warn(missing_docs)]

pub mod blobs;
pub mod clock;
pub mod store;
pub mod service;
pub mod http;
pub mod server;
