//! Scheduler quality against provable lower bounds, error minima, eligibility, fairness, determinism
//! and quotes. Fixed seeds; big sizes only behind `#[ignore]` (run with `--release -- --ignored`).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::{
    AssetId, Error, GpuVendor, JobSpec, Money, Tier, Version, VersionConstraint, WorkEstimate,
};
use pictor_schedule::bounds::{job_lp_cost_bound, market_makespan_bound};
use pictor_schedule::engine::offer_is_eligible;
use pictor_schedule::{
    BUILTIN_STRATEGIES, CostUnderDeadline, FairShare, FastestFinish, MarketConfig, MarketView,
    Plan, Scheduler, TaskStatus, builtin,
};
use proptest::prelude::*;

fn single_job(tasks: usize, workers: usize, seed: u64) -> MarketView {
    let mut view = MarketView::synthetic(tasks, workers, 1, seed);
    view.jobs[0].requirements = Default::default();
    view.jobs[0].renderer = (pictor_core::RendererKind::Builtin, VersionConstraint::Any);
    view
}

fn assert_eligible(view: &MarketView, plan: &Plan) {
    for (w, queue) in plan.workers.iter().enumerate() {
        assert_eq!(queue.worker, view.workers[w].worker);
        for planned in &queue.tasks {
            let job = &view.jobs[planned.at.job as usize];
            assert!(
                offer_is_eligible(&view.workers[w], job),
                "{} placed job {} on ineligible worker {}",
                plan.strategy,
                job.id,
                queue.worker
            );
        }
    }
}

#[test]
fn fastest_finish_is_within_6_percent_of_the_related_machine_bound() {
    let ff = FastestFinish::default();
    let mut worst: f64 = 0.0;
    for &(tasks, workers, jobs) in &[
        (500, 50, 1),
        (1_000, 100, 1),
        (2_000, 150, 3),
        (4_000, 300, 5),
    ] {
        for seed in 1..=3 {
            let view = MarketView::synthetic(tasks, workers, jobs, seed);
            // ≥ 5 tasks per machine (a farm's slots count as machines).
            let machines = pictor_schedule::Machines::build(&view).len();
            assert!(
                tasks >= 5 * machines,
                "{tasks} tasks on {machines} machines"
            );
            let plan = ff.plan(&view).unwrap();
            let bound = market_makespan_bound(&view);
            let ratio = plan.makespan_secs / bound;
            println!("fastest-finish {tasks}x{workers} jobs {jobs} seed {seed}: ratio {ratio:.4}");
            assert!(ratio >= 1.0 - 1e-9, "bound above achieved: {ratio}");
            worst = worst.max(ratio);
            assert_eligible(&view, &plan);
        }
    }
    println!("fastest-finish worst ratio {worst:.4}");
    assert!(worst <= 1.06, "worst ratio {worst}");
}

#[test]
fn cost_under_deadline_is_within_3_percent_of_the_lp_cost_bound() {
    let ff = FastestFinish::default();
    let cud = CostUnderDeadline::replay();
    let mut worst: f64 = 0.0;
    // (250, 50): the "250-frame job on 50 workers" scenario.
    for &(tasks, workers) in &[(250, 50), (500, 60), (1_000, 120)] {
        for seed in 1..=3 {
            let base = single_job(tasks, workers, seed);
            let fastest = ff.plan(&base).unwrap().makespan_secs;
            for factor in [2.0, 3.0] {
                let mut view = base.clone();
                let deadline = factor * fastest;
                view.jobs[0].deadline_secs = Some(deadline);
                let plan = cud.plan(&view).unwrap();
                assert!(plan.makespan_secs <= deadline * (1.0 + 1e-9));
                let bound = job_lp_cost_bound(&view, 0, deadline).unwrap();
                let ratio = plan.cost.micros() as f64 / bound;
                println!(
                    "cost-under-deadline {tasks}x{workers} seed {seed} deadline {factor}x: ratio {ratio:.4}"
                );
                assert!(ratio >= 1.0 - 1e-9, "LP bound above achieved: {ratio}");
                worst = worst.max(ratio);
                assert_eligible(&view, &plan);
                // Cost-blind fastest-finish for comparison.
                let blind = ff.plan(&view).unwrap().cost.micros() as f64 / bound;
                println!("  fastest-finish cost ratio {blind:.4}");
            }
        }
    }
    println!("cost-under-deadline worst ratio {worst:.4}");
    assert!(worst <= 1.03, "worst ratio {worst}");
}

