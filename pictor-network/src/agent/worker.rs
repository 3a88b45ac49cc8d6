//! The worker agent: `init_worker` (register, key, `worker.toml`), `run_worker` (lease, fetch,
//! render, heartbeat, upload, sign, submit — several slots at once, reconnecting with backoff,
//! graceful on shutdown), and the benchmark that prices the machine.

use super::cache::BlobCache;
use super::config::{WorkerConfig, renderer_choice, write_key, write_private};
use super::idle::IdleCommand;
use super::scene::fetch_scene;
use super::{Backoff, is_transient, now_ms};
use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use pictor_core::api::ErrorCode;
use pictor_core::api::{RegisterWorkerRequest, ResultSubmission, TaskLease, WorkerHardware};
use pictor_core::job::{GpuVendor, RendererKind, Resolution, Version};
pub use pictor_core::pricing::REFERENCE_SAMPLES_PX_PER_SEC;
use pictor_core::task::TaskWork;
use pictor_core::{Money, TaskId};
use pictor_render::image::write_atomically;
use pictor_render::{BlenderRenderer, BuiltinRenderer, RenderControl, RenderRequest, Renderer};
use pictor_sdk::Client;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How the worker runs beyond its config file.
#[derive(Clone)]
pub struct WorkerOptions {
    /// Demo and tests only: render with `samples / d` samples (a cheating worker).
    pub cheat_sample_divisor: Option<u32>,
    /// Receives what the worker does (the CLI prints it).
    pub on_event: Option<Arc<dyn Fn(WorkerEvent) + Send + Sync>>,
    /// How long to wait before asking again when no task fits.
    pub poll_interval: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            cheat_sample_divisor: None,
            on_event: None,
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl std::fmt::Debug for WorkerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("cheat_sample_divisor", &self.cheat_sample_divisor)
            .field("on_event", &self.on_event.is_some())
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

/// What the worker is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerEvent {
    /// Registered with the network as this worker.
    Connected {
        /// The worker's id.
        worker: u64,
    },
    /// A task was leased.
    Leased {
        /// The task.
        task: u64,
        /// Its job.
        job: u64,
        /// Its frames.
        frames: Vec<u32>,
    },
    /// Render progress of a task (per-mille).
    Progress {
        /// The task.
        task: u64,
        /// Done, 0..=1000.
        permille: u16,
    },
    /// The task's signed result was accepted for checking.
    Submitted {
        /// The task.
        task: u64,
    },
    /// The task failed (and was reported failed when the network could be told).
    Failed {
        /// The task.
        task: u64,
        /// Why.
        message: String,
    },
    /// No task fits now.
    Idle,
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

/// Renders the built-in demo scene at `width × height`, `samples` spp, and answers the speed in
/// thousandths of the reference machine (1.1 M samples·px/s) and the render time.
pub fn benchmark_builtin(width: u32, height: u32, samples: u32) -> Result<(u32, u64)> {
    let renderer = BuiltinRenderer::default();
    let request = RenderRequest::new(width, height, samples, 1);
    let started = Instant::now();
    renderer.render(&request, &RenderControl::default())?;
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    let work = f64::from(width) * f64::from(height) * f64::from(samples);
    let millis = (work / secs / REFERENCE_SAMPLES_PX_PER_SEC * 1000.0).round();
    Ok((
        millis.clamp(1.0, f64::from(u32::MAX)) as u32,
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    ))
}

/// The renderers this machine offers for `choice` (`builtin`, or `blender` = Blender + builtin).
fn renderers_found(choice: &str) -> Result<Vec<(RendererKind, Version)>> {
    let builtin_version = BuiltinRenderer::default()
        .version()
        .ok()
        .and_then(|v| v.parse::<Version>().ok())
        .unwrap_or(Version::new(0, 1, 0));
    let mut found = Vec::new();
    if renderer_choice(choice)? == "blender" {
        let install = BlenderRenderer::default()
            .install()
            .context("renderer blender: Blender not found (install it or set PICTOR_BLENDER)")?;
        found.push((RendererKind::Blender, install.version));
    }
    found.push((RendererKind::Builtin, builtin_version));
    Ok(found)
}

/// The GPU, when `nvidia-smi` answers; else the CPU (software rendering).
fn detect_hardware(renderers: Vec<(RendererKind, Version)>) -> WorkerHardware {
    let nvidia = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.total",
            "--format=csv,noheader,nounits",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = text.lines().next()?.to_string();
            let (name, mib) = line.rsplit_once(',')?;
            Some((name.trim().to_string(), mib.trim().parse::<u32>().ok()?))
        });
    match nvidia {
        Some((gpu_name, vram_mib)) => WorkerHardware {
            vendor: GpuVendor::Nvidia,
            gpu_name,
            vram_mib,
            renderers,
        },
        None => {
            let cpu = std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|text| {
                    text.lines()
                        .find(|l| l.starts_with("model name"))
                        .and_then(|l| l.split_once(':'))
                        .map(|(_, name)| name.trim().to_string())
                })
                .unwrap_or_else(|| "cpu".to_string());
            WorkerHardware {
                vendor: GpuVendor::Cpu,
                gpu_name: cpu,
                vram_mib: 0,
                renderers,
            }
        }
    }
}

