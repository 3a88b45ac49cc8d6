//! Batch-mode heuristics for independent tasks on unrelated machines, over an [`EtcMatrix`]:
//! Min-min, Sufferage, a local-search polish, and [`batch_min_min`], which picks between the first
//! two by the matrix's consistency and optionally polishes the result.
//!
//! Everything here is pure and deterministic: ties are broken by the lower task index, then the
//! lower machine index. Makespans are always recomputed from scratch (loads summed in task order),
//! so `EtcAssignment::makespan` equals [`EtcAssignment::loads`]'s maximum exactly.

use super::etc::EtcMatrix;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A mapping of every task of an [`EtcMatrix`] to one machine, with its makespan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EtcAssignment {
    /// `machine_of_task[i]` is the machine task `i` runs on.
    pub machine_of_task: Vec<usize>,
    /// The largest machine load (sum of the ETCs of its tasks), in seconds.
    pub makespan: f64,
}

impl EtcAssignment {
    /// Validates `machine_of_task` against `etc` and computes its makespan.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `machine_of_task` when its length is not the number of tasks, or
    /// `machine_of_task[i]` when that machine does not exist.
    pub fn evaluate(etc: &EtcMatrix, machine_of_task: Vec<usize>) -> Result<Self> {
        if machine_of_task.len() != etc.tasks() {
            return Err(Error::invalid(
                "machine_of_task",
                format!(
                    "{} entries for {} tasks",
                    machine_of_task.len(),
                    etc.tasks()
                ),
            ));
        }
        if let Some(i) = machine_of_task.iter().position(|&j| j >= etc.machines()) {
            return Err(Error::invalid(
                format!("machine_of_task[{i}]"),
                format!(
                    "machine {} does not exist (the matrix has {} machines)",
                    machine_of_task[i],
                    etc.machines()
                ),
            ));
        }
        Ok(Self::from_valid(etc, machine_of_task))
    }

    /// Builds from a mapping known to be valid (internal: indices in range).
    fn from_valid(etc: &EtcMatrix, machine_of_task: Vec<usize>) -> Self {
        let makespan = loads_of(etc, &machine_of_task)
            .into_iter()
            .fold(0.0, f64::max);
        EtcAssignment {
            machine_of_task,
            makespan,
        }
    }

    /// The load (sum of the ETCs of its tasks, summed in task order) of every machine.
    ///
    /// # Panics
    /// When the assignment does not belong to `etc` (a task or machine index out of range).
    pub fn loads(&self, etc: &EtcMatrix) -> Vec<f64> {
        loads_of(etc, &self.machine_of_task)
    }
}

fn loads_of(etc: &EtcMatrix, machine_of_task: &[usize]) -> Vec<f64> {
    let mut loads = vec![0.0; etc.machines()];
    for (i, &j) in machine_of_task.iter().enumerate() {
        loads[j] += etc.get(i, j);
    }
    loads
}

/// A total order on finite `f64`s for the heaps.
#[derive(Clone, Copy, PartialEq)]
struct Key(f64);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The machine with the earliest completion time for `row` given the `ready` times, and that
/// time (lowest machine index on ties).
fn best_machine(row: &[f64], ready: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, (&e, &r)) in row.iter().zip(ready).enumerate() {
        let ct = r + e;
        if ct < best.1 {
            best = (j, ct);
        }
    }
    best
}

/// The best and second-best machines by completion time (`second` is `(usize::MAX, ∞)` with one
/// machine).
fn best_two(row: &[f64], ready: &[f64]) -> ((usize, f64), (usize, f64)) {
    let mut best = (usize::MAX, f64::INFINITY);
    let mut second = (usize::MAX, f64::INFINITY);
    for (j, (&e, &r)) in row.iter().zip(ready).enumerate() {
        let ct = r + e;
        if ct < best.1 || best.0 == usize::MAX {
            second = best;
            best = (j, ct);
        } else if ct < second.1 || second.0 == usize::MAX {
            second = (j, ct);
        }
    }
    (best, second)
}

