//! The synchronous `Client`: each method converts its arguments, drives `pictor-sdk` on the
//! module's runtime with the GIL released, and maps the error.

use crate::error::{IntoPyErr, invalid};
use crate::events::{EventIterator, share};
use crate::runtime::wait;
use crate::spec::JobSpec;
use crate::types::{
    Account, DownloadedFrame, Frame, Job, Quote, UploadProgress, UploadedAsset, UploadedBlob,
};
use pictor_core::{FrameSet, JobId};
use pictor_sdk::{RetryPolicy, Timeouts, UploadProgressEvent};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Seconds as a `Duration`, refusing negative, NaN and huge values.
fn seconds(field: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| {
            invalid(
                field,
                format!("{value} is not a positive number of seconds"),
            )
        })
}

/// Builds the SDK client both Python clients wrap.
pub(crate) fn build_sdk_client(
    endpoint: &str,
    api_key: Option<&str>,
    timeout: f64,
    connect_timeout: f64,
    max_retries: u32,
) -> PyResult<pictor_sdk::Client> {
    let timeouts = Timeouts {
        connect: seconds("connect_timeout", connect_timeout)?,
        request: seconds("timeout", timeout)?,
        read_idle: seconds("timeout", timeout)?,
    };
    let mut builder = pictor_sdk::Client::builder()
        .endpoint(endpoint)
        .timeouts(timeouts)
        .retry(RetryPolicy {
            max_retries,
            ..RetryPolicy::default()
        });
    if let Some(key) = api_key {
        builder = builder.api_key(key);
    }
    builder.build().map_err(IntoPyErr::into_py_err)
}

/// The first exception a progress callback raised, re-raised after the upload.
pub(crate) type CallbackFailure = Arc<Mutex<Option<PyErr>>>;

/// An SDK progress callback calling the Python `callback` with an `UploadProgress` (under the
/// GIL, on a runtime thread). The first exception it raises is kept in `failure`; later calls
/// are skipped.
pub(crate) fn progress_callback(
    callback: Py<PyAny>,
    failure: CallbackFailure,
) -> impl Fn(UploadProgressEvent) + Send + Sync + 'static {
    move |event| {
        // The lock is never held while Python runs, so a callback cannot deadlock against it.
        if failure.lock().map_or(true, |failed| failed.is_some()) {
            return;
        }
        let outcome = Python::attach(|py| {
            callback
                .call1(py, (UploadProgress::from(event),))
                .map(|_| ())
        });
        if let (Err(error), Ok(mut failed)) = (outcome, failure.lock()) {
            *failed = Some(error);
        }
    }
}

