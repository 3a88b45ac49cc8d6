//! The worker's run loop: register, then lease tasks and run them, `slots` at a time, with the idle
//! command running while nothing is leased; deliver what an earlier run left in the outbox;
//! reconnect with backoff while the network is down; on shutdown stop leasing and let the running
//! tasks finish (or report them failed when they cannot finish within their lease).

use crate::activity::ActivityReporter;
use crate::cache::BlobCache;
use crate::config::WorkerConfig;
use crate::events::{EventCallback, EventSink, WorkerEvent};
use crate::executor::{
    Outcome, RendererFactory, TaskContext, deliver, installed_renderers, run_task,
};
use crate::idle::IdleCommand;
use crate::outbox::Outbox;
use crate::registration::{
    UPSCALE_ENGINE_VERSION, benchmark_builtin, client_for, open_models, register, register_request,
    renderers_found,
};
use crate::retry::{RetryPolicy, is_transient};
use crate::upscale_job::{ShelfUpscaler, Upscaler};
use anyhow::{Result, bail};
use pictor_core::api::{ErrorCode, WorkerActivity};
use pictor_core::clock::Clock;
use pictor_core::job::RendererKind;
use pictor_sdk::LeasePoll;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{Id, JoinError, JoinSet};

/// How the worker runs beyond its config file.
#[derive(Clone)]
pub struct WorkerOptions {
    /// Receives what the worker does (the CLI prints it).
    pub on_event: Option<EventCallback>,
    /// How long to wait before asking again when no task fits.
    pub poll_interval: Duration,
    /// The renderer for each job (default, `None`: the config's Blender installs through
    /// [`installed_renderers`], the built-in renderer for built-in jobs).
    pub renderers: Option<RendererFactory>,
    /// How network operations are retried while the network is down.
    pub retry: RetryPolicy,
    /// Where the worker reads the time (lease expiries).
    pub clock: Arc<dyn Clock>,
    /// What runs upscale tasks (default, `None`: the models of the config's `models_dir` through
    /// [`ShelfUpscaler`], or no upscaling without one). Set, the worker offers upscale jobs.
    pub upscaler: Option<Arc<dyn Upscaler>>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            on_event: None,
            poll_interval: Duration::from_secs(1),
            renderers: None,
            retry: RetryPolicy::DEFAULT,
            clock: pictor_core::clock::system(),
            upscaler: None,
        }
    }
}

impl std::fmt::Debug for WorkerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("on_event", &self.on_event.is_some())
            .field("poll_interval", &self.poll_interval)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// What a worker did before it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerSummary {
    /// Tasks whose results were submitted.
    pub tasks_done: u64,
    /// Tasks that failed or were dropped.
    pub tasks_failed: u64,
    /// The worker's id.
    pub worker: u64,
    /// Blob bytes the worker's cache downloaded from the network.
    pub bytes_downloaded: u64,
}

/// The tasks running now, told apart from outbox deliveries (which take no slot).
#[derive(Default)]
struct Running {
    set: JoinSet<Outcome>,
    task_ids: HashSet<Id>,
}

impl Running {
    fn leased(&self) -> usize {
        self.task_ids.len()
    }

    /// Counts a finished task or delivery into `summary`.
    fn reap(&mut self, joined: Result<(Id, Outcome), JoinError>, summary: &mut WorkerSummary) {
        let id = joined.as_ref().map_or_else(JoinError::id, |(id, _)| *id);
        self.task_ids.remove(&id);
        match joined {
            Ok((_, Outcome::Submitted)) => summary.tasks_done += 1,
            Ok((_, Outcome::Failed)) | Err(_) => summary.tasks_failed += 1,
        }
    }

    /// Sleeps `delay`, waking early on shutdown; reaps what ends meanwhile.
    async fn wait(
        &mut self,
        delay: Duration,
        stop: &mut watch::Receiver<bool>,
        summary: &mut WorkerSummary,
    ) {
        let deadline = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return,
                _ = stop.changed() => return,
                joined = self.set.join_next_with_id(), if !self.set.is_empty() => {
                    if let Some(joined) = joined {
                        self.reap(joined, summary);
                    }
                }
            }
        }
    }
}