fn client_for(network: &str, api_key: &str) -> Result<Client> {
    Client::builder()
        .endpoint(network)
        .api_key(api_key)
        .retry(pictor_sdk::RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Backoff::CAP,
        })
        .build()
        .context("configuring the network client")
}

fn register_request(
    config: &WorkerConfig,
    key: &SigningKey,
    renderers: Vec<(RendererKind, Version)>,
) -> Result<RegisterWorkerRequest> {
    Ok(RegisterWorkerRequest {
        name: config.name.clone(),
        public_key_hex: pictor_sdk::public_key_hex(key),
        hardware: detect_hardware(renderers),
        price_per_bench_hour: config.price()?,
        speed_millis: config.speed_millis.max(1),
        slots: config.slots.max(1),
    })
}

/// Registers a worker with the network, generates its ed25519 key (mode 0600, beside `out`) and
/// writes `out` (`worker.toml`). Refuses to replace either file without `force`.
pub async fn init_worker(
    network: &str,
    api_key: &str,
    name: &str,
    price: Money,
    out: &Path,
    force: bool,
    renderer: &str,
) -> Result<WorkerConfig> {
    let renderer = renderer_choice(renderer)?.to_string();
    let stem = out.file_stem().map_or_else(
        || "worker".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let key_name = format!("{stem}.key");
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let key_path = dir.join(&key_name);
    if !force {
        for path in [out, key_path.as_path()] {
            if path.exists() {
                bail!("{} exists; pass --force to overwrite it", path.display());
            }
        }
    }
    let renderers = {
        let renderer = renderer.clone();
        tokio::task::spawn_blocking(move || renderers_found(&renderer)).await??
    };
    let (speed_millis, _) = tokio::task::spawn_blocking(|| benchmark_builtin(64, 36, 16)).await??;
    let key = generate_key()?;
    let config = WorkerConfig {
        network: network.trim_end_matches('/').to_string(),
        api_key: api_key.to_string(),
        name: name.to_string(),
        price_credits_per_hour: price.to_string(),
        key_file: PathBuf::from(&key_name),
        cache_dir: PathBuf::from(format!("{stem}-cache")),
        cache_max_bytes: super::config::DEFAULT_CACHE_MAX_BYTES,
        slots: 1,
        renderer,
        idle_command: None,
        speed_millis,
    };
    config.validate()?;
    let client = client_for(&config.network, api_key)?;
    client
        .workers()
        .register(register_request(&config, &key, renderers)?)
        .await
        .context("registering the worker")?;
    write_key(&key_path, &key)?;
    config.save(out, force)?;
    WorkerConfig::load(out)
}

/// A fresh ed25519 key from the operating system's random source.
pub(crate) fn generate_key() -> Result<SigningKey> {
    use rand::TryRngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut secret)
        .context("reading the operating system's random source")?;
    Ok(SigningKey::from_bytes(&secret))
}

/// A result kept until the network has it: in memory and as a spool file in the cache folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Spooled {
    task: TaskId,
    result: ResultSubmission,
}

struct Ctx {
    client: Client,
    key: SigningKey,
    cache: Arc<BlobCache>,
    work_dir: PathBuf,
    spool_dir: PathBuf,
    options: WorkerOptions,
    shutdown: watch::Receiver<bool>,
}

impl Ctx {
    fn emit(&self, event: WorkerEvent) {
        if let Some(callback) = &self.options.on_event {
            callback(event);
        }
    }
}

/// How a task ended.
enum Outcome {
    Submitted,
    Failed,
}

