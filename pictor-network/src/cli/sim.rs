//! `pictor sim`: simulated workers and checkers (`pictor_network::sim`) against a fresh in-process
//! coordinator, or against running ones (`--network URL,URL…`: replicas of one network, every
//! agent spreading its requests over them), once per worker count, with a table or JSON of what
//! each run measured. `pictor sim trust` is the market simulation of the trust rules
//! (`sim_trust`).

use super::network_args::{ADMIN_KEY_ENV, build_client, read_key, runtime};
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use pictor_network::sim::{SimOptions, simulate, simulate_fresh};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `pictor sim`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    /// Another simulation instead of the dispatch one.
    #[command(subcommand)]
    command: Option<SimCommand>,
    /// Simulated workers; several counts, comma-separated, run one after another (e.g.
    /// `100,1000,10000`), each on a fresh coordinator.
    #[arg(
        long,
        value_name = "N[,N…]",
        default_value = "100",
        value_delimiter = ','
    )]
    workers: Vec<usize>,
    /// Simulated checkers.
    #[arg(long, default_value_t = 4)]
    checkers: usize,
    /// Tasks of the job (one frame each).
    #[arg(long, default_value_t = 1_000)]
    tasks: u32,
    /// Seconds a worker without a task waits before asking again.
    #[arg(long, default_value_t = 1.0)]
    poll_secs: f64,
    /// Milliseconds a simulated render takes.
    #[arg(long, default_value_t = 0)]
    render_ms: u64,
    /// Requests in flight at most (the process's file descriptors bound it).
    #[arg(long, default_value_t = 4_000)]
    max_in_flight: usize,
    /// Seconds after which a run stops if its job is not done.
    #[arg(long, default_value_t = 600)]
    time_limit_secs: u64,
    /// Drive running coordinators instead of a fresh in-process one: their base URLs,
    /// comma-separated (replicas of one network; each agent sends its requests to them in
    /// turn). Each run then opens new accounts and a new job on that network.
    #[arg(long = "network", value_name = "URL[,URL…]", value_delimiter = ',')]
    networks: Vec<String>,
    /// With `--network`: a file holding the admin API key [or env: PICTOR_ADMIN_KEY].
    #[arg(long, value_name = "PATH")]
    admin_key_file: Option<PathBuf>,
    /// Print one JSON object per run.
    #[arg(long)]
    json: bool,
}

/// The other simulations.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// The trust rules as a market: each cheating strategy's profit an hour beside honesty's.
    Trust(super::sim_trust::TrustArgs),
}

/// Runs `pictor sim`.
pub fn run(args: SimArgs) -> Result<()> {
    if let Some(SimCommand::Trust(trust)) = args.command {
        return super::sim_trust::run(trust);
    }
    if args.workers.iter().any(|&n| n == 0 || n > 100_000) {
        bail!("--workers: each count must be within 1..=100000");
    }
    if !(0.01..=60.0).contains(&args.poll_secs) {
        bail!("--poll-secs must be within 0.01..=60");
    }
    if args.checkers == 0 || args.tasks == 0 || args.max_in_flight == 0 {
        bail!("--checkers, --tasks and --max-in-flight must be at least 1");
    }
    let admins = if args.networks.is_empty() {
        Vec::new()
    } else {
        let key = read_key(
            false,
            args.admin_key_file.as_deref(),
            "--admin-key",
            ADMIN_KEY_ENV,
        )?;
        args.networks
            .iter()
            .map(|url| build_client(url, Some(&key)))
            .collect::<Result<Vec<_>>>()?
    };
    let runtime = runtime()?;
    if !args.json {
        println!(
            "{:>7} {:>6} {:>9} {:>9} {:>10} {:>10} {:>10} {:>11} {:>7} {:>8} {:>7}",
            "workers",
            "tasks",
            "accepted",
            "cycles/s",
            "lease p50",
            "lease p99",
            "dispatch99",
            "result p99",
            "errors",
            "fairness",
            "served"
        );
    }
    for workers in &args.workers {
        let options = SimOptions {
            workers: *workers,
            checkers: args.checkers,
            tasks: args.tasks,
            poll_interval: Duration::from_secs_f64(args.poll_secs),
            render_time: Duration::from_millis(args.render_ms),
            max_in_flight: args.max_in_flight,
            time_limit: Duration::from_secs(args.time_limit_secs),
            progress: None,
        };
        let report = if admins.is_empty() {
            runtime.block_on(simulate_fresh(&options))?
        } else {
            runtime.block_on(simulate(&admins, &options))?
        };
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!(
                "{:>7} {:>6} {:>9} {:>9.1} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>9.1}ms {:>7} {:>8.3} {:>7}",
                report.workers,
                report.tasks,
                report.accepted,
                report.cycles_per_second,
                report.lease.p50_ms,
                report.lease.p99_ms,
                report.dispatch.p99_ms,
                report.result.p99_ms,
                report.errors,
                report.fairness,
                report.workers_served
            );
        }
    }
    Ok(())
}
