//! The native client: one method per SDK call, each only converting arguments, driving the SDK on
//! the binding's tokio runtime and mapping the error. The JS wrapper (`index.cjs`) exposes it as
//! `Client`.

use crate::error::{ResultExt, invalid};
use crate::iterator::{EventStream, JobList};
use crate::types::{
    Account, ClientOptions, DownloadedFrame, Frame, Job, JobSpecInput, NewAccount, Quote,
    UploadProgress, UploadedAsset, UploadedBlob, id, parse_money,
};
use futures_util::StreamExt;
use napi::Status;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use pictor_core::api::Role;
use pictor_core::{AccountId, FrameSet, JobId};
use pictor_sdk::{RetryPolicy, Timeouts};
use std::time::Duration;

/// A JS progress callback, called without blocking the upload (`(progress) => void`).
pub type ProgressCallback = ThreadsafeFunction<UploadProgress, (), UploadProgress, Status, false>;

/// The native client of one Pictor network; wrapped by `Client` in `index.cjs`.
#[napi]
pub struct NativeClient {
    inner: pictor_sdk::Client,
}

fn job_id(value: i64) -> napi::Result<JobId> {
    Ok(JobId(id("jobId", value)?))
}

#[napi]
impl NativeClient {
    /// Validates the options and builds the client (no request is sent).
    #[napi(constructor)]
    pub fn new(options: ClientOptions) -> napi::Result<Self> {
        let mut timeouts = Timeouts::default();
        if let Some(ms) = options.timeout_ms {
            timeouts.request = Duration::from_millis(u64::from(ms));
        }
        if let Some(ms) = options.connect_timeout_ms {
            timeouts.connect = Duration::from_millis(u64::from(ms));
        }
        let mut retry = RetryPolicy::default();
        if let Some(max_retries) = options.max_retries {
            retry.max_retries = max_retries;
        }
        let mut builder = pictor_sdk::Client::builder()
            .endpoint(options.endpoint)
            .timeouts(timeouts)
            .retry(retry);
        if let Some(key) = options.api_key {
            builder = builder.api_key(key);
        }
        Ok(NativeClient {
            inner: builder.build().napi()?,
        })
    }

