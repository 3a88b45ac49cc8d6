//! `batch-min-min`: the classic Min-min heuristic over an ETC (expected time to compute) matrix, for
//! small batches (≤ ~5k tasks × 500 machines).
//!
//! The wrapper builds the task × machine ETC from the market view — `ETC[i][m] = work(i) ÷ speed(m)`,
//! `+∞` where the machine's worker is not eligible for the task's job. On related machines this matrix
//! is *consistent* (every row orders the machines the same way). Min-min then repeatedly commits the
//! task whose best completion time (`ready(m) + ETC[i][m]`) is smallest, to that machine.

use super::engine::{Eligibility, Machines};
use super::fastest_finish::speculate_tails;
use super::market::MarketView;
use super::{
    Assignment, Plan, Scheduler, Speculation, TaskRef, dispatch_in_plan_order, no_eligible,
};
use pictor_core::error::{Error, Result};
use pictor_core::ids::WorkerId;
use serde::{Deserialize, Serialize};

/// The `batch-min-min` strategy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchMinMin {
    /// Largest ETC matrix (tasks × machines) accepted (default 2,500,000 = 5k × 500).
    pub max_cells: usize,
}

impl Default for BatchMinMin {
    fn default() -> Self {
        BatchMinMin {
            max_cells: 2_500_000,
        }
    }
}

/// A dense row-major task × machine ETC with machine ready times.
struct MarketEtc {
    tasks: usize,
    machines: usize,
    etc: Vec<f64>,
    ready: Vec<f64>,
}

/// Min-min on a dense ETC: returns the machine of every task in commit order, and the makespan.
/// Keeps each task's best machine; after a commit to machine `m` only the tasks whose best was `m`
/// are rescanned (every other completion time is unchanged).
fn local_min_min(etc: &MarketEtc) -> (Vec<(usize, usize)>, f64) {
    let (n, m) = (etc.tasks, etc.machines);
    let mut ready = etc.ready.clone();
    let row = |i: usize| &etc.etc[i * m..(i + 1) * m];
    let best_of = |i: usize, ready: &[f64]| -> (usize, f64) {
        row(i)
            .iter()
            .enumerate()
            .map(|(k, &e)| (k, ready[k] + e))
            .fold((0, f64::INFINITY), |best, cand| {
                if cand.1 < best.1 { cand } else { best }
            })
    };
    let mut best: Vec<(usize, f64)> = (0..n).map(|i| best_of(i, &ready)).collect();
    let mut done = vec![false; n];
    let mut commits = Vec::with_capacity(n);
    for _ in 0..n {
        let Some(i) = (0..n)
            .filter(|&i| !done[i])
            .min_by(|&a, &b| best[a].1.total_cmp(&best[b].1).then(a.cmp(&b)))
        else {
            break;
        };
        let (k, completion) = best[i];
        if !completion.is_finite() {
            break;
        }
        done[i] = true;
        ready[k] = completion;
        commits.push((i, k));
        for t in 0..n {
            if !done[t] && best[t].0 == k {
                best[t] = best_of(t, &ready);
            }
        }
    }
    let makespan = ready.iter().copied().fold(0.0, f64::max);
    (commits, makespan)
}

impl Scheduler for BatchMinMin {
    fn name(&self) -> &str {
        "batch-min-min"
    }

    fn plan(&self, view: &MarketView) -> Result<Plan> {
        view.validate()?;
        let eligibility = Eligibility::build(view);
        let machines = Machines::build(view);
        let mut refs: Vec<TaskRef> = Vec::new();
        for (j, job) in view.jobs.iter().enumerate() {
            let waiting: Vec<TaskRef> = job
                .tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.is_waiting())
                .map(|(t, _)| TaskRef::new(j, t))
                .collect();
            if !waiting.is_empty() && eligibility.eligible_workers(j).is_empty() {
                return Err(no_eligible(view, j));
            }
            refs.extend(waiting);
        }
        let cells = refs.len().saturating_mul(machines.len());
        if cells > self.max_cells {
            return Err(Error::invalid(
                "tasks",
                format!(
                    "{} tasks × {} machines = {cells} ETC cells exceeds batch-min-min's limit of {}; \
                     use fastest-finish or cost-under-deadline for large markets",
                    refs.len(),
                    machines.len(),
                    self.max_cells
                ),
            ));
        }
        let mut etc = vec![f64::INFINITY; cells];
        let nm = machines.len();
        for (i, at) in refs.iter().enumerate() {
            let work = view.jobs[at.job as usize].tasks[at.task as usize].work_bench_secs;
            for &w in eligibility.eligible_workers(at.job as usize) {
                for m in machines.slots(w as usize) {
                    etc[i * nm + m] = work / machines.speed[m];
                }
            }
        }
        let matrix = MarketEtc {
            tasks: refs.len(),
            machines: nm,
            etc,
            ready: machines.ready.clone(),
        };
        // The market ETC has ineligible cells (+∞) and machine ready times (lead times, running
        // tasks), which `super::min_min` (pure Braun-style ETC matrices: finite, no ready times) does
        // not model; this Min-min variant handles both.
        let (commits, _makespan) = local_min_min(&matrix);
        let mut per_machine: Vec<Vec<TaskRef>> = vec![Vec::new(); nm];
        for (i, k) in commits {
            per_machine[k].push(refs[i]);
        }
        Plan::from_machine_orders(view, &machines, self.name(), per_machine)
    }

    fn dispatch(&self, view: &MarketView, plan: &Plan, worker: WorkerId) -> Option<Assignment> {
        dispatch_in_plan_order(view, plan, worker)
    }

    fn speculate(&self, view: &MarketView, plan: &Plan) -> Vec<Speculation> {
        speculate_tails(view, plan, 1.5)
    }
}
