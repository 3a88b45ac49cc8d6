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

impl<S: Store> Coordinator<S> {
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
