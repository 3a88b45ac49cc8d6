//! Lower bounds on the optimal makespan of an [`EtcMatrix`] (unrelated machines, `R||Cmax`),
//! used as oracles for the heuristics: every bound here is at most the makespan of every
//! assignment, the optimal one included.
//!
//! * [`trivial_lower_bound`]: `max(max_i min_j ETC_ij, Σ_i min_j ETC_ij / machines)`; the first
//!   term because some machine runs the longest task, the second because the total work is at least
//!   the sum of every task's fastest time and some machine carries at least its average.
//! * [`lp_relaxation_bound`]: the LP relaxation `min T` s.t. `Σ_j x_ij = 1` for every task `i`,
//!   `Σ_i x_ij·ETC_ij ≤ T` for every machine `j`, `x ≥ 0` (solved with `microlp`). An optimal
//!   integral assignment is feasible for it, so its optimum is at most the optimal makespan.
//! * [`lst_lower_bound`]: the Lenstra–Shmoys–Tardos (1990) strengthening: for a threshold `τ`, the
//!   same LP with `x_ij = 0` wherever `ETC_ij > τ`; the bound is the smallest `τ` whose restricted
//!   LP has optimum `≤ τ`. The optimal assignment uses no entry above the optimal makespan `OPT`,
//!   so `τ = OPT` qualifies and the smallest qualifying `τ` is at most `OPT`; it is never below
//!   the plain LP bound.
//! * [`makespan_lower_bound`]: the maximum of the LST-strengthened LP bound and the trivial bound;
//!   this is the bound the Braun-suite targets are measured against.
//!
//! The LP is solved in floating point (`microlp` meets every constraint within `1e-7` and
//! proves optimality within its tolerances), so the LP values are exact up to round-off of that
//! order, not certified in exact arithmetic.

use super::etc::EtcMatrix;
use super::min_min::{BatchMinMinOptions, batch_min_min};
use crate::{Error, Result};
use microlp::{ComparisonOp, OptimizationDirection, Problem};

/// `max(max_i min_j ETC_ij, Σ_i min_j ETC_ij / machines)`: valid for any matrix, `O(tasks ×
/// machines)`, and the fallback for matrices too large for the LP.
pub fn trivial_lower_bound(etc: &EtcMatrix) -> f64 {
    let mut longest = 0.0_f64;
    let mut total = 0.0_f64;
    for row in etc.rows() {
        let fastest = row.iter().copied().fold(f64::INFINITY, f64::min);
        longest = longest.max(fastest);
        total += fastest;
    }
    longest.max(total / etc.machines() as f64)
}

/// The optimum of the restricted LP relaxation and the support of its solution.
struct Relaxation {
    /// The LP optimum `T`.
    value: f64,
    /// The largest `ETC_ij` among the pairs with `x_ij > 0`.
    largest_used: f64,
}

