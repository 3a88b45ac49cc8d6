//! `cost-under-deadline` (the default strategy): the cheapest capacity that still meets the deadline.
//!
//! Jobs are planned one after another, earliest deadline first (then higher tier, then view order),
//! each on top of the load the previous ones left. For one job:
//!
//! 1. Its eligible machines are sorted by price per bench-hour ascending (ties: faster first). The
//!    price is per bench-hour of *work*, so a task costs the same on a fast or a slow machine of the
//!    same price; speed only decides whether it fits in time.
//! 2. Its waiting tasks, largest first, go first-fit into the cheapest machine whose load plus the
//!    task's time still ends by `fill_fraction × deadline` (pass 1; a max-segment-tree over the
//!    machines' remaining bench-second capacity finds it in O(log machines)).
//! 3. Tasks that did not fit try again up to the full deadline (pass 2: recruit the next-cheapest).
//! 4. If some task still fits nowhere, the job is planned by LPT/EFT (`fastest-finish`). If even that
//!    misses the deadline the plan fails with [`Error::InfeasibleDeadline`] whose `minimum_seconds` is
//!    the **achieved** fastest-finish finish, rounded up to a whole second: a deadline that really works
//!    (re-planning with it succeeds, since the same fallback then meets it).
//! 5. With a budget cap the job's cost must fit: if not, the job is re-planned with `fill_fraction =
//!    1` (denser packing on cheap machines); if that does not fit either, the plan fails with
//!    [`Error::InfeasibleBudget`] whose `minimum` is the cheaper of the two **achieved** plans — again a
//!    cap that really works under the deadline (within 3 % of the LP cost bound in the tested regime, not
//!    necessarily the exact integer optimum).
//!
//! A job without a deadline gets `default_deadline_factor ×` its fastest-finish finish.
//!
//! With `fill_fraction = 1` (the deterministic-replay setting) and a deadline at least twice the
//! fastest finish, the plan's cost is within 3 % of [`bounds::job_lp_cost_bound`](super::bounds).

use super::engine::{Eligibility, Machines};
use super::fastest_finish::{eft_orders, speculate_tails};
use super::market::MarketView;
use super::{
    Assignment, Plan, Scheduler, Speculation, TaskRef, dispatch_in_plan_order, no_eligible,
    waiting_by_work_desc,
};
use pictor_core::error::{Error, Result};
use pictor_core::ids::WorkerId;
use pictor_core::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The `cost-under-deadline` strategy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostUnderDeadline {
    /// Share of the deadline the cheap capacity is filled to in the first pass (0 < f ≤ 1; default
    /// 0.6, leaving slack for runtime noise; 1.0 for deterministic replay).
    pub fill_fraction: f64,
    /// A job without a deadline is planned as if its deadline were this multiple of its fastest
    /// finish (≥ 1; default 3).
    pub default_deadline_factor: f64,
    /// Speed-class ratio of the fastest-finish fallback (default 1.1).
    pub class_ratio: f64,
    /// Straggler threshold for tail duplication (default 1.5 × the median).
    pub straggler_factor: f64,
}

impl Default for CostUnderDeadline {
    fn default() -> Self {
        CostUnderDeadline {
            fill_fraction: 0.6,
            default_deadline_factor: 3.0,
            class_ratio: 1.1,
            straggler_factor: 1.5,
        }
    }
}

impl CostUnderDeadline {
    /// The deterministic-replay configuration: `fill_fraction = 1`.
    pub fn replay() -> Self {
        CostUnderDeadline {
            fill_fraction: 1.0,
            ..CostUnderDeadline::default()
        }
    }

    fn validate(&self) -> Result<()> {
        if !(self.fill_fraction > 0.0 && self.fill_fraction <= 1.0) {
            return Err(Error::invalid("fill_fraction", "must be in (0, 1]"));
        }
        if !(self.default_deadline_factor.is_finite() && self.default_deadline_factor >= 1.0) {
            return Err(Error::invalid(
                "default_deadline_factor",
                "must be a finite number ≥ 1",
            ));
        }
        if !(self.class_ratio.is_finite() && self.class_ratio > 1.0) {
            return Err(Error::invalid("class_ratio", "must be a finite number > 1"));
        }
        Ok(())
    }
}

/// A max segment tree answering "leftmost index with value ≥ x" in O(log n).
struct MaxTree {
    size: usize,
    data: Vec<f64>,
}

