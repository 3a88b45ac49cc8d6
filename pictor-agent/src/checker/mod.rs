//! The checker agent: leases checks, fetches the frames and the scene (through the same blob cache
//! as the worker), runs the verification protocol of `pictor_verify` with its own renderer and
//! secret seeds, and posts the verdict with its evidence.

mod faithful;
mod open_scene;
mod upscale;
mod verification;

pub use verification::frame_verifier;

use crate::cache::BlobCache;
use crate::retry::{RetryPolicy, is_transient, retry, retry_when};
use anyhow::{Context, Result};
use open_scene::OpenSceneSlot;
use pictor_core::api::{CheckLease, Verdict};
use pictor_core::clock::Clock;
use pictor_render::blender::discover::BlenderInstall;
use pictor_sdk::Client;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How the checker runs.
#[derive(Clone)]
pub struct CheckerOptions {
    /// The network's base URL.
    pub network: String,
    /// The checker account's API key.
    pub api_key: String,
    /// Statistics backend: `cpu` or `vulkan` (the latter needs the `vulkan` feature).
    pub backend: String,
    /// Blob cache and per-check folders.
    pub cache_dir: PathBuf,
    /// How long to wait before asking again when no check waits.
    pub poll_interval: Duration,
    /// Receives what the checker does.
    pub on_event: Option<Arc<dyn Fn(CheckerEvent) + Send + Sync>>,
    /// How network operations are retried while the network is down.
    pub retry: RetryPolicy,
    /// Where the checker reads the time (check lease expiries).
    pub clock: Arc<dyn Clock>,
    /// The Blender executables this checker verifies with; empty: the Blender `PICTOR_BLENDER`
    /// or `PATH` names, if any. The network leases it only checks it can verify: a frame Blender
    /// finished with the scene's settings goes to a checker with that same Blender version.
    pub blender: Vec<PathBuf>,
    /// How long a scene stays open (its files kept and Blender running with it loaded) after the
    /// last check of it, waiting for the next check of the same scene; zero closes it after each
    /// check. See `open_scene` (docs/ARCHITECTURE.md, "Checker").
    pub keep_scene_open: Duration,
    /// The folder `pictor model install` filled with the upscale models: set, the checker
    /// verifies upscale tasks too (every catalog model must be there, with the catalog's hash).
    pub models_dir: Option<PathBuf>,
}

/// How long a checker keeps a scene open after its last check of it, by default.
pub const DEFAULT_KEEP_SCENE_OPEN: Duration = Duration::from_secs(120);

impl CheckerOptions {
    /// Options for a checker of `network` with `api_key`, caching in `cache_dir`, verifying on the
    /// CPU, asking for work every second.
    pub fn new(network: &str, api_key: &str, cache_dir: PathBuf) -> Self {
        CheckerOptions {
            network: network.to_string(),
            api_key: api_key.to_string(),
            backend: "cpu".into(),
            cache_dir,
            poll_interval: Duration::from_secs(1),
            on_event: None,
            retry: RetryPolicy::DEFAULT,
            clock: pictor_core::clock::system(),
            blender: Vec::new(),
            keep_scene_open: DEFAULT_KEEP_SCENE_OPEN,
            models_dir: None,
        }
    }
}

impl std::fmt::Debug for CheckerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckerOptions")
            .field("network", &self.network)
            .field("backend", &self.backend)
            .field("cache_dir", &self.cache_dir)
            .field("poll_interval", &self.poll_interval)
            .field("blender", &self.blender)
            .field("keep_scene_open", &self.keep_scene_open)
            .field("models_dir", &self.models_dir)
            .finish_non_exhaustive()
    }
}

/// What the checker is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckerEvent {
    /// The first check lease request succeeded (sent once per run, before any other event).
    Connected,
    /// A verdict was posted and the network took it; `CheckerSummary` counts it.
    Checked {
        /// The check's id, as leased (`CheckLease::check`).
        check: u64,
        /// The task whose result was checked.
        task: u64,
        /// The verdict posted: it settles, requeues or re-checks the task.
        verdict: Verdict,
    },
    /// No verdict could be reached (a render failed, the network refused the verdict): the check
    /// is left to expire and be reassigned.
    Error {
        /// The check left without a verdict; once its lease lapses another checker may take it.
        check: u64,
        /// The error that stopped the check, with its chain of causes.
        message: String,
    },
}

/// What a checker did before it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckerSummary {
    /// Results accepted.
    pub accepted: u64,
    /// Results rejected.
    pub rejected: u64,
    /// Results escalated.
    pub escalated: u64,
    /// Checks that ended without a verdict.
    pub errors: u64,
}

