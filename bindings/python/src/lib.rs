//! Python bindings of the Pictor SDK: the native module `pictor._pictor`, re-exported by the
//! `pictor` package. Thin by design: every method converts its arguments, drives `pictor-sdk` on
//! the module's one tokio runtime and maps the error onto the `PictorError` tree.

mod aio;
mod calls;
mod client;
mod error;
mod events;
mod runtime;
mod spec;
mod types;

use pyo3::prelude::*;

/// The native module behind the `pictor` package.
#[pymodule]
fn _pictor(module: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::init()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<client::Client>()?;
    module.add_class::<aio::AsyncClient>()?;
    module.add_class::<spec::JobSpec>()?;
    module.add_class::<types::Account>()?;
    module.add_class::<types::UploadProgress>()?;
    module.add_class::<types::UploadedAsset>()?;
    module.add_class::<types::UploadedBlob>()?;
    module.add_class::<types::Quote>()?;
    module.add_class::<types::TierQuote>()?;
    module.add_class::<types::Job>()?;
    module.add_class::<types::Frame>()?;
    module.add_class::<types::DownloadedFrame>()?;
    module.add_class::<types::JobEvent>()?;
    module.add_class::<events::EventIterator>()?;
    module.add_class::<events::AsyncEventIterator>()?;
    error::register(module)?;
    Ok(())
}