    /// The base URL requests go to.
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.inner.endpoint().to_string()
    }

    /// Succeeds when the network answers its health check.
    #[napi]
    pub async fn health(&self) -> napi::Result<()> {
        self.inner.health().await.napi()
    }

    /// The caller's own account.
    #[napi]
    pub async fn me(&self) -> napi::Result<Account> {
        Ok(self.inner.accounts().me().await.napi()?.into())
    }

    /// One account (admin key).
    #[napi]
    pub async fn get_account(&self, account_id: i64) -> napi::Result<Account> {
        let account = AccountId(id("accountId", account_id)?);
        Ok(self.inner.accounts().get(account).await.napi()?.into())
    }

    /// Opens an account (admin key); answers it with its API key, shown this once.
    #[napi]
    pub async fn create_account(&self, role: String, name: String) -> napi::Result<NewAccount> {
        let role: Role =
            serde_json::from_value(serde_json::Value::String(role.clone())).map_err(|_| {
                invalid(
                    "role",
                    format!("{role:?}: expected creator, worker or checker"),
                )
            })?;
        Ok(self
            .inner
            .accounts()
            .create(role, name)
            .await
            .napi()?
            .into())
    }

    /// Credits an account (admin key) with `amount` credits (a decimal string, exact).
    #[napi]
    pub async fn deposit(
        &self,
        account_id: i64,
        amount: String,
        idempotency_key: Option<String>,
    ) -> napi::Result<Account> {
        let account = AccountId(id("accountId", account_id)?);
        let mut deposit = self
            .inner
            .accounts()
            .deposit(account, parse_money("amount", &amount)?);
        if let Some(key) = idempotency_key {
            deposit = deposit.idempotency_key(key);
        }
        Ok(deposit.send().await.napi()?.into())
    }

    /// Uploads a scene folder (only the files the network lacks) and commits its manifest.
    /// `on_progress` is called on the JS thread, never blocking the upload.
    #[napi(
        ts_args_type = "folder: string, mainFile: string, onProgress?: ((progress: UploadProgress) => void) | undefined | null"
    )]
    pub async fn upload_folder(
        &self,
        folder: String,
        main_file: String,
        on_progress: Option<ProgressCallback>,
    ) -> napi::Result<UploadedAsset> {
        let mut upload = self.inner.assets().upload_folder(folder, main_file);
        if let Some(callback) = on_progress {
            upload = upload.progress(move |event| {
                // NonBlocking: a full queue drops nothing (the queue is unbounded) and never waits.
                let _ = callback.call(event.into(), ThreadsafeFunctionCallMode::NonBlocking);
            });
        }
        Ok(upload.send().await.napi()?.into())
    }

    /// Uploads one file as a blob (skipped when the network already holds it).
    #[napi]
    pub async fn upload_file(&self, path: String) -> napi::Result<UploadedBlob> {
        Ok(self.inner.assets().upload_file(path).await.napi()?.into())
    }

    /// Prices a spec: cost and ETA at P50 and P90. Nothing is held.
    #[napi]
    pub async fn quote(&self, spec: JobSpecInput) -> napi::Result<Quote> {
        let spec = spec.into_spec()?;
        Ok(self.inner.quotes().create(spec).await.napi()?.into())
    }

    /// Submits a job; the same `idempotency_key` never submits twice. `max_cost` (decimal
    /// credits, the quote's escrow hold the creator confirmed) is the most that may be held.
    #[napi]
    pub async fn submit(
        &self,
        spec: JobSpecInput,
        idempotency_key: Option<String>,
        max_cost: Option<String>,
    ) -> napi::Result<Job> {
        let mut submit = self.inner.jobs().submit(spec.into_spec()?);
        if let Some(key) = idempotency_key {
            submit = submit.idempotency_key(key);
        }
        if let Some(max_cost) = max_cost {
            submit = submit.max_cost(parse_money("maxCost", &max_cost)?);
        }
        Ok(submit.send().await.napi()?.into())
    }

    /// One job.
    #[napi]
    pub async fn get_job(&self, job: i64) -> napi::Result<Job> {
        Ok(self.inner.jobs().get(job_id(job)?).await.napi()?.into())
    }

    /// The caller's jobs, newest first, paged as they are read.
    #[napi]
    pub fn list_jobs(&self, page_size: Option<u32>) -> JobList {
        let mut list = self.inner.jobs().list();
        if let Some(size) = page_size {
            list = list.page_size(size);
        }
        JobList::new(list.send().boxed())
    }

    /// Cancels a job; unused escrow returns to the creator.
    #[napi]
    pub async fn cancel_job(&self, job: i64) -> napi::Result<Job> {
        Ok(self.inner.jobs().cancel(job_id(job)?).await.napi()?.into())
    }

    /// Pauses a job.
    #[napi]
    pub async fn pause_job(&self, job: i64) -> napi::Result<Job> {
        Ok(self.inner.jobs().pause(job_id(job)?).await.napi()?.into())
    }

    /// Resumes a paused job.
    #[napi]
    pub async fn resume_job(&self, job: i64) -> napi::Result<Job> {
        Ok(self.inner.jobs().resume(job_id(job)?).await.napi()?.into())
    }

    /// Renders these frames of the job again (e.g. `"2-3"`).
    #[napi]
    pub async fn rerender(&self, job: i64, frames: String) -> napi::Result<Job> {
        let frames: FrameSet = frames.parse().napi()?;
        Ok(self
            .inner
            .jobs()
            .rerender(job_id(job)?, frames)
            .await
            .napi()?
            .into())
    }

    /// The job's events from the first (or after `after_seq`), ending after the final one.
    #[napi]
    pub fn watch(&self, job: i64, after_seq: Option<i64>) -> napi::Result<EventStream> {
        let job = job_id(job)?;
        let stream = match after_seq {
            Some(seq) => self
                .inner
                .jobs()
                .events_after(job, id("afterSeq", seq)?)
                .boxed(),
            None => self.inner.jobs().events(job).boxed(),
        };
        Ok(EventStream::new(stream))
    }

    /// The job's accepted frames.
    #[napi]
    pub async fn frames(&self, job: i64) -> napi::Result<Vec<Frame>> {
        let frames = self.inner.jobs().frames(job_id(job)?).await.napi()?;
        Ok(frames.into_iter().map(Into::into).collect())
    }

    /// Downloads every accepted frame into `dir` (`frame_0001.png`, …), each checked by hash.
    #[napi]
    pub async fn download_frames(
        &self,
        job: i64,
        dir: String,
    ) -> napi::Result<Vec<DownloadedFrame>> {
        let frames = self
            .inner
            .jobs()
            .download_frames(job_id(job)?, dir)
            .await
            .napi()?;
        Ok(frames.into_iter().map(Into::into).collect())
    }
}
