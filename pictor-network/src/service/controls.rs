//! The creator's controls over a job: cancel, pause, resume, and render frames again.

use super::escrow::shortfall_error;
use super::events::emit;
use super::{Caller, Coordinator, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{Store, TaskRow};
use pictor_core::api::{JobEvent, JobView, PauseReason};
use pictor_core::job::{FrameSet, JobState, JobTransition};
use pictor_core::task::TaskState;
use pictor_core::{JobId, Money};

impl<S: Store> Coordinator<S> {
    /// Cancels a job: open holds return to the creator, unfinished tasks and their checks are dropped.
    pub async fn cancel_job(&self, caller: &Caller, job: JobId) -> ServiceResult<JobView> {
        let mut write = self.write().await?;
        let result = self.cancel_in(&mut write, caller, job).await;
        self.finish(write, result).await?;
        // A big job's remaining tasks close a batch per write (see `batches`).
        self.finish_closing(job.0).await?;
        self.reread_job(caller, job).await
    }

    async fn cancel_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        job: JobId,
    ) -> ServiceResult<()> {
        let mut row = self.visible_job(&mut write.tx, caller, job).await?;
        row.state = row.state.apply(JobTransition::Cancel)?;
        row.paused_reason = None;
        self.close_tasks(write, row.id).await?;
        emit(self, write, &mut row, JobEvent::Cancelled {}).await
    }

    /// Pauses a job (no new leases; running tasks finish).
    pub async fn pause_job(&self, caller: &Caller, job: JobId) -> ServiceResult<JobView> {
        let mut write = self.write().await?;
        let result = self.pause_in(&mut write, caller, job).await;
        self.finish(write, result).await
    }

    async fn pause_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        job: JobId,
    ) -> ServiceResult<JobView> {
        let mut row = self.visible_job(&mut write.tx, caller, job).await?;
        row.state = row.state.apply(JobTransition::Pause)?;
        row.paused_reason = Some(PauseReason::Creator);
        let paused = JobEvent::Paused {
            reason: PauseReason::Creator,
            short: None,
        };
        emit(self, write, &mut row, paused).await?;
        self.job_view_locked(write, &row).await
    }

    /// Resumes a paused job; one paused for funds resumes only when the balance covers its holds.
    pub async fn resume_job(&self, caller: &Caller, job: JobId) -> ServiceResult<JobView> {
        let mut write = self.write().await?;
        let result = self.resume_in(&mut write, caller, job).await;
        self.finish(write, result).await
    }

    async fn resume_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        job: JobId,
    ) -> ServiceResult<JobView> {
        let mut row = self.visible_job(&mut write.tx, caller, job).await?;
        if row.state != JobState::Paused {
            return Err(ServiceError::conflict(format!("job {job} is not paused")));
        }
        let (covered, balance, needed) = self.open_missing_holds(write, &row).await?;
        if !covered {
            return Err(shortfall_error(balance, needed));
        }
        row.state = row.state.apply(JobTransition::Resume)?;
        row.paused_reason = None;
        let resumed = JobEvent::Resumed {
            reason: PauseReason::Creator,
        };
        emit(self, write, &mut row, resumed).await?;
        self.job_view_locked(write, &row).await
    }

    /// Renders `frames` of a running job again: their accepted outputs are withdrawn and new tasks,
    /// with new holds, are queued. If the balance cannot cover the holds the job pauses for funds.
    pub async fn rerender(
        &self,
        caller: &Caller,
        job: JobId,
        frames: &FrameSet,
    ) -> ServiceResult<JobView> {
        let mut write = self.write().await?;
        let result = self.rerender_in(&mut write, caller, job, frames).await;
        self.finish(write, result).await
    }

    async fn rerender_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        job: JobId,
        frames: &FrameSet,
    ) -> ServiceResult<JobView> {
        let mut row = self.visible_job(&mut write.tx, caller, job).await?;
        if row.state.is_final() {
            return Err(ServiceError::conflict(
                format!(
                    "job {job} is {:?}; submit a new job for these frames (the scene's blobs are reused)",
                    row.state
                )
                .to_lowercase(),
            ));
        }
        if let Some(bad) = frames.iter().find(|f| !row.spec.frames.contains(*f)) {
            return Err(ServiceError::invalid(
                "frames",
                format!("frame {bad} is not part of job {job}"),
            ));
        }
        let redone = self.queue_again(write, row.id, frames).await?;
        emit(self, write, &mut row, JobEvent::Rerender { frames: redone }).await?;
        let (covered, balance, needed) = self.open_missing_holds(write, &row).await?;
        if !covered && row.state == JobState::Paused {
            // A job its creator paused stays the creator's to resume (a deposit must not resume
            // it); resuming it then opens the missing holds or answers the shortfall.
            if row.paused_reason != Some(PauseReason::Creator) {
                row.paused_reason = Some(PauseReason::Funds);
                write.tx.update_job(&row).await?;
            }
        } else if !covered {
            row.state = row.state.apply(JobTransition::Pause)?;
            row.paused_reason = Some(PauseReason::Funds);
            let paused = JobEvent::Paused {
                reason: PauseReason::Funds,
                short: Some(needed.checked_sub(balance).unwrap_or(Money::ZERO)),
            };
            emit(self, write, &mut row, paused).await?;
        }
        self.job_view_locked(write, &row).await
    }

    /// Queues new tasks (without holds yet) for the accepted tasks whose outputs `frames` are, and
    /// withdraws those outputs. Answers the frames queued again. A frame already queued for
    /// re-rendering has no accepted output, so asking twice queues (and holds for) it once.
    async fn queue_again(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: u64,
        frames: &FrameSet,
    ) -> ServiceResult<Vec<u32>> {
        let current: Vec<u64> = write
            .tx
            .frames_of(job)
            .await?
            .iter()
            .filter(|f| frames.contains(f.frame))
            .map(|f| f.task_id)
            .collect();
        let tasks = write.tx.tasks_of_job(job).await?;
        let mut next_id = write.tx.next_task_id().await?;
        let mut next_index = tasks.iter().map(|t| t.index + 1).max().unwrap_or(0);
        let mut redone = Vec::new();
        for task in &tasks {
            if !current.contains(&task.id) || !matches!(task.state, TaskState::Accepted { .. }) {
                continue;
            }
            let again = TaskRow {
                id: next_id,
                index: next_index,
                state: TaskState::NEW,
                outputs: None,
                hold_generation: 0,
                hold_open: false,
                agreed_cost: None,
                rejects: 0,
                ..task.clone()
            };
            write.tx.insert_task(&again).await?;
            redone.extend(task.work.frames());
            next_id += 1;
            next_index += 1;
        }
        redone.sort_unstable();
        redone.dedup();
        write.tx.delete_frames(job, &redone).await?;
        Ok(redone)
    }
}
