//! The one tokio runtime the module owns, and the helper that waits on it with the GIL released.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// How often a blocking wait wakes up to let Python handle signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Builds the runtime (once per process) and hands it to `pyo3-async-runtimes` for the asyncio
/// client, so both clients share the same worker threads.
pub(crate) fn init() -> PyResult<()> {
    if RUNTIME.get().is_some() {
        return Ok(());
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("pictor")
        .enable_all()
        .build()
        .map_err(|error| PyRuntimeError::new_err(format!("cannot start tokio: {error}")))?;
    // A concurrent first import may have won the race; either runtime is fine.
    let _ = RUNTIME.set(built);
    let runtime = runtime()?;
    // Fails only when already initialised (a second `init`), which is harmless.
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(runtime);
    Ok(())
}

/// The module's runtime.
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    RUNTIME
        .get()
        .ok_or_else(|| PyRuntimeError::new_err("the pictor runtime is not initialised"))
}

/// Runs `future` on the runtime and waits for it with the GIL released, waking every 100 ms to let
/// Python raise `KeyboardInterrupt` (which abandons the future).
pub(crate) fn wait<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: Send + 'static,
{
    let runtime = runtime()?;
    let mut task = runtime.spawn(future);
    loop {
        let outcome = py.detach(|| {
            runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK, &mut task).await })
        });
        match outcome {
            Ok(Ok(result)) => return result,
            Ok(Err(join)) => {
                return Err(PyRuntimeError::new_err(format!(
                    "pictor task ended abnormally: {join}"
                )));
            }
            Err(_elapsed) => {
                if let Err(interrupt) = py.check_signals() {
                    task.abort();
                    return Err(interrupt);
                }
            }
        }
    }
}
