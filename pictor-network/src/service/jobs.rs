//! Jobs: submission (the escrow held, the tasks inserted) and what a creator reads back: the job,
//! the list of jobs, the accepted frames. The creator's controls are in `controls`.

use super::accounts::request_hash;
use super::escrow::{creator_account, shortfall_error};
use super::events::emit;
use super::quotes::PreparedJob;
use super::{Caller, Coordinator, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{JobFilter, JobRow, SplitRow, Store, TaskProgress};
use pictor_core::api::{FrameView, JobEvent, JobView, Role};
use pictor_core::job::{JobSpec, JobState, JobTransition};
use pictor_core::{JobId, Money, TaskId};

/// Most jobs per list page.
pub const MAX_PAGE: u32 = 200;

/// Refuses a page size outside 1..=[`MAX_PAGE`].
fn check_page_size(limit: u32) -> ServiceResult<()> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "limit",
            format!("must be 1..={MAX_PAGE}"),
        ))
    }
}

/// The cursor of the page after `rows` (a full page of `limit`): its last job's id.
fn next_cursor(rows: &[JobRow], limit: u32) -> Option<u64> {
    (rows.len() == limit as usize)
        .then(|| rows.last().map(|row| row.id))
        .flatten()
}

impl<S: Store> Coordinator<S> {
    /// Submits a job: quotes it, holds the escrow, splits it into tasks. With an idempotency key, a
    /// retry answers the job the first call created (`created = false`); the same key with another
    /// spec is a conflict.
    pub async fn submit(
        &self,
        caller: &Caller,
        spec: &JobSpec,
        max_cost: Option<Money>,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<(JobView, bool)> {
        caller.require(Role::Creator)?;
        spec.validate()?;
        if let Some(key) = idempotency_key
            && (key.is_empty() || key.len() > 128)
        {
            return Err(ServiceError::invalid(
                "Idempotency-Key",
                "must be 1 to 128 characters",
            ));
        }
        // The key names the spec: a retry with the same spec answers the first job, whatever
        // `max_cost` it carries (clients retry without restating it).
        let hash = request_hash(spec)?;
        // The write re-checks what may have changed since the job was prepared (the key, the
        // balance).
        let prepared = self.prepare_job(caller, spec, max_cost).await?;
        let mut write = self.write().await?;
        let result = self
            .submit_in(&mut write, caller, idempotency_key, &hash, &prepared)
            .await;
        let (view, created) = self.finish(write, result).await?;
        if !created {
            return Ok((view, false));
        }
        // A big job's remaining tasks, a batch per write (see `batches`).
        self.finish_split(view.id.0).await?;
        Ok((self.reread_job(caller, view.id).await?, true))
    }

    async fn submit_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        idempotency_key: Option<&str>,
        hash: &str,
        prepared: &PreparedJob,
    ) -> ServiceResult<(JobView, bool)> {
        if let Some(key) = idempotency_key
            && let Some(existing) = write.tx.job_by_idempotency_key(caller.id(), key).await?
        {
            if existing.request_hash != hash {
                return Err(ServiceError::conflict(
                    "this Idempotency-Key was used for a different job",
                ));
            }
            let view = self.job_view_locked(write, &existing).await?;
            return Ok((view, false));
        }
        // The scene was checked in `prepare_job`; assets are never changed or removed.
        let quote = &prepared.quote;
        let balance = write.available(creator_account(caller.id()));
        if balance < quote.escrow_hold {
            return Err(shortfall_error(balance, quote.escrow_hold));
        }
        self.check_budget(write, caller.id(), quote.escrow_hold)
            .await?;
        let mut job = JobRow {
            id: 0,
            owner: caller.id(),
            idempotency_key: idempotency_key.map(str::to_string),
            request_hash: hash.to_string(),
            spec: prepared.spec.clone(),
            state: JobState::Quoted.apply(JobTransition::Submit)?,
            paused_reason: None,
            quote: quote.clone(),
            created_at_ms: write.now_ms,
            event_seq: 0,
        };
        job.id = write.tx.insert_job(&job).await?;
        let total = u32::try_from(prepared.tasks.len())
            .map_err(|_| ServiceError::invalid("frames", "too many tasks"))?;
        let mut split = SplitRow {
            job_id: job.id,
            next_index: 0,
            total,
            holds: prepared.holds.clone(),
            reservation_generation: 0,
        };
        self.insert_task_batch(write, job.id, caller.id(), &prepared.tasks, &mut split)
            .await?;
        let submitted = JobEvent::Submitted {
            tasks: total,
            escrow_hold: quote.escrow_hold,
            strategy: quote.strategy.clone(),
        };
        emit(self, write, &mut job, submitted).await?;
        tracing::info!(
            job = job.id,
            owner = caller.id(),
            tasks = total,
            "job submitted"
        );
        let view = self.job_view_locked(write, &job).await?;
        Ok((view, true))
    }

