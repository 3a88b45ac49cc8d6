//! Jobs: quotes, submission with escrow holds, the creator's controls, frames.
//!
//! **Escrow.** On submit the quote's hold (`min(P90 cost, budget cap)`) is split over the tasks in
//! proportion to their pixels, and each share becomes one pending transfer from the creator's
//! balance into the job's escrow (transfer id = task id × 2³² + hold generation). A task is leased
//! only to a worker whose price for it fits its hold; on acceptance the hold posts (worker, checker
//! and network shares of the agreed cost) and the rest returns to the creator at once. Re-rendered
//! frames need new holds: when the balance cannot cover them the job pauses (`paused_reason =
//! funds`) and resumes on the deposit that covers them.

use super::accounts::request_hash;
use super::batches::{PlannedTask, planned_tasks};
use super::events::emit;
use super::{Caller, Coordinator, ServiceError, ServiceResult, Write};
use crate::clock::now_ms;
use crate::store::{JobRow, SplitRow, Store, StoreTx, TaskRow, TaskSummary};
use pictor_core::api::{ErrorCode, FrameView, JobView, PauseReason, Role};
use pictor_core::job::{FrameSet, JobEvent, JobSpec, JobState, RendererKind, Tier};
use pictor_core::ledger::{Account, TransferId};
use pictor_core::money::Rounding;
use pictor_core::pricing::{Quote, WorkEstimate, WorkerOffer};
use pictor_core::schedule::{self, MarketView};
use pictor_core::task::{TaskState, TaskWork};
use pictor_core::{AccountId, JobId, Money, TaskId};
use serde_json::json;

/// Most jobs per list page.
pub const MAX_PAGE: u32 = 200;

/// The scheduling strategy of a tier: economy and standard buy the cheapest plan that meets the
/// deadline; priority buys the earliest finish.
pub fn strategy_for(tier: Tier) -> &'static str {
    match tier {
        Tier::Economy | Tier::Standard => "cost-under-deadline",
        Tier::Priority => "fastest-finish",
    }
}

/// The ledger transfer holding task `task`'s escrow, generation `generation`.
pub fn hold_transfer(task: u64, generation: u32) -> TransferId {
    TransferId((u128::from(task) << 32) | u128::from(generation))
}

fn job_account(job: u64) -> Account {
    Account::Escrow(JobId(job))
}

fn shortfall_error(balance: Money, needed: Money) -> ServiceError {
    let short = needed.checked_sub(balance).unwrap_or(Money::ZERO);
    ServiceError {
        code: ErrorCode::InsufficientFunds,
        message: format!(
            "balance {balance} does not cover the escrow hold {needed}: short by {short}; deposit at least that much"
        ),
        field: Some("balance".into()),
    }
}

/// The frames a task renders.
pub(crate) fn task_frames(work: &TaskWork) -> Vec<u32> {
    match work {
        TaskWork::Frames { frames } => frames.clone(),
        TaskWork::Tile { frame, .. } => vec![*frame],
    }
}

