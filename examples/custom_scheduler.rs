//! Plugging your own scheduling strategy into Pictor.
//!
//! `TrustedFirst` sends work only to workers whose reliability (the 10th percentile of the Beta
//! posterior over their accepted / rejected / expired tasks) clears a floor, and among those balances
//! load by earliest finish. It reuses the engine's eligibility index, builds its plan with
//! `Plan::from_worker_orders` and serves worker requests with `dispatch_in_plan_order`, so it drops into
//! the network exactly like a built-in strategy. The example compares it with `fastest-finish` on a
//! synthetic market.
//!
//! Run: `cargo run --example custom_scheduler`
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor::core::{Error, Result, WorkerId};
use pictor::schedule::{
    self, Assignment, Eligibility, MarketView, Plan, Scheduler, TaskRef, bounds,
    dispatch_in_plan_order,
};

/// Only workers at least this trustworthy get work; earliest finish among them.
struct TrustedFirst {
    /// Minimum 10th-percentile reliability.
    reliability_floor: f64,
}

impl Scheduler for TrustedFirst {
    fn name(&self) -> &str {
        "trusted-first"
    }

    fn plan(&self, view: &MarketView) -> Result<Plan> {
        let eligibility = Eligibility::build(view);
        let trusted: Vec<bool> = view
            .workers
            .iter()
            .map(|offer| offer.reliability.lower_quantile(0.1) >= self.reliability_floor)
            .collect();
        // Largest tasks first, each to the trusted eligible worker that finishes it earliest.
        let mut tasks: Vec<(TaskRef, f64)> = view
            .jobs
            .iter()
            .enumerate()
            .flat_map(|(j, job)| {
                job.tasks
                    .iter()
                    .enumerate()
                    .filter(|(_, task)| task.is_waiting())
                    .map(move |(t, task)| (TaskRef::new(j, t), task.work_bench_secs))
            })
            .collect();
        tasks.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut finish = vec![0.0_f64; view.workers.len()];
        let mut orders: Vec<Vec<TaskRef>> = vec![Vec::new(); view.workers.len()];
        for (at, work) in tasks {
            let best = eligibility
                .eligible_workers(at.job as usize)
                .iter()
                .map(|&w| w as usize)
                .filter(|&w| trusted[w])
                .min_by(|&a, &b| {
                    let done = |w: usize| finish[w] + work / view.workers[w].capacity();
                    done(a).total_cmp(&done(b))
                })
                .ok_or_else(|| Error::NoEligibleWorker {
                    job: view.jobs[at.job as usize].id.to_string(),
                    reason: format!("no worker is reliable to {}", self.reliability_floor),
                })?;
            finish[best] += work / view.workers[best].capacity();
            orders[best].push(at);
        }
        let orders = view
            .workers
            .iter()
            .map(|offer| offer.worker)
            .zip(orders)
            .collect();
        Plan::from_worker_orders(view, self.name(), orders)
    }

    fn dispatch(&self, view: &MarketView, plan: &Plan, worker: WorkerId) -> Option<Assignment> {
        dispatch_in_plan_order(view, plan, worker)
    }
}

fn main() -> Result<()> {
    let view = MarketView::synthetic(2_000, 200, 4, 7);
    let bound = bounds::market_makespan_bound(&view);
    let trusted = TrustedFirst {
        reliability_floor: 0.5,
    };
    let fastest =
        schedule::builtin("fastest-finish").ok_or(Error::invalid("strategy", "missing"))?;
    for strategy in [&trusted as &dyn Scheduler, fastest.as_ref()] {
        let plan = strategy.plan(&view)?;
        let used = plan.workers.iter().filter(|w| !w.tasks.is_empty()).count();
        println!(
            "{:>15}: makespan {:>8.1} s ({:.3} × bound), cost {} credits, {used} workers used",
            strategy.name(),
            plan.makespan_secs,
            plan.makespan_secs / bound,
            plan.cost,
        );
    }
    // The network asks the strategy for each worker's next task.
    let plan = trusted.plan(&view)?;
    let worker = plan
        .workers
        .iter()
        .find(|w| !w.tasks.is_empty())
        .map(|w| w.worker)
        .ok_or(Error::invalid("plan", "empty"))?;
    if let Some(next) = trusted.dispatch(&view, &plan, worker) {
        println!(
            "worker {worker} renders task {} of job {} next (cost {})",
            next.task, next.job, next.cost
        );
    }
    Ok(())
}
