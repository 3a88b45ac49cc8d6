//! Another Pictor network as a [`FarmEngine`]: a network with spare capacity serves as a farm of
//! this one. Each leased task becomes a job of the farm's network — its scene uploaded from the
//! task's folder, the task's frames, the lease tag as the job's tag — submitted by the farm's
//! creator account there, rendered and verified by that network's own workers and checkers, and
//! its frames downloaded into the task's folder; the network that leased the task verifies them
//! again. The farm's network is paid from the creator account's balance like any job; the farm is
//! paid by the leasing network per accepted task.
//!
//! Forwarded: whole-frame tasks whose frames Pictor encodes. A tile of a still, or a job that
//! delivers Blender's own files with their evidence, is refused (the task fails with the reason).

use super::config::PictorSettings;
use super::engine::{FarmEngine, FarmJob, FarmJobState, LeaseTag, Submission};
use super::node::{NodeFile, NodeProbe, NodeResult, TaskFile, TaskFolder};
use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use pictor_core::JobId;
use pictor_core::job::{FrameSet, JobState};
use pictor_core::task::TaskWork;
use pictor_sdk::Client;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a finished job of the farm's network is still reported (like Slurm's `MinJobAge`).
const KEEP_FINISHED: Duration = Duration::from_secs(600);

/// Another Pictor network, reached as a creator.
pub struct PictorFarm {
    client: Client,
    /// The farm's jobs by lease, learnt from submissions and (once, after a start) the listing.
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    listed: bool,
    jobs: HashMap<LeaseTag, (JobId, Option<Instant>)>,
}

impl PictorFarm {
    /// The farm's network of `settings`.
    pub fn new(settings: &PictorSettings) -> Result<Self> {
        let client = crate::registration::client_for(&settings.network, &settings.api_key)?;
        Ok(PictorFarm {
            client,
            known: Mutex::new(Known::default()),
        })
    }

    fn remember(&self, tag: LeaseTag, job: JobId) {
        if let Ok(mut known) = self.known.lock() {
            known.jobs.entry(tag).or_insert((job, None));
        }
    }

    /// Learns the tagged jobs of the creator account once per start.
    async fn list_once(&self) -> Result<()> {
        if self.known.lock().map(|k| k.listed).unwrap_or(true) {
            return Ok(());
        }
        let mut listing = Box::pin(self.client.jobs().list().send());
        while let Some(job) = listing.next().await {
            let job = job.context("listing the farm network's jobs")?;
            if let Some(tag) = job.spec.tags.iter().find_map(|tag| LeaseTag::parse(tag)) {
                self.remember(tag, job.id);
            }
        }
        if let Ok(mut known) = self.known.lock() {
            known.listed = true;
        }
        Ok(())
    }
}

