//! Quotes by planning: a job not yet accepted is added to the market view twice — once with its tasks
//! at P50 work, once at P90 — and planned with the strategy itself, so the quote uses exactly the
//! logic that will schedule the job.

use super::market::{JobView, MarketView, TaskView};
use super::{Plan, Scheduler};
use pictor_core::error::{Error, Result};
use pictor_core::ids::{JobId, TaskId};
use pictor_core::job::{JobSpec, Tier};
use pictor_core::money::Money;
use pictor_core::pricing::{FarmShare, OfferKind, Quote, TierQuote, WorkEstimate};
use pictor_core::task::split;

/// The job `spec` as a [`JobView`] with its tasks' work scaled to `total_bench_secs` (shared by pixel
/// count), under the id `id` with task ids from `first_task`.
pub fn job_view_for_spec(
    spec: &JobSpec,
    id: JobId,
    first_task: u64,
    total_bench_secs: f64,
) -> Result<JobView> {
    let tasks = split(spec)?;
    let weights: Vec<f64> = tasks.iter().map(|t| t.pixel_frames(spec) as f64).collect();
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return Err(Error::invalid("frames", "the job has no pixels to render"));
    }
    let mut job = JobView::new(
        id,
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                TaskView::waiting(TaskId(first_task + i as u64), total_bench_secs * w / total)
            })
            .collect(),
    );
    job.tier = spec.tier;
    job.deadline_secs = spec.deadline_secs.map(|d| d as f64);
    job.budget_cap = spec.budget_cap;
    job.requirements = spec.requirements.clone();
    job.renderer = (spec.renderer.kind, spec.renderer.version);
    Ok(job)
}

fn with_job(view: &MarketView, job: JobView) -> MarketView {
    let mut extended = view.clone();
    extended.jobs.push(job);
    extended
}

/// Cost of the last job of `view` in `plan`, re-priced in `tier`.
fn cost_in_tier(view: &MarketView, plan: &Plan, tier: Tier) -> Result<Money> {
    let j = view.jobs.len().saturating_sub(1) as u32;
    let job = &view.jobs[j as usize];
    let mut total = Money::ZERO;
    for (w, queue) in plan.workers.iter().enumerate() {
        let price = view.workers[w].price_per_bench_hour;
        for planned in queue.tasks.iter().filter(|p| p.at.job == j) {
            let work = job.tasks[planned.at.task as usize].work_bench_secs;
            total = total.checked_add(view.pricing.task_cost(price, work, tier)?)?;
        }
    }
    Ok(total)
}

/// The tasks of the last job of `view` that `plan` puts on farms' bulk offers, and their cost in
/// the job's tier.
fn farm_share(view: &MarketView, plan: &Plan) -> Result<FarmShare> {
    let j = view.jobs.len().saturating_sub(1) as u32;
    let job = &view.jobs[j as usize];
    let mut share = FarmShare {
        of_tasks: u32::try_from(job.tasks.len()).unwrap_or(u32::MAX),
        ..FarmShare::default()
    };
    for (w, queue) in plan.workers.iter().enumerate() {
        let offer = &view.workers[w];
        if !matches!(offer.kind, OfferKind::Farm { .. }) {
            continue;
        }
        for planned in queue.tasks.iter().filter(|p| p.at.job == j) {
            let work = job.tasks[planned.at.task as usize].work_bench_secs;
            share.tasks += 1;
            share.cost_p50 = share.cost_p50.checked_add(view.pricing.task_cost(
                offer.price_per_bench_hour,
                work,
                job.tier,
            )?)?;
        }
    }
    Ok(share)
}

/// Plans `spec` into `view` at P50 and P90 work with `scheduler` and reads off the job's cost and
/// finish.
///
/// * The P50 plan must succeed: an infeasible deadline or budget at P50 is returned as the error
///   (with the minimum the strategy found).
/// * If the P90 plan fails on the deadline or the budget, it is re-planned without them:
///   `deadline_at_risk` is set when the P90 finish misses the deadline, and the hold is capped.
/// * `cost_p90 ≥ cost_p50` and `eta_p90 ≥ eta_p50` by construction (max with the P50 values).
/// * Escrow: `escrow_hold = min(cost_p90, budget_cap)`, `capped` when the cap is lower.
pub fn quote_by_planning<S: Scheduler + ?Sized>(
    scheduler: &S,
    view: &MarketView,
    spec: &JobSpec,
    estimate: &WorkEstimate,
) -> Result<Quote> {
    spec.validate()?;
    let frames = spec.frames.len();
    let (p50, p90) = estimate.total_bench_secs(frames);
    let id = JobId(
        view.jobs
            .iter()
            .map(|j| j.id.0)
            .max()
            .map_or(0, |m| m.saturating_add(1)),
    );
    let first_task = view
        .jobs
        .iter()
        .flat_map(|j| j.tasks.iter().map(|t| t.id.0))
        .max()
        .map_or(0, |m| m.saturating_add(1));
    let view50 = with_job(view, job_view_for_spec(spec, id, first_task, p50)?);
    let plan50 = scheduler.plan(&view50)?;
    let outcome50 = plan50
        .job(id)
        .copied()
        .ok_or_else(|| Error::invalid("plan", "the strategy dropped the quoted job"))?;

    let mut view90 = with_job(view, job_view_for_spec(spec, id, first_task, p90)?);
    let plan90 = match scheduler.plan(&view90) {
        Ok(plan) => plan,
        Err(Error::InfeasibleDeadline { .. } | Error::InfeasibleBudget { .. }) => {
            if let Some(job) = view90.jobs.last_mut() {
                job.deadline_secs = None;
                job.budget_cap = None;
            }
            scheduler.plan(&view90)?
        }
        Err(other) => return Err(other),
    };
    let outcome90 = plan90
        .job(id)
        .copied()
        .ok_or_else(|| Error::invalid("plan", "the strategy dropped the quoted job"))?;

    let cost_p50 = outcome50.cost;
    let cost_p90 = outcome90.cost.max(cost_p50);
    let eta_p50 = outcome50.finish_secs;
    let eta_p90 = outcome90.finish_secs.max(eta_p50);
    let (escrow_hold, capped) = match spec.budget_cap {
        Some(cap) if cap < cost_p90 => (cap, true),
        _ => (cost_p90, false),
    };
    let deadline_at_risk = spec.deadline_secs.is_some_and(|d| eta_p90 > d as f64);
    let mut tiers = Vec::with_capacity(Tier::ALL.len());
    for tier in Tier::ALL {
        let c50 = cost_in_tier(&view50, &plan50, tier)?;
        let c90 = cost_in_tier(&view90, &plan90, tier)?.max(c50);
        tiers.push(TierQuote {
            tier,
            cost_p50: c50,
            cost_p90: c90,
        });
    }
    Ok(Quote {
        strategy: scheduler.name().to_string(),
        cost_p50,
        cost_p90,
        eta_p50_secs: eta_p50,
        eta_p90_secs: eta_p90,
        escrow_hold,
        capped,
        deadline_at_risk,
        fee_split_p90: view.pricing.fees.split(cost_p90)?,
        tiers,
        queued_until_online: false,
        farm_share: farm_share(&view50, &plan50)?,
    })
}
