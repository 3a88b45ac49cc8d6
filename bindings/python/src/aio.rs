//! The asyncio `AsyncClient`: each method converts its arguments and returns an awaitable driving
//! `pictor-sdk` on the module's runtime.

use crate::client::{CallbackFailure, build_sdk_client, progress_callback, take_failure};
use crate::error::IntoPyErr;
use crate::events::{AsyncEventIterator, share};
use crate::spec::JobSpec;
use crate::types::{Account, DownloadedFrame, Frame, Job, Quote, UploadedAsset, UploadedBlob};
use pictor_core::{FrameSet, JobId};
use pyo3::prelude::*;
use pyo3_async_runtimes::tokio::future_into_py;
use std::path::PathBuf;

/// The asyncio client of one Pictor network: the same methods as `Client`, each returning an
/// awaitable. `watch` returns an async iterator.
#[pyclass(module = "pictor._pictor", frozen)]
pub struct AsyncClient {
    inner: pictor_sdk::Client,
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
        let inner = build_sdk_client(endpoint, api_key, timeout, connect_timeout, max_retries)?;
        Ok(AsyncClient { inner })
    }

    /// The network's base URL.
    #[getter]
    fn endpoint(&self) -> String {
        self.inner.endpoint().to_string()
    }

    /// The caller's own account, with its balance.
    fn account<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let call = self.inner.accounts().me();
        future_into_py(py, async move {
            call.await
                .map(Account::from)
                .map_err(IntoPyErr::into_py_err)
        })
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
        let failure = CallbackFailure::default();
        let mut upload = self.inner.assets().upload_folder(folder, main_file);
        if let Some(callback) = progress {
            upload = upload.progress(progress_callback(callback, failure.clone()));
        }
        future_into_py(py, async move {
            let asset = upload
                .send()
                .await
                .map(UploadedAsset::from)
                .map_err(IntoPyErr::into_py_err)?;
            take_failure(&failure)?;
            Ok(asset)
        })
    }

    /// Uploads one file as a blob (skipped when the network already holds it).
    fn upload_file<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let call = self.inner.assets().upload_file(path);
        future_into_py(py, async move {
            call.await
                .map(UploadedBlob::from)
                .map_err(IntoPyErr::into_py_err)
        })
    }

    /// Prices a job (see `Client.quote`).
    fn quote<'py>(&self, py: Python<'py>, spec: JobSpec) -> PyResult<Bound<'py, PyAny>> {
        let call = self.inner.quotes().create(spec.spec);
        future_into_py(py, async move {
            call.await.map(Quote::from).map_err(IntoPyErr::into_py_err)
        })
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
        let mut call = self.inner.jobs().submit(spec.spec);
        if let Some(key) = idempotency_key {
            call = call.idempotency_key(key);
        }
        if let Some(max_cost) = max_cost {
            call = call.max_cost(crate::types::parse_money("max_cost", &max_cost)?);
        }
        future_into_py(py, async move {
            call.send()
                .await
                .map(Job::from)
                .map_err(IntoPyErr::into_py_err)
        })
    }

    /// One job, with its state and progress.
    fn job<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        let call = self.inner.jobs().get(JobId(job_id));
        future_into_py(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// Cancels a job; unused escrow returns to the account.
    fn cancel<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        let call = self.inner.jobs().cancel(JobId(job_id));
        future_into_py(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// Pauses a job.
    fn pause<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        let call = self.inner.jobs().pause(JobId(job_id));
        future_into_py(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// Resumes a paused job.
    fn resume<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        let call = self.inner.jobs().resume(JobId(job_id));
        future_into_py(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// Renders these frames of a job again (`frames` as text).
    fn rerender<'py>(
        &self,
        py: Python<'py>,
        job_id: u64,
        frames: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let frames: FrameSet = frames.parse().map_err(IntoPyErr::into_py_err)?;
        let call = self.inner.jobs().rerender(JobId(job_id), frames);
        future_into_py(py, async move {
            call.await.map(Job::from).map_err(IntoPyErr::into_py_err)
        })
    }

    /// The job's events as an async iterator of `JobEvent`:
    /// `async for event in client.watch(job.id): ...`
    #[pyo3(signature = (job_id, after = None))]
    fn watch(&self, job_id: u64, after: Option<u64>) -> AsyncEventIterator {
        let jobs = self.inner.jobs();
        let events = match after {
            Some(seq) => share(jobs.events_after(JobId(job_id), seq)),
            None => share(jobs.events(JobId(job_id))),
        };
        AsyncEventIterator { events }
    }

    /// The job's accepted frames.
    fn frames<'py>(&self, py: Python<'py>, job_id: u64) -> PyResult<Bound<'py, PyAny>> {
        let call = self.inner.jobs().frames(JobId(job_id));
        future_into_py(py, async move {
            call.await
                .map(|frames| frames.into_iter().map(Frame::from).collect::<Vec<_>>())
                .map_err(IntoPyErr::into_py_err)
        })
    }

    /// Downloads every accepted frame into `directory` (see `Client.download_frames`).
    fn download_frames<'py>(
        &self,
        py: Python<'py>,
        job_id: u64,
        directory: PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = self.inner.jobs().download_frames(JobId(job_id), directory);
        future_into_py(py, async move {
            call.await
                .map(|frames| {
                    frames
                        .into_iter()
                        .map(DownloadedFrame::from)
                        .collect::<Vec<_>>()
                })
                .map_err(IntoPyErr::into_py_err)
        })
    }

    fn __repr__(&self) -> String {
        format!("AsyncClient(endpoint={:?})", self.inner.endpoint())
    }
}
