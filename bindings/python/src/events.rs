//! `watch(job_id)`: a job's events as a Python iterator (sync) and async iterator (asyncio).

use crate::error::IntoPyErr;
use crate::runtime::wait;
use crate::types::JobEvent;
use futures_util::{Stream, StreamExt};
use pictor_core::api::JobEventView;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::Mutex;

/// The SDK's event stream, shared with the futures that read it.
pub(crate) type SharedEvents =
    Arc<Mutex<Pin<Box<dyn Stream<Item = pictor_sdk::Result<JobEventView>> + Send>>>>;

/// Wraps an SDK event stream for sharing.
pub(crate) fn share(
    stream: impl Stream<Item = pictor_sdk::Result<JobEventView>> + Send + 'static,
) -> SharedEvents {
    Arc::new(Mutex::new(Box::pin(stream)))
}

/// The next event, `None` at the end of the stream (after `completed`, `failed` or `cancelled`).
async fn next_event(events: SharedEvents) -> PyResult<Option<JobEvent>> {
    let mut stream = events.lock().await;
    match stream.next().await {
        Some(Ok(event)) => Ok(Some(event.into())),
        Some(Err(error)) => Err(error.into_py_err()),
        None => Ok(None),
    }
}

/// A job's events, oldest first, ending after the final one (`completed`, `failed`,
/// `cancelled`). Reconnects by itself after a dropped connection, without duplicates. Each
/// `next()` waits with the GIL released.
#[pyclass(module = "pictor._pictor", frozen)]
pub struct EventIterator {
    pub(crate) events: SharedEvents,
}

#[pymethods]
impl EventIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<JobEvent>> {
        wait(py, next_event(self.events.clone()))
    }
}

/// A job's events for `async for`, oldest first, ending after the final one.
#[pyclass(module = "pictor._pictor", frozen)]
pub struct AsyncEventIterator {
    pub(crate) events: SharedEvents,
}

#[pymethods]
impl AsyncEventIterator {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let events = self.events.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            match next_event(events).await? {
                Some(event) => Ok(event),
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }
}
