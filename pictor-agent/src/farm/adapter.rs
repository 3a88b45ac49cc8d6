//! `pictor farm run`: the adapter's loop. It leases tasks within the farm's slots, lays each out
//! in a folder on the farm's storage, submits it to the farm manager held and tagged with its
//! lease, records it, releases it; heartbeats the leases (with the nodes' progress) while the
//! farm's jobs wait or run; collects finished frames and delivers them signed, like a worker;
//! reports failures with the farm's reason; cancels the farm's job when the lease is lost or the
//! creator cancels. Its state is the farm's tagged jobs plus its own record (`record`):
//! killed and restarted, it carries on from both and renders nothing twice.

use super::config::FarmConfig;
use super::engine::{FarmEngine, FarmJob, FarmJobState, LeaseTag, Submission};
use super::node::{NodeProbe, TaskFile, TaskFolder};
use super::record::{LeaseRecord, Records};
use crate::activity::ActivityReporter;
use crate::cache::BlobCache;
use crate::events::{EventCallback, EventSink, WorkerEvent};
use crate::executor::{
    Outcome, TaskContext, TaskError, deliver, installed_renderers, submit_rendered,
    task_ended_without_result,
};
use crate::outbox::Outbox;
use crate::registration::{client_for, register, register_request};
use crate::retry::{RetryPolicy, is_transient, retry};
use crate::scene::fetch_scene;
use anyhow::{Context, Result};
use pictor_core::api::{ErrorCode, TaskLease, WorkerActivity};
use pictor_core::clock::Clock;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What the farm adapter does, for whoever runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FarmEvent {
    /// What a worker would say: connected, leased, progress, delivered, failed, idle.
    Task(WorkerEvent),
    /// A leased task's job is in the farm's queue.
    Queued {
        /// The task.
        task: u64,
        /// The farm's job id.
        job: String,
    },
    /// The farm requeued a task's job (preempted by the farm's own work, or a node was lost).
    Requeued {
        /// The task.
        task: u64,
        /// Times it was requeued so far.
        restarts: u32,
    },
    /// The adapter cancelled a task's job (lease lost, job cancelled, or handed back).
    Cancelled {
        /// The task.
        task: u64,
        /// Why.
        reason: String,
    },
}

/// A callback receiving [`FarmEvent`]s.
pub type FarmEventCallback = Arc<dyn Fn(FarmEvent) + Send + Sync>;

/// How the adapter runs beyond its config file.
#[derive(Clone)]
pub struct FarmOptions {
    /// Receives what the adapter does.
    pub on_event: Option<FarmEventCallback>,
    /// How often the farm's queue is read and new leases asked for.
    pub poll_interval: Duration,
    /// How network operations are retried while the network is down.
    pub retry: RetryPolicy,
    /// Where the adapter reads the time.
    pub clock: Arc<dyn Clock>,
}

impl Default for FarmOptions {
    fn default() -> Self {
        FarmOptions {
            on_event: None,
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy::DEFAULT,
            clock: pictor_core::clock::system(),
        }
    }
}

/// What the adapter did before it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FarmSummary {
    /// The farm's worker id on the network.
    pub farm: u64,
    /// Tasks submitted to the farm's queue by this run.
    pub submitted: u64,
    /// Results delivered.
    pub delivered: u64,
    /// Tasks that failed or were handed back.
    pub failed: u64,
    /// Requeues the farm made.
    pub requeues: u64,
}

/// The name of the file, in the adapter's state folder, holding what `pictor farm init` measured
/// on a node through the farm's queue.
pub const NODE_PROBE_FILE: &str = "node-probe.json";

/// One lease the loop tracks.
struct Tracked {
    record: LeaseRecord,
    /// When the next heartbeat is due (ms).
    beat_at_ms: u64,
    /// Since when its job waits in the farm's queue without having run (ms).
    queued_since_ms: Option<u64>,
    /// A delivery of its result is under way.
    collecting: bool,
}

