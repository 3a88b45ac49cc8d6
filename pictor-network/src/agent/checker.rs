//! The checker agent: leases checks, fetches the frames and the scene (through the same blob cache
//! as the worker), runs the verification protocol of `pictor_verify` with its own renderer and
//! secret seeds, and posts the verdict with its evidence.

use super::cache::BlobCache;
use super::scene::fetch_scene;
use super::{Backoff, is_transient, now_ms};
use anyhow::{Context, Result, bail};
use pictor_core::api::{CheckLease, Verdict};
use pictor_core::job::RendererKind;
use pictor_core::task::TaskWork;
use pictor_render::{BlenderRenderer, BuiltinRenderer, RenderControl, Renderer};
use pictor_sdk::Client;
use pictor_verify::intake::{DuplicateIndex, IntakeSpec, intake};
use pictor_verify::protocol::{
    Checker, ProtocolConfig, ProtocolError, VerifyJob, VerifyReport, verify_frame_bytes,
};
use pictor_verify::{CpuVerifier, FrameVerifier};
use std::future::Future;
use std::path::{Path, PathBuf};
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
}

impl std::fmt::Debug for CheckerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckerOptions")
            .field("network", &self.network)
            .field("backend", &self.backend)
            .field("cache_dir", &self.cache_dir)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

