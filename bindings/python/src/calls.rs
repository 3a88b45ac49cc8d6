//! The one async surface both Python clients are built on: each call checks and converts its
//! arguments, starts the `pictor-sdk` request and answers a `Send` future of the Python-facing
//! result. The synchronous `Client` waits for that future with the GIL released
//! (`runtime::wait`); the asyncio `AsyncClient` hands the same future to the event loop
//! (`future_into_py`). Every method of both clients is one line over a call here, so the two can
//! never disagree on what a method sends or answers.

use crate::error::{IntoPyErr, invalid};
use crate::spec::JobSpec;
use crate::types::{
    Account, DownloadedFrame, Frame, Job, Quote, UploadProgress, UploadedAsset, UploadedBlob,
};
use pictor_core::{FrameSet, JobId};
use pictor_sdk::{RetryPolicy, Timeouts, UploadProgressEvent};
use pyo3::prelude::*;
use std::future::Future;
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
fn build_sdk_client(
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

/// The SDK client behind a Python client, and every call the Python clients make on it.
pub(crate) struct Calls {
    /// The network client (cheap to clone; each call takes its own handle).
    pub(crate) sdk: pictor_sdk::Client,
}

impl Calls {
    /// A client of `endpoint` (see the Python `Client` for the arguments).
    pub(crate) fn new(
        endpoint: &str,
        api_key: Option<&str>,
        timeout: f64,
        connect_timeout: f64,
        max_retries: u32,
    ) -> PyResult<Self> {
        let sdk = build_sdk_client(endpoint, api_key, timeout, connect_timeout, max_retries)?;
        Ok(Calls { sdk })
    }

    /// The caller's own account.
    pub(crate) fn account(&self) -> impl Future<Output = PyResult<Account>> + Send + 'static {
        let call = self.sdk.accounts().me();
        async move {
            call.await
                .map(Account::from)
                .map_err(IntoPyErr::into_py_err)
        }
    }

    /// Uploads and commits a scene folder; re-raises what a progress callback raised.
    pub(crate) fn upload_folder(
        &self,
        folder: PathBuf,
        main_file: String,
        progress: Option<Py<PyAny>>,
    ) -> impl Future<Output = PyResult<UploadedAsset>> + Send + 'static {
        let failure = CallbackFailure::default();
        let mut upload = self.sdk.assets().upload_folder(folder, main_file);
        if let Some(callback) = progress {
            upload = upload.progress(progress_callback(callback, failure.clone()));
        }
        async move {
            let asset = upload
                .send()
                .await
                .map(UploadedAsset::from)
                .map_err(IntoPyErr::into_py_err)?;
            take_failure(&failure)?;
            Ok(asset)
        }
    }

    /// Uploads one file as a blob.
    pub(crate) fn upload_file(
        &self,
        path: PathBuf,
    ) -> impl Future<Output = PyResult<UploadedBlob>> + Send + 'static {
        let call = self.sdk.assets().upload_file(path);
        async move {
            call.await
                .map(UploadedBlob::from)
                .map_err(IntoPyErr::into_py_err)
        }
    }

    /// Prices a job.
    pub(crate) fn quote(
        &self,
        spec: JobSpec,
    ) -> impl Future<Output = PyResult<Quote>> + Send + 'static {
        let call = self.sdk.quotes().create(spec.spec);
        async move { call.await.map(Quote::from).map_err(IntoPyErr::into_py_err) }
    }

    /// Submits a job; a malformed `max_cost` is refused before anything is sent.
    pub(crate) fn submit(
        &self,
        spec: JobSpec,
        idempotency_key: Option<String>,
        max_cost: Option<String>,
    ) -> PyResult<impl Future<Output = PyResult<Job>> + Send + 'static> {
        let mut call = self.sdk.jobs().submit(spec.spec);
        if let Some(key) = idempotency_key {
            call = call.idempotency_key(key);
        }
        if let Some(max_cost) = max_cost {
            call = call.max_cost(crate::types::parse_money("max_cost", &max_cost)?);
        }
        Ok(async move {
            call.send()
                .await
                .map(Job::from)
                .map_err(IntoPyErr::into_py_err)
        })
    }

    /// One job.
    pub(crate) fn job(&self, job_id: u64) -> impl Future<Output = PyResult<Job>> + Send + 'static {
        let call = self.sdk.jobs().get(JobId(job_id));
        async move { call.await.map(Job::from).map_err(IntoPyErr::into_py_err) }
    }

    /// Cancels a job.
    pub(crate) fn cancel(
        &self,
        job_id: u64,
    ) -> impl Future<Output = PyResult<Job>> + Send + 'static {
        let call = self.sdk.jobs().cancel(JobId(job_id));
        async move { call.await.map(Job::from).map_err(IntoPyErr::into_py_err) }
    }

    /// Pauses a job.
    pub(crate) fn pause(
        &self,
        job_id: u64,
    ) -> impl Future<Output = PyResult<Job>> + Send + 'static {
        let call = self.sdk.jobs().pause(JobId(job_id));
        async move { call.await.map(Job::from).map_err(IntoPyErr::into_py_err) }
    }

    /// Resumes a paused job.
    pub(crate) fn resume(
        &self,
        job_id: u64,
    ) -> impl Future<Output = PyResult<Job>> + Send + 'static {
        let call = self.sdk.jobs().resume(JobId(job_id));
        async move { call.await.map(Job::from).map_err(IntoPyErr::into_py_err) }
    }

    /// Renders frames of a job again; malformed `frames` text is refused before anything is sent.
    pub(crate) fn rerender(
        &self,
        job_id: u64,
        frames: &str,
    ) -> PyResult<impl Future<Output = PyResult<Job>> + Send + 'static> {
        let frames: FrameSet = frames.parse().map_err(IntoPyErr::into_py_err)?;
        let call = self.sdk.jobs().rerender(JobId(job_id), frames);
        Ok(async move { call.await.map(Job::from).map_err(IntoPyErr::into_py_err) })
    }

    /// The job's accepted frames.
    pub(crate) fn frames(
        &self,
        job_id: u64,
    ) -> impl Future<Output = PyResult<Vec<Frame>>> + Send + 'static {
        let call = self.sdk.jobs().frames(JobId(job_id));
        async move {
            call.await
                .map(|frames| frames.into_iter().map(Frame::from).collect())
                .map_err(IntoPyErr::into_py_err)
        }
    }

    /// Downloads every accepted frame into `directory`.
    pub(crate) fn download_frames(
        &self,
        job_id: u64,
        directory: PathBuf,
    ) -> impl Future<Output = PyResult<Vec<DownloadedFrame>>> + Send + 'static {
        let call = self.sdk.jobs().download_frames(JobId(job_id), directory);
        async move {
            call.await
                .map(|frames| frames.into_iter().map(DownloadedFrame::from).collect())
                .map_err(IntoPyErr::into_py_err)
        }
    }
}
