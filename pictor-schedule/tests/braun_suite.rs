//! Quality regression of `batch-min-min` on the Braun et al. (2001) ETC suite, against the LP
//! (Lenstra–Shmoys–Tardos strengthened) lower bound, plus properties of the heuristics and bounds.
//!
//! Run with `cargo test -p pictor-schedule --test braun_suite -- --nocapture` to see the per-class
//! ratios.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_schedule::etc::{BraunClass, EtcMatrix};
use pictor_schedule::lp_bound::{makespan_lower_bound, trivial_lower_bound};
use pictor_schedule::min_min::{
    BatchMinMinOptions, EtcAssignment, batch_min_min, local_search_polish, min_min, sufferage,
};
use proptest::prelude::*;

const TASKS: usize = 512;
const MACHINES: usize = 16;
/// Fixed seed of class `k` is `SEED + k`.
const SEED: u64 = 20010;

#[test]
fn braun_suite_512x16_against_lp_bound() {
    let polish_off = BatchMinMinOptions {
        polish: false,
        ..BatchMinMinOptions::default()
    };
    let mut sum_on = 0.0;
    let mut sum_off = 0.0;
    let classes = BraunClass::all();
    for (k, class) in classes.iter().enumerate() {
        let etc = EtcMatrix::braun(*class, TASKS, MACHINES, SEED + k as u64).unwrap();
        let bound = makespan_lower_bound(&etc).unwrap();
        let on = batch_min_min(&etc, BatchMinMinOptions::default());
        let off = batch_min_min(&etc, polish_off);
        assert!(bound <= on.makespan && on.makespan <= off.makespan);
        let (r_on, r_off) = (on.makespan / bound, off.makespan / bound);
        eprintln!("{class}: polish on {r_on:.4}, polish off {r_off:.4}");
        sum_on += r_on;
        sum_off += r_off;
    }
    let (mean_on, mean_off) = (sum_on / 12.0, sum_off / 12.0);
    eprintln!(
        "mean over 12 classes: polish on {mean_on:.4} (target 1.06), off {mean_off:.4} (target 1.15)"
    );
    assert!(mean_on <= 1.06, "polished mean ratio {mean_on:.4} > 1.06");
    assert!(
        mean_off <= 1.15,
        "unpolished mean ratio {mean_off:.4} > 1.15"
    );
}

fn check(etc: &EtcMatrix, a: &EtcAssignment, bound: f64) {
    assert_eq!(
        a.machine_of_task.len(),
        etc.tasks(),
        "every task assigned once"
    );
    assert!(a.machine_of_task.iter().all(|&j| j < etc.machines()));
    let mut loads = vec![0.0; etc.machines()];
    for (i, &j) in a.machine_of_task.iter().enumerate() {
        loads[j] += etc.get(i, j);
    }
    assert_eq!(a.makespan, loads.into_iter().fold(0.0, f64::max));
    assert!(
        bound <= a.makespan * (1.0 + 1e-12),
        "bound {bound} > makespan {}",
        a.makespan
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn heuristics_are_valid_and_above_the_bound(
        class in 0usize..12,
        tasks in 1usize..40,
        machines in 1usize..7,
        seed in any::<u64>(),
        polish in any::<bool>(),
    ) {
        let etc = EtcMatrix::braun(BraunClass::all()[class], tasks, machines, seed).unwrap();
        let bound = makespan_lower_bound(&etc).unwrap();
        prop_assert!(trivial_lower_bound(&etc) <= bound);
        let options = BatchMinMinOptions { polish, ..BatchMinMinOptions::default() };
        let mm = min_min(&etc);
        let su = sufferage(&etc);
        for a in [&mm, &su, &batch_min_min(&etc, options)] {
            check(&etc, a, bound);
        }
        let polished = local_search_polish(&etc, &su, 1000).unwrap();
        check(&etc, &polished, bound);
        prop_assert!(polished.makespan <= su.makespan);
    }
}
