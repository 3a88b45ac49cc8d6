//! Jobs of any size without holding the write path: a job's tasks are inserted, and an ended job's
//! tasks closed, at most [`BATCH`] per write transaction.
//!
//! Every task has its own escrow hold, so a 100,000-frame job means 100,000 task rows and 100,000
//! journal entries when it is submitted, and as many again when it is cancelled. Done in one write
//! that took the other writes' turn for 10–17 s (issue 13). Now:
//! - **Submit** prices and plans before the write begins, then inserts the job and its first batch
//!   of tasks. When more remain, a [`SplitRow`] keeps every task's hold and the next index, and one
//!   pending *reservation* transfer holds the escrow of the tasks not inserted yet, so the creator's
//!   balance is committed at once. Each further batch voids the reservation, opens the batch's
//!   holds and reserves the rest again, in its own write. Tasks of early batches are leased while
//!   later ones are inserted.
//! - **Ending a job** (cancel, failure) closes its first batch of open tasks in the write that ends
//!   it, voids the reservation, and marks the job `closing`; the rest close a batch per write.
//!
//! The request that started the work drives the batches to the end; if the coordinator stops in
//! between, the sweeper finds the unfinished ones (`job_splits`, `jobs_closing`) and finishes them,
//! so nothing is lost and every hold is either opened on its task or returned.