/// Runs the worker until `shutdown` resolves: registers (retrying while the network is down),
/// then leases, renders and submits tasks, `slots` at a time. On shutdown it stops leasing and
/// finishes its running tasks (those that cannot finish within their lease are reported failed with
/// "worker shutting down"), then returns. Prints nothing; see [`WorkerOptions::on_event`].
pub async fn run_worker(
    config: WorkerConfig,
    options: WorkerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<WorkerSummary> {
    config.validate()?;
    let key = config.signing_key()?;
    let client = client_for(&config.network, &config.api_key)?;
    let cache = BlobCache::open(&config.cache_dir, config.cache_max_bytes)?;
    let work_dir = config.cache_dir.join("tasks");
    let spool_dir = config.cache_dir.join("spool");
    std::fs::create_dir_all(&work_dir)?;
    std::fs::create_dir_all(&spool_dir)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let renderers = {
        let renderer = config.renderer.clone();
        tokio::task::spawn_blocking(move || renderers_found(&renderer)).await??
    };
    let request = register_request(&config, &key, renderers)?;
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        key,
        cache: cache.clone(),
        work_dir,
        spool_dir,
        options,
        shutdown: stop_rx.clone(),
    });
    let mut summary = WorkerSummary::default();
    let mut stop = stop_rx.clone();

    // Register (safe to repeat), retrying while the network is down.
    let mut backoff = Backoff::default();
    let view = loop {
        if *stop.borrow() {
            return Ok(summary);
        }
        match client.workers().register(request.clone()).await {
            Ok(view) => break view,
            Err(error) if is_transient(&error) => {
                tracing::warn!(%error, "network unreachable; retrying registration");
                sleep_or_stop(backoff.next_delay(), &mut stop).await;
            }
            Err(error) => return Err(error).context("registering the worker"),
        }
    };
    summary.worker = view.id.0;
    ctx.emit(WorkerEvent::Connected { worker: view.id.0 });

    let mut running = tokio::task::JoinSet::new();
    // Results finished by an earlier run and not yet delivered.
    for spooled in read_spool(&ctx.spool_dir) {
        let ctx = ctx.clone();
        running.spawn(async move { deliver(&ctx, spooled).await });
    }
    let slots = usize::try_from(config.slots.max(1)).unwrap_or(1);
    let mut idle = IdleCommand::new(config.idle_command.clone());
    let mut backoff = Backoff::default();
    let mut leasing = 0usize; // tasks (not spool deliveries) running
    let mut task_ids = std::collections::HashSet::new();
    loop {
        // Reap finished tasks.
        while let Some(joined) = running.try_join_next_with_id() {
            if task_ids.remove(&joined.as_ref().map_or_else(|e| e.id(), |(id, _)| *id)) {
                leasing -= 1;
            }
            tally(&mut summary, joined.map(|(_, outcome)| outcome));
        }
        if *stop.borrow() {
            break;
        }
        if leasing >= slots {
            tokio::select! {
                joined = running.join_next_with_id() => {
                    if let Some(joined) = joined {
                        if task_ids.remove(&joined.as_ref().map_or_else(|e| e.id(), |(id, _)| *id)) {
                            leasing -= 1;
                        }
                        tally(&mut summary, joined.map(|(_, outcome)| outcome));
                    }
                }
                _ = stop.changed() => {}
            }
            continue;
        }
        match client.workers().lease().await {
            Ok(Some(lease)) => {
                backoff.reset();
                idle.stop().await;
                ctx.emit(WorkerEvent::Leased {
                    task: lease.task.0,
                    job: lease.job.0,
                    frames: frames_of(&lease.work),
                });
                let ctx = ctx.clone();
                let handle = running.spawn(async move { run_task(ctx, lease).await });
                task_ids.insert(handle.id());
                leasing += 1;
            }
            Ok(None) => {
                backoff.reset();
                if leasing == 0 {
                    if let Err(error) = idle.ensure_running() {
                        tracing::warn!(%error, "cannot start the idle command");
                    }
                    ctx.emit(WorkerEvent::Idle);
                }
                wait_for_work(
                    ctx.options.poll_interval,
                    &mut stop,
                    &mut running,
                    &mut task_ids,
                    &mut leasing,
                    &mut summary,
                )
                .await;
            }
            Err(error) if is_transient(&error) => {
                tracing::warn!(%error, "network unreachable; retrying");
                if leasing == 0 {
                    let _ = idle.ensure_running();
                }
                let delay = backoff.next_delay();
                wait_for_work(
                    delay,
                    &mut stop,
                    &mut running,
                    &mut task_ids,
                    &mut leasing,
                    &mut summary,
                )
                .await;
            }
            Err(error) => {
                tracing::warn!(%error, "lease refused");
                let delay = backoff.next_delay().max(ctx.options.poll_interval);
                wait_for_work(
                    delay,
                    &mut stop,
                    &mut running,
                    &mut task_ids,
                    &mut leasing,
                    &mut summary,
                )
                .await;
            }
        }
    }
    idle.stop().await;
    while let Some(joined) = running.join_next().await {
        tally(&mut summary, joined);
    }
    summary.bytes_downloaded = cache.downloaded_bytes();
    Ok(summary)
}

