//! Task execution: one leased task end to end — fetch its scene into the cache, render its frames
//! (heartbeating meanwhile), upload the outputs, sign the result, keep it in the outbox and deliver
//! it. Every failure is reported to the network or dropped on purpose, never a panic of the worker.

use crate::activity::ActivityReporter;
use crate::cache::BlobCache;
use crate::events::{EventSink, WorkerEvent};
use crate::heartbeat::{CancelSlot, Heartbeat};
use crate::outbox::{Outbox, Pending};
use crate::render_job::{RenderJob, RenderedFile};
use crate::retry::{RetryPolicy, is_transient, retry};
use crate::scene::fetch_scene;
use crate::upscale_job::{UpscaleJob, Upscaler};
use ed25519_dalek::SigningKey;
use pictor_core::api::{ErrorCode, EvidenceFile, TaskLease, WorkerActivity};
use pictor_core::clock::Clock;
use pictor_core::job::{RendererKind, RendererSpec, VersionConstraint};
use pictor_render::blender::discover::BlenderInstall;
use pictor_render::{BlenderRenderer, BuiltinRenderer, Renderer};
use pictor_sdk::Client;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use tokio::sync::watch;

/// Makes the renderer for a job's renderer kind. The production worker uses
/// [`standard_renderer`]; the demo wraps it in a cheating renderer to show the checkers at work.
pub type RendererFactory = Arc<dyn Fn(&RendererSpec) -> Box<dyn Renderer> + Send + Sync>;

/// The renderer a worker runs for `kind`: the built-in path tracer or Blender.
/// An upscale job has no renderer: the built-in one stands in, and is never called (the task
/// goes to the worker's [`Upscaler`]).
pub fn standard_renderer(kind: RendererKind) -> Box<dyn Renderer> {
    match kind {
        RendererKind::Builtin | RendererKind::Upscale => Box::new(BuiltinRenderer::default()),
        RendererKind::Blender => Box::new(BlenderRenderer::default()),
    }
}

/// The renderers of a worker with these Blender installs: a Blender job gets the newest install
/// its version constraint accepts (the network leases a task only to a worker that has one),
/// anything else [`standard_renderer`].
pub fn installed_renderers(installs: Vec<BlenderInstall>) -> RendererFactory {
    Arc::new(move |spec: &RendererSpec| {
        match (spec.kind, newest_matching(&installs, spec.version)) {
            (RendererKind::Blender, Some(install)) => {
                Box::new(BlenderRenderer::with_executable(install.path.clone()))
            }
            (kind, _) => standard_renderer(kind),
        }
    })
}

/// The newest install whose version `constraint` accepts.
fn newest_matching(
    installs: &[BlenderInstall],
    constraint: VersionConstraint,
) -> Option<&BlenderInstall> {
    installs
        .iter()
        .filter(|install| constraint.matches(install.version))
        .max_by_key(|install| install.version)
}

/// What every task of a worker shares.
pub(crate) struct TaskContext {
    pub(crate) client: Client,
    pub(crate) key: SigningKey,
    pub(crate) cache: Arc<BlobCache>,
    /// Per-task folders (`<cache>/tasks/<task>-<attempt>`).
    pub(crate) work_dir: PathBuf,
    pub(crate) outbox: Outbox,
    pub(crate) renderers: RendererFactory,
    /// What runs upscale tasks: `None` on a machine without the models (the network leases it
    /// none).
    pub(crate) upscaler: Option<Arc<dyn Upscaler>>,
    pub(crate) events: EventSink,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retry: RetryPolicy,
    pub(crate) activity: ActivityReporter,
}

impl TaskContext {
    pub(crate) fn stopping(&self) -> bool {
        *self.stop.borrow()
    }
}

/// How a task ended, for the worker's summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The network took the signed result.
    Submitted,
    /// It failed, was dropped, or waits in the outbox for the next run.
    Failed,
}

/// Why a task did not produce a result.
pub(crate) enum TaskError {
    /// Report it to the network with `fail`, so another worker takes the task at once.
    Failed(String),
    /// The lease is not ours any more (stale, cancelled, or the network is gone while stopping):
    /// nothing to report.
    Dropped(String),
}