/// Runs the adapter until `shutdown` resolves. On shutdown it stops leasing, hands back tasks
/// whose jobs have not started on the farm, and leaves running ones to the farm: the next start
/// collects them (their leases lapse if it does not come back in time).
pub async fn run_farm<E: FarmEngine + 'static>(
    config: FarmConfig,
    engine: E,
    options: FarmOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<FarmSummary> {
    config.validate()?;
    let identity = &config.identity;
    let key = identity.signing_key()?;
    let state = identity.cache_dir.clone();
    let probe: NodeProbe = {
        let path = state.join(NODE_PROBE_FILE);
        let bytes = std::fs::read(&path).with_context(|| {
            format!("reading {} (run `pictor farm init` first)", path.display())
        })?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?
    };
    let client = client_for(&identity.network, &identity.api_key)?;
    let cache = BlobCache::open(&state.join("cache"), identity.cache_max_bytes)?;
    let outbox = Outbox::open(&state.join("spool"))?;
    let records = Records::open(&state.join("leases"))?;
    let tasks_dir = config.farm.shared_dir.join("tasks");
    std::fs::create_dir_all(&tasks_dir)
        .with_context(|| format!("creating {}", tasks_dir.display()))?;
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let events = FarmEvents(options.on_event.clone());
    let mut request = register_request(identity, &key, probe.renderers.clone())?;
    request.speed_millis = probe.speed_millis.max(1);
    request.hardware.gpu_name = format!("{} farm ({} slots)", engine.name(), identity.slots);
    request.queue_delay_secs = Some(config.farm.queue_delay_secs);
    let registered = {
        let stop = stop.clone();
        register(&client, &request, move || !*stop.borrow()).await?
    };
    let mut summary = FarmSummary::default();
    let Some(view) = registered else {
        return Ok(summary);
    };
    summary.farm = view.id.0;
    events.task(WorkerEvent::Connected { worker: view.id.0 });
    let (activity, activity_sender) = ActivityReporter::start(client.clone());
    activity.report(WorkerActivity::Connected, None);
    let ctx = Arc::new(TaskContext {
        client: client.clone(),
        key,
        cache: cache.clone(),
        work_dir: state.join("tasks"),
        outbox: outbox.clone(),
        renderers: installed_renderers(Vec::new()),
        events: events.worker_sink(),
        stop: stop.clone(),
        clock: options.clock.clone(),
        retry: options.retry,
        activity: activity.clone(),
    });
    let mut adapter = Adapter {
        config: &config,
        engine: &engine,
        ctx: ctx.clone(),
        records,
        tasks_dir,
        events,
        clock: options.clock.clone(),
        tracked: HashMap::new(),
        deliveries: JoinSet::new(),
        summary,
    };
    for pending in outbox.pending()? {
        let ctx = ctx.clone();
        adapter
            .deliveries
            .spawn(async move { (None, deliver(&ctx, pending).await) });
    }
    for record in adapter.records.all()? {
        adapter.track(record);
    }
    let mut stop_rx = stop.clone();
    while !*stop.borrow() {
        adapter.reap_deliveries();
        adapter.tick().await;
        adapter.lease_more(&stop).await;
        tokio::select! {
            () = tokio::time::sleep(options.poll_interval) => {}
            _ = stop_rx.changed() => {}
        }
    }
    adapter.hand_back_unstarted().await;
    while let Some(joined) = adapter.deliveries.join_next().await {
        adapter.delivered(joined);
    }
    let summary = adapter.summary.clone();
    drop(adapter);
    drop(ctx);
    activity.finish(activity_sender).await;
    Ok(summary)
}

/// Events to the adapter's callback.
#[derive(Clone, Default)]
struct FarmEvents(Option<FarmEventCallback>);

impl FarmEvents {
    fn emit(&self, event: FarmEvent) {
        if let Some(callback) = &self.0 {
            callback(event);
        }
    }
    fn task(&self, event: WorkerEvent) {
        self.emit(FarmEvent::Task(event));
    }
    /// The worker's event sink, forwarding into this one (deliveries use it).
    fn worker_sink(&self) -> EventSink {
        let events = self.clone();
        let callback: EventCallback = Arc::new(move |event| events.task(event));
        EventSink(Some(callback))
    }
}