/// Solves `min T` over the pairs with `ETC_ij <= threshold`; `None` when some task has no such
/// pair (the restricted LP is infeasible).
///
/// Formulated in scaled variables for conditioning: `z_ij = ETC_ij·x_ij` (time task `i` spends on
/// machine `j`), the assignment row of task `i` multiplied by `r_i = min_j ETC_ij`, giving
/// `Σ_j (r_i / ETC_ij)·z_ij = r_i` (coefficients in `(0, 1]`) and `Σ_i z_ij ≤ T`.
fn solve_relaxation(etc: &EtcMatrix, threshold: f64) -> Result<Option<Relaxation>> {
    let m = etc.machines();
    let mut problem = Problem::new(OptimizationDirection::Minimize);
    let makespan = problem.add_var(1.0, (0.0, f64::INFINITY));
    let mut columns: Vec<Vec<(microlp::Variable, f64)>> = vec![Vec::new(); m];
    let mut pairs = Vec::new();
    for (i, row) in etc.rows().enumerate() {
        let fastest = row.iter().copied().fold(f64::INFINITY, f64::min);
        let mut assignment = Vec::with_capacity(m);
        for (j, &e) in row.iter().enumerate() {
            if e <= threshold {
                let z = problem.add_var(0.0, (0.0, f64::INFINITY));
                assignment.push((z, fastest / e));
                columns[j].push((z, 1.0));
                pairs.push((z, i, j));
            }
        }
        if assignment.is_empty() {
            return Ok(None);
        }
        problem.add_constraint(assignment.as_slice(), ComparisonOp::Eq, fastest);
    }
    for mut column in columns {
        column.push((makespan, -1.0));
        problem.add_constraint(column.as_slice(), ComparisonOp::Le, 0.0);
    }
    let lp_error = |e: microlp::Error| Error::LinearProgram {
        reason: e.to_string(),
    };
    let solution = problem
        .solve()
        .map_err(lp_error)?
        .into_solution()
        .map_err(|interrupted| Error::LinearProgram {
            reason: format!(
                "interrupted before a solution: {:?}",
                interrupted.termination_reason()
            ),
        })?;
    let mut largest_used = 0.0_f64;
    for &(z, i, j) in &pairs {
        let e = etc.get(i, j);
        // x_ij = z_ij / ETC_ij; count the pair as used above the feasibility tolerance.
        if solution.var_value(z) / e > 1e-9 {
            largest_used = largest_used.max(e);
        }
    }
    // The objective is T itself (coefficient 1, unscaled); clamp round-off below zero.
    let value = solution.var_value(makespan).max(0.0);
    Ok(Some(Relaxation {
        value,
        largest_used,
    }))
}

/// The optimum of the plain LP relaxation (no LST restriction).
///
/// Solves an LP with `tasks × machines + 1` variables and `tasks + machines` constraints: about
/// 75 ms for 512 × 16 in a release build.
///
/// # Errors
/// [`Error::LinearProgram`] when the solver fails.
pub fn lp_relaxation_bound(etc: &EtcMatrix) -> Result<f64> {
    match solve_relaxation(etc, f64::INFINITY)? {
        Some(relaxation) => Ok(relaxation.value),
        None => Err(Error::LinearProgram {
            reason: "the unrestricted relaxation reported no feasible pair".into(),
        }),
    }
}

/// The Lenstra–Shmoys–Tardos bound: the smallest threshold `τ` such that the LP relaxation
/// restricted to `ETC_ij ≤ τ` has optimum at most `τ` (see the module docs for why it is valid).
///
/// `upper` must be the makespan of some assignment (or any value ≥ the optimal makespan); it
/// caps the search and removes the entries above it from every LP. The search first solves the
/// LP restricted at `upper`; when its solution uses no entry above its own optimum `T`, that `T`
/// is the bound (one LP, the common case when tasks are small against the makespan). Otherwise it
/// binary-searches the distinct ETC values, one LP per step.
///
/// # Errors
/// [`Error::Invalid`] naming `upper` when it is not finite or is below the longest task's fastest
/// time (no assignment can reach it); [`Error::LinearProgram`] when the solver fails.
pub fn lst_lower_bound(etc: &EtcMatrix, upper: f64) -> Result<f64> {
    let floor = etc
        .rows()
        .map(|row| row.iter().copied().fold(f64::INFINITY, f64::min))
        .fold(0.0, f64::max);
    if !upper.is_finite() || upper < floor {
        return Err(Error::invalid(
            "upper",
            format!(
                "{upper} is not a reachable makespan (every assignment takes at least {floor})"
            ),
        ));
    }
    let at_upper = solve_relaxation(etc, upper)?.ok_or_else(|| Error::LinearProgram {
        reason: "the relaxation restricted at the upper bound is infeasible".into(),
    })?;
    if at_upper.largest_used <= at_upper.value {
        // The solution restricted at τ = T is feasible with value T, and no τ < T qualifies
        // since every restricted optimum is at least this one.
        return Ok(at_upper.value.min(upper));
    }
    // Breakpoints: the distinct entries in [floor, upper]. On [b_k, b_{k+1}) the restricted
    // optimum g is constant, g(b_k). The bound is max(b_k, g(b_k)) for the smallest k with
    // g(b_k) < b_{k+1} (b_{K+1} = ∞); that predicate is monotone in k.
    let mut breakpoints: Vec<f64> = etc
        .as_slice()
        .iter()
        .copied()
        .filter(|&e| e >= floor && e <= upper)
        .collect();
    breakpoints.sort_by(f64::total_cmp);
    breakpoints.dedup();
    let next = |k: usize| breakpoints.get(k + 1).copied().unwrap_or(f64::INFINITY);
    // Invariant: the predicate is false below lo and true at hi; the last breakpoint always
    // qualifies, and its restricted LP is the one solved at `upper` (the same entries).
    let (mut lo, mut hi) = (0usize, breakpoints.len() - 1);
    let mut value = at_upper.value;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match solve_relaxation(etc, breakpoints[mid])? {
            Some(r) if r.value < next(mid) => {
                hi = mid;
                value = r.value;
            }
            _ => lo = mid + 1,
        }
    }
    Ok(breakpoints[hi].max(value).min(upper))
}