/// Shares `total` over tasks: in proportion to their planned costs when the plan priced every task
/// (so each task holds what the worker it was planned for charges), else to their pixels. The last
/// task takes the rounding remainder, so the holds sum to `total` exactly.
fn split_hold(
    total: Money,
    planned: Option<&[Money]>,
    pixel_frames: &[u64],
) -> ServiceResult<Vec<Money>> {
    let weights: Vec<u64> = match planned {
        Some(costs)
            if costs.len() == pixel_frames.len() && costs.iter().any(|c| *c > Money::ZERO) =>
        {
            costs.iter().map(|c| c.micros()).collect()
        }
        _ => pixel_frames.to_vec(),
    };
    let sum = weights
        .iter()
        .try_fold(0u64, |acc, w| acc.checked_add(*w))
        .unwrap_or(u64::MAX)
        .max(1);
    let mut holds = Vec::with_capacity(weights.len());
    let mut held = Money::ZERO;
    for (index, weight) in weights.iter().enumerate() {
        let hold = if index + 1 == weights.len() {
            total.checked_sub(held)?
        } else {
            total.mul_ratio(*weight, sum, Rounding::Down)?
        };
        held = held.checked_add(hold)?;
        holds.push(hold);
    }
    Ok(holds)
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

/// What a submit prices and plans before its write begins.
struct PreparedJob {
    quote: Quote,
    tasks: Vec<PlannedTask>,
    holds: Vec<Money>,
}

impl<S: Store> Coordinator<S> {
    /// Bench-seconds of work per frame of `spec` on the reference machine.
    pub fn bench_secs_per_frame(&self, spec: &JobSpec) -> f64 {
        let samples_px = spec.resolution.pixels() as f64 * f64::from(spec.samples);
        (samples_px / self.config.reference_samples_px_per_sec).max(1e-3)
    }

    /// The offers of the workers seen within `since_ms` of now, at the speeds the network
    /// believes (see [`super::market`]).
    async fn offers_seen_within<T: StoreTx>(
        &self,
        tx: &mut T,
        since_ms: u64,
    ) -> ServiceResult<Vec<WorkerOffer>> {
        let since = now_ms().saturating_sub(since_ms);
        Ok(tx
            .workers()
            .await?
            .into_iter()
            .filter(|w| w.last_seen_ms >= since)
            .map(|w| self.config.market.offer_of(&w))
            .collect())
    }

    /// Quotes `spec` and answers the offers it was priced on: the eligible workers online now, or,
    /// while none is, those seen within `market_memory_ms` (the quote then says the job waits for
    /// one). Price outliers are left out unless the creator's deadline cannot be met without them.
    async fn quote_in<T: StoreTx>(
        &self,
        tx: &mut T,
        spec: &JobSpec,
    ) -> ServiceResult<(Quote, Vec<WorkerOffer>)> {
        spec.validate()?;
        let market = &self.config.market;
        let online = self
            .offers_seen_within(tx, self.config.worker_online_ms)
            .await?;
        let (mut usual, mut outliers) = market.partition_outliers(spec, online);
        let queued_until_online = usual.is_empty();
        if queued_until_online {
            let recent = self
                .offers_seen_within(tx, self.config.market_memory_ms)
                .await?;
            (usual, outliers) = market.partition_outliers(spec, recent);
        }
        if usual.is_empty() {
            return Err(ServiceError::new(
                ErrorCode::Infeasible,
                format!(
                    "no worker able to render this job has been seen in the last {} days, so there is no market to price it on",
                    self.config.market_memory_ms / 86_400_000
                ),
            ));
        }
        let (mut quote, offers) = match self.quote_on(spec, usual.clone()) {
            Err(pictor_core::Error::InfeasibleDeadline { .. })
                if spec.deadline_secs.is_some() && !outliers.is_empty() =>
            {
                let all: Vec<WorkerOffer> = usual.into_iter().chain(outliers).collect();
                (self.quote_on(spec, all.clone())?, all)
            }
            quoted => (quoted?, usual),
        };
        quote.queued_until_online = queued_until_online;
        Ok((quote, offers))
    }

    fn quote_on(&self, spec: &JobSpec, offers: Vec<WorkerOffer>) -> pictor_core::Result<Quote> {
        let mut view = MarketView::new(Vec::new(), offers);
        view.pricing = self.config.pricing;
        let strategy = strategy_for(spec.tier);
        let scheduler = schedule::builtin(strategy).ok_or_else(|| {
            pictor_core::Error::invalid("strategy", format!("{strategy} is not built in"))
        })?;
        let estimate = WorkEstimate::exact(self.bench_secs_per_frame(spec))?;
        scheduler.quote(&view, spec, &estimate)
    }

    /// Each task's cost in the plan the quote was made from (P90 work, on the offers the quote
    /// was priced on), or `None` when the strategy leaves a task unplanned or cannot plan the job.
    fn planned_costs(
        &self,
        spec: &JobSpec,
        offers: Vec<WorkerOffer>,
        tasks: usize,
    ) -> ServiceResult<Option<Vec<Money>>> {
        let estimate = WorkEstimate::exact(self.bench_secs_per_frame(spec))?;
        let (_, p90) = estimate.total_bench_secs(spec.frames.len());
        let mut view = MarketView::new(Vec::new(), offers);
        view.pricing = self.config.pricing;
        view.jobs
            .push(schedule::quote::job_view_for_spec(spec, JobId(0), 0, p90)?);
        let Some(scheduler) = schedule::builtin(strategy_for(spec.tier)) else {
            return Ok(None);
        };
        let Ok(plan) = scheduler.plan(&view) else {
            return Ok(None);
        };
        let mut costs = vec![None; tasks];
        for planned in plan.workers.iter().flat_map(|w| w.tasks.iter()) {
            if planned.at.job == 0
                && let Some(slot) = costs.get_mut(planned.at.task as usize)
            {
                *slot = Some(planned.cost);
            }
        }
        Ok(costs.into_iter().collect())
    }

    /// Checks the scene is the caller's, and that the job's renderer can read its main file: a job
    /// whose workers could only fail is refused here, never sent to them.
    async fn owned_asset<T: StoreTx>(
        &self,
        tx: &mut T,
        caller: &Caller,
        spec: &JobSpec,
    ) -> ServiceResult<()> {
        let Some(asset) = tx.asset(caller.id(), spec.scene.as_str()).await? else {
            return Err(ServiceError {
                code: ErrorCode::NotFound,
                message: format!("asset {} not found; upload the scene first", spec.scene),
                field: Some("scene".into()),
            });
        };
        let manifest: pictor_core::asset::Manifest =
            serde_json::from_str(&asset.manifest_json).map_err(|e| ServiceError::internal(&e))?;
        let main_file = manifest.main_file.as_str();
        let renderer = spec.renderer.kind;
        if !renderer.reads_main_file(main_file) {
            let hint = match RendererKind::for_main_file(main_file) {
                Some(kind) => format!(
                    "set the renderer to {kind} for a .{} scene",
                    kind.scene_extension()
                ),
                None => {
                    "the main file must be a .blend (Blender) or a .toml (the built-in renderer)"
                        .into()
                }
            };
            return Err(ServiceError::invalid(
                "renderer",
                format!(
                    "the {renderer} renderer reads .{} scenes, and the scene's main file is {main_file:?}; {hint}",
                    renderer.scene_extension()
                ),
            ));
        }
        Ok(())
    }

    /// Prices `spec` on the workers online now (creator only; the scene must be the caller's).
    pub async fn quote(&self, caller: &Caller, spec: &JobSpec) -> ServiceResult<Quote> {
        caller.require(Role::Creator)?;
        let mut tx = self.read().await?;
        self.owned_asset(&mut tx, caller, spec).await?;
        Ok(self.quote_in(&mut tx, spec).await?.0)
    }

    /// The job, if the caller may see it (its creator, or an admin); 404 otherwise.
    pub(crate) async fn visible_job<T: StoreTx>(
        &self,
        tx: &mut T,
        caller: &Caller,
        job: u64,
    ) -> ServiceResult<JobRow> {
        match tx.job(job).await? {
            Some(row) if row.owner == caller.id() || caller.account.role == Role::Admin => Ok(row),
            _ => Err(ServiceError::not_found(format!("job {job}"))),
        }
    }

    pub(crate) async fn job_view<T: StoreTx>(
        &self,
        tx: &mut T,
        job: &JobRow,
    ) -> ServiceResult<JobView> {
        let tasks = tx.task_summary(job.id).await?;
        let escrow = self.committed_balance(job_account(job.id));
        Ok(build_job_view(job, tasks, escrow))
    }

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
        let hash = request_hash(spec)?;
        // Pricing and planning are CPU work: done before the write begins, so they never hold
        // up the other writes. The write re-checks what may have changed (the key, the balance).
        let prepared = self.prepare_job(caller, spec, max_cost).await?;
        let mut write = self.write().await?;
        let result = self
            .submit_in(&mut write, caller, spec, idempotency_key, &hash, &prepared)
            .await;
        let (view, created) = self.finish(write, result).await?;
        if !created {
            return Ok((view, false));
        }
        // A big job's remaining tasks, a batch per write (see `batches`).
        self.finish_split(view.id.0).await?;
        let mut tx = self.read().await?;
        let row = self.visible_job(&mut tx, caller, view.id.0).await?;
        Ok((self.job_view(&mut tx, &row).await?, true))
    }

    /// Quotes `spec` on the market, checks the cost against the creator's `max_cost`, splits it
    /// into tasks and shares the hold over them as the quote's plan priced them.
    async fn prepare_job(
        &self,
        caller: &Caller,
        spec: &JobSpec,
        max_cost: Option<Money>,
    ) -> ServiceResult<PreparedJob> {
        let (quote, offers) = {
            let mut tx = self.read().await?;
            self.owned_asset(&mut tx, caller, spec).await?;
            self.quote_in(&mut tx, spec).await?
        };
        if let Some(max_cost) = max_cost
            && quote.escrow_hold > max_cost
        {
            return Err(ServiceError {
                code: ErrorCode::Infeasible,
                message: format!(
                    "the escrow hold is now {}, above the {max_cost} you confirmed; quote again",
                    quote.escrow_hold
                ),
                field: Some("max_cost".into()),
            });
        }
        let tasks = planned_tasks(spec, self.bench_secs_per_frame(spec))?;
        let pixel_frames: Vec<u64> = tasks.iter().map(|t| t.work.pixel_frames(spec)).collect();
        let planned = self.planned_costs(spec, offers, tasks.len())?;
        let holds = split_hold(quote.escrow_hold, planned.as_deref(), &pixel_frames)?;
        Ok(PreparedJob {
            quote,
            tasks,
            holds,
        })
    }

    async fn submit_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        spec: &JobSpec,
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
        let creator = Account::Creator(AccountId(caller.id()));
        let balance =
            Money::from_micros(u64::try_from(write.ledger.balance(creator).max(0)).unwrap_or(0));
        if balance < quote.escrow_hold {
            return Err(shortfall_error(balance, quote.escrow_hold));
        }
        let mut job = JobRow {
            id: 0,
            owner: caller.id(),
            idempotency_key: idempotency_key.map(str::to_string),
            request_hash: hash.to_string(),
            spec: spec.clone(),
            state: JobState::Quoted.apply(JobEvent::Submit)?,
            paused_reason: None,
            quote: quote.clone(),
            created_at_ms: now_ms(),
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
        emit(
            write,
            &mut job,
            "submitted",
            json!({"tasks": total, "escrow_hold": quote.escrow_hold, "strategy": quote.strategy}),
        )
        .await?;
        tracing::info!(
            job = job.id,
            owner = caller.id(),
            tasks = total,
            "job submitted"
        );
        let view = self.job_view_locked(write, &job).await?;
        Ok((view, true))
    }

    /// [`Coordinator::job_view`] while the ledger lock is held by `write`.
    pub(crate) async fn job_view_locked(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &JobRow,
    ) -> ServiceResult<JobView> {
        let tasks = write.tx.task_summary(job.id).await?;
        Ok(build_job_view(
            job,
            tasks,
            write.ledger.balance(job_account(job.id)),
        ))
    }

    /// One job.
    pub async fn get_job(&self, caller: &Caller, job: u64) -> ServiceResult<JobView> {
        let mut tx = self.read().await?;
        let row = self.visible_job(&mut tx, caller, job).await?;
        self.job_view(&mut tx, &row).await
    }

    /// The caller's jobs with id > `after`, at most `limit`; answers the page and the next cursor.
    pub async fn list_jobs(
        &self,
        caller: &Caller,
        after: u64,
        limit: u32,
    ) -> ServiceResult<(Vec<JobView>, Option<u64>)> {
        caller.require(Role::Creator)?;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ServiceError::invalid(
                "limit",
                format!("must be 1..={MAX_PAGE}"),
            ));
        }
        let mut tx = self.read().await?;
        let rows = tx.jobs_of(caller.id(), after, limit).await?;
        let next = (rows.len() == limit as usize)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        let mut views = Vec::with_capacity(rows.len());
        for row in &rows {
            views.push(self.job_view(&mut tx, row).await?);
        }
        Ok((views, next))
    }

    /// Cancels a job: open holds return to the creator, unfinished tasks and their checks are dropped.
    pub async fn cancel_job(&self, caller: &Caller, job: u64) -> ServiceResult<JobView> {
        let mut write = self.write().await?;
        let result = async {
            let mut row = self.visible_job(&mut write.tx, caller, job).await?;
            row.state = row.state.apply(JobEvent::Cancel)?;
            row.paused_reason = None;
            self.close_tasks(&mut write, job).await?;
            emit(&mut write, &mut row, "cancelled", json!({})).await?;
            self.job_view_locked(&mut write, &row).await
        }
        .await;
        self.finish(write, result).await?;
        // A big job's remaining tasks close a batch per write (see `batches`).
        self.finish_closing(job).await?;
        let mut tx = self.read().await?;
        let row = self.visible_job(&mut tx, caller, job).await?;
        self.job_view(&mut tx, &row).await
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

    /// Pauses a job (no new leases; running tasks finish).
    pub async fn pause_job(&self, caller: &Caller, job: u64) -> ServiceResult<JobView> {
        let mut write = self.write().await?;
        let result = async {
            let mut row = self.visible_job(&mut write.tx, caller, job).await?;
            row.state = row.state.apply(JobEvent::Pause)?;
            row.paused_reason = Some(PauseReason::Creator);
            emit(&mut write, &mut row, "paused", json!({"reason": "creator"})).await?;
            self.job_view_locked(&mut write, &row).await
        }
        .await;
        self.finish(write, result).await
    }

    /// Resumes a paused job; one paused for funds resumes only when the balance covers its holds.
    pub async fn resume_job(&self, caller: &Caller, job: u64) -> ServiceResult<JobView> {
        let mut write = self.write().await?;
        let result = async {
            let mut row = self.visible_job(&mut write.tx, caller, job).await?;
            if row.state != JobState::Paused {
                return Err(ServiceError::conflict(format!("job {job} is not paused")));
            }
            let (covered, balance, needed) = self.open_missing_holds(&mut write, &row).await?;
            if !covered {
                return Err(shortfall_error(balance, needed));
            }
            row.state = row.state.apply(JobEvent::Resume)?;
            row.paused_reason = None;
            emit(
                &mut write,
                &mut row,
                "resumed",
                json!({"reason": "creator"}),
            )
            .await?;
            self.job_view_locked(&mut write, &row).await
        }
        .await;
        self.finish(write, result).await
    }

    /// Opens holds for the job's pending tasks that have none, all or nothing. Answers whether they
    /// are covered, the balance, and the amount needed.
    async fn open_missing_holds(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &JobRow,
    ) -> ServiceResult<(bool, Money, Money)> {
        let tasks: Vec<TaskRow> = write
            .tx
            .tasks_of_job(job.id)
            .await?
            .into_iter()
            .filter(|t| !t.hold_open && !t.state.is_final())
            .collect();
        let needed = Money::sum(tasks.iter().map(|t| t.hold))?;
        let creator = Account::Creator(AccountId(job.owner));
        let balance =
            Money::from_micros(u64::try_from(write.ledger.balance(creator).max(0)).unwrap_or(0));
        if balance < needed {
            return Ok((false, balance, needed));
        }
        for mut task in tasks {
            task.hold_generation += 1;
            write.ledger.create_pending(
                hold_transfer(task.id, task.hold_generation),
                creator,
                job_account(job.id),
                task.hold,
            )?;
            task.hold_open = true;
            write.tx.update_task(&task).await?;
        }
        Ok((true, balance, needed))
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
            job.state = job.state.apply(JobEvent::Resume)?;
            job.paused_reason = None;
            emit(write, &mut job, "resumed", json!({"reason": "funds"})).await?;
        }
        Ok(())
    }

    /// Renders `frames` of a running job again: their accepted outputs are withdrawn and new tasks,
    /// with new holds, are queued. If the balance cannot cover the holds the job pauses for funds.
    pub async fn rerender(
        &self,
        caller: &Caller,
        job: u64,
        frames: &FrameSet,
    ) -> ServiceResult<JobView> {
        let mut write = self.write().await?;
        let result = async {
            let mut row = self.visible_job(&mut write.tx, caller, job).await?;
            if row.state.is_final() {
                return Err(ServiceError::conflict(format!(
                    "job {job} is {:?}; submit a new job for these frames (the scene's blobs are reused)",
                    row.state
                ).to_lowercase()));
            }
            if let Some(bad) = frames.iter().find(|f| !row.spec.frames.contains(*f)) {
                return Err(ServiceError::invalid("frames", format!("frame {bad} is not part of job {job}")));
            }
            // Re-render the tasks whose accepted outputs the frames are now: a frame already queued
            // for re-rendering has none, so asking twice queues (and holds for) it once.
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
                redone.extend(task_frames(&task.work));
                next_id += 1;
                next_index += 1;
            }
            redone.sort_unstable();
            redone.dedup();
            write.tx.delete_frames(job, &redone).await?;
            emit(&mut write, &mut row, "rerender", json!({"frames": redone})).await?;
            let (covered, balance, needed) = self.open_missing_holds(&mut write, &row).await?;
            if !covered && row.state != JobState::Paused {
                row.state = row.state.apply(JobEvent::Pause)?;
                row.paused_reason = Some(PauseReason::Funds);
                let short = needed.checked_sub(balance).unwrap_or(Money::ZERO);
                emit(&mut write, &mut row, "paused", json!({"reason": "funds", "short": short})).await?;
            } else if !covered {
                row.paused_reason = Some(PauseReason::Funds);
                write.tx.update_job(&row).await?;
            }
            self.job_view_locked(&mut write, &row).await
        }
        .await;
        self.finish(write, result).await
    }

    /// The job's accepted outputs.
    pub async fn frames(&self, caller: &Caller, job: u64) -> ServiceResult<Vec<FrameView>> {
        let mut tx = self.read().await?;
        self.visible_job(&mut tx, caller, job).await?;
        Ok(tx
            .frames_of(job)
            .await?
            .into_iter()
            .map(|f| FrameView {
                task: TaskId(f.task_id),
                frame: f.frame,
                hash: f.hash,
                size: f.size,
            })
            .collect())
    }

    /// The blob of one accepted frame. A tiled still has one blob per tile: list them with
    /// [`Coordinator::frames`] and download each by hash.
    pub async fn frame_blob(
        &self,
        caller: &Caller,
        job: u64,
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
            _ => Err(ServiceError::conflict(format!(
                "frame {frame} is a tiled still of {} tiles; download each tile by its hash (GET /v1/jobs/{job}/frames lists them)",
                outputs.len()
            ))),
        }
    }
}