/// Min-min (Ibarra & Kim 1977; Braun et al. 2001): repeatedly map the unmapped task with the
/// earliest possible completion time to the machine achieving it.
///
/// Implemented with a lazy heap of per-task cached best completion times: ready times only grow,
/// so a cached value is a lower bound of the task's true best; a task whose cache predates its
/// machine's last change is recomputed (in `O(machines)`) only when it reaches the top. Worst case
/// `O(n² m)`, in practice close to `O(n m + n log n)` plus the recomputations near the top.
pub fn min_min(etc: &EtcMatrix) -> EtcAssignment {
    let (n, m) = (etc.tasks(), etc.machines());
    let mut ready = vec![0.0; m];
    // Version of each machine's ready time, and the version a task's cache was computed against.
    let mut version = vec![0u64; m];
    let mut cached_version = vec![0u64; n];
    let mut cached_machine = vec![0usize; n];
    let mut heap = BinaryHeap::with_capacity(n);
    for (i, (row, cached)) in etc.rows().zip(cached_machine.iter_mut()).enumerate() {
        let (j, ct) = best_machine(row, &ready);
        *cached = j;
        heap.push(Reverse((Key(ct), i)));
    }
    let mut machine_of_task = vec![0usize; n];
    while let Some(Reverse((Key(_), i))) = heap.pop() {
        let j = cached_machine[i];
        if cached_version[i] != version[j] {
            let (best, ct) = best_machine(etc.row(i), &ready);
            cached_machine[i] = best;
            cached_version[i] = version[best];
            heap.push(Reverse((Key(ct), i)));
            continue;
        }
        machine_of_task[i] = j;
        ready[j] += etc.get(i, j);
        version[j] += 1;
    }
    EtcAssignment::from_valid(etc, machine_of_task)
}

/// Sufferage (Maheswaran et al. 1999): repeatedly map the unmapped task that would suffer most
/// from not getting its best machine (the largest difference between its second-best and best
/// completion times) to its best machine; ties go to the earlier best completion, then the lower
/// task index.
///
/// Each task caches its best and second-best machines; when a machine's ready time grows only
/// the tasks that cached it are recomputed, so a step costs `O(n)` plus `O(m)` per such task.
pub fn sufferage(etc: &EtcMatrix) -> EtcAssignment {
    let (n, m) = (etc.tasks(), etc.machines());
    let mut ready = vec![0.0; m];
    let mut best = Vec::with_capacity(n);
    let mut second = Vec::with_capacity(n);
    for i in 0..n {
        let (b, s) = best_two(etc.row(i), &ready);
        best.push(b);
        second.push(s);
    }
    let mut unmapped: Vec<usize> = (0..n).collect();
    let mut machine_of_task = vec![0usize; n];
    while !unmapped.is_empty() {
        // Select the task with the largest sufferage.
        let mut pick = 0;
        for k in 1..unmapped.len() {
            let (a, c) = (unmapped[k], unmapped[pick]);
            let (sa, sc) = (second[a].1 - best[a].1, second[c].1 - best[c].1);
            let better = match sa.total_cmp(&sc) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => match best[a].1.total_cmp(&best[c].1) {
                    Ordering::Less => true,
                    Ordering::Greater => false,
                    Ordering::Equal => a < c,
                },
            };
            if better {
                pick = k;
            }
        }
        let i = unmapped.swap_remove(pick);
        let j = best[i].0;
        machine_of_task[i] = j;
        ready[j] += etc.get(i, j);
        for &t in &unmapped {
            if best[t].0 == j {
                let ct = ready[j] + etc.get(t, j);
                if ct <= second[t].1 && second[t].0 != usize::MAX {
                    // Still the best (ties keep the incumbent); the second is untouched.
                    if ct < second[t].1 || j < second[t].0 {
                        best[t].1 = ct;
                        continue;
                    }
                }
                let (b, s) = best_two(etc.row(t), &ready);
                best[t] = b;
                second[t] = s;
            } else if second[t].0 == j {
                let (b, s) = best_two(etc.row(t), &ready);
                best[t] = b;
                second[t] = s;
            }
        }
    }
    EtcAssignment::from_valid(etc, machine_of_task)
}