impl MaxTree {
    fn new(values: &[f64]) -> Self {
        let size = values.len().next_power_of_two().max(1);
        let mut data = vec![f64::NEG_INFINITY; 2 * size];
        data[size..size + values.len()].copy_from_slice(values);
        for i in (1..size).rev() {
            data[i] = data[2 * i].max(data[2 * i + 1]);
        }
        MaxTree { size, data }
    }

    fn update(&mut self, index: usize, value: f64) {
        let mut i = index + self.size;
        self.data[i] = value;
        while i > 1 {
            i /= 2;
            self.data[i] = self.data[2 * i].max(self.data[2 * i + 1]);
        }
    }

    fn leftmost_at_least(&self, x: f64) -> Option<usize> {
        if self.data[1] < x {
            return None;
        }
        let mut i = 1;
        while i < self.size {
            i = if self.data[2 * i] >= x {
                2 * i
            } else {
                2 * i + 1
            };
        }
        Some(i - self.size)
    }
}

struct Attempt {
    orders: Vec<(u32, TaskRef)>,
    load: Vec<f64>,
    cost: Money,
    finish: f64,
}

struct JobContext<'a> {
    view: &'a MarketView,
    eligibility: &'a Eligibility,
    machines: &'a Machines,
    /// The job's eligible machines, cheapest first.
    by_price: Vec<u32>,
    tasks: Vec<TaskRef>,
    j: usize,
}

impl JobContext<'_> {
    fn price(&self, m: u32) -> Money {
        self.view.workers[self.machines.worker_of[m as usize] as usize].price_per_bench_hour
    }

    fn work(&self, at: TaskRef) -> f64 {
        self.view.jobs[at.job as usize].tasks[at.task as usize].work_bench_secs
    }

    fn cost_of(&self, orders: &[(u32, TaskRef)]) -> Result<Money> {
        let tier = self.view.jobs[self.j].tier;
        orders.iter().try_fold(Money::ZERO, |sum, &(m, at)| {
            sum.checked_add(
                self.view
                    .pricing
                    .task_cost(self.price(m), self.work(at), tier)?,
            )
        })
    }

    /// The job alone by LPT/EFT on top of `load`.
    fn fastest(&self, load: &[f64], ratio: f64) -> Result<Attempt> {
        let (per_machine, new_load) = eft_orders(
            self.view,
            self.eligibility,
            self.machines,
            load.to_vec(),
            &[],
            Some(&[self.j]),
            ratio,
        )?;
        let mut orders = Vec::new();
        let mut finish = 0.0_f64;
        for (m, list) in per_machine.into_iter().enumerate() {
            if !list.is_empty() {
                finish = finish.max(new_load[m]);
            }
            orders.extend(list.into_iter().map(|at| (m as u32, at)));
        }
        let cost = self.cost_of(&orders)?;
        Ok(Attempt {
            orders,
            load: new_load,
            cost,
            finish,
        })
    }

    /// First-fit cheapest within `fill × deadline`, then within `deadline`; `None` when some task
    /// fits nowhere.
    fn first_fit(&self, load: &[f64], fill: f64, deadline: f64) -> Result<Option<Attempt>> {
        let speed = &self.machines.speed;
        let mut load = load.to_vec();
        let mut orders = Vec::with_capacity(self.tasks.len());
        let mut pending = self.tasks.clone();
        let mut finish = 0.0_f64;
        let horizons: &[f64] = if fill < 1.0 {
            &[fill * deadline, deadline]
        } else {
            &[deadline]
        };
        for &horizon in horizons {
            if pending.is_empty() {
                break;
            }
            let capacity: Vec<f64> = self
                .by_price
                .iter()
                .map(|&m| (horizon - load[m as usize]) * speed[m as usize])
                .collect();
            let mut tree = MaxTree::new(&capacity);
            let mut left = Vec::new();
            for at in pending {
                let work = self.work(at);
                // A hair of tolerance so a task that fits exactly is not refused by rounding.
                match tree.leftmost_at_least(work * (1.0 - 1e-12)) {
                    Some(k) => {
                        let m = self.by_price[k];
                        let mi = m as usize;
                        load[mi] += work / speed[mi];
                        finish = finish.max(load[mi]);
                        tree.update(k, (horizon - load[mi]) * speed[mi]);
                        orders.push((m, at));
                    }
                    None => left.push(at),
                }
            }
            pending = left;
        }
        if !pending.is_empty() {
            return Ok(None);
        }
        let cost = self.cost_of(&orders)?;
        Ok(Some(Attempt {
            orders,
            load,
            cost,
            finish,
        }))
    }

    /// First-fit, falling back to fastest-finish; an error when the deadline cannot be met.
    fn attempt(
        &self,
        load: &[f64],
        fill: f64,
        deadline: f64,
        explicit: bool,
        ratio: f64,
    ) -> Result<Attempt> {
        if let Some(attempt) = self.first_fit(load, fill, deadline)? {
            return Ok(attempt);
        }
        let fastest = self.fastest(load, ratio)?;
        if fastest.finish > deadline && explicit {
            return Err(Error::InfeasibleDeadline {
                requested_seconds: deadline,
                minimum_seconds: fastest.finish.ceil(),
            });
        }
        Ok(fastest)
    }
}

