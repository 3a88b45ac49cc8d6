//! Render jobs: submit, list, read, control, events and frames.

use crate::client::{Call, Client, new_idempotency_key};
use crate::error::{Error, Result};
use crate::events::job_events;
use crate::frames::{DownloadedFrame, download_frames};
use futures_util::Stream;
use pictor_core::api::{
    CreateJobRequest, FrameView, JobEventView, JobView, ListJobsQuery, Page, RerenderRequest,
    routes,
};
use pictor_core::{FrameSet, JobId, JobSpec, Money};
use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;

/// Render jobs; from [`Client::jobs`].
#[derive(Clone, Debug)]
pub struct Jobs {
    client: Client,
}

impl Jobs {
    pub(crate) fn new(client: Client) -> Self {
        Jobs { client }
    }

    /// Submits a job (`POST /v1/jobs`): the quoted P90 cost (or the budget cap) moves into escrow.
    /// Carries an `Idempotency-Key` (random unless set), so retries never submit twice.
    ///
    /// ```no_run
    /// # async fn demo(client: pictor_sdk::Client, scene: pictor_core::AssetId) -> Result<(), Box<dyn std::error::Error>> {
    /// use pictor_core::{FrameSet, JobSpec};
    /// let spec = JobSpec::builder(scene, FrameSet::range(1, 24)?).samples(128).build()?;
    /// let job = client.jobs().submit(spec).idempotency_key("shot-42-v3").send().await?;
    /// println!("job {} is {:?}", job.id, job.state);
    /// # Ok(()) }
    /// ```
    pub fn submit(&self, spec: JobSpec) -> SubmitJob {
        SubmitJob {
            client: self.client.clone(),
            spec,
            idempotency_key: None,
            max_cost: None,
        }
    }

    /// One job.
    pub fn get(&self, id: JobId) -> impl Future<Output = Result<JobView>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move { client.json(Call::get(routes::job(id.0))).await }
    }

    /// The caller's jobs, oldest first, paging through cursors as the stream is read.
    ///
    /// ```no_run
    /// # async fn demo(client: pictor_sdk::Client) -> pictor_sdk::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let jobs = client.jobs().list().page_size(50).send();
    /// futures_util::pin_mut!(jobs);
    /// while let Some(job) = jobs.try_next().await? {
    ///     println!("{} {:?}", job.id, job.state);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListJobs {
        ListJobs {
            client: self.client.clone(),
            page_size: None,
        }
    }

    /// Cancels a job; unused escrow returns to the creator.
    pub fn cancel(
        &self,
        id: JobId,
    ) -> impl Future<Output = Result<JobView>> + Send + 'static + use<> {
        self.action(id, routes::JOB_CANCEL)
    }

    /// Pauses a job: no new leases until resumed.
    pub fn pause(
        &self,
        id: JobId,
    ) -> impl Future<Output = Result<JobView>> + Send + 'static + use<> {
        self.action(id, routes::JOB_PAUSE)
    }

    /// Resumes a paused job.
    pub fn resume(
        &self,
        id: JobId,
    ) -> impl Future<Output = Result<JobView>> + Send + 'static + use<> {
        self.action(id, routes::JOB_RESUME)
    }

    fn action(
        &self,
        id: JobId,
        template: &'static str,
    ) -> impl Future<Output = Result<JobView>> + Send + 'static + use<> {
        let client = self.client.clone();
        let path = routes::fill(template, &[&id]);
        // State transitions are sent once: a repeat of a cancel that went through answers a conflict.
        async move { client.json(Call::post_empty(path)).await }
    }

    /// Renders these frames of the job again.
    pub fn rerender(
        &self,
        id: JobId,
        frames: FrameSet,
    ) -> impl Future<Output = Result<JobView>> + Send + 'static + use<> {
        let client = self.client.clone();
        let path = routes::fill(routes::JOB_RERENDER, &[&id]);
        async move {
            let call = Call::post_json(path, &RerenderRequest { frames })?;
            client.json(call).await
        }
    }

    /// The job's events from the first (`GET /v1/jobs/{id}/events`, Server-Sent Events). The stream
    /// reconnects with backoff after a dropped connection, resumes after the last event seen (no
    /// duplicates), and ends after a final event (`completed`, `failed`, `cancelled`).
    ///
    /// ```no_run
    /// # async fn demo(client: pictor_sdk::Client, job: pictor_core::JobId) -> pictor_sdk::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let events = client.jobs().events(job);
    /// futures_util::pin_mut!(events);
    /// while let Some(event) = events.try_next().await? {
    ///     println!("#{} {}", event.seq, event.kind());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(
        &self,
        id: JobId,
    ) -> impl Stream<Item = Result<JobEventView>> + Send + 'static + use<> {
        job_events(self.client.clone(), id, None)
    }

    /// The job's events after `seq` (as [`events`](Jobs::events), resuming a stream read earlier).
    pub fn events_after(
        &self,
        id: JobId,
        seq: u64,
    ) -> impl Stream<Item = Result<JobEventView>> + Send + 'static + use<> {
        job_events(self.client.clone(), id, Some(seq))
    }

    /// The job's accepted frames (downloadable).
    pub fn frames(
        &self,
        id: JobId,
    ) -> impl Future<Output = Result<Vec<FrameView>>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move { client.json(Call::get(routes::job_frames(id.0))).await }
    }

    /// Downloads every accepted frame into `dir` as `frame_{frame:04}.{ext}`: each written atomically
    /// and checked against its BLAKE3 hash; frames already there with the right hash are kept.
    ///
    /// ```no_run
    /// # async fn demo(client: pictor_sdk::Client, job: pictor_core::JobId) -> pictor_sdk::Result<()> {
    /// for frame in client.jobs().download_frames(job, "out").await? {
    ///     println!("{} -> {}", frame.frame, frame.path.display());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn download_frames<P: Into<PathBuf>>(
        &self,
        id: JobId,
        dir: P,
    ) -> impl Future<Output = Result<Vec<DownloadedFrame>>> + Send + 'static + use<P> {
        download_frames(self.client.clone(), id, dir.into())
    }
}

