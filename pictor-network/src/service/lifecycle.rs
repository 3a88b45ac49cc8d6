//! The ripple: what a change to one task does to its job, in one place.
//!
//! A task that leaves its lease (failure, expiry, rejection) is announced and, once out of
//! attempts, fails its job; a job that ends (failure, cancellation) closes its tasks and returns
//! their holds; the last accepted task completes the job; a deposit resumes the jobs it now funds.
//! The operation modules change a task and call here; nothing here reaches back into them.

use super::events::emit;
use super::{Coordinator, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{JobRow, Store, TaskRow};
use pictor_core::TaskId;
use pictor_core::api::{JobEvent, PauseReason};
use pictor_core::job::{JobState, JobTransition};
use pictor_core::task::TaskState;

impl<S: Store> Coordinator<S> {
    /// The job of `task`, for a change that must update it.
    pub(crate) async fn job_of_task(
        &self,
        write: &mut Write<'_, S::Tx>,
        task: &TaskRow,
    ) -> ServiceResult<JobRow> {
        write
            .tx
            .job(task.job_id)
            .await?
            .ok_or_else(|| ServiceError::internal(&"task without job"))
    }

    /// After a task left its lease (failure, expiry, rejection): announce `event`, and fail the
    /// job if the task ran out of attempts.
    pub(crate) async fn after_requeue(
        &self,
        write: &mut Write<'_, S::Tx>,
        task: &TaskRow,
        event: JobEvent,
    ) -> ServiceResult<()> {
        let mut job = self.job_of_task(write, task).await?;
        emit(self, write, &mut job, event).await?;
        if let TaskState::Failed { attempts, reason } = &task.state
            && !job.state.is_final()
        {
            job.state = job.state.apply(JobTransition::Fail)?;
            job.paused_reason = None;
            self.close_tasks(write, job.id).await?;
            let failed = JobEvent::Failed {
                task: TaskId(task.id),
                attempts: *attempts,
                reason: reason.clone(),
            };
            emit(self, write, &mut job, failed).await?;
        }
        Ok(())
    }

    /// Counts a failed or expired attempt against its worker; after `block_after_failures` of them
    /// in one job the worker is barred from the job. So one worker can spend only that many of a
    /// task's attempts, and a job fails only when several workers have failed it.
    pub(crate) async fn count_failure(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: u64,
        worker: u64,
    ) -> ServiceResult<()> {
        let failures = write.tx.record_failure(job, worker).await?;
        if failures >= self.config.block_after_failures {
            write.tx.block_worker(job, worker).await?;
        }
        Ok(())
    }

    /// Completes `job` when its last task was just accepted.
    pub(crate) async fn complete_if_done(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &mut JobRow,
    ) -> ServiceResult<()> {
        let done = !write.tx.any_unaccepted_task(job.id).await?;
        if !done || job.state.is_final() {
            return Ok(());
        }
        if job.state == JobState::Paused {
            job.state = job.state.apply(JobTransition::Resume)?;
        }
        job.state = job.state.apply(JobTransition::Complete)?;
        job.paused_reason = None;
        let frames = write.tx.frames_of(job.id).await?.len() as u64;
        emit(self, write, job, JobEvent::Completed { frames }).await?;
        tracing::info!(job = job.id, "job completed");
        Ok(())
    }

    /// Starts closing an ended job: returns the escrow reserved for tasks never inserted, cancels
    /// the first batch of unfinished tasks (voiding their holds, dropping their waiting checks) and
    /// marks the job `closing` when more are left; `finish_closing` or the sweeper closes those.
    pub(crate) async fn close_tasks(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: u64,
    ) -> ServiceResult<()> {
        self.abandon_split(write, job).await?;
        self.close_task_batch(write, job).await?;
        Ok(())
    }

    /// Resumes the owner's jobs paused for funds that the balance now covers (oldest first).
    pub(crate) async fn resume_funded_jobs(
        &self,
        write: &mut Write<'_, S::Tx>,
        owner: u64,
    ) -> ServiceResult<()> {
        for mut job in write.tx.jobs_paused_for_funds(owner).await? {
            let (covered, _, _) = self.open_missing_holds(write, &job).await?;
            if !covered {
                break;
            }
            job.state = job.state.apply(JobTransition::Resume)?;
            job.paused_reason = None;
            let resumed = JobEvent::Resumed {
                reason: PauseReason::Funds,
            };
            emit(self, write, &mut job, resumed).await?;
        }
        Ok(())
    }
}