/// Renders one leased task, end to end.
pub(crate) async fn run_task(ctx: Arc<TaskContext>, lease: TaskLease) -> Outcome {
    let task = lease.task;
    let dir = ctx.work_dir.join(format!("{}-{}", task.0, lease.attempt));
    let outcome = render_and_submit(&ctx, &lease, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    match outcome {
        Ok(outcome) => outcome,
        Err(error) => task_ended_without_result(&ctx, &lease, error).await,
    }
}

/// Reports a task that ended without a result: a failure is told to the network (once; if it
/// cannot be told, the lease lapses on its own), a dropped task is not; both become an event.
pub(crate) async fn task_ended_without_result(
    ctx: &TaskContext,
    lease: &TaskLease,
    error: TaskError,
) -> Outcome {
    let task = lease.task;
    let message = match error {
        TaskError::Dropped(message) => message,
        TaskError::Failed(message) => {
            let reported = ctx
                .client
                .workers()
                .fail(task, lease.attempt, message.clone())
                .await;
            if let Err(error) = reported {
                tracing::warn!(task = task.0, %error, "could not report the failure");
            }
            message
        }
    };
    ctx.events.emit(WorkerEvent::Failed {
        task: task.0,
        message,
    });
    Outcome::Failed
}

async fn render_and_submit(
    ctx: &Arc<TaskContext>,
    lease: &TaskLease,
    dir: &Path,
) -> Result<Outcome, TaskError> {
    let task = lease.task;
    let upscaler = match (&lease.spec.upscale, &ctx.upscaler) {
        (Some(_), None) => {
            return Err(TaskError::Failed(
                "this worker has no upscale models (pictor model install)".into(),
            ));
        }
        (Some(upscale), Some(upscaler)) => Some((upscale.clone(), upscaler.clone())),
        (None, _) => None,
    };
    // The scene, into the cache and the task folder, retried while the network is down and the
    // lease lasts.
    let clock = ctx.clock.clone();
    let expires_at_ms = lease.expires_at_ms;
    let scene_dir = dir.join("scene");
    ctx.activity.report(WorkerActivity::Downloading, Some(task));
    let scene = retry(
        &ctx.retry,
        || expires_at_ms > clock.now_ms(),
        || fetch_scene(&ctx.client, &ctx.cache, &lease.scene, &scene_dir),
    )
    .await
    .map_err(|error| TaskError::Failed(format!("fetching the scene: {error}")))?;

    let progress = Arc::new(AtomicU16::new(0));
    let cancel = pictor_render::CancelToken::new();
    let done = Arc::new(AtomicBool::new(false));
    let reason = CancelSlot::default();
    let heartbeat = tokio::spawn(
        Heartbeat {
            client: ctx.client.clone(),
            lease: lease.clone(),
            progress: progress.clone(),
            cancel: cancel.clone(),
            done: done.clone(),
            reason: reason.clone(),
            stop: ctx.stop.clone(),
            clock: ctx.clock.clone(),
            events: ctx.events.clone(),
        }
        .run(),
    );
    ctx.activity.report(WorkerActivity::Rendering, Some(task));
    let rendered = match upscaler {
        Some((spec, upscaler)) => {
            let job = UpscaleJob {
                upscaler,
                spec,
                output: lease.spec.output,
                work: lease.work.clone(),
                inputs: (scene.root.clone(), scene.main_file.clone()),
                frames_in_job: lease.spec.frames.len(),
                out_dir: dir.join("out"),
                progress,
                cancel,
            };
            tokio::task::spawn_blocking(move || job.run()).await
        }
        None => {
            let job = RenderJob {
                renderer: (ctx.renderers)(&lease.spec.renderer),
                spec: lease.spec.clone(),
                work: lease.work.clone(),
                main_file: scene.main_file.clone(),
                out_dir: dir.join("out"),
                progress,
                cancel,
            };
            tokio::task::spawn_blocking(move || job.render()).await
        }
    };
    done.store(true, Ordering::Relaxed);
    heartbeat.abort();
    let (files, render_ms) = match rendered {
        Ok(Ok(files)) => files,
        Ok(Err(message)) => {
            return Err(match reason.get() {
                Some(reason) if reason.report_failure() => TaskError::Failed(reason.to_string()),
                Some(reason) => TaskError::Dropped(reason.to_string()),
                None => TaskError::Failed(message),
            });
        }
        Err(join) => return Err(TaskError::Failed(format!("the render panicked: {join}"))),
    };
    ctx.events.emit(WorkerEvent::Progress {
        task: task.0,
        permille: 1000,
    });
    let outcome = submit_rendered(ctx, lease, files, render_ms).await;
    drop(scene);
    outcome
}

/// Uploads a task's rendered files, signs the result, keeps it in the outbox and delivers it —
/// the end of every task, whether this machine rendered it or a farm's node did.
pub(crate) async fn submit_rendered(
    ctx: &TaskContext,
    lease: &TaskLease,
    files: Vec<RenderedFile>,
    render_ms: u64,
) -> Result<Outcome, TaskError> {
    let task = lease.task;
    ctx.activity.report(WorkerActivity::Uploading, Some(task));
    let outputs = upload_outputs(ctx, files).await?;
    let result = pictor_sdk::sign_result(&ctx.key, task, lease.attempt, outputs, render_ms)
        .map_err(|e| TaskError::Failed(format!("signing: {e}")))?;
    let pending = Pending { task, result };
    ctx.outbox
        .put(&pending)
        .map_err(|e| TaskError::Failed(format!("{e:#}")))?;
    Ok(deliver(ctx, pending).await)
}

/// Uploads the rendered files as blobs, retrying while the network is down and the worker is not
/// stopping.
async fn upload_outputs(
    ctx: &TaskContext,
    files: Vec<RenderedFile>,
) -> Result<Vec<pictor_core::api::TaskOutput>, TaskError> {
    let mut outputs = Vec::with_capacity(files.len());
    for file in files {
        let frame = file.frame;
        let uploaded = async {
            let mut output = retry(
                &ctx.retry,
                || !ctx.stopping(),
                || ctx.client.workers().upload_output(file.path.clone(), frame),
            )
            .await?;
            if let Some(evidence) = &file.evidence {
                let uploaded = retry(
                    &ctx.retry,
                    || !ctx.stopping(),
                    || ctx.client.workers().upload_output(evidence.clone(), frame),
                )
                .await?;
                output.evidence = Some(EvidenceFile {
                    hash: uploaded.hash,
                    size: uploaded.size,
                });
            }
            output.name = file.name.clone();
            output.renderer_version = file.renderer_version.clone();
            Ok::<_, pictor_sdk::Error>(output)
        }
        .await;
        match uploaded {
            Ok(output) => outputs.push(output),
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
    }
    Ok(outputs)
}

/// Submits a result from the outbox until the network has it: resubmitted with backoff while the
/// network is down (a few more tries once the worker is stopping, then left in the outbox for the
/// next run), removed from the outbox when taken or refused for good (a `409`: the lease moved on).
pub(crate) async fn deliver(ctx: &TaskContext, pending: Pending) -> Outcome {
    let task = pending.task;
    let mut tries_after_stop = 0;
    let keep_trying = || {
        if ctx.stopping() {
            tries_after_stop += 1;
        }
        tries_after_stop <= 3
    };
    let submitted = retry(&ctx.retry, keep_trying, || {
        ctx.client
            .workers()
            .submit_result(task, pending.result.clone())
    })
    .await;
    let (outcome, message) = match submitted {
        Ok(_) => {
            ctx.events.emit(WorkerEvent::Submitted { task: task.0 });
            (Outcome::Submitted, None)
        }
        Err(error) if is_transient(&error) => {
            // Kept in the outbox for the next run.
            let message = format!("network unreachable; result kept in the outbox: {error}");
            ctx.events.emit(WorkerEvent::Failed {
                task: task.0,
                message,
            });
            return Outcome::Failed;
        }
        Err(error) => {
            let message = match error.code() {
                Some(ErrorCode::StaleLease) => {
                    format!("the lease moved on; result dropped: {error}")
                }
                _ => format!("result refused: {error}"),
            };
            (Outcome::Failed, Some(message))
        }
    };
    if let Err(error) = ctx.outbox.remove(&pending) {
        tracing::warn!(task = task.0, error = %format!("{error:#}"), "could not clear the outbox");
    }
    if let Some(message) = message {
        ctx.events.emit(WorkerEvent::Failed {
            task: task.0,
            message,
        });
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_core::job::Version;

    #[test]
    fn a_blender_job_gets_the_newest_install_its_constraint_accepts() {
        let install = |path: &str, version: Version| BlenderInstall {
            path: path.into(),
            version,
        };
        let installs = vec![
            install("/opt/blender-3.4", Version::new(3, 4, 1)),
            install("/opt/blender-4.2", Version::new(4, 2, 0)),
            install("/opt/blender-3.6", Version::new(3, 6, 5)),
        ];
        let pick = |text: &str| {
            newest_matching(&installs, text.parse().expect("constraint"))
                .map(|install| install.path.clone())
        };
        assert_eq!(pick("*"), Some("/opt/blender-4.2".into()));
        assert_eq!(pick("3.4"), Some("/opt/blender-3.4".into()));
        assert_eq!(pick(">=3.5"), Some("/opt/blender-4.2".into()));
        assert_eq!(pick("=3.6.5"), Some("/opt/blender-3.6".into()));
        assert_eq!(pick(">=5.0"), None);
    }
}
