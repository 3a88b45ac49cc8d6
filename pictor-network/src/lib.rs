//! The Pictor network: coordinator service, store, blobs, and the CLI's commands.
#![warn(missing_docs)]

pub mod blobs;
