//! `pictor bond show|post|withdraw`: a worker's or checker's bond (docs/TRUST.md), with the
//! account's own key.

use super::account::parse_credits;
use super::network_args::{NetworkArgs, runtime};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use pictor_core::Money;
use pictor_core::api::{BondSource, BondView};
use serde::Serialize;

/// `pictor bond …`.
#[derive(Debug, Subcommand)]
pub enum BondCommand {
    /// Show the bond, the balance and earnings it can be posted from, and what it allows.
    Show(ShowArgs),
    /// Move credits from the balance (or earnings) into the bond.
    Post(ChangeArgs),
    /// Move credits from the bond back to the balance (only while none of the account's results
    /// or verdicts awaits a decision).
    Withdraw(ChangeArgs),
}

/// Where `pictor bond post` draws from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum SourceChoice {
    /// The balance (deposits).
    #[default]
    Balance,
    /// What the account has earned.
    Earnings,
}

/// Arguments of `pictor bond show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pictor bond post|withdraw`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Credits to move (decimal credits, exact to 1 µcr: `100`, `2.5`).
    #[arg(long, value_name = "N", value_parser = parse_credits)]
    credits: Money,
    /// Where a post draws from.
    #[arg(long, value_enum, default_value_t = SourceChoice::Balance)]
    from: SourceChoice,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// What `pictor bond … --json` prints (amounts in micro-credits).
#[derive(Debug, Serialize)]
struct BondReport {
    account: u64,
    bond_micros: u64,
    balance_micros: u64,
    earnings_micros: u64,
    open_work: u64,
    accepted_tasks: u64,
    unbonded_task_limit_micros: u64,
    checker_min_bond_micros: u64,
}

/// Runs `pictor bond …`.
pub fn run(command: BondCommand) -> Result<()> {
    let (view, json) = match command {
        BondCommand::Show(args) => {
            let client = args.network.client()?;
            let view = runtime()?
                .block_on(client.accounts().bond())
                .context("reading the bond")?;
            (view, args.json)
        }
        BondCommand::Post(args) => {
            let client = args.network.client()?;
            let source = match args.from {
                SourceChoice::Balance => BondSource::Balance,
                SourceChoice::Earnings => BondSource::Earnings,
            };
            let view = runtime()?
                .block_on(client.accounts().post_bond(args.credits, source))
                .context("posting to the bond")?;
            (view, args.json)
        }
        BondCommand::Withdraw(args) => {
            let client = args.network.client()?;
            let view = runtime()?
                .block_on(client.accounts().withdraw_bond(args.credits))
                .context("withdrawing from the bond")?;
            (view, args.json)
        }
    };
    print(&view, json)
}

fn print(view: &BondView, json: bool) -> Result<()> {
    if json {
        let report = BondReport {
            account: view.account.0,
            bond_micros: view.bond.micros(),
            balance_micros: view.balance.micros(),
            earnings_micros: view.earnings.micros(),
            open_work: view.open_work,
            accepted_tasks: view.accepted_tasks,
            unbonded_task_limit_micros: view.unbonded_task_limit.micros(),
            checker_min_bond_micros: view.checker_min_bond.micros(),
        };
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "account {}: bond {} credits; balance {}, earnings {}",
        view.account.0, view.bond, view.balance, view.earnings
    );
    println!(
        "tasks up to {} credits need no bond ({} accepted tasks); {} results await a verdict",
        view.unbonded_task_limit, view.accepted_tasks, view.open_work
    );
    if view.checker_min_bond > Money::ZERO {
        println!(
            "checkers on this network hold a bond of at least {} credits",
            view.checker_min_bond
        );
    }
    Ok(())
}