type Joined = std::result::Result<(tokio::task::Id, Outcome), tokio::task::JoinError>;

/// Sleeps `delay`, waking early on shutdown; reaps tasks that end meanwhile.
async fn wait_for_work(
    delay: Duration,
    stop: &mut watch::Receiver<bool>,
    running: &mut tokio::task::JoinSet<Outcome>,
    task_ids: &mut std::collections::HashSet<tokio::task::Id>,
    leasing: &mut usize,
    summary: &mut WorkerSummary,
) {
    let deadline = tokio::time::Instant::now() + delay;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return,
            _ = stop.changed() => return,
            joined = running.join_next_with_id(), if !running.is_empty() => {
                if let Some(joined) = joined {
                    let joined: Joined = joined;
                    if task_ids.remove(&joined.as_ref().map_or_else(|e| e.id(), |(id, _)| *id)) {
                        *leasing -= 1;
                    }
                    tally(summary, joined.map(|(_, outcome)| outcome));
                }
            }
        }
    }
}

fn tally(
    summary: &mut WorkerSummary,
    joined: std::result::Result<Outcome, tokio::task::JoinError>,
) {
    match joined {
        Ok(Outcome::Submitted) => summary.tasks_done += 1,
        Ok(Outcome::Failed) | Err(_) => summary.tasks_failed += 1,
    }
}

async fn sleep_or_stop(delay: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(delay) => {}
        _ = stop.changed() => {}
    }
}

/// The frames a task renders.
pub fn frames_of(work: &TaskWork) -> Vec<u32> {
    match work {
        TaskWork::Frames { frames } => frames.clone(),
        TaskWork::Tile { frame, .. } => vec![*frame],
    }
}

