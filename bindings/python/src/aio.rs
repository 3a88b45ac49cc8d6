//! The asyncio `AsyncClient`: each method hands the shared async call of `calls` (the same future
//! the synchronous `Client` waits for) to the event loop as an awaitable.

use crate::calls::Calls;
use crate::events::{AsyncEventIterator, share};
use crate::spec::JobSpec;
use pictor_core::JobId;
use pyo3::prelude::*;
use pyo3_async_runtimes::tokio::future_into_py;
use std::path::PathBuf;

/// The asyncio client of one Pictor network: the same methods as `Client`, each returning an
/// awaitable. `watch` returns an async iterator.
#[pyclass(module = "pictor._pictor", frozen)]
pub struct AsyncClient {
    calls: Calls,
}

#[pymethods]
impl AsyncClient {
    #[new]
    #[pyo3(signature = (endpoint, api_key = None, *, timeout = 60.0, connect_timeout = 5.0, max_retries = 3))]
    fn new(
        endpoint: &str,
        api_key: Option<&str>,
        timeout: f64,
        connect_timeout: f64,
        max_retries: u32,
    ) -> PyResult<Self> {
        Ok(AsyncClient {
            calls: Calls::new(endpoint, api_key, timeout, connect_timeout, max_retries)?,
        })
    }

    /// The network's base URL.
    #[getter]
    fn endpoint(&self) -> String {
        self.calls.sdk.endpoint().to_string()
    }

    /// The caller's own account, with its balance.
    fn account<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.account())
    }

    /// Uploads a scene folder and commits it (see `Client.upload_folder`).
    #[pyo3(signature = (folder, main_file, progress = None))]
    fn upload_folder<'py>(
        &self,
        py: Python<'py>,
        folder: PathBuf,
        main_file: String,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.upload_folder(folder, main_file, progress))
    }

    /// Uploads one file as a blob (skipped when the network already holds it).
    fn upload_file<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.upload_file(path))
    }

    /// Prices a job (see `Client.quote`).
    fn quote<'py>(&self, py: Python<'py>, spec: JobSpec) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.quote(spec))
    }

    /// Submits a job (see `Client.submit`).
    #[pyo3(signature = (spec, idempotency_key = None, max_cost = None))]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        spec: JobSpec,
        idempotency_key: Option<String>,
        max_cost: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.submit(spec, idempotency_key, max_cost)?)
    }

    /// One job, with its state and progress.
    fn job<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.job(job_id))
    }

    /// Cancels a job; unused escrow returns to the account.
    fn cancel<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.cancel(job_id))
    }

    /// Pauses a job.
    fn pause<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.pause(job_id))
    }

    /// Resumes a paused job.
    fn resume<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.resume(job_id))
    }

    /// Renders these frames of a job again (`frames` as text).
    fn rerender<'py>(
        &self,
        py: Python<'py>,
        job_id: u64,
        frames: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.rerender(job_id, frames)?)
    }

    /// The job's events as an async iterator of `JobEvent`:
    /// `async for event in client.watch(job.id): ...`
    #[pyo3(signature = (job_id, after = None))]
    fn watch(&self, job_id: u64, after: Option<u64>) -> AsyncEventIterator {
        let jobs = self.calls.sdk.jobs();
        let events = match after {
            Some(seq) => share(jobs.events_after(JobId(job_id), seq)),
            None => share(jobs.events(JobId(job_id))),
        };
        AsyncEventIterator { events }
    }

    /// The job's accepted frames.
    fn frames<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.frames(job_id))
    }

    /// Downloads every accepted frame into `directory` (see `Client.download_frames`).
    fn download_frames<'py>(
        &self,
        py: Python<'py>,
        job_id: u64,
        directory: PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.calls.download_frames(job_id, directory))
    }

    fn __repr__(&self) -> String {
        format!("AsyncClient(endpoint={:?})", self.calls.sdk.endpoint())
    }
}