/// The makespan lower bound used as the oracle of the Braun suite: the maximum of
/// [`lst_lower_bound`] (with the polished `batch-min-min` makespan as the upper bound) and
/// [`trivial_lower_bound`]. It is never above the optimal makespan.
///
/// # Errors
/// [`Error::LinearProgram`] when the LP solver fails.
pub fn makespan_lower_bound(etc: &EtcMatrix) -> Result<f64> {
    let upper = batch_min_min(etc, BatchMinMinOptions::default()).makespan;
    let lst = lst_lower_bound(etc, upper)?;
    Ok(lst.max(trivial_lower_bound(etc)).min(upper))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The optimal makespan by enumerating all `machines^tasks` assignments.
    fn brute_force(etc: &EtcMatrix) -> f64 {
        let (n, m) = (etc.tasks(), etc.machines());
        let mut best = f64::INFINITY;
        let mut code = vec![0usize; n];
        loop {
            let mut loads = vec![0.0; m];
            for (i, &j) in code.iter().enumerate() {
                loads[j] += etc.get(i, j);
            }
            best = best.min(loads.into_iter().fold(0.0, f64::max));
            let mut i = 0;
            while i < n {
                code[i] += 1;
                if code[i] < m {
                    break;
                }
                code[i] = 0;
                i += 1;
            }
            if i == n {
                return best;
            }
        }
    }

    #[test]
    fn bounds_never_exceed_the_brute_force_optimum() {
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let mut strengthened = 0;
        for case in 0..60 {
            let (n, m) = if case % 3 == 0 { (5, 2) } else { (6, 3) };
            // Mix scales so that single tasks are often large against the makespan.
            let spread = [2.0, 10.0, 1000.0][case % 3];
            let data = (0..n * m).map(|_| rng.random_range(1.0..spread)).collect();
            let etc = EtcMatrix::new(n, m, data).unwrap();
            let opt = brute_force(&etc);
            let lp = lp_relaxation_bound(&etc).unwrap();
            let bound = makespan_lower_bound(&etc).unwrap();
            let trivial = trivial_lower_bound(&etc);
            let tol = 1e-9 * opt;
            assert!(lp <= opt + tol, "case {case}: lp {lp} > opt {opt}");
            assert!(
                trivial <= opt + tol,
                "case {case}: trivial {trivial} > opt {opt}"
            );
            assert!(bound <= opt + tol, "case {case}: bound {bound} > opt {opt}");
            assert!(bound >= lp - tol && bound >= trivial - tol);
            if bound > lp.max(trivial) * (1.0 + 1e-6) {
                strengthened += 1;
            }
        }
        // The LST restriction must bite on some of these small instances.
        assert!(strengthened > 0);
    }

    #[test]
    fn hand_example() {
        // One task of 10 on either machine, plus a task of 1: LP alone gives 5.5, LST gives 10.
        let etc = EtcMatrix::from_rows(vec![vec![10.0, 10.0], vec![1.0, 1.0]]).unwrap();
        let lp = lp_relaxation_bound(&etc).unwrap();
        assert!((lp - 5.5).abs() < 1e-6, "{lp}");
        assert!((makespan_lower_bound(&etc).unwrap() - 10.0).abs() < 1e-9);
        assert!(lst_lower_bound(&etc, 5.0).is_err());
    }
}