/// A job submission being configured; from [`Jobs::submit`].
#[must_use = "nothing is submitted until `send` is awaited"]
#[derive(Clone, Debug)]
pub struct SubmitJob {
    client: Client,
    spec: JobSpec,
    idempotency_key: Option<String>,
    max_cost: Option<Money>,
}

impl SubmitJob {
    /// The most the creator agrees to have held for the job (the confirmed quote's
    /// `escrow_hold`): the network refuses the submit with [`ErrorCode::Infeasible`] on field
    /// `max_cost` rather than hold more. Default: no limit beyond the creator's balance.
    ///
    /// [`ErrorCode::Infeasible`]: pictor_core::api::ErrorCode::Infeasible
    pub fn max_cost(mut self, max_cost: Money) -> Self {
        self.max_cost = Some(max_cost);
        self
    }

    /// The `Idempotency-Key`: the same key submits at most one job; a replay answers that job
    /// (default: a fresh random key, reused across this call's retries).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Submits the job.
    #[allow(
        clippy::manual_async_fn,
        reason = "the signature states the Send + 'static guarantee"
    )]
    pub fn send(self) -> impl Future<Output = Result<JobView>> + Send + 'static {
        async move {
            let key = self.idempotency_key.unwrap_or_else(new_idempotency_key);
            let request = CreateJobRequest {
                spec: self.spec,
                max_cost: self.max_cost,
            };
            let call = Call::post_json(routes::JOBS, &request)?.keyed(key);
            self.client.json(call).await
        }
    }
}

/// A job listing being configured; from [`Jobs::list`].
#[must_use = "nothing is listed until the stream from `send` is read"]
#[derive(Clone, Debug)]
pub struct ListJobs {
    client: Client,
    page_size: Option<u32>,
}

impl ListJobs {
    /// Jobs per request (`limit`; default: the network's).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The jobs as a stream; pages are fetched as it is read.
    pub fn send(self) -> impl Stream<Item = Result<JobView>> + Send + 'static {
        struct State {
            client: Client,
            page_size: Option<u32>,
            buffer: VecDeque<JobView>,
            cursor: Option<String>,
            started: bool,
        }
        let state = State {
            client: self.client,
            page_size: self.page_size,
            buffer: VecDeque::new(),
            cursor: None,
            started: false,
        };
        futures_util::stream::unfold(Some(state), |state| async move {
            let mut state = state?;
            loop {
                if let Some(job) = state.buffer.pop_front() {
                    return Some((Ok(job), Some(state)));
                }
                if state.started && state.cursor.is_none() {
                    return None;
                }
                let query = ListJobsQuery {
                    cursor: state.cursor.clone(),
                    limit: state.page_size,
                };
                let call = match Call::get(routes::JOBS).query_of(&query) {
                    Ok(call) => call,
                    Err(error) => return Some((Err(error), None)),
                };
                match state.client.json::<Page<JobView>>(call).await {
                    Ok(page) => {
                        if state.started
                            && page.next_cursor.is_some()
                            && page.next_cursor == state.cursor
                        {
                            let error = Error::decode(
                                "job page",
                                "the next cursor repeats the current one",
                            );
                            return Some((Err(error), None));
                        }
                        state.started = true;
                        state.cursor = page.next_cursor;
                        state.buffer.extend(page.items);
                    }
                    Err(error) => return Some((Err(error), None)),
                }
            }
        })
    }
}
