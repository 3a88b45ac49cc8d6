//! Lower bounds used as test oracles. Each is provably ≤ the optimum of the problem it bounds, so
//! `achieved ÷ bound` over-states a strategy's gap to optimal, never under-states it.
//!
//! * Makespan on related machines (task `i` takes `pᵢ / sⱼ` on machine `j`):
//!   `max(Σp / Σs, max_k (p₁+…+p_k) / (s₁+…+s_k))` with tasks and speeds sorted descending. Proof of
//!   the second term: in any schedule of makespan `T`, the `k` largest tasks run on at most `k`
//!   distinct machines, which process at most `T ×` (their speed sum) `≤ T × (s₁+…+s_k)` work by
//!   `T`. For `k = 1` this is the single-largest-task bound `p₁ / s₁`; for `k ≥ m` it is dominated
//!   by `Σp / Σs`. With ready times `rⱼ` (lead times, running work) the total-work term becomes the
//!   smallest `T` with `Σ sⱼ max(0, T − rⱼ) ≥ Σp` (machine `j` can do at most that much by `T`), and
//!   the largest task needs `T ≥ minⱼ (rⱼ + p₁ / sⱼ)`; the `k`-term ignores ready times (which can
//!   only lower it).
//! * Cost under a deadline on related machines: the LP relaxation "route `W` bench-seconds of work to
//!   machines at price `cⱼ` per bench-second, at most `capⱼ = sⱼ × max(0, D − rⱼ)` each". Filling the
//!   cheapest capacity first solves it exactly (an exchange argument: any optimal solution that leaves
//!   cheaper capacity unused while using a dearer one can move work to the cheaper one without cost
//!   increase), so it is the LP optimum, and ≤ the cost of any integral plan.

use super::engine::{Eligibility, Machines};
use super::market::MarketView;

/// The related-machine makespan bound for `works` (bench-seconds) on machines of `speeds`, all free
/// at time 0. Returns 0 for no work, `+∞` for work and no machine.
pub fn related_makespan_bound(works: &[f64], speeds: &[f64]) -> f64 {
    related_makespan_bound_with_ready(works, speeds, &vec![0.0; speeds.len()])
}

/// The related-machine makespan bound with machine `j` free from `ready[j]` (seconds).
pub fn related_makespan_bound_with_ready(works: &[f64], speeds: &[f64], ready: &[f64]) -> f64 {
    let total_work: f64 = works.iter().sum();
    if works.is_empty() || total_work <= 0.0 {
        return 0.0;
    }
    if speeds.is_empty() {
        return f64::INFINITY;
    }
    let mut works_desc = works.to_vec();
    works_desc.sort_by(|a, b| b.total_cmp(a));
    let mut speeds_desc = speeds.to_vec();
    speeds_desc.sort_by(|a, b| b.total_cmp(a));
    let mut bound = 0.0_f64;
    let (mut work_prefix, mut speed_prefix) = (0.0, 0.0);
    for (w, s) in works_desc.iter().zip(&speeds_desc) {
        work_prefix += w;
        speed_prefix += s;
        bound = bound.max(work_prefix / speed_prefix);
    }
    // Total work with ready times: smallest T with Σ s_j max(0, T − r_j) ≥ W.
    let mut machines: Vec<(f64, f64)> = ready.iter().copied().zip(speeds.iter().copied()).collect();
    machines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut speed_sum, mut ready_weighted) = (0.0, 0.0);
    let mut water = f64::INFINITY;
    for (i, &(r, s)) in machines.iter().enumerate() {
        speed_sum += s;
        ready_weighted += s * r;
        // With the first i+1 machines active: T = (W + Σ s r) / Σ s, valid if ≤ next ready.
        let t = (total_work + ready_weighted) / speed_sum;
        let next = machines.get(i + 1).map_or(f64::INFINITY, |m| m.0);
        if t <= next {
            water = t.max(r);
            break;
        }
    }
    bound = bound.max(water);
    let largest = works_desc[0];
    let single = ready
        .iter()
        .zip(speeds)
        .map(|(r, s)| r + largest / s)
        .fold(f64::INFINITY, f64::min);
    bound.max(single)
}