    /// One job.
    pub async fn get_job(&self, caller: &Caller, job: JobId) -> ServiceResult<JobView> {
        self.refresh_balances().await?;
        self.reread_job(caller, job).await
    }

    /// The caller's jobs with id > `after`, at most `limit`; answers the page and the next cursor.
    pub async fn list_jobs(
        &self,
        caller: &Caller,
        after: u64,
        limit: u32,
    ) -> ServiceResult<(Vec<JobView>, Option<u64>)> {
        caller.require(Role::Creator)?;
        check_page_size(limit)?;
        self.refresh_balances().await?;
        let mut tx = self.read().await?;
        let rows = tx.jobs_of(caller.id(), after, limit).await?;
        let next = next_cursor(&rows, limit);
        let mut views = Vec::with_capacity(rows.len());
        for row in &rows {
            views.push(self.job_view(&mut tx, row).await?);
        }
        Ok((views, next))
    }

    /// The caller's jobs matching `filter` (state, name, order, cursor), at most `limit`, each
    /// with its tasks counted by state; answers the page and the next page's cursor.
    pub async fn find_jobs(
        &self,
        caller: &Caller,
        filter: &JobFilter,
        limit: u32,
    ) -> ServiceResult<(Vec<(JobView, TaskProgress)>, Option<u64>)> {
        caller.require(Role::Creator)?;
        check_page_size(limit)?;
        self.refresh_balances().await?;
        let mut tx = self.read().await?;
        let rows = tx.find_jobs(caller.id(), filter, limit).await?;
        let next = next_cursor(&rows, limit);
        let ids: Vec<u64> = rows.iter().map(|row| row.id).collect();
        let progress: std::collections::HashMap<u64, TaskProgress> =
            tx.task_progress(&ids).await?.into_iter().collect();
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let counted = progress.get(&row.id).copied().unwrap_or_default();
            page.push((self.job_view(&mut tx, row).await?, counted));
        }
        Ok((page, next))
    }

    /// The job's accepted outputs.
    pub async fn frames(&self, caller: &Caller, job: JobId) -> ServiceResult<Vec<FrameView>> {
        let mut tx = self.read().await?;
        self.visible_job(&mut tx, caller, job).await?;
        Ok(tx
            .frames_of(job.0)
            .await?
            .into_iter()
            .map(|f| FrameView {
                task: TaskId(f.task_id),
                frame: f.frame,
                hash: f.hash,
                size: f.size,
                name: f.name,
            })
            .collect())
    }

    /// The blob of one accepted frame; for a tiled still, its tiles merged into the frame (each
    /// tile's own blob is listed by [`Coordinator::frames`]).
    pub async fn frame_blob(
        &self,
        caller: &Caller,
        job: JobId,
        frame: u32,
    ) -> ServiceResult<(String, u64)> {
        let outputs: Vec<FrameView> = self
            .frames(caller, job)
            .await?
            .into_iter()
            .filter(|f| f.frame == frame)
            .collect();
        match outputs.as_slice() {
            [] => Err(ServiceError::not_found(format!(
                "accepted frame {frame} of job {job}"
            ))),
            [one] => Ok((one.hash.clone(), one.size)),
            tiles => self.merged_still(job.0, tiles).await,
        }
    }
}