/// Local-search polish: repeatedly take the most loaded machine (the lowest index among ties) and
/// apply, in this order of preference,
/// 1. the best move of one of its tasks to another machine,
/// 2. failing any, the best swap of one of its tasks with a task of another machine,
/// 3. failing any, the first ejection chain found: one of its tasks moves to machine `k`, then up
///    to 4 tasks of `k` (the largest first) move to third machines,
///
/// provided every machine it touches ends strictly below the current makespan. Stops when none
/// applies or after `max_iterations` steps.
///
/// Every step strictly lowers the load of a makespan machine without raising another to the
/// makespan, so the makespan never grows, and it falls whenever every machine tied at it has been
/// relieved. With `k` tasks on the makespan machine, a move costs `O(k·m)`, a swap `O(k·n)` and a
/// chain search `O(k·m·4·n)` at worst.
///
/// # Errors
/// [`Error::Invalid`] when `assignment` does not fit `etc` (see [`EtcAssignment::evaluate`]).
pub fn local_search_polish(
    etc: &EtcMatrix,
    assignment: &EtcAssignment,
    max_iterations: usize,
) -> Result<EtcAssignment> {
    let checked = EtcAssignment::evaluate(etc, assignment.machine_of_task.clone())?;
    Ok(polish(etc, checked.machine_of_task, max_iterations))
}

fn polish(
    etc: &EtcMatrix,
    mut machine_of_task: Vec<usize>,
    max_iterations: usize,
) -> EtcAssignment {
    let m = etc.machines();
    if m < 2 {
        return EtcAssignment::from_valid(etc, machine_of_task);
    }
    let mut loads = loads_of(etc, &machine_of_task);
    let mut on: Vec<Vec<usize>> = vec![Vec::new(); m];
    for (i, &j) in machine_of_task.iter().enumerate() {
        on[j].push(i);
    }
    for _ in 0..max_iterations {
        let mut top = 0;
        for (j, &l) in loads.iter().enumerate() {
            if l > loads[top] {
                top = j;
            }
        }
        let limit = loads[top];
        // Demand a relative improvement well above the round-off of the incremental loads.
        let target = limit - limit * 1e-12;
        // Best move: (resulting max of the two loads, position in on[top], destination).
        let mut best_move: Option<(f64, usize, usize)> = None;
        for (pos, &t) in on[top].iter().enumerate() {
            let row = etc.row(t);
            let relieved = limit - row[top];
            for k in (0..m).filter(|&k| k != top) {
                let value = relieved.max(loads[k] + row[k]);
                if value < target && best_move.is_none_or(|(v, _, _)| value < v) {
                    best_move = Some((value, pos, k));
                }
            }
        }
        if let Some((_, pos, k)) = best_move {
            let t = on[top].swap_remove(pos);
            loads[top] -= etc.get(t, top);
            loads[k] += etc.get(t, k);
            on[k].push(t);
            machine_of_task[t] = k;
            continue;
        }
        // Best swap: (value, position in on[top], destination, position in on[k]).
        let mut best_swap: Option<(f64, usize, usize, usize)> = None;
        for (pos, &t) in on[top].iter().enumerate() {
            let row_t = etc.row(t);
            for k in (0..m).filter(|&k| k != top) {
                let base_top = limit - row_t[top];
                let base_k = loads[k] + row_t[k];
                if base_k >= target {
                    continue;
                }
                for (upos, &u) in on[k].iter().enumerate() {
                    let row_u = etc.row(u);
                    let value = (base_top + row_u[top]).max(base_k - row_u[k]);
                    if value < target && best_swap.is_none_or(|(v, ..)| value < v) {
                        best_swap = Some((value, pos, k, upos));
                    }
                }
            }
        }
        let Some((_, pos, k, upos)) = best_swap else {
            // Ejection chain: t moves top → k, then up to MAX_EJECTIONS tasks move off k, each
            // to a machine other than top and k, until every touched machine is below target.
            let Some((t_pos, k, ejections)) = ejection_chain(etc, &on, &loads, top, target) else {
                break;
            };
            let t = on[top].swap_remove(t_pos);
            loads[top] -= etc.get(t, top);
            loads[k] += etc.get(t, k);
            machine_of_task[t] = k;
            // Remove the ejected tasks from k by value (positions shift as we remove).
            for &(u, l) in &ejections {
                if let Some(p) = on[k].iter().position(|&x| x == u) {
                    on[k].swap_remove(p);
                }
                loads[k] -= etc.get(u, k);
                loads[l] += etc.get(u, l);
                on[l].push(u);
                machine_of_task[u] = l;
            }
            on[k].push(t);
            continue;
        };
        let t = on[top][pos];
        let u = on[k][upos];
        on[top][pos] = u;
        on[k][upos] = t;
        loads[top] += etc.get(u, top) - etc.get(t, top);
        loads[k] += etc.get(t, k) - etc.get(u, k);
        machine_of_task[t] = k;
        machine_of_task[u] = top;
    }
    EtcAssignment::from_valid(etc, machine_of_task)
}