#[test]
fn default_fill_meets_deadlines_and_costs_less_than_fastest_finish() {
    let view = {
        let mut v = single_job(250, 50, 9);
        let fastest = FastestFinish::default().plan(&v).unwrap().makespan_secs;
        v.jobs[0].deadline_secs = Some(3.0 * fastest);
        v
    };
    let plan = CostUnderDeadline::default().plan(&view).unwrap();
    let blind = FastestFinish::default().plan(&view).unwrap();
    assert!(plan.makespan_secs <= view.jobs[0].deadline_secs.unwrap());
    assert!(plan.cost < blind.cost, "{} vs {}", plan.cost, blind.cost);
}

#[test]
fn infeasible_deadline_names_a_minimum_that_works() {
    for strategy in [
        Box::new(CostUnderDeadline::default()) as Box<dyn Scheduler>,
        Box::new(CostUnderDeadline::replay()),
        Box::new(FastestFinish::default()),
    ] {
        let mut view = single_job(300, 40, 4);
        let fastest = FastestFinish::default().plan(&view).unwrap().makespan_secs;
        view.jobs[0].deadline_secs = Some(0.5 * fastest);
        let Err(Error::InfeasibleDeadline {
            requested_seconds,
            minimum_seconds,
        }) = strategy.plan(&view)
        else {
            panic!("{}: expected an infeasible deadline", strategy.name());
        };
        assert_eq!(requested_seconds, 0.5 * fastest);
        assert!(minimum_seconds >= fastest.floor() && minimum_seconds > requested_seconds);
        view.jobs[0].deadline_secs = Some(minimum_seconds);
        let plan = strategy
            .plan(&view)
            .expect("the named minimum deadline is feasible");
        assert!(plan.jobs[0].finish_secs <= minimum_seconds);
    }
}

#[test]
fn infeasible_budget_names_a_minimum_that_works() {
    for strategy in [
        Box::new(CostUnderDeadline::default()) as Box<dyn Scheduler>,
        Box::new(FastestFinish::default()),
    ] {
        let mut view = single_job(200, 30, 5);
        let fastest = FastestFinish::default().plan(&view).unwrap();
        view.jobs[0].deadline_secs = Some(3.0 * fastest.makespan_secs);
        view.jobs[0].budget_cap = Some(Money::from_micros(1_000));
        let Err(Error::InfeasibleBudget { requested, minimum }) = strategy.plan(&view) else {
            panic!("{}: expected an infeasible budget", strategy.name());
        };
        assert_eq!(requested, Money::from_micros(1_000));
        assert!(minimum > requested);
        view.jobs[0].budget_cap = Some(minimum);
        let plan = strategy
            .plan(&view)
            .expect("the named minimum budget is feasible");
        assert!(plan.jobs[0].cost <= minimum);
    }
    // Fastest-finish under a cap between the cheapest and its natural cost: it slows down to fit.
    let mut view = single_job(200, 30, 5);
    let natural = FastestFinish::default().plan(&view).unwrap();
    let cheapest = CostUnderDeadline::replay().plan(&view).unwrap().cost;
    let cap = Money::from_micros((cheapest.micros() + natural.cost.micros()) / 2);
    view.jobs[0].budget_cap = Some(cap);
    let capped = FastestFinish::default().plan(&view).unwrap();
    assert!(capped.cost <= cap);
    assert!(capped.makespan_secs >= natural.makespan_secs);
}

fn jain(values: &[f64]) -> f64 {
    let sum: f64 = values.iter().sum();
    let squares: f64 = values.iter().map(|v| v * v).sum();
    sum * sum / (values.len() as f64 * squares)
}

/// Bench-seconds each job receives in `[0, window]` according to `plan`.
fn work_in_window(view: &MarketView, plan: &Plan, window: f64) -> Vec<f64> {
    let mut work = vec![0.0; view.jobs.len()];
    for (w, queue) in plan.workers.iter().enumerate() {
        for p in &queue.tasks {
            let overlap = p.finish_secs.min(window) - p.start_secs.min(window);
            work[p.at.job as usize] += overlap.max(0.0) * view.workers[w].speed;
        }
    }
    work
}

