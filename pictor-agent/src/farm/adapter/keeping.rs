//! Keeping a lease and ending it: heartbeats with the node's progress, cancelling the farm's job,
//! collecting and delivering finished frames, and forgetting a lease that ended without them.

use super::{Adapter, Delivered};
use crate::events::WorkerEvent;
use crate::executor::{Outcome, TaskError, submit_rendered, task_ended_without_result};
use crate::farm::FarmEvent;
use crate::farm::engine::{FarmEngine, LeaseTag};
use crate::farm::node::TaskFolder;
use crate::retry::is_transient;

impl<E: FarmEngine> Adapter<'_, E> {
    /// Renews the lease of `tag` when due, with the node's progress; cancels the farm's job when
    /// the network says the task is not wanted or the lease is lost.
    pub(super) async fn heartbeat(&mut self, tag: LeaseTag) {
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

    pub(super) async fn heartbeat_all(&mut self) {
        let tags: Vec<LeaseTag> = self.tracked.keys().copied().collect();
        for tag in tags {
            self.heartbeat(tag).await;
        }
    }

    /// Cancels the farm's job of `tag`, if it has one.
    pub(super) async fn cancel_job(&mut self, tag: LeaseTag, reason: &str) {
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
    pub(super) fn collect(&mut self, tag: LeaseTag) {
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

    pub(super) fn reap_deliveries(&mut self) {
        while let Some(joined) = self.deliveries.try_join_next() {
            self.delivered(joined);
        }
    }

    pub(super) fn delivered(&mut self, joined: Result<Delivered, tokio::task::JoinError>) {
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
    pub(super) async fn give_up(&mut self, tag: LeaseTag, error: TaskError) {
        self.forget(tag, error).await;
        self.summary.failed += 1;
    }

    pub(super) async fn forget(&mut self, tag: LeaseTag, error: TaskError) {
        let Some(tracked) = self.tracked.remove(&tag) else {
            return;
        };
        task_ended_without_result(&self.ctx, &tracked.record.lease, error).await;
        let _ = self.records.remove(tag);
        let _ = std::fs::remove_dir_all(self.folder(tag));
    }
}
