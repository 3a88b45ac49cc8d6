//! The Pictor network: the coordinator service (HTTP API, store, blobs, escrow ledger, events) and
//! the commands of the `pictor` CLI.
#![warn(missing_docs)]

pub mod agent;
pub mod blobs;
pub mod clock;
pub mod demo;
pub mod http;
pub mod private_fs;
pub mod server;
pub mod service;
pub mod store;