/// Runs the worker until `shutdown` resolves: registers (retrying while the network is down),
/// then leases, renders and submits tasks, `slots` at a time. On shutdown it stops leasing and
/// finishes its running tasks (those that cannot finish within their lease are reported failed with
/// "worker shutting down"), then returns. Prints nothing; see [`WorkerOptions::on_event`].
///
/// A config imported from Pictor Cloud holds no signing key: the first start generates one on
/// this machine (beside the config, mode 0600) and measures the machine's speed when the config
/// leaves it at 0. When the network refuses the worker's API key (its owner revoked the config),
/// the worker stops leasing, lets its running tasks end, and returns an error saying so.
pub async fn run_worker(
    mut config: WorkerConfig,
    options: WorkerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<WorkerSummary> {
    config.validate()?;
    let (key, generated) = config.signing_key_or_generate()?;
    if generated {
        tracing::info!(key_file = %config.key_file.display(), "generated this worker's signing key");
    }
    if config.speed_millis == 0 {
        let (speed_millis, _) =
            tokio::task::spawn_blocking(|| benchmark_builtin(64, 36, 16)).await??;
        config.speed_millis = speed_millis;
    }
    let client = client_for(&config.network, &config.api_key)?;
    let cache = BlobCache::open(&config.cache_dir, config.cache_max_bytes)?;
    let work_dir = config.cache_dir.join("tasks");
    std::fs::create_dir_all(&work_dir)?;
    let outbox = Outbox::open(&config.cache_dir.join("spool"))?;
    let (stop_tx, mut stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let found = {
        let (renderer, blender) = (config.renderer.clone(), config.blender.clone());
        tokio::task::spawn_blocking(move || renderers_found(&renderer, &blender)).await??
    };
    let (mut renderers, installs) = (found.offered, found.blender);
    let upscaler: Option<Arc<dyn Upscaler>> = match (&options.upscaler, &config.models_dir) {
        (Some(upscaler), _) => Some(upscaler.clone()),
        (None, Some(dir)) => Some(Arc::new(ShelfUpscaler::new(Arc::new(
            open_models(dir).await?,
        )))),
        (None, None) => None,
    };
    if upscaler.is_some() {
        renderers.push((RendererKind::Upscale, UPSCALE_ENGINE_VERSION));
    }
    let request = register_request(&config, &key, renderers)?;
    let events = EventSink(options.on_event.clone());
    let mut summary = WorkerSummary::default();
    let registered = {
        let stop = stop.clone();
        register(&client, &request, move || !*stop.borrow()).await?
    };
    let Some(view) = registered else {
        return Ok(summary);
    };
    summary.worker = view.id.0;
    events.emit(WorkerEvent::Connected { worker: view.id.0 });
    let (activity, activity_sender) = ActivityReporter::start(client.clone());
    activity.report(WorkerActivity::Connected, None);
    let ctx = Arc::new(TaskContext {
        client: client.clone(),
        key,
        cache: cache.clone(),
        work_dir,
        outbox: outbox.clone(),
        renderers: options
            .renderers
            .clone()
            .unwrap_or_else(|| installed_renderers(installs)),
        upscaler,
        events: events.clone(),
        stop: stop.clone(),
        clock: options.clock.clone(),
        retry: options.retry,
        activity: activity.clone(),
    });

    let mut running = Running::default();
    // Results finished by an earlier run and not delivered yet.
    for pending in outbox.pending()? {
        let ctx = ctx.clone();
        running
            .set
            .spawn(async move { deliver(&ctx, pending).await });
    }
    let slots = usize::try_from(config.slots.max(1)).unwrap_or(1);
    let mut idle = IdleCommand::new(config.idle_command.clone());
    let mut backoff = options.retry.backoff();
    let mut revoked = false;
    loop {
        while let Some(joined) = running.set.try_join_next_with_id() {
            running.reap(joined, &mut summary);
        }
        if *stop.borrow() {
            break;
        }
        if running.leased() >= slots {
            tokio::select! {
                joined = running.set.join_next_with_id() => {
                    if let Some(joined) = joined {
                        running.reap(joined, &mut summary);
                    }
                }
                _ = stop.changed() => {}
            }
            continue;
        }
        let delay = match client.workers().poll_lease().await {
            Ok(LeasePoll {
                lease: Some(lease), ..
            }) => {
                backoff.reset();
                idle.stop().await;
                events.emit(WorkerEvent::Leased {
                    task: lease.task.0,
                    job: lease.job.0,
                    frames: lease.work.frames(),
                });
                let ctx = ctx.clone();
                let handle = running.set.spawn(async move { run_task(ctx, lease).await });
                running.task_ids.insert(handle.id());
                continue;
            }
            Ok(LeasePoll {
                lease: None,
                retry_after,
            }) => {
                backoff.reset();
                if running.leased() == 0 {
                    let now = match idle.ensure_running() {
                        Ok(()) if idle.pid().is_some() => WorkerActivity::IdleCommand,
                        Ok(()) => WorkerActivity::Idle,
                        Err(error) => {
                            tracing::warn!(%error, "cannot start the idle command");
                            WorkerActivity::Idle
                        }
                    };
                    activity.report(now, None);
                    events.emit(WorkerEvent::Idle);
                }
                // Many workers idle: the coordinator spreads their polls.
                options.poll_interval.max(retry_after.unwrap_or_default())
            }
            Err(error) if is_transient(&error) => {
                tracing::warn!(%error, "network unreachable; retrying");
                if running.leased() == 0 {
                    let _ = idle.ensure_running();
                }
                backoff.next_delay()
            }
            Err(error) if error.code() == Some(ErrorCode::Unauthorized) => {
                tracing::error!(%error, "the network refused this worker's API key");
                revoked = true;
                break;
            }
            Err(error) => {
                tracing::warn!(%error, "lease refused");
                backoff.next_delay().max(options.poll_interval)
            }
        };
        running.wait(delay, &mut stop, &mut summary).await;
    }
    idle.stop().await;
    while let Some(joined) = running.set.join_next_with_id().await {
        running.reap(joined, &mut summary);
    }
    summary.bytes_downloaded = cache.downloaded_bytes();
    drop(ctx);
    activity.finish(activity_sender).await;
    if revoked {
        bail!(
            "the network refused this worker's API key: its config was revoked or replaced \
             (download a new one in Pictor Cloud, My Workers)"
        );
    }
    Ok(summary)
}