/// Most tasks an ejection chain moves off the machine that received the makespan machine's task.
const MAX_EJECTIONS: usize = 4;

/// An ejection chain: (position of the moved task on the makespan machine, the machine receiving
/// it, then each task ejected from that machine with its destination).
type Chain = (usize, usize, Vec<(usize, usize)>);

/// Finds an ejection chain: a task `t` of machine `top` moves to `k`, then tasks move greedily off
/// `k` (the largest relief first) to machines other than `top` and `k` that stay below `target`,
/// until `k` is below `target` too. Returns the first chain found (by task position on `top`,
/// then `k`) as `(position of t in on[top], k, [(ejected task, its destination)])`.
fn ejection_chain(
    etc: &EtcMatrix,
    on: &[Vec<usize>],
    loads: &[f64],
    top: usize,
    target: f64,
) -> Option<Chain> {
    let m = etc.machines();
    let mut extra = vec![0.0; m];
    for (pos, &t) in on[top].iter().enumerate() {
        let row_t = etc.row(t);
        for k in (0..m).filter(|&k| k != top) {
            let mut load_k = loads[k] + row_t[k];
            let mut ejected: Vec<(usize, usize)> = Vec::new();
            for x in extra.iter_mut() {
                *x = 0.0;
            }
            while load_k >= target && ejected.len() < MAX_EJECTIONS {
                // (relief, destination load, task, destination)
                let mut pick: Option<(f64, f64, usize, usize)> = None;
                for &u in &on[k] {
                    if ejected.iter().any(|&(e, _)| e == u) {
                        continue;
                    }
                    let row_u = etc.row(u);
                    for l in (0..m).filter(|&l| l != top && l != k) {
                        let after = loads[l] + extra[l] + row_u[l];
                        if after >= target {
                            continue;
                        }
                        let better = pick.is_none_or(|(relief, dest, ..)| {
                            row_u[k] > relief || (row_u[k] == relief && after < dest)
                        });
                        if better {
                            pick = Some((row_u[k], after, u, l));
                        }
                    }
                }
                let Some((relief, _, u, l)) = pick else {
                    break;
                };
                load_k -= relief;
                extra[l] += etc.get(u, l);
                ejected.push((u, l));
            }
            if load_k < target {
                return Some((pos, k, ejected));
            }
        }
    }
    None
}

/// Options of [`batch_min_min`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchMinMinOptions {
    /// Run [`local_search_polish`] on the constructed assignment (default `true`).
    pub polish: bool,
    /// Cap on the polish's moves and swaps (default 10 000).
    pub max_polish_iterations: usize,
    /// A matrix counts as consistent, and gets Min-min rather than Sufferage, when at least this
    /// share of its rows agree with the column-mean machine ranking (see [`consistency`];
    /// default 0.5).
    pub consistency_threshold: f64,
}

impl Default for BatchMinMinOptions {
    fn default() -> Self {
        BatchMinMinOptions {
            polish: true,
            max_polish_iterations: 10_000,
            consistency_threshold: 0.5,
        }
    }
}

/// The share of task rows whose machine ranking agrees with the column-mean ranking, in `[0, 1]`.
///
/// The machines are ranked by their column mean (ascending, lower index first on ties); a row
/// agrees when its entries are non-decreasing in that order, i.e. the row ranks the machines as
/// the means do (ties allowed). A consistent Braun matrix scores 1; inconsistent and
/// semi-consistent ones (whose odd columns are unsorted) score close to 0 with more than a few
/// machines.
pub fn consistency(etc: &EtcMatrix) -> f64 {
    let m = etc.machines();
    let mut means = vec![0.0; m];
    for row in etc.rows() {
        for (s, &e) in means.iter_mut().zip(row) {
            *s += e;
        }
    }
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| means[a].total_cmp(&means[b]).then(a.cmp(&b)));
    let agreeing = etc
        .rows()
        .filter(|row| order.windows(2).all(|w| row[w[0]] <= row[w[1]]))
        .count();
    agreeing as f64 / etc.tasks() as f64
}