#[test]
fn fair_share_is_fair_within_tiers_and_starves_no_one() {
    let mut view = MarketView::synthetic(3_000, 60, 12, 11);
    for job in &mut view.jobs {
        job.requirements = Default::default();
        job.renderer = (pictor_core::RendererKind::Builtin, VersionConstraint::Any);
    }
    let plan = FairShare::default().plan(&view).unwrap();
    let window = plan
        .jobs
        .iter()
        .map(|j| j.finish_secs)
        .fold(f64::INFINITY, f64::min)
        * 0.9;
    let work = work_in_window(&view, &plan, window);
    for tier in Tier::ALL {
        let shares: Vec<f64> = view
            .jobs
            .iter()
            .zip(&work)
            .filter(|(j, _)| j.tier == tier)
            .map(|(j, w)| w / j.entitlement())
            .collect();
        let index = jain(&shares);
        println!(
            "fair-share {tier:?}: Jain {index:.4} over {} jobs",
            shares.len()
        );
        assert!(index >= 0.9, "{tier:?}: Jain {index}");
    }
    // No starvation: every job starts early and gets work in the window.
    for (j, job) in view.jobs.iter().enumerate() {
        let first = plan
            .workers
            .iter()
            .flat_map(|q| q.tasks.iter())
            .filter(|p| p.at.job as usize == j)
            .map(|p| p.start_secs)
            .fold(f64::INFINITY, f64::min);
        assert!(
            first <= 0.05 * plan.makespan_secs,
            "job {} starts at {first}",
            job.id
        );
        assert!(work[j] > 0.0);
    }
    // Higher tiers get more power per job.
    let mean = |tier: Tier| {
        let v: Vec<f64> = view
            .jobs
            .iter()
            .zip(&work)
            .filter(|(j, _)| j.tier == tier)
            .map(|(_, w)| *w)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(mean(Tier::Priority) > mean(Tier::Standard));
    assert!(mean(Tier::Standard) > mean(Tier::Economy));
}

#[test]
fn fair_share_dispatch_follows_entitlements() {
    let mut view = MarketView::synthetic(2_000, 70, 3, 2);
    for job in &mut view.jobs {
        job.requirements = Default::default();
        job.renderer = (pictor_core::RendererKind::Builtin, VersionConstraint::Any);
        job.tier = Tier::Standard;
    }
    view.workers.iter_mut().for_each(|w| {
        w.parallel_slots = 1;
        w.kind = pictor_core::OfferKind::Individual;
    });
    let fs = FairShare::default();
    let plan = fs.plan(&view).unwrap();
    let mut power = vec![0.0; view.jobs.len()];
    for w in 0..view.workers.len() {
        let worker = view.workers[w].worker;
        let a = fs.dispatch(&view, &plan, worker).expect("work");
        let at = a.at;
        view.jobs[at.job as usize].tasks[at.task as usize].status = TaskStatus::Running {
            worker,
            elapsed_secs: 0.0,
        };
        power[at.job as usize] += view.workers[w].speed;
    }
    let index = jain(&power);
    println!("fair-share dispatch: power {power:?}, Jain {index:.4}");
    assert!(index >= 0.9);
}

#[test]
fn plans_are_deterministic() {
    for name in BUILTIN_STRATEGIES {
        let strategy = builtin(name).unwrap();
        let a = strategy
            .plan(&MarketView::synthetic(400, 30, 3, 77))
            .unwrap();
        let b = strategy
            .plan(&MarketView::synthetic(400, 30, 3, 77))
            .unwrap();
        assert_eq!(a, b, "{name}");
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let back: Plan = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(
            (back.cost, back.jobs.len(), back.workers.len()),
            (a.cost, a.jobs.len(), a.workers.len())
        );
    }
}

#[test]
fn dispatch_serves_the_plan_in_order_and_skips_taken_tasks() {
    for name in BUILTIN_STRATEGIES {
        let strategy = builtin(name).unwrap();
        let mut view = MarketView::synthetic(200, 20, 2, 3);
        let plan = strategy.plan(&view).unwrap();
        let mut served = 0;
        'outer: loop {
            let mut any = false;
            for w in 0..view.workers.len() {
                let worker = view.workers[w].worker;
                if let Some(a) = strategy.dispatch(&view, &plan, worker) {
                    let task = &mut view.jobs[a.at.job as usize].tasks[a.at.task as usize];
                    assert_eq!(task.id, a.task);
                    assert!(task.is_waiting(), "{name} handed out a taken task");
                    assert!(offer_is_eligible(
                        &view.workers[w],
                        &view.jobs[a.at.job as usize]
                    ));
                    view.jobs[a.at.job as usize].tasks[a.at.task as usize].status =
                        TaskStatus::Running {
                            worker,
                            elapsed_secs: 0.0,
                        };
                    served += 1;
                    any = true;
                }
            }
            if !any {
                break 'outer;
            }
        }
        assert_eq!(served, 200 - plan.unplanned.len(), "{name}");
    }
}