/// Renders one leased task, end to end. Never panics the worker: every failure is reported.
async fn run_task(ctx: Arc<Ctx>, lease: TaskLease) -> Outcome {
    let task = lease.task;
    let dir = ctx.work_dir.join(format!("{}-{}", task.0, lease.attempt));
    let outcome = render_and_submit(&ctx, &lease, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    match outcome {
        Ok(outcome) => outcome,
        Err(TaskError::Dropped(message)) => {
            ctx.emit(WorkerEvent::Failed {
                task: task.0,
                message,
            });
            Outcome::Failed
        }
        Err(TaskError::Failed(message)) => {
            // Tell the network, once; if it cannot be told, the lease lapses on its own.
            if let Err(error) = ctx
                .client
                .workers()
                .fail(task, lease.attempt, message.clone())
                .await
            {
                tracing::warn!(task = task.0, %error, "could not report the failure");
            }
            ctx.emit(WorkerEvent::Failed {
                task: task.0,
                message,
            });
            Outcome::Failed
        }
    }
}

enum TaskError {
    /// Report it with `fail`.
    Failed(String),
    /// The lease is gone (stale, cancelled): nothing to report.
    Dropped(String),
}

async fn render_and_submit(
    ctx: &Arc<Ctx>,
    lease: &TaskLease,
    dir: &Path,
) -> Result<Outcome, TaskError> {
    let task = lease.task;
    // The scene, into the cache and the task folder (retrying while the network is down).
    let mut backoff = Backoff::default();
    let scene = loop {
        match fetch_scene(&ctx.client, &ctx.cache, &lease.scene, &dir.join("scene")).await {
            Ok(scene) => break scene,
            Err(error) if is_transient(&error) && lease.expires_at_ms > now_ms() => {
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(error) => {
                return Err(TaskError::Failed(format!("fetching the scene: {error}")));
            }
        }
    };

    // Heartbeats with progress while the render runs.
    let progress = Arc::new(AtomicU16::new(0));
    let cancel = pictor_render::CancelToken::new();
    let done = Arc::new(AtomicBool::new(false));
    let cancelled_reason = Arc::new(std::sync::Mutex::new(None::<String>));
    let heartbeat = tokio::spawn(heartbeat_loop(
        ctx.clone(),
        lease.clone(),
        progress.clone(),
        cancel.clone(),
        done.clone(),
        cancelled_reason.clone(),
    ));

    let frames = frames_of(&lease.work);
    let region = match &lease.work {
        TaskWork::Tile { region, .. } => Some(*region),
        TaskWork::Frames { .. } => None,
    };
    let samples = match ctx.options.cheat_sample_divisor {
        Some(d) if d > 1 => (lease.spec.samples / d).max(1),
        _ => lease.spec.samples,
    };
    let spec = lease.spec.clone();
    let main_file = scene.main_file.clone();
    let out_dir = dir.join("out");
    let render = {
        let progress = progress.clone();
        let cancel = cancel.clone();
        let frames = frames.clone();
        tokio::task::spawn_blocking(move || -> Result<(Vec<(u32, PathBuf)>, u64), String> {
            std::fs::create_dir_all(&out_dir)
                .map_err(|e| format!("creating {}: {e}", out_dir.display()))?;
            let renderer: Box<dyn Renderer> = match spec.renderer.kind {
                RendererKind::Builtin => Box::new(BuiltinRenderer::default()),
                RendererKind::Blender => Box::new(BlenderRenderer::default()),
            };
            let count = frames.len().max(1) as f32;
            let started = Instant::now();
            let mut files = Vec::new();
            for (index, &frame) in frames.iter().enumerate() {
                let reporter = progress.clone();
                let control = RenderControl {
                    cancel: cancel.clone(),
                    timeout: Duration::from_secs(24 * 3600),
                    progress: Some(Arc::new(move |p: pictor_render::Progress| {
                        let permille = ((index as f32 + p.fraction) / count * 1000.0) as u16;
                        reporter.store(permille.min(1000), Ordering::Relaxed);
                    })),
                };
                let request = RenderRequest {
                    scene: Some(main_file.clone()),
                    frame,
                    resolution: Resolution {
                        width: spec.resolution.width,
                        height: spec.resolution.height,
                    },
                    samples,
                    seed: spec.seed.seed_for(frame),
                    regions: region.into_iter().collect(),
                    engine: spec.renderer.engine,
                };
                let output = renderer
                    .render(&request, &control)
                    .map_err(|e| e.to_string())?;
                let image = output
                    .regions
                    .into_iter()
                    .next()
                    .ok_or_else(|| "the renderer returned no image".to_string())?
                    .image;
                let bytes = image
                    .encode(spec.output)
                    .map_err(|e| format!("encoding frame {frame}: {e}"))?;
                let path = out_dir.join(pictor_sdk::frames::frame_file_name(
                    frame,
                    spec.output.extension(),
                ));
                write_atomically(&path, &bytes)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
                files.push((frame, path));
                progress.store(
                    (((index + 1) as f32 / count) * 1000.0) as u16,
                    Ordering::Relaxed,
                );
            }
            Ok((
                files,
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ))
        })
    };
    let rendered = render.await;
    done.store(true, Ordering::Relaxed);
    heartbeat.abort();
    let reason = cancelled_reason.lock().map(|r| r.clone()).unwrap_or(None);
    let (files, render_ms) = match rendered {
        Ok(Ok(files)) => files,
        Ok(Err(message)) => {
            return Err(match reason {
                Some(reason) if reason.starts_with("worker shutting down") => {
                    TaskError::Failed(reason)
                }
                Some(reason) => TaskError::Dropped(reason),
                None => TaskError::Failed(message),
            });
        }
        Err(join) => return Err(TaskError::Failed(format!("the render panicked: {join}"))),
    };
    ctx.emit(WorkerEvent::Progress {
        task: task.0,
        permille: 1000,
    });

    // Upload, sign, spool, submit.
    let mut outputs = Vec::with_capacity(files.len());
    for (frame, path) in files {
        let mut backoff = Backoff::default();
        let output = loop {
            match ctx
                .client
                .workers()
                .upload_output(path.clone(), frame)
                .await
            {
                Ok(output) => break output,
                Err(error) if is_transient(&error) && !stop_requested(ctx) => {
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(error) if is_transient(&error) => {
                    return Err(TaskError::Dropped(format!(
                        "uploading frame {frame}: {error}"
                    )));
                }
                Err(error) => {
                    return Err(TaskError::Failed(format!(
                        "uploading frame {frame}: {error}"
                    )));
                }
            }
        };
        outputs.push(output);
    }
    let result = pictor_sdk::sign_result(&ctx.key, task, lease.attempt, outputs, render_ms)
        .map_err(|e| TaskError::Failed(format!("signing: {e}")))?;
    drop(scene);
    Ok(deliver(ctx, Spooled { task, result }).await)
}

fn stop_requested(ctx: &Ctx) -> bool {
    *ctx.shutdown.borrow()
}

/// Submits a signed result until the network has it: spooled to disk first, resubmitted with
/// backoff while the network is down, dropped on `409` (the lease moved on) or another refusal.
async fn deliver(ctx: &Ctx, spooled: Spooled) -> Outcome {
    let task = spooled.task;
    let spool_file = ctx
        .spool_dir
        .join(format!("{}-{}.json", task.0, spooled.result.attempt));
    if let Ok(bytes) = serde_json::to_vec(&spooled) {
        let _ = write_private(&spool_file, &bytes);
    }
    let mut backoff = Backoff::default();
    let mut tries_after_stop = 0;
    let outcome = loop {
        match ctx
            .client
            .workers()
            .submit_result(task, spooled.result.clone())
            .await
        {
            Ok(_) => {
                ctx.emit(WorkerEvent::Submitted { task: task.0 });
                break Some(Outcome::Submitted);
            }
            Err(error) if is_transient(&error) => {
                if stop_requested(ctx) {
                    tries_after_stop += 1;
                    if tries_after_stop > 3 {
                        // Kept in the spool for the next run.
                        ctx.emit(WorkerEvent::Failed {
                            task: task.0,
                            message: format!("network unreachable; result spooled: {error}"),
                        });
                        return Outcome::Failed;
                    }
                }
                tracing::warn!(task = task.0, %error, "network unreachable; result kept for resubmission");
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(error) => {
                let message = match error.code() {
                    Some(ErrorCode::StaleLease) => {
                        format!("the lease moved on; result dropped: {error}")
                    }
                    _ => format!("result refused: {error}"),
                };
                ctx.emit(WorkerEvent::Failed {
                    task: task.0,
                    message,
                });
                break None;
            }
        }
    };
    let _ = std::fs::remove_file(&spool_file);
    outcome.unwrap_or(Outcome::Failed)
}

fn read_spool(dir: &Path) -> Vec<Spooled> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let bytes = std::fs::read(e.path()).ok()?;
            match serde_json::from_slice::<Spooled>(&bytes) {
                Ok(spooled) => Some(spooled),
                Err(_) => {
                    let _ = std::fs::remove_file(e.path());
                    None
                }
            }
        })
        .collect()
}

/// Renews the lease with progress until the render ends. Cancels the render when the network says
/// the job no longer wants it, when the lease is stale, or on shutdown when the render cannot end
/// within the lease as it stood.
async fn heartbeat_loop(
    ctx: Arc<Ctx>,
    lease: TaskLease,
    progress: Arc<AtomicU16>,
    cancel: pictor_render::CancelToken,
    done: Arc<AtomicBool>,
    reason: Arc<std::sync::Mutex<Option<String>>>,
) {
    let mut expires_at = lease.expires_at_ms;
    let mut shutdown_deadline: Option<u64> = None;
    let set_reason = |text: String| {
        if let Ok(mut slot) = reason.lock() {
            slot.get_or_insert(text);
        }
    };
    loop {
        let remaining = expires_at.saturating_sub(now_ms());
        let interval = Duration::from_millis((remaining / 4).clamp(250, 5_000));
        tokio::time::sleep(interval).await;
        if done.load(Ordering::Relaxed) {
            return;
        }
        if stop_requested(&ctx) {
            let deadline = *shutdown_deadline.get_or_insert(expires_at.saturating_sub(2_000));
            if now_ms() >= deadline {
                set_reason("worker shutting down".into());
                cancel.cancel();
                return;
            }
        }
        let permille = progress.load(Ordering::Relaxed);
        match ctx
            .client
            .workers()
            .heartbeat(lease.task, lease.attempt, permille)
            .await
        {
            Ok(renewal) => {
                if shutdown_deadline.is_none() {
                    expires_at = renewal.expires_at_ms;
                }
                ctx.emit(WorkerEvent::Progress {
                    task: lease.task.0,
                    permille,
                });
                if !renewal.keep_going {
                    set_reason("the job no longer wants this task (cancelled or paused)".into());
                    cancel.cancel();
                    return;
                }
            }
            Err(error) if is_transient(&error) => {
                tracing::warn!(task = lease.task.0, %error, "heartbeat failed; still rendering");
            }
            Err(error) => {
                set_reason(format!("the lease was lost: {error}"));
                cancel.cancel();
                return;
            }
        }
    }
}