/// A delivery's lease (none for an outbox leftover) and how it ended.
type Delivered = (Option<LeaseTag>, Outcome);

/// The adapter's state between ticks.
struct Adapter<'a, E: FarmEngine> {
    config: &'a FarmConfig,
    engine: &'a E,
    ctx: Arc<TaskContext>,
    records: Records,
    tasks_dir: PathBuf,
    events: FarmEvents,
    clock: Arc<dyn Clock>,
    tracked: HashMap<LeaseTag, Tracked>,
    deliveries: JoinSet<Delivered>,
    summary: FarmSummary,
}

impl<E: FarmEngine> Adapter<'_, E> {
    fn track(&mut self, record: LeaseRecord) {
        self.tracked.insert(
            record.tag(),
            Tracked {
                record,
                beat_at_ms: 0,
                queued_since_ms: None,
                collecting: false,
            },
        );
    }

    fn folder(&self, tag: LeaseTag) -> PathBuf {
        self.tasks_dir.join(tag.folder_name())
    }

    /// Reads the farm's queue and moves every tracked lease on by what its job is doing.
    async fn tick(&mut self) {
        let jobs = match self.engine.jobs().await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot read the farm's queue");
                self.heartbeat_all().await;
                return;
            }
        };
        let jobs = newest_per_lease(jobs);
        let tags: Vec<LeaseTag> = self.tracked.keys().copied().collect();
        for tag in tags {
            self.step(tag, jobs.get(&tag)).await;
        }
        // Live jobs of leases this adapter does not hold any more (a record lost, a lease
        // handed back while the farm was unreachable): nobody will collect them.
        for (tag, job) in &jobs {
            if job.state.is_live() && !self.tracked.contains_key(tag) {
                tracing::warn!(task = tag.task.0, job = %job.id, "cancelling an orphaned farm job");
                let _ = self.engine.cancel(&job.id).await;
            }
        }
    }

    async fn step(&mut self, tag: LeaseTag, job: Option<&FarmJob>) {
        let Some(tracked) = self.tracked.get(&tag) else {
            return;
        };
        if tracked.collecting {
            return;
        }
        let folder = self.folder(tag);
        let state = job.map(|job| job.state.clone());
        match state {
            None if TaskFolder(&folder).result().exists() => self.collect(tag),
            None => {
                if tracked.record.job_id.is_some() {
                    // The farm forgot a job that left no result: it never rendered; again.
                    self.requeued(tag, tracked.record.restarts + 1).await;
                }
                if self.tracked.contains_key(&tag) {
                    self.submit(tag).await;
                }
            }
            Some(FarmJobState::Held) => {
                if let Some(job) = job {
                    self.adopt_and_release(tag, &job.id).await;
                }
            }
            Some(FarmJobState::Queued | FarmJobState::Running) => {
                let (restarts, running) = job.map_or((0, false), |job| {
                    (job.restarts, job.state == FarmJobState::Running)
                });
                if restarts > tracked.record.restarts {
                    self.requeued(tag, restarts).await;
                }
                let now = self.clock.now_ms();
                if let Some(tracked) = self.tracked.get_mut(&tag) {
                    tracked.queued_since_ms = if running {
                        None
                    } else {
                        Some(tracked.queued_since_ms.unwrap_or(now))
                    };
                }
                self.heartbeat(tag).await;
            }
            Some(FarmJobState::Completed) => self.collect(tag),
            Some(FarmJobState::Failed(reason)) => {
                let reason = TaskFolder(&folder).read_error().unwrap_or(reason);
                self.give_up(tag, TaskError::Failed(format!("on the farm: {reason}")))
                    .await;
            }
            Some(FarmJobState::Cancelled) => {
                let error = TaskError::Failed("the farm's operator cancelled the job".into());
                self.give_up(tag, error).await;
            }
        }
    }

    /// Lays the task out on the farm's storage (once), submits it held, records the job, releases
    /// it.
    async fn submit(&mut self, tag: LeaseTag) {
        let Some(tracked) = self.tracked.get(&tag) else {
            return;
        };
        let lease = tracked.record.lease.clone();
        let folder = self.folder(tag);
        if !TaskFolder(&folder).task_file().exists()
            && let Err(error) = self.prepare(&lease, &folder).await
        {
            return self.give_up(tag, error).await;
        }
        let submitted = self
            .engine
            .submit_held(Submission {
                tag,
                folder: &folder,
            })
            .await;
        match submitted {
            Ok(id) => {
                self.summary.submitted += 1;
                self.events.emit(FarmEvent::Queued {
                    task: tag.task.0,
                    job: id.clone(),
                });
                self.adopt_and_release(tag, &id).await;
            }
            Err(error) => {
                tracing::warn!(task = tag.task.0, error = %format!("{error:#}"), "the farm refused the task; retrying");
                self.heartbeat(tag).await;
            }
        }
    }

    /// Fetches the scene into the task's folder and writes `task.json`.
    async fn prepare(&self, lease: &TaskLease, folder: &std::path::Path) -> Result<(), TaskError> {
        let clock = self.clock.clone();
        let expires_at_ms = lease.expires_at_ms;
        let scene_dir = folder.join("scene");
        let scene = retry(
            &self.ctx.retry,
            || expires_at_ms > clock.now_ms(),
            || fetch_scene(&self.ctx.client, &self.ctx.cache, &lease.scene, &scene_dir),
        )
        .await
        .map_err(|error| TaskError::Failed(format!("fetching the scene: {error}")))?;
        let main_file = scene
            .main_file
            .strip_prefix(folder)
            .map_err(|_| TaskError::Failed("the scene's main file is outside its folder".into()))?
            .to_path_buf();
        let task = TaskFile {
            lease: lease.clone(),
            main_file,
            renderer: self.config.identity.renderer.clone(),
            blender: self.config.identity.blender.clone(),
        };
        let json = serde_json::to_vec(&task)
            .map_err(|error| TaskError::Failed(format!("encoding task.json: {error}")))?;
        pictor_render::image::write_atomically(&TaskFolder(folder).task_file(), &json)
            .map_err(|error| TaskError::Failed(format!("writing task.json: {error}")))
    }

    /// Records the job of `tag` and lets it run.
    async fn adopt_and_release(&mut self, tag: LeaseTag, id: &str) {
        let Some(tracked) = self.tracked.get_mut(&tag) else {
            return;
        };
        if tracked.record.job_id.as_deref() != Some(id) {
            tracked.record.job_id = Some(id.to_string());
            if let Err(error) = self.records.put(&tracked.record) {
                tracing::error!(error = %format!("{error:#}"), "cannot record the farm's job; cancelling it");
                let _ = self.engine.cancel(id).await;
                return;
            }
        }
        if let Err(error) = self.engine.release(id).await {
            tracing::warn!(task = tag.task.0, error = %format!("{error:#}"), "cannot release the farm's job yet");
        }
    }

    /// Counts a requeue; past `max_requeues` the task is handed back to the network.
    async fn requeued(&mut self, tag: LeaseTag, restarts: u32) {
        let Some(tracked) = self.tracked.get_mut(&tag) else {
            return;
        };
        self.summary.requeues += u64::from(restarts.saturating_sub(tracked.record.restarts));
        tracked.record.restarts = restarts;
        let _ = self.records.put(&tracked.record);
        self.events.emit(FarmEvent::Requeued {
            task: tag.task.0,
            restarts,
        });
        if restarts > self.config.farm.max_requeues {
            let message = format!(
                "the farm requeued the task {restarts} times (preempted by its own work or nodes lost)"
            );
            self.cancel_job(tag, &message).await;
            self.give_up(tag, TaskError::Failed(message)).await;
        }
    }

    /// Renews the lease of `tag` when due, with the node's progress; cancels the farm's job when
    /// the network says the task is not wanted or the lease is lost.
    async fn heartbeat(&mut self, tag: LeaseTag) {
        let now = self.clock.now_ms();
        let Some(tracked) = self.tracked.get(&tag) else {
            return;
        };
        if now < tracked.beat_at_ms {
            return;
        }
        let permille = TaskFolder(&self.folder(tag)).read_progress();
        let beat = self
            .ctx
            .client
            .workers()
            .heartbeat(tag.task, tag.attempt, permille)
            .await;
        let ended = match beat {
            Ok(renewal) => {
                if let Some(tracked) = self.tracked.get_mut(&tag) {
                    let remaining = renewal.expires_at_ms.saturating_sub(now);
                    tracked.beat_at_ms = now + (remaining / 4).clamp(250, 5_000);
                    tracked.record.lease.expires_at_ms = renewal.expires_at_ms;
                }
                self.events.task(WorkerEvent::Progress {
                    task: tag.task.0,
                    permille,
                });
                (!renewal.keep_going)
                    .then(|| "the job no longer wants this task (cancelled or paused)".to_string())
            }
            Err(error) if is_transient(&error) => {
                tracing::warn!(task = tag.task.0, %error, "heartbeat failed; the farm keeps the job");
                None
            }
            Err(error) => Some(format!("the lease was lost: {error}")),
        };
        if let Some(reason) = ended {
            self.cancel_job(tag, &reason).await;
            self.forget(tag, TaskError::Dropped(reason)).await;
        }
    }

    async fn heartbeat_all(&mut self) {
        let tags: Vec<LeaseTag> = self.tracked.keys().copied().collect();
        for tag in tags {
            self.heartbeat(tag).await;
        }
    }

    /// Cancels the farm's job of `tag`, if it has one.
    async fn cancel_job(&mut self, tag: LeaseTag, reason: &str) {
        let Some(id) = self.tracked.get(&tag).and_then(|t| t.record.job_id.clone()) else {
            return;
        };
        if let Err(error) = self.engine.cancel(&id).await {
            tracing::warn!(job = %id, error = %format!("{error:#}"), "cannot cancel the farm's job");
        }
        self.events.emit(FarmEvent::Cancelled {
            task: tag.task.0,
            reason: reason.to_string(),
        });
    }

    /// Delivers the finished frames of `tag` in the background: upload, sign, outbox, submit.
    fn collect(&mut self, tag: LeaseTag) {
        let Some(tracked) = self.tracked.get_mut(&tag) else {
            return;
        };
        tracked.collecting = true;
        let lease = tracked.record.lease.clone();
        let folder = self.folder(tag);
        let (ctx, records) = (self.ctx.clone(), self.records.clone());
        self.deliveries.spawn(async move {
            let outcome = match TaskFolder(&folder).read_result() {
                Ok((files, render_ms)) => submit_rendered(&ctx, &lease, files, render_ms).await,
                Err(error) => Err(TaskError::Failed(format!("collecting the farm's frames: {error:#}"))),
            };
            let outcome = match outcome {
                Ok(outcome) => outcome,
                // Leave the record: a restarted adapter collects again.
                Err(TaskError::Dropped(message)) if ctx.stopping() => {
                    tracing::warn!(task = lease.task.0, %message, "delivery left for the next start");
                    return (None, Outcome::Failed);
                }
                Err(error) => task_ended_without_result(&ctx, &lease, error).await,
            };
            let _ = records.remove(tag);
            let _ = std::fs::remove_dir_all(&folder);
            (Some(tag), outcome)
        });
    }

    fn reap_deliveries(&mut self) {
        while let Some(joined) = self.deliveries.try_join_next() {
            self.delivered(joined);
        }
    }

    fn delivered(&mut self, joined: Result<Delivered, tokio::task::JoinError>) {
        let (tag, outcome) = joined.unwrap_or((None, Outcome::Failed));
        if let Some(tag) = tag {
            self.tracked.remove(&tag);
        }
        match outcome {
            Outcome::Submitted => self.summary.delivered += 1,
            Outcome::Failed => self.summary.failed += 1,
        }
    }

    /// Reports the task of `tag` as ended without a result and forgets it.
    async fn give_up(&mut self, tag: LeaseTag, error: TaskError) {
        self.forget(tag, error).await;
        self.summary.failed += 1;
    }

    async fn forget(&mut self, tag: LeaseTag, error: TaskError) {
        let Some(tracked) = self.tracked.remove(&tag) else {
            return;
        };
        task_ended_without_result(&self.ctx, &tracked.record.lease, error).await;
        let _ = self.records.remove(tag);
        let _ = std::fs::remove_dir_all(self.folder(tag));
    }

    /// Leases tasks while the farm has free slots and its queue keeps up with its offer.
    async fn lease_more(&mut self, stop: &watch::Receiver<bool>) {
        let slots = usize::try_from(self.config.identity.slots.max(1)).unwrap_or(1);
        let patience = u64::from(self.config.farm.queue_delay_secs) * 1_000;
        while self.tracked.len() < slots && !*stop.borrow() {
            let now = self.clock.now_ms();
            let behind = self.tracked.values().any(|t| {
                t.queued_since_ms
                    .is_some_and(|since| now.saturating_sub(since) > patience)
            });
            if behind {
                // The farm's own work holds its nodes: lease nothing more until a task starts.
                return;
            }
            match self.ctx.client.workers().poll_lease().await {
                Ok(poll) => {
                    let Some(lease) = poll.lease else {
                        if self.tracked.is_empty() {
                            self.events.task(WorkerEvent::Idle);
                        }
                        return;
                    };
                    self.events.task(WorkerEvent::Leased {
                        task: lease.task.0,
                        job: lease.job.0,
                        frames: lease.work.frames(),
                    });
                    let record = LeaseRecord {
                        lease,
                        job_id: None,
                        restarts: 0,
                    };
                    if let Err(error) = self.records.put(&record) {
                        tracing::error!(error = %format!("{error:#}"), "cannot record a lease; handing it back");
                        let message =
                            format!("the farm adapter cannot record the lease: {error:#}");
                        task_ended_without_result(
                            &self.ctx,
                            &record.lease,
                            TaskError::Failed(message),
                        )
                        .await;
                        return;
                    }
                    let tag = record.tag();
                    self.track(record);
                    self.submit(tag).await;
                }
                Err(error) if error.code() == Some(ErrorCode::Unauthorized) => {
                    tracing::error!(%error, "the network refused the farm's API key");
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "lease refused");
                    return;
                }
            }
        }
    }

    /// On shutdown: tasks whose jobs have not started on the farm go back to the network now.
    async fn hand_back_unstarted(&mut self) {
        let jobs = match self.engine.jobs().await {
            Ok(jobs) => newest_per_lease(jobs),
            Err(_) => return,
        };
        let unstarted: Vec<LeaseTag> = self
            .tracked
            .iter()
            .filter(|(tag, tracked)| {
                !tracked.collecting
                    && jobs.get(tag).is_none_or(|job| {
                        matches!(job.state, FarmJobState::Held | FarmJobState::Queued)
                            && job.restarts == 0
                    })
                    && !TaskFolder(&self.folder(**tag)).result().exists()
            })
            .map(|(tag, _)| *tag)
            .collect();
        for tag in unstarted {
            let reason = "the farm adapter stopped before the farm started the task";
            self.cancel_job(tag, reason).await;
            self.give_up(tag, TaskError::Failed(reason.into())).await;
        }
    }
}

/// The farm's jobs by lease: where a lease has several (an old cancelled one and its
/// resubmission), the live one, else the last.
fn newest_per_lease(jobs: Vec<FarmJob>) -> HashMap<LeaseTag, FarmJob> {
    let mut by_tag: HashMap<LeaseTag, FarmJob> = HashMap::new();
    let mut live: HashSet<LeaseTag> = HashSet::new();
    for job in jobs {
        let is_live = job.state.is_live();
        if live.contains(&job.tag) && !is_live {
            continue;
        }
        if is_live {
            live.insert(job.tag);
        }
        by_tag.insert(job.tag, job);
    }
    by_tag
}
