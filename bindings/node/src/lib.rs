//! Node bindings of the Pictor SDK: the native addon behind `@pictor/sdk`.
//!
//! Thin over `pictor-sdk`: [`client::NativeClient`] converts arguments, drives the SDK on napi's tokio
//! runtime (never on the JS thread) and maps errors through [`error::IntoNapiErr`]; streams become
//! native iterators ([`iterator`]). The hand-written JS wrapper (`index.cjs`, `index.mjs`,
//! `index.d.ts`) turns them into an idiomatic `Client`, `PictorError` subclasses and
//! `AsyncIterable`s that honour an `AbortSignal`.
#![deny(missing_docs)]

pub mod client;
pub mod error;
pub mod iterator;
pub mod types;

use napi_derive::napi;

/// The version of the native addon.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
