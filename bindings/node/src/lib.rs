//! Node bindings of the Pictor SDK: the native addon behind `@pictor/sdk`.

use napi_derive::napi;

/// The version of the native addon.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