/// Re-raises the exception a progress callback raised, if any.
pub(crate) fn take_failure(failure: &CallbackFailure) -> PyResult<()> {
    match failure.lock() {
        Ok(mut failed) => match failed.take() {
            Some(error) => Err(error),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// A client of one Pictor network. Every method blocks until the network answers, with the GIL
/// released (other Python threads keep running); Ctrl-C interrupts it.
///
/// `endpoint` is the network's URL (`http://127.0.0.1:7878`); `api_key` the account's key (never
/// printed or logged); `timeout` the seconds a request may take (uploads, downloads and event
/// streams have no total limit, only this much silence); `connect_timeout` the seconds to
/// connect; `max_retries` how often idempotent requests are retried after a transient failure.
#[pyclass(module = "pictor._pictor", frozen)]
pub struct Client {
    inner: pictor_sdk::Client,
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
        let inner = build_sdk_client(endpoint, api_key, timeout, connect_timeout, max_retries)?;
        Ok(Client { inner })
    }

    /// The network's base URL.
    #[getter]
    fn endpoint(&self) -> String {
        self.inner.endpoint().to_string()
    }

    /// The caller's own account, with its balance.
    fn account(&self, py: Python<'_>) -> PyResult<Account> {
        let call = self.inner.accounts().me();
        wait(py, async move {
            call.await
                .map(Account::from)
                .map_err(IntoPyErr::into_py_err)
        })
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
        let failure = CallbackFailure::default();
        let mut upload = self.inner.assets().upload_folder(folder, main_file);
        if let Some(callback) = progress {
            upload = upload.progress(progress_callback(callback, failure.clone()));
        }
        let asset = wait(py, async move {
            upload
                .send()
                .await
                .map(UploadedAsset::from)
                .map_err(IntoPyErr::into_py_err)
        })?;
        take_failure(&failure)?;
        Ok(asset)
    }

    /// Uploads one file as a blob (skipped when the network already holds it).
    fn upload_file(&self, py: Python<'_>, path: PathBuf) -> PyResult<UploadedBlob> {
        let call = self.inner.assets().upload_file(path);
        wait(py, async move {
            call.await
                .map(UploadedBlob::from)
                .map_err(IntoPyErr::into_py_err)
        })
    }

    /// Prices a job: cost and time at median and 90th-percentile work, per tier. Nothing is held.
    /// Needs a worker online that can render it (else `Infeasible`).
    fn quote(&self, py: Python<'_>, spec: JobSpec) -> PyResult<Quote> {
        let call = self.inner.quotes().create(spec.spec);
        wait(py, async move {
            call.await.map(Quote::from).map_err(IntoPyErr::into_py_err)
        })
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
        let mut call = self.inner.jobs().submit(spec.spec);
        if let Some(key) = idempotency_key {
            call = call.idempotency_key(key);
        }
        if let Some(max_cost) = max_cost {
            call = call.max_cost(crate::types::parse_money("max_cost", &max_cost)?);
        }
        wait(py, async move {
            call.send()
                .await
                .map(Job::from)
                .map_err(IntoPyErr::into_py_err)
        })
    }

    /// One job, with its state and progress.
    fn job(&self, py: Python<'_>, job_id: u64) -> PyResult<Job> {
        let call = self.inner.jobs().get(JobId(job_id));
        wait(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// Cancels a job; unused escrow returns to the account.
    fn cancel(&self, py: Python<'_>, job_id: u64) -> PyResult<Job> {
        let call = self.inner.jobs().cancel(JobId(job_id));
        wait(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// Pauses a job: no new work starts until it is resumed.
    fn pause(&self, py: Python<'_>, job_id: u64) -> PyResult<Job> {
        let call = self.inner.jobs().pause(JobId(job_id));
        wait(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// Resumes a paused job.
    fn resume(&self, py: Python<'_>, job_id: u64) -> PyResult<Job> {
        let call = self.inner.jobs().resume(JobId(job_id));
        wait(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// Renders these frames of a job again (`frames` as text, e.g. `"2"` or `"1-3"`).
    fn rerender(&self, py: Python<'_>, job_id: u64, frames: &str) -> PyResult<Job> {
        let frames: FrameSet = frames.parse().map_err(IntoPyErr::into_py_err)?;
        let call = self.inner.jobs().rerender(JobId(job_id), frames);
        wait(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// The job's events as an iterator of `JobEvent`, from the first (or after `after`, a `seq`)
    /// to the final one. `for event in client.watch(job.id): ...`
    #[pyo3(signature = (job_id, after = None))]
    fn watch(&self, job_id: u64, after: Option<u64>) -> EventIterator {
        let jobs = self.inner.jobs();
        let events = match after {
            Some(seq) => share(jobs.events_after(JobId(job_id), seq)),
            None => share(jobs.events(JobId(job_id))),
        };
        EventIterator { events }
    }

    /// The job's accepted frames (downloadable now).
    fn frames(&self, py: Python<'_>, job_id: u64) -> PyResult<Vec<Frame>> {
        let call = self.inner.jobs().frames(JobId(job_id));
        wait(py, async move {
            call.await
                .map(|frames| frames.into_iter().map(Frame::from).collect())
                .map_err(IntoPyErr::into_py_err)
        })
    }

    /// Downloads every accepted frame into `directory` as `frame_0001.png` (or `.exr`): written
    /// atomically and checked against its hash; frames already there are kept, not fetched again.
    fn download_frames(
        &self,
        py: Python<'_>,
        job_id: u64,
        directory: PathBuf,
    ) -> PyResult<Vec<DownloadedFrame>> {
        let call = self.inner.jobs().download_frames(JobId(job_id), directory);
        wait(py, async move {
            call.await
                .map(|frames| frames.into_iter().map(DownloadedFrame::from).collect())
                .map_err(IntoPyErr::into_py_err)
        })
    }

    fn __repr__(&self) -> String {
        format!("Client(endpoint={:?})", self.inner.endpoint())
    }
}