#[test]
fn fastest_finish_duplicates_stragglers_on_idle_fast_workers() {
    let mut view = single_job(40, 20, 6);
    // Everything is running; worker 0 is made 10× slower (a straggler); 5 workers are idle.
    let plan_view = view.clone();
    let ff = FastestFinish::default();
    let plan = ff.plan(&plan_view).unwrap();
    for (w, offer) in view.workers.iter_mut().enumerate() {
        if w == 0 {
            offer.speed /= 10.0;
        }
    }
    for w in 0..15 {
        let worker = view.workers[w].worker;
        view.jobs[0].tasks[w].status = TaskStatus::Running {
            worker,
            elapsed_secs: 0.0,
        };
    }
    // The rest of the tasks are done: drop them.
    view.jobs[0].tasks.truncate(15);
    let speculations = ff.speculate(&view, &plan);
    assert!(!speculations.is_empty());
    assert_eq!(speculations[0].running_on, view.workers[0].worker);
    assert!(speculations[0].duplicate_finish_secs < speculations[0].current_finish_secs);
}

#[test]
fn quotes_hold_the_p90_unless_capped() {
    let view = MarketView::synthetic(0, 40, 1, 8);
    let view = MarketView {
        jobs: Vec::new(),
        ..view
    };
    let spec = JobSpec::builder(AssetId::of_bytes(b"scene"), "1-120".parse().unwrap())
        .build()
        .unwrap();
    let samples = [
        90.0, 110.0, 100.0, 130.0, 95.0, 105.0, 300.0, 98.0, 102.0, 120.0,
    ];
    let estimate = WorkEstimate::from_samples(&samples).unwrap();
    for name in BUILTIN_STRATEGIES {
        let strategy = builtin(name).unwrap();
        let quote = strategy.quote(&view, &spec, &estimate).unwrap();
        assert!(quote.cost_p90 >= quote.cost_p50, "{name}");
        assert!(quote.cost_p90 > quote.cost_p50, "{name}: spread expected");
        assert!(quote.eta_p90_secs >= quote.eta_p50_secs);
        assert!(quote.escrow_hold >= quote.cost_p90 && !quote.capped);
        let (w, c, n) = quote.fee_split_p90;
        assert_eq!(
            w.micros() + c.micros() + n.micros(),
            quote.cost_p90.micros()
        );
        assert_eq!(quote.tiers.len(), 3);
        assert!(quote.tiers[0].cost_p50 < quote.tiers[2].cost_p50);
    }
    // A cap between P50 and P90 caps the hold.
    let strategy = builtin("cost-under-deadline").unwrap();
    let quote = strategy.quote(&view, &spec, &estimate).unwrap();
    let cap = Money::from_micros((quote.cost_p50.micros() + quote.cost_p90.micros()) / 2);
    let capped_spec = JobSpec {
        budget_cap: Some(cap),
        ..spec.clone()
    };
    let capped = strategy.quote(&view, &capped_spec, &estimate).unwrap();
    assert!(capped.capped);
    assert_eq!(capped.escrow_hold, cap);
    // An impossible deadline is refused with the minimum.
    let rushed = JobSpec {
        deadline_secs: Some(1),
        ..spec
    };
    assert!(matches!(
        strategy.quote(&view, &rushed, &estimate),
        Err(Error::InfeasibleDeadline { .. })
    ));
}

#[test]
fn no_eligible_worker_is_an_error() {
    let mut view = MarketView::synthetic(10, 5, 1, 1);
    view.jobs[0].requirements.min_vram_mib = 1_000_000;
    for name in BUILTIN_STRATEGIES {
        assert!(matches!(
            builtin(name).unwrap().plan(&view),
            Err(Error::NoEligibleWorker { .. })
        ));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn eligibility_is_never_violated(
        seed in 0u64..1_000,
        vram in prop::sample::select(vec![0u32, 8_192, 12_288, 16_384, 24_576]),
        vendor in prop::option::of(prop::sample::select(vec![GpuVendor::Nvidia, GpuVendor::Amd])),
        blender in any::<bool>(),
        minor in 0u32..3,
        block in 0usize..4,
    ) {
        let mut view = MarketConfig::default().generate(120, 24, 3, seed);
        view.jobs[1].requirements.min_vram_mib = vram;
        view.jobs[1].requirements.gpu_vendor = vendor;
        if blender {
            view.jobs[2].renderer = (
                pictor_core::RendererKind::Blender,
                VersionConstraint::AtLeast(Version::new(4, minor, 0)),
            );
        }
        view.jobs[0].blocklist = view.workers.iter().take(block).map(|w| w.worker).collect();
        for name in BUILTIN_STRATEGIES {
            match builtin(name).unwrap().plan(&view) {
                Ok(plan) => {
                    assert_eligible(&view, &plan);
                    prop_assert!(plan.unplanned.is_empty());
                }
                Err(Error::NoEligibleWorker { .. }) => {}
                Err(other) => prop_assert!(false, "{name}: {other}"),
            }
        }
    }
}
