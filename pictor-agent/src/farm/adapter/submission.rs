//! Taking work: leasing within the farm's slots, laying a task out on the farm's storage,
//! submitting it held and tagged, releasing it; and handing unstarted tasks back on shutdown.

use super::Adapter;
use crate::events::WorkerEvent;
use crate::executor::{TaskError, task_ended_without_result};
use crate::farm::FarmEvent;
use crate::farm::engine::{FarmEngine, FarmJobState, LeaseTag, Submission};
use crate::farm::node::{TaskFile, TaskFolder};
use crate::farm::record::LeaseRecord;
use crate::retry::retry;
use crate::scene::fetch_scene;
use pictor_core::api::{ErrorCode, TaskLease};
use tokio::sync::watch;

impl<E: FarmEngine> Adapter<'_, E> {
    /// Lays the task out on the farm's storage (once), submits it held, records the job, releases
    /// it.
    pub(super) async fn submit(&mut self, tag: LeaseTag) {
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
    pub(super) async fn prepare(
        &self,
        lease: &TaskLease,
        folder: &std::path::Path,
    ) -> Result<(), TaskError> {
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
    pub(super) async fn adopt_and_release(&mut self, tag: LeaseTag, id: &str) {
        let now = self.clock.now_ms();
        let Some(tracked) = self.tracked.get_mut(&tag) else {
            return;
        };
        tracked.queued_since_ms.get_or_insert(now);
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

    /// Leases tasks while the farm has free slots and its queue keeps up with its offer.
    pub(super) async fn lease_more(&mut self, stop: &watch::Receiver<bool>) {
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
    pub(super) async fn hand_back_unstarted(&mut self) {
        let jobs = match self.engine.jobs().await {
            Ok(jobs) => super::progress::jobs_by_lease(jobs, |_| None).0,
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