/// What the checker is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckerEvent {
    /// The network answered.
    Connected,
    /// A verdict was posted.
    Checked {
        /// The check.
        check: u64,
        /// The task checked.
        task: u64,
        /// The verdict.
        verdict: Verdict,
    },
    /// No verdict could be reached (a render failed, the network refused the verdict): the check
    /// is left to expire and be reassigned.
    Error {
        /// The check.
        check: u64,
        /// Why.
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

/// The statistics backend `backend` names.
pub fn frame_verifier(backend: &str) -> Result<Box<dyn FrameVerifier>> {
    match backend.trim().to_ascii_lowercase().as_str() {
        "cpu" => Ok(Box::new(CpuVerifier)),
        #[cfg(feature = "vulkan")]
        "vulkan" => Ok(Box::new(
            pictor_verify::vulkan::VulkanVerifier::new()
                .context("--backend vulkan: opening a Vulkan device")?,
        )),
        #[cfg(not(feature = "vulkan"))]
        "vulkan" => bail!(
            "--backend vulkan: this pictor was built without the vulkan feature \
             (cargo build --features vulkan); use --backend cpu"
        ),
        other => bail!("unknown backend {other:?}: use cpu or vulkan"),
    }
}

/// Runs the checker until `shutdown` resolves (a check in progress is finished first).
pub async fn run_checker(
    options: CheckerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<CheckerSummary> {
    // Fail fast on a backend this build cannot run.
    frame_verifier(&options.backend)?;
    let client = Client::builder()
        .endpoint(options.network.trim_end_matches('/'))
        .api_key(&options.api_key)
        .retry(pictor_sdk::RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Backoff::CAP,
        })
        .build()
        .context("configuring the network client")?;
    let cache = BlobCache::open(&options.cache_dir, super::config::DEFAULT_CACHE_MAX_BYTES)?;
    let work_dir = options.cache_dir.join("checks");
    std::fs::create_dir_all(&work_dir)?;
    let (stop_tx, mut stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let emit = |event: CheckerEvent| {
        if let Some(callback) = &options.on_event {
            callback(event);
        }
    };
    let mut summary = CheckerSummary::default();
    let mut connected = false;
    let mut backoff = Backoff::default();
    while !*stop.borrow() {
        let delay = match client.checks().lease().await {
            Ok(lease) => {
                backoff.reset();
                if !connected {
                    connected = true;
                    emit(CheckerEvent::Connected);
                }
                match lease {
                    None => options.poll_interval,
                    Some(check) => {
                        let id = check.check.0;
                        let task = check.task.0;
                        let expires_at_ms = check.expires_at_ms;
                        let mut outcome =
                            check_one(&client, &cache, &work_dir, &options.backend, check.clone())
                                .await;
                        // The network went away mid-check (a coordinator restart, say): try the
                        // same check again while its lease lasts instead of leaving it to expire.
                        let mut retry = Backoff::default();
                        while let Err(error) = &outcome {
                            if !network_failure(error)
                                || now_ms() >= expires_at_ms
                                || *stop.borrow()
                            {
                                break;
                            }
                            tokio::time::sleep(retry.next_delay()).await;
                            outcome = check_one(
                                &client,
                                &cache,
                                &work_dir,
                                &options.backend,
                                check.clone(),
                            )
                            .await;
                        }
                        match outcome {
                            Ok(verdict) => {
                                match verdict {
                                    Verdict::Accept => summary.accepted += 1,
                                    Verdict::Reject => summary.rejected += 1,
                                    Verdict::Escalate => summary.escalated += 1,
                                }
                                emit(CheckerEvent::Checked {
                                    check: id,
                                    task,
                                    verdict,
                                });
                            }
                            Err(error) => {
                                summary.errors += 1;
                                tracing::warn!(check = id, error = %format!("{error:#}"), "no verdict");
                                emit(CheckerEvent::Error {
                                    check: id,
                                    message: format!("{error:#}"),
                                });
                            }
                        }
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

/// True when `error` was caused by an SDK error worth retrying (the network, a 5xx, a 429).
fn network_failure(error: &anyhow::Error) -> bool {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<pictor_sdk::Error>())
        .is_some_and(is_transient)
}

/// Fetches, verifies and posts one check; answers the verdict posted.
async fn check_one(
    client: &Client,
    cache: &Arc<BlobCache>,
    work_dir: &Path,
    backend: &str,
    check: CheckLease,
) -> Result<Verdict> {
    let dir = work_dir.join(check.check.to_string());
    let result = verify_check(client, cache, &dir, backend, &check).await;
    let _ = std::fs::remove_dir_all(&dir);
    let (verdict, evidence) = result?;
    tracing::debug!(check = check.check.0, ?verdict, reasons = %evidence["reasons"], "verdict");
    let mut backoff = Backoff::default();
    let mut tries = 0;
    loop {
        match client
            .checks()
            .verdict(check.check, verdict, evidence.clone())
            .await
        {
            Ok(_) => return Ok(verdict),
            Err(error) if is_transient(&error) && tries < 8 => {
                tries += 1;
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(error) => return Err(error).context("posting the verdict"),
        }
    }
}

async fn verify_check(
    client: &Client,
    cache: &Arc<BlobCache>,
    dir: &Path,
    backend: &str,
    check: &CheckLease,
) -> Result<(Verdict, serde_json::Value)> {
    let scene = fetch_scene(client, cache, &check.spec.scene, &dir.join("scene"))
        .await
        .context("fetching the scene")?;
    let _pin = cache.pin(check.outputs.iter().map(|o| o.hash.clone()));
    let mut frames = Vec::with_capacity(check.outputs.len());
    for output in &check.outputs {
        let path = cache
            .fetch(client, &output.hash, output.size)
            .await
            .with_context(|| format!("downloading the output of frame {}", output.frame))?;
        frames.push((output.frame, path));
    }
    let expected = frames_expected(&check.work);
    let check = check.clone();
    let main_file = scene.main_file.clone();
    let backend = backend.to_string();
    let verdict = tokio::task::spawn_blocking(move || {
        verify_frames(&check, &main_file, &backend, &frames, &expected)
    })
    .await
    .context("the verifier panicked")??;
    drop(scene);
    Ok(verdict)
}

fn frames_expected(work: &TaskWork) -> Vec<u32> {
    match work {
        TaskWork::Frames { frames } => frames.clone(),
        TaskWork::Tile { frame, .. } => vec![*frame],
    }
}

/// Runs the protocol on every frame of the result and combines the verdicts: any reject rejects,
/// else any escalation escalates, else accept.
fn verify_frames(
    check: &CheckLease,
    main_file: &Path,
    backend: &str,
    frames: &[(u32, PathBuf)],
    expected: &[u32],
) -> Result<(Verdict, serde_json::Value)> {
    let mut reasons: Vec<String> = Vec::new();
    let listed: Vec<u32> = frames.iter().map(|(f, _)| *f).collect();
    if listed != expected {
        reasons.push(format!(
            "the result lists frames {listed:?} where the task is {expected:?}"
        ));
        return Ok((Verdict::Reject, evidence(&[], &reasons)));
    }
    if let TaskWork::Tile { .. } = check.work {
        bail!("verifying tiles of a still is not supported by this checker yet");
    }
    let spec = &check.spec;
    let (width, height) = (spec.resolution.width, spec.resolution.height);
    // Read every frame first: a frame that does not decode or has the wrong size is a bad output
    // (reject) whatever the other frames hold.
    let mut bytes_of = Vec::with_capacity(frames.len());
    let intake_spec = IntakeSpec {
        format: Some(spec.output),
        ..IntakeSpec::new(width, height)
    };
    for (frame, path) in frames {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        match intake(&bytes, &intake_spec) {
            Ok(_) => {}
            Err(error) => {
                reasons.push(format!("frame {frame}: {error}"));
                return Ok((Verdict::Reject, evidence(&[], &reasons)));
            }
        }
        bytes_of.push((*frame, bytes));
    }
    let renderer: Box<dyn Renderer> = match spec.renderer.kind {
        RendererKind::Builtin => Box::new(BuiltinRenderer::default()),
        RendererKind::Blender => Box::new(BlenderRenderer::default()),
    };
    let verifier = frame_verifier(backend)?;
    let mut secret = [0u8; 32];
    {
        use rand::TryRngCore;
        rand::rngs::OsRng
            .try_fill_bytes(&mut secret)
            .context("reading the operating system's random source")?;
    }
    let checker = Checker {
        renderer: renderer.as_ref(),
        verifier: verifier.as_ref(),
        secret,
        config: ProtocolConfig::default(),
        control: RenderControl::with_timeout(Duration::from_secs(6 * 3600)),
    };
    let mut reports: Vec<VerifyReport> = Vec::with_capacity(bytes_of.len());
    for (frame, bytes) in &bytes_of {
        // Duplicates are looked for among the task's other frames only.
        let mut others = DuplicateIndex::new();
        for (other, other_bytes) in &bytes_of {
            if other != frame
                && let Ok(taken) = intake(other_bytes, &intake_spec)
            {
                others.insert(*other, &taken.facts);
            }
        }
        let job = VerifyJob {
            scene: Some(main_file.to_path_buf()),
            frame: *frame,
            width,
            height,
            samples: spec.samples,
            worker_seed: spec.seed.seed_for(*frame),
            engine: spec.renderer.engine,
            format: Some(spec.output),
        };
        match verify_frame_bytes(&checker, &job, bytes, &others) {
            Ok(report) => {
                for reason in &report.reasons {
                    reasons.push(format!("frame {frame}: {reason}"));
                }
                reports.push(report);
            }
            Err(ProtocolError::Intake(error)) => {
                reasons.push(format!("frame {frame}: {error}"));
                return Ok((Verdict::Reject, evidence(&reports, &reasons)));
            }
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!("verifying frame {frame}")));
            }
        }
    }
    let verdict = if reports.iter().any(|r| r.verdict == Verdict::Reject) {
        Verdict::Reject
    } else if reports.iter().any(|r| r.verdict == Verdict::Escalate) {
        Verdict::Escalate
    } else {
        Verdict::Accept
    };
    Ok((verdict, evidence(&reports, &reasons)))
}

fn evidence(reports: &[VerifyReport], reasons: &[String]) -> serde_json::Value {
    serde_json::json!({
        "frames": reports,
        "reasons": reasons,
    })
}