impl Scheduler for CostUnderDeadline {
    fn name(&self) -> &str {
        "cost-under-deadline"
    }

    fn plan(&self, view: &MarketView) -> Result<Plan> {
        view.validate()?;
        self.validate()?;
        let eligibility = Eligibility::build(view);
        let machines = Machines::build(view);
        let mut load = machines.ready.clone();
        let mut per_machine: Vec<Vec<TaskRef>> = vec![Vec::new(); machines.len()];
        let mut order: Vec<usize> = (0..view.jobs.len()).collect();
        order.sort_by(|&a, &b| {
            let (ja, jb) = (&view.jobs[a], &view.jobs[b]);
            ja.deadline_secs
                .unwrap_or(f64::INFINITY)
                .total_cmp(&jb.deadline_secs.unwrap_or(f64::INFINITY))
                .then(jb.tier.cmp(&ja.tier))
                .then(a.cmp(&b))
        });
        let mut sorted_cache: HashMap<usize, Vec<u32>> = HashMap::new();
        for j in order {
            let job = &view.jobs[j];
            let tasks = waiting_by_work_desc(view, j);
            if tasks.is_empty() {
                continue;
            }
            let group = eligibility.group_of(j);
            let by_price = sorted_cache
                .entry(group)
                .or_insert_with(|| {
                    let mut ms = machines.machines_of(eligibility.eligible_workers(j));
                    ms.sort_by(|&a, &b| {
                        let price = |m: u32| {
                            view.workers[machines.worker_of[m as usize] as usize]
                                .price_per_bench_hour
                        };
                        price(a)
                            .cmp(&price(b))
                            .then(machines.speed[b as usize].total_cmp(&machines.speed[a as usize]))
                            .then(a.cmp(&b))
                    });
                    ms
                })
                .clone();
            if by_price.is_empty() {
                return Err(no_eligible(view, j));
            }
            let context = JobContext {
                view,
                eligibility: &eligibility,
                machines: &machines,
                by_price,
                tasks,
                j,
            };
            let (deadline, explicit) = match job.deadline_secs {
                Some(d) => (d, true),
                None => {
                    let fastest = context.fastest(&load, self.class_ratio)?;
                    (fastest.finish * self.default_deadline_factor, false)
                }
            };
            let mut chosen = context.attempt(
                &load,
                self.fill_fraction,
                deadline,
                explicit,
                self.class_ratio,
            )?;
            if let Some(cap) = job.budget_cap
                && chosen.cost > cap
            {
                let dense = if self.fill_fraction < 1.0 {
                    Some(context.attempt(&load, 1.0, deadline, explicit, self.class_ratio)?)
                } else {
                    None
                };
                match dense {
                    Some(dense) if dense.cost <= cap => chosen = dense,
                    other => {
                        let minimum = other.map_or(chosen.cost, |d| d.cost.min(chosen.cost));
                        return Err(Error::InfeasibleBudget {
                            requested: cap,
                            minimum,
                        });
                    }
                }
            }
            for (m, at) in chosen.orders {
                per_machine[m as usize].push(at);
            }
            load = chosen.load;
        }
        Plan::from_machine_orders(view, &machines, self.name(), per_machine)
    }

    fn dispatch(&self, view: &MarketView, plan: &Plan, worker: WorkerId) -> Option<Assignment> {
        dispatch_in_plan_order(view, plan, worker)
    }

    fn speculate(&self, view: &MarketView, plan: &Plan) -> Vec<Speculation> {
        speculate_tails(view, plan, self.straggler_factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_tree_finds_leftmost() {
        let mut tree = MaxTree::new(&[1.0, 5.0, 3.0, 7.0, 2.0]);
        assert_eq!(tree.leftmost_at_least(4.0), Some(1));
        assert_eq!(tree.leftmost_at_least(6.0), Some(3));
        assert_eq!(tree.leftmost_at_least(8.0), None);
        tree.update(1, 0.0);
        assert_eq!(tree.leftmost_at_least(4.0), Some(3));
    }
}
