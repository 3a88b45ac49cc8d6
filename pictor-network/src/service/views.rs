//! What a caller may see, and how rows become the wire views of `pictor_core::api`.

use super::escrow::job_account;
use super::{Caller, Coordinator, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{JobRow, Store, TaskRow, TaskSummary, WorkerRow};
use pictor_core::api::{JobView, Role, TaskStateView, WorkerView};
use pictor_core::task::TaskState;
use pictor_core::{JobId, Money, TaskId, WorkerId};

/// A task's state as its worker or checker sees it.
pub(crate) fn state_view(task: &TaskRow) -> TaskStateView {
    TaskStateView {
        task: TaskId(task.id),
        state: task.state.name().to_string(),
        attempt: current_attempt(&task.state),
    }
}

/// The attempt a task is at: its fencing token.
pub(crate) fn current_attempt(state: &TaskState) -> u32 {
    match state {
        TaskState::Pending { attempt }
        | TaskState::Leased { attempt, .. }
        | TaskState::Uploaded { attempt, .. }
        | TaskState::Verifying { attempt, .. }
        | TaskState::Accepted { attempt, .. } => *attempt,
        TaskState::Failed { attempts, .. } => *attempts,
        TaskState::Cancelled => 0,
    }
}

/// A worker as the public list shows it; online when seen at or after `online_since`.
pub(crate) fn worker_view(worker: &WorkerRow, online_since: u64) -> WorkerView {
    WorkerView {
        id: WorkerId(worker.account_id),
        name: worker.name.clone(),
        hardware: worker.hardware.clone(),
        price_per_bench_hour: worker.price,
        speed_millis: worker.speed_millis,
        online: worker.last_seen_ms >= online_since,
        min_tier: worker.min_tier,
        farm_queue_delay_secs: worker.queue_delay_secs,
    }
}

fn build_job_view(job: &JobRow, tasks: TaskSummary, escrow: i128) -> JobView {
    let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    JobView {
        id: JobId(job.id),
        state: job.state,
        spec: job.spec.clone(),
        tasks_total: count(tasks.total),
        tasks_accepted: count(tasks.accepted),
        escrow: Money::from_micros(u64::try_from(escrow.max(0)).unwrap_or(u64::MAX)),
        spent: tasks.spent,
        paused_reason: job.paused_reason,
        quote: job.quote.clone(),
        created_at_ms: job.created_at_ms,
    }
}

/// Where one frame of a job is, for its page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameProgress {
    /// Waiting for a worker.
    Queued,
    /// Waiting for a worker again after checkers rejected `rejects` results.
    Requeued {
        /// Results rejected so far.
        rejects: u32,
    },
    /// A worker holds it.
    Rendering {
        /// The worker's id.
        worker: u64,
    },
    /// Uploaded; checked or waiting for a check.
    Verifying,
    /// Accepted.
    Accepted,
    /// Given up on.
    Failed {
        /// The last failure's cause.
        reason: String,
    },
    /// Cancelled with the job.
    Cancelled,
}

impl FrameProgress {
    /// Where a task in `state`, rejected `rejects` times, leaves its frames.
    pub(crate) fn of(state: &pictor_core::task::TaskState, rejects: u32) -> Self {
        use pictor_core::task::TaskState;
        match state {
            TaskState::Pending { .. } if rejects > 0 => FrameProgress::Requeued { rejects },
            TaskState::Pending { .. } => FrameProgress::Queued,
            TaskState::Leased { worker, .. } => FrameProgress::Rendering { worker: worker.0 },
            TaskState::Uploaded { .. } | TaskState::Verifying { .. } => FrameProgress::Verifying,
            TaskState::Accepted { .. } => FrameProgress::Accepted,
            TaskState::Failed { reason, .. } => FrameProgress::Failed {
                reason: reason.clone(),
            },
            TaskState::Cancelled => FrameProgress::Cancelled,
        }
    }
}

impl<S: Store> Coordinator<S> {
    /// Where each frame of the caller's `job` is (a frame cut into tiles: its least finished
    /// tile); 404 for another's job.
    pub async fn frame_progress(
        &self,
        caller: &Caller,
        job: JobId,
    ) -> ServiceResult<std::collections::BTreeMap<u32, FrameProgress>> {
        let mut tx = self.read().await?;
        self.visible_job(&mut tx, caller, job).await?;
        let mut frames = std::collections::BTreeMap::new();
        for task in tx.tasks_of_job(job.0).await? {
            let progress = FrameProgress::of(&task.state, task.rejects);
            for frame in task.work.frames() {
                let keep_known = frames
                    .get(&frame)
                    .is_some_and(|known| *known != FrameProgress::Accepted);
                if !keep_known {
                    frames.insert(frame, progress.clone());
                }
            }
        }
        Ok(frames)
    }

    /// The job, if the caller may see it (its creator, or an admin); 404 otherwise.
    pub(crate) async fn visible_job<T: StoreTx>(
        &self,
        tx: &mut T,
        caller: &Caller,
        job: JobId,
    ) -> ServiceResult<JobRow> {
        match tx.job(job.0).await? {
            Some(row) if row.owner == caller.id() || caller.account.role == Role::Admin => Ok(row),
            _ => Err(ServiceError::not_found(format!("job {job}"))),
        }
    }

    /// The view of `job` in a read, its escrow as of the last commit.
    pub(crate) async fn job_view<T: StoreTx>(
        &self,
        tx: &mut T,
        job: &JobRow,
    ) -> ServiceResult<JobView> {
        let tasks = tx.task_summary(job.id).await?;
        let escrow = self.committed_balance(job_account(job.id));
        Ok(build_job_view(job, tasks, escrow))
    }

    /// The view of `job` inside a write, its escrow including the write's changes.
    pub(crate) async fn job_view_locked(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &JobRow,
    ) -> ServiceResult<JobView> {
        let tasks = write.tx.task_summary(job.id).await?;
        Ok(build_job_view(
            job,
            tasks,
            write.balance(job_account(job.id)),
        ))
    }

    /// Reads `job` again after a write for its caller.
    pub(crate) async fn reread_job(&self, caller: &Caller, job: JobId) -> ServiceResult<JobView> {
        let mut tx = self.read().await?;
        let row = self.visible_job(&mut tx, caller, job).await?;
        self.job_view(&mut tx, &row).await
    }
}
