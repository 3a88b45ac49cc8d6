//! Python bindings of the Pictor SDK: the native module `pictor._pictor`.

use pyo3::prelude::*;

/// The native module behind the `pictor` package.
#[pymodule]
fn _pictor(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
