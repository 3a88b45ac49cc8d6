//! `pictor plan`: plan a synthetic render market (or an ETC matrix from a file) with one strategy and
//! compare the plan with the lower bounds that no plan can beat.

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use pictor_schedule::etc::EtcMatrix;
use pictor_schedule::min_min::{BatchMinMinOptions, batch_min_min};
use pictor_schedule::{
    self as schedule, CostUnderDeadline, FastestFinish, MarketView, Scheduler, bounds, lp_bound,
};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Most tasks a synthetic market may have (keeps a typo from exhausting memory).
const MAX_TASKS: usize = 10_000_000;
/// Most workers a synthetic market may have.
const MAX_WORKERS: usize = 1_000_000;

/// Arguments of `pictor plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Tasks (frames) in the synthetic market.
    #[arg(long)]
    tasks: Option<usize>,
    /// Workers in the synthetic market (some are render farms with several slots).
    #[arg(long)]
    workers: Option<usize>,
    /// Jobs the tasks are spread over.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Strategy: cost-under-deadline, fastest-finish, fair-share or batch-min-min.
    #[arg(long, default_value = "cost-under-deadline")]
    strategy: String,
    /// Every job's deadline, as a multiple of the fastest-finish makespan.
    #[arg(long, default_value_t = 2.0)]
    deadline_factor: f64,
    /// Seed of the market generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// With cost-under-deadline: fill cheap capacity to the whole deadline (deterministic replay,
    /// no slack kept for runtime noise) instead of the default 60 %.
    #[arg(long)]
    replay: bool,
    /// Read an ETC matrix (`{"etc": [[seconds; machines]; tasks]}`) and plan it with batch-min-min.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["tasks", "workers", "jobs"])]
    etc: Option<PathBuf>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// What `pictor plan --json` prints. Costs are integer micro-credits; `null` where not applicable.
#[derive(Debug, Serialize)]
struct PlanReport {
    strategy: String,
    tasks: usize,
    workers: usize,
    makespan: f64,
    makespan_lower_bound: f64,
    makespan_ratio: f64,
    cost: Option<u64>,
    cost_lower_bound: Option<u64>,
    cost_ratio: Option<f64>,
    deadline: Option<f64>,
    deadline_met: Option<bool>,
    plan_ms: f64,
}

/// Runs `pictor plan`.
pub fn run(args: PlanArgs) -> Result<()> {
    let report = match &args.etc {
        Some(path) => plan_etc(&args, path)?,
        None => plan_market(&args)?,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(())
}

fn plan_market(args: &PlanArgs) -> Result<PlanReport> {
    let tasks = args
        .tasks
        .context("--tasks is required (or give --etc FILE)")?;
    let workers = args
        .workers
        .context("--workers is required (or give --etc FILE)")?;
    ensure!(
        (1..=MAX_TASKS).contains(&tasks),
        "--tasks must be in 1..={MAX_TASKS}"
    );
    ensure!(
        (1..=MAX_WORKERS).contains(&workers),
        "--workers must be in 1..={MAX_WORKERS}"
    );
    ensure!(
        (1..=tasks).contains(&args.jobs),
        "--jobs must be in 1..=--tasks"
    );
    ensure!(
        args.deadline_factor.is_finite() && args.deadline_factor >= 1.0,
        "--deadline-factor must be a number ≥ 1 (the deadline as a multiple of the fastest finish)"
    );
    let strategy: Box<dyn Scheduler> = match (args.strategy.as_str(), args.replay) {
        ("cost-under-deadline", true) => Box::new(CostUnderDeadline::replay()),
        (_, true) => bail!("--replay applies to cost-under-deadline only"),
        (name, false) => schedule::builtin(name).with_context(|| {
            format!(
                "unknown strategy {name:?}; built in: {}",
                schedule::BUILTIN_STRATEGIES.join(", ")
            )
        })?,
    };

    let mut view = MarketView::synthetic(tasks, workers, args.jobs, args.seed);
    let fastest = FastestFinish::default()
        .plan(&view)
        .context("planning the fastest finish")?;
    let deadline = fastest.makespan_secs * args.deadline_factor;
    for job in &mut view.jobs {
        job.deadline_secs = Some(deadline);
    }

    let started = Instant::now();
    let plan = strategy.plan(&view)?;
    let plan_ms = started.elapsed().as_secs_f64() * 1e3;

    let makespan_lower_bound = bounds::market_makespan_bound(&view);
    let cost_lower_bound: Option<f64> = (0..view.jobs.len())
        .map(|job| bounds::job_lp_cost_bound(&view, job, deadline))
        .sum();
    let cost = plan.cost.micros();
    // Real costs are whole micro-credits, so the bound may be rounded up and stay a bound.
    let cost_lower_bound = cost_lower_bound.map(|bound| bound.ceil() as u64);
    Ok(PlanReport {
        strategy: strategy.name().to_string(),
        tasks,
        workers,
        makespan: plan.makespan_secs,
        makespan_lower_bound,
        makespan_ratio: plan.makespan_secs / makespan_lower_bound,
        cost: Some(cost),
        cost_lower_bound,
        cost_ratio: cost_lower_bound.map(|bound| cost as f64 / bound as f64),
        deadline: Some(deadline),
        deadline_met: Some(plan.makespan_secs <= deadline * (1.0 + 1e-9)),
        plan_ms,
    })
}

fn plan_etc(args: &PlanArgs, path: &PathBuf) -> Result<PlanReport> {
    if args.strategy != "batch-min-min" && args.strategy != "cost-under-deadline" {
        bail!(
            "--etc plans with batch-min-min only (an ETC matrix has no prices or deadlines), not {:?}",
            args.strategy
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading ETC matrix {}", path.display()))?;
    let etc: EtcMatrix = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an ETC matrix", path.display()))?;
    let started = Instant::now();
    let assignment = batch_min_min(&etc, BatchMinMinOptions::default());
    let plan_ms = started.elapsed().as_secs_f64() * 1e3;
    let bound = lp_bound::makespan_lower_bound(&etc)?;
    Ok(PlanReport {
        strategy: "batch-min-min".to_string(),
        tasks: etc.tasks(),
        workers: etc.machines(),
        makespan: assignment.makespan,
        makespan_lower_bound: bound,
        makespan_ratio: assignment.makespan / bound,
        cost: None,
        cost_lower_bound: None,
        cost_ratio: None,
        deadline: None,
        deadline_met: None,
        plan_ms,
    })
}

fn print_summary(report: &PlanReport) {
    println!(
        "{}: {} tasks on {} workers, planned in {:.1} ms",
        report.strategy, report.tasks, report.workers, report.plan_ms
    );
    println!(
        "  makespan {:.1} s (lower bound {:.1} s, ratio {:.3})",
        report.makespan, report.makespan_lower_bound, report.makespan_ratio
    );
    if let (Some(cost), Some(bound), Some(ratio)) =
        (report.cost, report.cost_lower_bound, report.cost_ratio)
    {
        println!(
            "  cost {} credits (lower bound {} credits, ratio {ratio:.3})",
            pictor_core::Money::from_micros(cost),
            pictor_core::Money::from_micros(bound)
        );
    }
    if let (Some(deadline), Some(met)) = (report.deadline, report.deadline_met) {
        println!(
            "  deadline {deadline:.1} s: {}",
            if met { "met" } else { "MISSED" }
        );
    }
}