/// The `batch-min-min` strategy.
///
/// Construction: Min-min when the matrix is consistent (`consistency(etc) >=
/// options.consistency_threshold`), Sufferage otherwise (Sufferage beats Min-min on inconsistent
/// matrices: about 1.08 against 1.22 of the LP bound on the Braun suite).
///
/// With `options.polish`, the construction is polished with [`local_search_polish`] (at most
/// `options.max_polish_iterations` steps). When the construction was Sufferage, the polished
/// Min-min assignment is computed too and the one with the smaller makespan is kept (the earlier
/// on ties): Sufferage's schedules come out balanced but with more total work, a local optimum
/// the polish rarely escapes, while polished Min-min is the better start on most matrices.
pub fn batch_min_min(etc: &EtcMatrix, options: BatchMinMinOptions) -> EtcAssignment {
    let consistent = consistency(etc) >= options.consistency_threshold;
    if !options.polish {
        return if consistent {
            min_min(etc)
        } else {
            sufferage(etc)
        };
    }
    let iterations = options.max_polish_iterations;
    let from_min_min = polish(etc, min_min(etc).machine_of_task, iterations);
    if consistent {
        return from_min_min;
    }
    let from_sufferage = polish(etc, sufferage(etc).machine_of_task, iterations);
    if from_sufferage.makespan < from_min_min.makespan {
        from_sufferage
    } else {
        from_min_min
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etc::BraunClass;

    fn check(etc: &EtcMatrix, a: &EtcAssignment) {
        assert_eq!(a.machine_of_task.len(), etc.tasks());
        assert!(a.machine_of_task.iter().all(|&j| j < etc.machines()));
        let max = a.loads(etc).into_iter().fold(0.0, f64::max);
        assert_eq!(a.makespan, max);
    }

    #[test]
    fn tiny_hand_example() {
        // Two tasks, two machines: each is fast on a different machine.
        let etc = EtcMatrix::from_rows(vec![vec![1.0, 10.0], vec![10.0, 2.0]]).unwrap();
        for a in [min_min(&etc), sufferage(&etc)] {
            assert_eq!(a.machine_of_task, vec![0, 1]);
            assert_eq!(a.makespan, 2.0);
        }
    }

    #[test]
    fn single_machine_and_single_task() {
        let etc = EtcMatrix::from_rows(vec![vec![3.0], vec![4.0]]).unwrap();
        for a in [
            min_min(&etc),
            sufferage(&etc),
            batch_min_min(&etc, BatchMinMinOptions::default()),
        ] {
            assert_eq!(a.makespan, 7.0);
        }
        let etc = EtcMatrix::from_rows(vec![vec![3.0, 2.0, 5.0]]).unwrap();
        assert_eq!(sufferage(&etc).machine_of_task, vec![1]);
        assert_eq!(min_min(&etc).machine_of_task, vec![1]);
    }

    #[test]
    fn polish_never_worsens_and_checks_input() {
        for class in BraunClass::all() {
            let etc = EtcMatrix::braun(class, 128, 8, 3).unwrap();
            for a in [min_min(&etc), sufferage(&etc)] {
                check(&etc, &a);
                let p = local_search_polish(&etc, &a, 1000).unwrap();
                check(&etc, &p);
                assert!(p.makespan <= a.makespan);
            }
        }
        let etc = EtcMatrix::from_rows(vec![vec![1.0, 2.0]]).unwrap();
        let bad = EtcAssignment {
            machine_of_task: vec![2],
            makespan: 0.0,
        };
        let err = local_search_polish(&etc, &bad, 10).unwrap_err();
        assert_eq!(err.field(), Some("machine_of_task[0]"));
    }

    #[test]
    fn consistency_rule() {
        let all = BraunClass::all();
        let c = EtcMatrix::braun(all[0], 64, 16, 1).unwrap();
        let i = EtcMatrix::braun(all[4], 64, 16, 1).unwrap();
        assert_eq!(consistency(&c), 1.0);
        assert!(consistency(&i) < 0.1);
    }
}
