//! `pictor farm run`: the adapter's loop. It leases tasks within the farm's slots, lays each out
//! in a folder on the farm's storage, submits it to the farm manager held and tagged with its
//! lease, records it, releases it; heartbeats the leases (with the nodes' progress) while the
//! farm's jobs wait or run; collects finished frames and delivers them signed, like a worker;
//! reports failures with the farm's reason; cancels the farm's job when the lease is lost or the
//! creator cancels. Its state is the farm's tagged jobs plus its own record (`record`):
//! killed and restarted, it carries on from both and renders nothing twice.

use super::config::FarmConfig;
use super::engine::{FarmEngine, LeaseTag};
use super::node::NodeProbe;
use super::record::{LeaseRecord, Records};
use crate::activity::ActivityReporter;
use crate::cache::BlobCache;
use crate::events::{EventCallback, EventSink, WorkerEvent};
use crate::executor::{Outcome, TaskContext, deliver, installed_renderers};
use crate::outbox::Outbox;
use crate::registration::{client_for, register, register_request};
use crate::retry::RetryPolicy;
use anyhow::{Context, Result};
use pictor_core::api::WorkerActivity;
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
    /// The farm's tasks wait in its queue longer (or again as long as declared): the adapter
    /// registered this queue delay, so the network plans the farm's work after it.
    OfferChanged {
        /// The delay now registered, in seconds.
        queue_delay_secs: u32,
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
    /// How often finished results are looked for and new leases asked for; the farm's queue is
    /// read at most once a second whatever this is.
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

mod keeping;
mod offer;
mod progress;
mod submission;

/// How long a restarted adapter waits for the farm to show a job for a lease its predecessor
/// recorded without one (an `sbatch` that was under way when it died) before submitting again.
const SUBMIT_GRACE_MS: u64 = 15_000;

/// How often, at most, the adapter reads the farm's queue. Reading it is not free (`squeue` is a
/// process and an RPC to the controller, on a machine that may be rendering); between reads the
/// adapter only watches the task folders for finished results, at `poll_interval`.
const QUEUE_READ_MS: u64 = 1_000;

/// One lease the loop tracks.
struct Tracked {
    record: LeaseRecord,
    /// When the next heartbeat is due (ms).
    beat_at_ms: u64,
    /// Since when its job waits in the farm's queue without having run (ms).
    queued_since_ms: Option<u64>,
    /// A delivery of its result is under way.
    collecting: bool,
    /// Not submitted to the farm before this time (ms): see [`SUBMIT_GRACE_MS`].
    submit_after_ms: u64,
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
    // The creators' scenes and frames: readable by the farm's user only (Slurm runs the jobs as
    // the user that submits them).
    pictor_core::private_fs::create_private_dir(&tasks_dir)
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
        // A farm offers rendering only: the network leases it no upscale task.
        upscaler: None,
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
        request,
        queue: offer::QueueWatch::new(config.farm.queue_delay_secs),
        collected_early: HashSet::new(),
    };
    for pending in outbox.pending()? {
        let ctx = ctx.clone();
        adapter
            .deliveries
            .spawn(async move { (None, deliver(&ctx, pending).await) });
    }
    let grace_until = options.clock.now_ms() + SUBMIT_GRACE_MS;
    for record in adapter.records.all()? {
        let (tag, unsubmitted) = (record.tag(), record.job_id.is_none());
        adapter.track(record);
        if unsubmitted && let Some(tracked) = adapter.tracked.get_mut(&tag) {
            tracked.submit_after_ms = grace_until;
        }
    }
    let mut stop_rx = stop.clone();
    let mut queue_read_at_ms = None;
    while !*stop.borrow() {
        adapter.reap_deliveries();
        let now = options.clock.now_ms();
        if queue_read_at_ms.is_none_or(|at: u64| now.saturating_sub(at) >= QUEUE_READ_MS) {
            queue_read_at_ms = Some(now);
            adapter.tick().await;
        } else {
            adapter.collect_finished().await;
        }
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
    /// The farm's registration, sent again when its observed queue delay changes.
    request: pictor_core::api::RegisterWorkerRequest,
    queue: offer::QueueWatch,
    /// Leases delivered from the node's result while the farm still showed the job running:
    /// not orphans.
    collected_early: HashSet<LeaseTag>,
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
                submit_after_ms: 0,
            },
        );
    }

    fn folder(&self, tag: LeaseTag) -> PathBuf {
        self.tasks_dir.join(tag.folder_name())
    }
}
