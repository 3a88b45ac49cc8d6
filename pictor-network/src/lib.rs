//! The Pictor network: the coordinator service (HTTP API, store, blobs, escrow ledger, events),
//! the demo and the commands of the `pictor` CLI. The worker and checker agents are `pictor-agent`.
#![warn(missing_docs)]

pub mod blobs;
pub mod calendar;
pub mod clock;
pub mod demo;
pub mod http;
pub mod server;
pub mod service;
pub mod sim;
pub mod sim_trust;
pub mod store;
pub mod web;