/// A makespan lower bound for all waiting tasks of `view`: the related-machine bound over every
/// machine, and per job over its eligible machines only; the largest.
pub fn market_makespan_bound(view: &MarketView) -> f64 {
    let machines = Machines::build(view);
    let eligibility = Eligibility::build(view);
    let all_works: Vec<f64> = view
        .jobs
        .iter()
        .flat_map(|j| j.tasks.iter().filter(|t| t.is_waiting()))
        .map(|t| t.work_bench_secs)
        .collect();
    let mut bound = related_makespan_bound_with_ready(&all_works, &machines.speed, &machines.ready);
    for (j, job) in view.jobs.iter().enumerate() {
        let works: Vec<f64> = job
            .tasks
            .iter()
            .filter(|t| t.is_waiting())
            .map(|t| t.work_bench_secs)
            .collect();
        let ms = machines.machines_of(eligibility.eligible_workers(j));
        let speeds: Vec<f64> = ms.iter().map(|&m| machines.speed[m as usize]).collect();
        let ready: Vec<f64> = ms.iter().map(|&m| machines.ready[m as usize]).collect();
        bound = bound.max(related_makespan_bound_with_ready(&works, &speeds, &ready));
    }
    bound
}

/// The LP cost bound: route `work` units to offers `(price per unit, capacity)`, cheapest first.
/// `None` when the capacities cannot hold the work.
pub fn lp_cost_bound(offers: &[(f64, f64)], work: f64) -> Option<f64> {
    let mut sorted: Vec<(f64, f64)> = offers.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut left = work;
    let mut cost = 0.0;
    for (price, capacity) in sorted {
        if left <= 0.0 {
            break;
        }
        let take = capacity.max(0.0).min(left);
        cost += take * price;
        left -= take;
    }
    (left <= work * 1e-12).then_some(cost)
}

/// The LP cost bound, in micro-credits, of job `job_index`'s waiting work finishing by `deadline_secs`
/// on its eligible machines (capacity `speed × max(0, deadline − ready)` each, price per bench-second
/// `price_per_bench_hour × tier multiplier ÷ 3600`). Ignores the other jobs, so it is a lower bound
/// whether or not they compete. `None` when even the LP cannot finish the work by the deadline.
pub fn job_lp_cost_bound(view: &MarketView, job_index: usize, deadline_secs: f64) -> Option<f64> {
    let job = view.jobs.get(job_index)?;
    let machines = Machines::build(view);
    let eligibility = Eligibility::build(view);
    let multiplier = f64::from(view.pricing.tiers.per_mille(job.tier)) / 1_000.0;
    let offers: Vec<(f64, f64)> = machines
        .machines_of(eligibility.eligible_workers(job_index))
        .into_iter()
        .map(|m| {
            let m = m as usize;
            let offer = &view.workers[machines.worker_of[m] as usize];
            let price = offer.price_per_bench_hour.micros() as f64 * multiplier / 3_600.0;
            let capacity = machines.speed[m] * (deadline_secs - machines.ready[m]).max(0.0);
            (price, capacity)
        })
        .collect();
    let work: f64 = job
        .tasks
        .iter()
        .filter(|t| t.is_waiting())
        .map(|t| t.work_bench_secs)
        .sum();
    lp_cost_bound(&offers, work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makespan_bound_terms() {
        // Two equal machines, tasks 3,1,1,1: total 6/2 = 3, largest 3/1 = 3.
        assert_eq!(
            related_makespan_bound(&[3.0, 1.0, 1.0, 1.0], &[1.0, 1.0]),
            3.0
        );
        // Speeds 2 and 1, tasks 4 and 4: k=2 gives 8/3, k=1 gives 2.
        let b = related_makespan_bound(&[4.0, 4.0], &[2.0, 1.0]);
        assert!((b - 8.0 / 3.0).abs() < 1e-12);
        // Ready time: one machine free at 10, the other at 0, work 2, speeds 1: T = 2.
        assert_eq!(
            related_makespan_bound_with_ready(&[1.0, 1.0], &[1.0, 1.0], &[10.0, 0.0]),
            2.0
        );
    }

    #[test]
    fn lp_fills_cheapest_first() {
        assert_eq!(
            lp_cost_bound(&[(2.0, 10.0), (1.0, 5.0)], 8.0),
            Some(5.0 + 6.0)
        );
        assert_eq!(lp_cost_bound(&[(1.0, 1.0)], 2.0), None);
    }
}