impl FarmEngine for PictorFarm {
    fn name(&self) -> &'static str {
        "pictor"
    }

    async fn submit_held(&self, submission: Submission<'_>) -> Result<String> {
        let folder = TaskFolder(submission.folder);
        let bytes = std::fs::read(folder.task_file()).context("reading task.json")?;
        let task: TaskFile = serde_json::from_slice(&bytes).context("parsing task.json")?;
        let lease = &task.lease;
        let frames = match &lease.work {
            TaskWork::Frames { frames } => frames.clone(),
            TaskWork::Tile { .. } => bail!("a Pictor farm does not take tiles of a still"),
        };
        if lease.spec.delivers_scene_output() {
            bail!("a Pictor farm does not forward jobs that deliver Blender's own files");
        }
        let main_file = task
            .main_file
            .strip_prefix("scene")
            .context("the scene is not in the task's scene folder")?
            .to_string_lossy()
            .into_owned();
        let asset = self
            .client
            .assets()
            .upload_folder(submission.folder.join("scene"), main_file)
            .send()
            .await
            .context("uploading the scene to the farm's network")?;
        let mut spec = lease.spec.clone();
        spec.scene = asset.id;
        spec.frames = frame_set(&frames)?;
        spec.name = None;
        spec.deadline_secs = None;
        spec.budget_cap = None;
        spec.tags = [submission.tag.to_comment()].into_iter().collect();
        let job = self
            .client
            .jobs()
            .submit(spec)
            .idempotency_key(format!("farm-{}", submission.tag.folder_name()))
            .send()
            .await
            .context("submitting the task to the farm's network")?;
        self.remember(submission.tag, job.id);
        Ok(job.id.0.to_string())
    }

    async fn release(&self, _id: &str) -> Result<()> {
        // Jobs start when submitted: the idempotency key already makes a repeat harmless.
        Ok(())
    }

    async fn jobs(&self) -> Result<Vec<FarmJob>> {
        self.list_once().await?;
        let known: Vec<(LeaseTag, JobId)> = self
            .known
            .lock()
            .map(|k| k.jobs.iter().map(|(tag, (id, _))| (*tag, *id)).collect())
            .unwrap_or_default();
        let mut jobs = Vec::with_capacity(known.len());
        for (tag, id) in known {
            let view = self
                .client
                .jobs()
                .get(id)
                .await
                .with_context(|| format!("reading job {} of the farm's network", id.0))?;
            let state = match view.state {
                JobState::Quoted | JobState::Queued | JobState::Paused => FarmJobState::Queued,
                JobState::Running => FarmJobState::Running,
                JobState::Completed => FarmJobState::Completed,
                JobState::Failed => {
                    FarmJobState::Failed(format!("job {} of the farm's network failed", id.0))
                }
                JobState::Cancelled => FarmJobState::Cancelled,
            };
            if let Ok(mut known) = self.known.lock() {
                if state.is_live() {
                    known.jobs.insert(tag, (id, None));
                } else {
                    let since = *known
                        .jobs
                        .entry(tag)
                        .or_insert((id, None))
                        .1
                        .get_or_insert_with(Instant::now);
                    if since.elapsed() > KEEP_FINISHED {
                        known.jobs.remove(&tag);
                    }
                }
            }
            jobs.push(FarmJob {
                id: id.0.to_string(),
                tag,
                state,
                restarts: 0,
            });
        }
        Ok(jobs)
    }

    async fn cancel(&self, id: &str) -> Result<()> {
        let id = JobId(id.parse().context("a job id of the farm's network")?);
        match self.client.jobs().cancel(id).await {
            Ok(_) => Ok(()),
            // Already finished: nothing to cancel.
            Err(error) if error.code() == Some(pictor_core::api::ErrorCode::Conflict) => Ok(()),
            Err(error) => Err(error).context("cancelling the farm network's job"),
        }
    }

    async fn collect(&self, job: &FarmJob, folder: &Path) -> Result<()> {
        let id = JobId(job.id.parse().context("a job id of the farm's network")?);
        let out = folder.join("out");
        let downloaded = self
            .client
            .jobs()
            .download_frames(id, &out)
            .await
            .context("downloading the farm network's frames")?;
        let view = self.client.jobs().get(id).await?;
        let now_ms = pictor_core::clock::system().now_ms();
        let files = downloaded
            .into_iter()
            .map(|frame| {
                let path = frame
                    .path
                    .strip_prefix(folder)
                    .map(Path::to_path_buf)
                    .context("a frame outside the task's folder")?;
                Ok(NodeFile {
                    frame: frame.frame,
                    path,
                    name: None,
                    evidence: None,
                    renderer_version: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let result = NodeResult {
            render_ms: now_ms.saturating_sub(view.created_at_ms),
            files,
        };
        let json = serde_json::to_vec(&result).context("encoding the result")?;
        pictor_render::image::write_atomically(&TaskFolder(folder).result(), &json)
            .context("writing result.json")
    }

    async fn probe(
        &self,
        _renderer: &str,
        _blender: &[PathBuf],
        _folder: &Path,
    ) -> Result<NodeProbe> {
        let workers = self
            .client
            .workers()
            .list()
            .await
            .context("listing the farm network's workers")?;
        let online: Vec<_> = workers.into_iter().filter(|w| w.online).collect();
        let Some(fastest) = online.iter().map(|w| w.speed_millis).max() else {
            bail!("no worker is online on the farm's network");
        };
        let mut renderers = Vec::new();
        for worker in &online {
            for renderer in &worker.hardware.renderers {
                if !renderers.contains(renderer) {
                    renderers.push(*renderer);
                }
            }
        }
        Ok(NodeProbe {
            speed_millis: fastest,
            renderers,
        })
    }
}

/// The frames of a task as a frame set (`1,2,5`).
fn frame_set(frames: &[u32]) -> Result<FrameSet> {
    let text: Vec<String> = frames.iter().map(u32::to_string).collect();
    text.join(",")
        .parse()
        .map_err(|error| anyhow::anyhow!("the task's frames {frames:?}: {error}"))
}
