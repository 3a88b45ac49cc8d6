//! The synchronous `Client`: each method waits, with the GIL released, for the shared async call of
//! `calls` (the same future `AsyncClient` hands to asyncio).

use crate::calls::Calls;
use crate::events::{EventIterator, share};
use crate::runtime::wait;
use crate::spec::JobSpec;
use crate::types::{Account, DownloadedFrame, Frame, Job, Quote, UploadedAsset, UploadedBlob};
use pictor_core::JobId;
use pyo3::prelude::*;
use std::path::PathBuf;

/// A client of one Pictor network. Every method blocks until the network answers, with the GIL
/// released (other Python threads keep running); Ctrl-C interrupts it.
///
/// `endpoint` is the network's URL (`http://127.0.0.1:7878`); `api_key` the account's key (never
/// printed or logged); `timeout` the seconds a request may take (uploads, downloads and event
/// streams have no total limit, only this much silence); `connect_timeout` the seconds to
/// connect; `max_retries` how often idempotent requests are retried after a transient failure.
#[pyclass(module = "pictor._pictor", frozen)]
pub struct Client {
    calls: Calls,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (endpoint, api_key = None, *, timeout = 60.0, connect_timeout = 5.0, max_retries = 3))]
    fn new(
        endpoint: &str,
        api_key: Option<&str>,
        timeout: f64,
        connect_timeout: f64,
        max_retries: u32,
    ) -> PyResult<Self> {
        Ok(Client {
            calls: Calls::new(endpoint, api_key, timeout, connect_timeout, max_retries)?,
        })
    }

    /// The network's base URL.
    #[getter]
    fn endpoint(&self) -> String {
        self.calls.sdk.endpoint().to_string()
    }

    /// The caller's own account, with its balance.
    fn account(&self, py: Python<'_>) -> PyResult<Account> {
        wait(py, self.calls.account())
    }

    /// Uploads a scene folder and commits it: only files the network lacks are sent (an unchanged
    /// folder sends nothing). `main_file` is the scene's main file, relative to `folder`.
    /// `progress`, if given, is called with an `UploadProgress` after each chunk (from another
    /// thread); an exception it raises is re-raised once the upload returns.
    #[pyo3(signature = (folder, main_file, progress = None))]
    fn upload_folder(
        &self,
        py: Python<'_>,
        folder: PathBuf,
        main_file: String,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<UploadedAsset> {
        wait(py, self.calls.upload_folder(folder, main_file, progress))
    }

    /// Uploads one file as a blob (skipped when the network already holds it).
    fn upload_file(&self, py: Python<'_>, path: PathBuf) -> PyResult<UploadedBlob> {
        wait(py, self.calls.upload_file(path))
    }

    /// Prices a job: cost and time at median and 90th-percentile work, per tier. Nothing is held.
    /// Needs a worker online that can render it (else `Infeasible`).
    fn quote(&self, py: Python<'_>, spec: JobSpec) -> PyResult<Quote> {
        wait(py, self.calls.quote(spec))
    }

    /// Submits a job: its P90 cost (or the budget cap) moves into escrow. The same
    /// `idempotency_key` submits at most one job (a repeat answers that job). `max_cost` (decimal
    /// credits, the quote's `escrow_hold` the creator confirmed) is the most that may be held: a
    /// higher hold raises `Infeasible` and holds nothing.
    #[pyo3(signature = (spec, idempotency_key = None, max_cost = None))]
    fn submit(
        &self,
        py: Python<'_>,
        spec: JobSpec,
        idempotency_key: Option<String>,
        max_cost: Option<String>,
    ) -> PyResult<Job> {
        wait(py, self.calls.submit(spec, idempotency_key, max_cost)?)
    }

    /// One job, with its state and progress.
    fn job(&self, py: Python<'_>, job_id: u64) -> PyResult<Job> {
        wait(py, self.calls.job(job_id))
    }

    /// Cancels a job; unused escrow returns to the account.
    fn cancel(&self, py: Python<'_>, job_id: u64) -> PyResult<Job> {
        wait(py, self.calls.cancel(job_id))
    }

    /// Pauses a job: no new work starts until it is resumed.
    fn pause(&self, py: Python<'_>, job_id: u64) -> PyResult<Job> {
        wait(py, self.calls.pause(job_id))
    }

    /// Resumes a paused job.
    fn resume(&self, py: Python<'_>, job_id: u64) -> PyResult<Job> {
        wait(py, self.calls.resume(job_id))
    }

    /// Renders these frames of a job again (`frames` as text, e.g. `"2"` or `"1-3"`).
    fn rerender(&self, py: Python<'_>, job_id: u64, frames: &str) -> PyResult<Job> {
        wait(py, self.calls.rerender(job_id, frames)?)
    }

    /// The job's events as an iterator of `JobEvent`, from the first (or after `after`, a `seq`)
    /// to the final one. `for event in client.watch(job.id): ...`
    #[pyo3(signature = (job_id, after = None))]
    fn watch(&self, job_id: u64, after: Option<u64>) -> EventIterator {
        let jobs = self.calls.sdk.jobs();
        let events = match after {
            Some(seq) => share(jobs.events_after(JobId(job_id), seq)),
            None => share(jobs.events(JobId(job_id))),
        };
        EventIterator { events }
    }

    /// The job's accepted frames (downloadable now).
    fn frames(&self, py: Python<'_>, job_id: u64) -> PyResult<Vec<Frame>> {
        wait(py, self.calls.frames(job_id))
    }

    /// Downloads every accepted frame into `directory` as `frame_0001.png` (or `.exr`): written
    /// atomically and checked against its hash; frames already there are kept, not fetched again.
    fn download_frames(
        &self,
        py: Python<'_>,
        job_id: u64,
        directory: PathBuf,
    ) -> PyResult<Vec<DownloadedFrame>> {
        wait(py, self.calls.download_frames(job_id, directory))
    }

    fn __repr__(&self) -> String {
        format!("Client(endpoint={:?})", self.calls.sdk.endpoint())
    }
}