/// Runs the checker until `shutdown` resolves (a check in progress is finished first).
pub async fn run_checker(
    options: CheckerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<CheckerSummary> {
    // Fail fast on a backend this build cannot run, and on a Blender named that does not answer.
    frame_verifier(&options.backend)?;
    let installs = {
        let paths = options.blender.clone();
        tokio::task::spawn_blocking(move || verification::blender_installs(&paths)).await??
    };
    let shelf = match &options.models_dir {
        Some(dir) => Some(Arc::new(crate::registration::open_models(dir).await?)),
        None => None,
    };
    let mut lease_request = verification::lease_request(&installs);
    if shelf.is_some() {
        lease_request
            .renderers
            .truncate(pictor_core::api::MAX_CHECKER_RENDERERS - 1);
        lease_request.renderers.push((
            pictor_core::job::RendererKind::Upscale,
            crate::registration::UPSCALE_ENGINE_VERSION,
        ));
    }
    let client = Client::builder()
        .endpoint(options.network.trim_end_matches('/'))
        .api_key(&options.api_key)
        .retry(options.retry.for_requests())
        .build()
        .context("configuring the network client")?;
    let cache = BlobCache::open(&options.cache_dir, crate::config::DEFAULT_CACHE_MAX_BYTES)?;
    let work_dir = options.cache_dir.join("checks");
    std::fs::create_dir_all(&work_dir)?;
    let scene_dir = options.cache_dir.join("open-scene");
    let (stop_tx, mut stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let checker = Session {
        client,
        cache,
        work_dir,
        scene_dir,
        open_scene: OpenSceneSlot::default(),
        options: &options,
        installs: &installs,
        shelf,
        stop: stop.clone(),
    };
    let mut summary = CheckerSummary::default();
    let mut connected = false;
    let mut backoff = options.retry.backoff();
    while !*stop.borrow() {
        checker.open_scene.close_if_idle(options.keep_scene_open);
        let mut request = lease_request.clone();
        request.open_scenes.extend(checker.open_scene.asset());
        let delay = match checker.client.checks().lease_for(request).await {
            Ok(lease) => {
                backoff.reset();
                if !connected {
                    connected = true;
                    checker.emit(CheckerEvent::Connected);
                }
                match lease {
                    None => options.poll_interval,
                    Some(check) => {
                        checker.check(check, &mut summary).await;
                        Duration::ZERO
                    }
                }
            }
            Err(error) if is_transient(&error) => backoff.next_delay(),
            Err(error) => {
                tracing::warn!(%error, "check lease refused");
                backoff.next_delay().max(options.poll_interval)
            }
        };
        if !delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stop.changed() => {}
            }
        }
    }
    Ok(summary)
}

/// A running checker: its client, cache and options.
struct Session<'a> {
    client: Client,
    cache: Arc<BlobCache>,
    work_dir: PathBuf,
    /// Where the scene of the current check is materialized, and stays while it is open.
    scene_dir: PathBuf,
    /// The scene kept open between checks.
    open_scene: OpenSceneSlot,
    options: &'a CheckerOptions,
    /// The Blenders found at start, each with its version.
    installs: &'a [BlenderInstall],
    /// The upscale models, when this checker verifies upscale tasks.
    shelf: Option<Arc<pictor_upscale::ModelShelf>>,
    stop: watch::Receiver<bool>,
}

impl Session<'_> {
    fn emit(&self, event: CheckerEvent) {
        if let Some(callback) = &self.options.on_event {
            callback(event);
        }
    }

    /// Verifies one leased check and posts its verdict, counting it into `summary`. When the
    /// network goes away mid-check (a coordinator restart, say) the same check is tried again
    /// while its lease lasts, instead of being left to expire.
    async fn check(&self, check: CheckLease, summary: &mut CheckerSummary) {
        let id = check.check.0;
        let task = check.task.0;
        let expires_at_ms = check.expires_at_ms;
        let clock = self.options.clock.clone();
        let outcome = retry_when(
            &self.options.retry,
            network_failure,
            || clock.now_ms() < expires_at_ms && !*self.stop.borrow(),
            || check_one(self, check.clone()),
        )
        .await;
        match outcome {
            Ok(verdict) => {
                match verdict {
                    Verdict::Accept => summary.accepted += 1,
                    Verdict::Reject => summary.rejected += 1,
                    Verdict::Escalate => summary.escalated += 1,
                }
                self.emit(CheckerEvent::Checked {
                    check: id,
                    task,
                    verdict,
                });
            }
            Err(error) => {
                summary.errors += 1;
                tracing::warn!(check = id, error = %format!("{error:#}"), "no verdict");
                self.emit(CheckerEvent::Error {
                    check: id,
                    message: format!("{error:#}"),
                });
            }
        }
    }
}

/// True when `error` was caused by an SDK error worth retrying (the network, a 5xx, a 429).
fn network_failure(error: &anyhow::Error) -> bool {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<pictor_sdk::Error>())
        .is_some_and(is_transient)
}

/// Fetches, verifies and posts one check; answers the verdict posted.
async fn check_one(checker: &Session<'_>, check: CheckLease) -> Result<Verdict> {
    let Session {
        client,
        cache,
        options,
        ..
    } = checker;
    let dir = checker.work_dir.join(check.check.to_string());
    let folders = verification::CheckFolders {
        check: &dir,
        scene: &checker.scene_dir,
    };
    let result = match (&check.spec.upscale, &checker.shelf) {
        (Some(_), Some(shelf)) => {
            upscale::verify_upscale_check(client, cache, &folders, shelf.clone(), &check).await
        }
        (Some(_), None) => Err(anyhow::anyhow!(
            "an upscale check, and this checker has no upscale models"
        )),
        (None, _) => {
            verification::verify_check(
                client,
                cache,
                &folders,
                &options.backend,
                checker.installs,
                &checker.open_scene,
                &check,
            )
            .await
        }
    };
    if options.keep_scene_open.is_zero() {
        drop(checker.open_scene.take());
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (verdict, evidence) = result?;
    tracing::debug!(check = check.check.0, ?verdict, reasons = %evidence["reasons"], "verdict");
    let eight_tries = RetryPolicy {
        max_tries: Some(8),
        ..options.retry
    };
    retry(
        &eight_tries,
        || true,
        || {
            client
                .checks()
                .verdict(check.check, verdict, evidence.clone())
        },
    )
    .await
    .context("posting the verdict")?;
    Ok(verdict)
}
