//! `pictor sim trust`: the market simulation of the trust rules (`pictor_network::sim_trust`),
//! printed as a table (or JSON) of each strategy's profit an hour beside honesty's. Exits 1 when
//! some cheating strategy earns at least as much as honesty.

use super::account::parse_credits;
use anyhow::{Result, bail};
use clap::Args;
use pictor_core::Money;
use pictor_network::sim_trust::{TrustSimOptions, TrustSimReport, simulate_trust};

/// Arguments of `pictor sim trust`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Simulated hours.
    #[arg(long, default_value_t = 200)]
    hours: u32,
    /// Results each worker delivers an hour.
    #[arg(long, default_value_t = 30)]
    tasks_per_hour: u32,
    /// Honest workers.
    #[arg(long, default_value_t = 5)]
    honest_workers: usize,
    /// Honest checkers (besides a lazy one and a colluding one).
    #[arg(long, default_value_t = 10)]
    honest_checkers: usize,
    /// Task costs dealt in turn, credits, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = parse_credits, default_value = "0.2,2,8")]
    task_costs: Vec<Money>,
    /// A worker's own cost of an honest render, per mille of the task's cost.
    #[arg(long, default_value_t = 500)]
    render_cost_per_mille: u64,
    /// Hours between payouts of checkers' earnings (a forfeit takes only what is unpaid).
    #[arg(long, default_value_t = 24)]
    payout_hours: u32,
    /// The random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `pictor sim trust`.
pub fn run(args: TrustArgs) -> Result<()> {
    if args.hours == 0 || args.hours > 100_000 || args.tasks_per_hour == 0 {
        bail!("--hours must be within 1..=100000 and --tasks-per-hour at least 1");
    }
    if args.honest_workers == 0 || args.honest_checkers < 3 || args.task_costs.is_empty() {
        bail!("at least 1 honest worker, 3 honest checkers and one task cost");
    }
    if args.render_cost_per_mille > 1000 {
        bail!("--render-cost-per-mille is at most 1000");
    }
    let options = TrustSimOptions {
        hours: args.hours,
        tasks_per_hour: args.tasks_per_hour,
        honest_workers: args.honest_workers,
        honest_checkers: args.honest_checkers,
        task_costs: args.task_costs,
        render_cost_per_mille: args.render_cost_per_mille,
        payout_hours: args.payout_hours,
        seed: args.seed,
        ..TrustSimOptions::default()
    };
    let report = simulate_trust(&options)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report);
    }
    if report.cheating_pays {
        bail!("a cheating strategy earned at least as much as honesty");
    }
    Ok(())
}

fn credits(micros: i64) -> String {
    format!("{:.4}", micros as f64 / 1e6)
}

fn print_table(report: &TrustSimReport) {
    println!(
        "{} hours, {} results per worker an hour; profit in credits an hour",
        report.hours, report.tasks_per_hour
    );
    println!(
        "{:<46} {:>8} {:>10} {:>10} {:>7} {:>7} {:>7} {:>10}",
        "strategy", "side", "profit/h", "honest/h", "work", "paid", "caught", "slashed"
    );
    for s in &report.strategies {
        println!(
            "{:<46} {:>8} {:>10} {:>10} {:>7} {:>7} {:>7} {:>10}",
            s.strategy,
            s.side,
            credits(s.profit_per_hour_micros),
            credits(s.honest_profit_per_hour_micros),
            s.work,
            s.paid,
            s.caught,
            credits(i64::try_from(s.slashed_micros).unwrap_or(i64::MAX)),
        );
    }
    println!(
        "honest workers' loss to false rejects: {} ppm of their earnings",
        report.honest_false_reject_loss_ppm
    );
    println!(
        "{}",
        if report.cheating_pays {
            "a cheating strategy pays"
        } else {
            "every cheating strategy earns less than honesty"
        }
    );
}