use super::{Coordinator, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{SplitRow, Store, TaskRow};
use pictor_core::task::{TaskEvent, TaskState, TaskWork};
use pictor_core::{JobSpec, Money};

/// Tasks inserted or closed per write transaction.
pub const BATCH: u32 = 1_000;

/// A task of a new job, as the split and the quote's plan made it.
pub(crate) struct PlannedTask {
    /// What it renders.
    pub work: TaskWork,
    /// Its estimated work, bench-milliseconds.
    pub work_bench_ms: u64,
}

impl<S: Store> Coordinator<S> {
    /// Inserts tasks `split.next_index ..` (at most [`BATCH`]) of `job` with their holds, and
    /// re-reserves the escrow of the rest; forgets the split when it is done.
    pub(crate) async fn insert_task_batch(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: u64,
        owner: u64,
        tasks: &[PlannedTask],
        split: &mut SplitRow,
    ) -> ServiceResult<()> {
        let start = split.next_index as usize;
        let end = (start + BATCH as usize).min(tasks.len());
        if split.reservation_generation > 0 {
            write
                .escrow()
                .release_reservation(job, split.reservation_generation)?;
        }
        let mut next_id = write.tx.next_task_id().await?;
        for (index, planned) in tasks.iter().enumerate().take(end).skip(start) {
            let hold = split.holds.get(index).copied().ok_or_else(|| {
                ServiceError::internal(&format!("job {job} has no hold for task {index}"))
            })?;
            let mut task = TaskRow {
                id: next_id,
                job_id: job,
                index: u32::try_from(index)
                    .map_err(|_| ServiceError::invalid("frames", "too many tasks"))?,
                work: planned.work.clone(),
                work_bench_ms: planned.work_bench_ms,
                state: TaskState::NEW,
                outputs: None,
                hold,
                hold_generation: 0,
                hold_open: false,
                agreed_cost: None,
                rejects: 0,
            };
            write.escrow().open_hold(&mut task, owner, hold)?;
            write.tx.insert_task(&task).await?;
            next_id += 1;
        }
        split.next_index = u32::try_from(end).unwrap_or(u32::MAX);
        let rest = Money::sum(split.holds.iter().skip(end).copied())?;
        if end < tasks.len() {
            split.reservation_generation += 1;
            if rest > Money::ZERO {
                write
                    .escrow()
                    .reserve(job, owner, split.reservation_generation, rest)?;
            } else {
                split.reservation_generation = 0;
            }
            write.tx.upsert_split(split).await?;
        } else {
            write.tx.delete_split(job).await?;
        }
        Ok(())
    }

    /// Inserts the remaining batches of `job`'s split, one write each; stops early when the job
    /// ended meanwhile (its reservation was voided then).
    pub(crate) async fn finish_split(&self, job: u64) -> ServiceResult<()> {
        loop {
            let mut write = self.write().await?;
            let result = async {
                let Some(mut split) = write.tx.split(job).await? else {
                    return Ok(false);
                };
                let row = write
                    .tx
                    .job(job)
                    .await?
                    .ok_or_else(|| ServiceError::internal(&"split of a missing job"))?;
                let tasks = planned_tasks(&row.spec, self.bench_secs_per_frame(&row.spec))?;
                self.insert_task_batch(&mut write, job, row.owner, &tasks, &mut split)
                    .await?;
                Ok(true)
            }
            .await;
            if !self.finish(write, result).await? {
                return Ok(());
            }
        }
    }

    /// Ends `job`'s split if one is in progress: returns the reserved escrow of the tasks never
    /// inserted. Part of the write that ends the job.
    pub(crate) async fn abandon_split(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: u64,
    ) -> ServiceResult<()> {
        if let Some(split) = write.tx.split(job).await? {
            if split.reservation_generation > 0 {
                write
                    .escrow()
                    .release_reservation(job, split.reservation_generation)?;
            }
            write.tx.delete_split(job).await?;
        }
        Ok(())
    }

    /// Cancels up to [`BATCH`] of `job`'s unfinished tasks, voids their open holds and drops their
    /// waiting checks; answers whether tasks are left to close (and marks the job `closing` then).
    pub(crate) async fn close_task_batch(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: u64,
    ) -> ServiceResult<bool> {
        let open = write.tx.open_tasks_of_job(job, BATCH + 1).await?;
        let more = open.len() > BATCH as usize;
        for mut task in open.into_iter().take(BATCH as usize) {
            if !task.state.is_final() {
                task.state = task
                    .state
                    .apply(&TaskEvent::Cancel, &self.config.task_policy)?;
            }
            write.escrow().void_hold(&mut task)?;
            write.tx.update_task(&task).await?;
            write.tx.drop_checks_of_task(task.id).await?;
        }
        write.tx.set_closing(job, more).await?;
        Ok(more)
    }

    /// Closes the rest of an ended job's tasks, one batch per write.
    pub(crate) async fn finish_closing(&self, job: u64) -> ServiceResult<()> {
        loop {
            let mut write = self.write().await?;
            let result = self.close_task_batch(&mut write, job).await;
            if !self.finish(write, result).await? {
                return Ok(());
            }
        }
    }

    /// Finishes the splits and closings a stopped coordinator left unfinished (the sweeper calls
    /// this); answers how many jobs it finished.
    pub async fn finish_batches(&self) -> ServiceResult<usize> {
        let (splits, closing) = {
            let mut tx = self.read().await?;
            (tx.unfinished_splits(16).await?, tx.closing_jobs(16).await?)
        };
        for &job in &splits {
            self.finish_split(job).await?;
        }
        for &job in &closing {
            self.finish_closing(job).await?;
        }
        Ok(splits.len() + closing.len())
    }
}

/// The tasks `spec` splits into, with their estimated work (`bench_secs_per_frame` a whole frame's).
pub(crate) fn planned_tasks(
    spec: &JobSpec,
    bench_secs_per_frame: f64,
) -> ServiceResult<Vec<PlannedTask>> {
    let per_frame_ms = bench_secs_per_frame * 1000.0;
    let frame_pixels = spec.resolution.pixels().max(1) as f64;
    Ok(pictor_core::task::split(spec)?
        .into_iter()
        .map(|work| {
            let work_bench_ms =
                (per_frame_ms * work.pixel_frames(spec) as f64 / frame_pixels).ceil() as u64;
            PlannedTask {
                work,
                work_bench_ms: work_bench_ms.max(1),
            }
        })
        .collect())
}
