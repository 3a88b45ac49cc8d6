//! Quotes: what a job would cost and how long it would take on the market as it is now.
//!
//! A spec is priced on the eligible workers online now, or, while none is, on those seen within
//! `market_memory_ms` (the quote then says the job waits for one). Price outliers are left out
//! unless the creator's deadline cannot be met without them (see [`super::market`]).

use super::batches::{PlannedTask, planned_tasks};
use super::escrow::split_hold;
use super::{Caller, Coordinator, ServiceError, ServiceResult};
use crate::store::Store;
use crate::store::prelude::*;
use pictor_core::api::{ErrorCode, Role};
use pictor_core::job::{JobSpec, Tier};
use pictor_core::pricing::{Quote, WorkEstimate, WorkerOffer};
use pictor_core::{JobId, Money};
use pictor_schedule::{self as schedule, MarketView};

/// The scheduling strategy of a tier: economy and standard buy the cheapest plan that meets the
/// deadline; priority buys the earliest finish.
pub fn strategy_for(tier: Tier) -> &'static str {
    match tier {
        Tier::Economy | Tier::Standard => "cost-under-deadline",
        Tier::Priority => "fastest-finish",
    }
}

/// The 422 of a job no worker seen recently can render; when workers with the job's renderer were
/// seen, but none with a version the job accepts, it names the versions they have.
fn no_market(spec: &JobSpec, recent: &[WorkerOffer], days: u64) -> ServiceError {
    let kind = spec.renderer.kind;
    let mut versions: Vec<String> = recent
        .iter()
        .flat_map(|offer| offer.renderers.iter())
        .filter(|(k, _)| *k == kind)
        .map(|(_, v)| v.to_string())
        .collect();
    versions.sort();
    versions.dedup();
    if versions.is_empty() {
        return ServiceError::new(
            ErrorCode::Infeasible,
            format!(
                "no worker able to render this job has been seen in the last {days} days, so there is no market to price it on"
            ),
        );
    }
    ServiceError {
        code: ErrorCode::Infeasible,
        message: format!(
            "no worker seen in the last {days} days has {kind} {} (this job's scene needs it); the workers have {kind} {}",
            spec.renderer.version,
            versions.join(", ")
        ),
        field: Some("renderer.version".into()),
    }
}

/// What a submit prices and plans before its write begins.
pub(crate) struct PreparedJob {
    /// The spec as the network runs it (its renderer version narrowed to what the scene needs).
    pub spec: JobSpec,
    /// The quote the creator pays.
    pub quote: Quote,
    /// The tasks the job splits into.
    pub tasks: Vec<PlannedTask>,
    /// Each task's share of the escrow hold.
    pub holds: Vec<Money>,
}

impl<S: Store> Coordinator<S> {
    /// Bench-seconds of work per frame of `spec` on the reference machine.
    pub fn bench_secs_per_frame(&self, spec: &JobSpec) -> f64 {
        // Pixels × samples for a render; each model pass's share for an upscale.
        let samples_px = spec.samples_px_per_frame() as f64;
        (samples_px / self.config.reference_samples_px_per_sec).max(1e-3)
    }

    /// The offers of the workers seen within `since_ms` of now, at the speeds the network
    /// believes (see [`super::market`]).
    async fn offers_seen_within<T: StoreTx>(
        &self,
        tx: &mut T,
        since_ms: u64,
    ) -> ServiceResult<Vec<WorkerOffer>> {
        let since = self.now_ms().saturating_sub(since_ms);
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
    pub(crate) async fn quote_in<T: StoreTx>(
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
            let days = self.config.market_memory_ms / 86_400_000;
            let recent = self
                .offers_seen_within(tx, self.config.market_memory_ms)
                .await?;
            return Err(no_market(spec, &recent, days));
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
    pub(crate) fn planned_costs(
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

    /// Prices `spec` on the workers online now (creator only; the scene must be the caller's).
    pub async fn quote(&self, caller: &Caller, spec: &JobSpec) -> ServiceResult<Quote> {
        caller.require(Role::Creator)?;
        let mut tx = self.read().await?;
        let spec = self.scene_spec(&mut tx, caller, spec).await?;
        Ok(self.quote_in(&mut tx, &spec).await?.0)
    }

    /// Quotes `spec` on the market, checks the cost against the creator's `max_cost`, splits it
    /// into tasks and shares the hold over them as the quote's plan priced them. Pricing and
    /// planning are CPU work, done before a submit's write begins so they never hold up the other
    /// writes.
    pub(crate) async fn prepare_job(
        &self,
        caller: &Caller,
        spec: &JobSpec,
        max_cost: Option<Money>,
    ) -> ServiceResult<PreparedJob> {
        let (spec, quote, offers) = {
            let mut tx = self.read().await?;
            let spec = self.scene_spec(&mut tx, caller, spec).await?;
            let (quote, offers) = self.quote_in(&mut tx, &spec).await?;
            (spec, quote, offers)
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
        let tasks = planned_tasks(&spec, self.bench_secs_per_frame(&spec))?;
        let pixel_frames: Vec<u64> = tasks.iter().map(|t| t.work.pixel_frames(&spec)).collect();
        let planned = self.planned_costs(&spec, offers, tasks.len())?;
        let holds = split_hold(quote.escrow_hold, planned.as_deref(), &pixel_frames)?;
        Ok(PreparedJob {
            spec,
            quote,
            tasks,
            holds,
        })
    }
}
