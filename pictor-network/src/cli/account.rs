//! `pictor account create|deposit`: open accounts and credit them (admin key).

use super::network_args::{AdminArgs, runtime};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use pictor_core::api::{AccountView, Role};
use pictor_core::{AccountId, Money};
use serde::Serialize;

/// `pictor account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Open an account and print its API key (shown this once).
    Create(CreateArgs),
    /// Credit an account from outside the network.
    Deposit(DepositArgs),
}

/// The roles an account can be opened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleChoice {
    /// Submits jobs and pays for them.
    Creator,
    /// Renders tasks and earns their price.
    Worker,
    /// Verifies frames and earns the checker fee.
    Checker,
    /// A render farm: offers its nodes' capacity through its own queue manager.
    Farm,
}

impl From<RoleChoice> for Role {
    fn from(choice: RoleChoice) -> Role {
        match choice {
            RoleChoice::Creator => Role::Creator,
            RoleChoice::Worker => Role::Worker,
            RoleChoice::Checker => Role::Checker,
            RoleChoice::Farm => Role::Farm,
        }
    }
}

/// Arguments of `pictor account create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// The account's role.
    #[arg(long, value_enum)]
    role: RoleChoice,
    /// Display name (1 to 64 characters).
    #[arg(long)]
    name: String,
    /// Credits to deposit right after opening (decimal credits, exact to 1 µcr: `100`, `2.5`).
    #[arg(long, value_name = "N", value_parser = parse_credits)]
    credits: Option<Money>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pictor account deposit`.
#[derive(Debug, Args)]
pub struct DepositArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Id of the account to credit: a creator's pays for jobs, a worker's or checker's funds
    /// its bond.
    #[arg(long, value_name = "ID")]
    account: u64,
    /// Credits to deposit (decimal credits, exact to 1 µcr: `100`, `2.5`).
    #[arg(long, value_name = "N", value_parser = parse_credits)]
    credits: Money,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Parses a positive amount of credits.
pub fn parse_credits(text: &str) -> Result<Money, String> {
    let amount: Money = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of credits"))?;
    if amount.is_zero() {
        return Err("must be more than 0 credits".to_string());
    }
    Ok(amount)
}

/// What `pictor account create --json` prints.
#[derive(Debug, Serialize)]
struct CreatedReport {
    id: u64,
    role: Role,
    name: String,
    /// Micro-credits.
    balance_micros: u64,
    /// Credits, six decimals.
    balance: String,
    api_key: String,
}

/// What `pictor account deposit --json` prints.
#[derive(Debug, Serialize)]
struct AccountReport {
    id: u64,
    role: Role,
    name: String,
    /// Micro-credits.
    balance_micros: u64,
    /// Credits, six decimals.
    balance: String,
}

impl From<&AccountView> for AccountReport {
    fn from(view: &AccountView) -> Self {
        AccountReport {
            id: view.id.0,
            role: view.role,
            name: view.name.clone(),
            balance_micros: view.balance.micros(),
            balance: view.balance.to_string(),
        }
    }
}

/// The role as the command line spells it.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Creator => "creator",
        Role::Worker => "worker",
        Role::Checker => "checker",
        Role::Farm => "farm",
    }
}

/// Runs `pictor account …`.
pub fn run(command: AccountCommand) -> Result<()> {
    match command {
        AccountCommand::Create(args) => create(args),
        AccountCommand::Deposit(args) => deposit(args),
    }
}

fn create(args: CreateArgs) -> Result<()> {
    let client = args.admin.client()?;
    let role = Role::from(args.role);
    let (created, account) = runtime()?.block_on(async {
        let created = client
            .accounts()
            .create(role, args.name.clone())
            .await
            .context("creating the account")?;
        let account = match args.credits {
            Some(amount) => client
                .accounts()
                .deposit(created.account.id, amount)
                .send()
                .await
                .with_context(|| {
                    format!(
                        "account {} was created (API key {}), but the deposit failed",
                        created.account.id.0, created.api_key
                    )
                })?,
            None => created.account.clone(),
        };
        anyhow::Ok((created, account))
    })?;
    let report = CreatedReport {
        id: account.id.0,
        role: account.role,
        name: account.name.clone(),
        balance_micros: account.balance.micros(),
        balance: account.balance.to_string(),
        api_key: created.api_key,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "account {} ({}, {}), balance {} credits",
            report.id,
            report.name,
            role_name(report.role),
            report.balance
        );
        println!(
            "api key: {}  (shown this once; keep it secret)",
            report.api_key
        );
    }
    Ok(())
}

fn deposit(args: DepositArgs) -> Result<()> {
    let client = args.admin.client()?;
    let account = runtime()?.block_on(
        client
            .accounts()
            .deposit(AccountId(args.account), args.credits)
            .send(),
    )?;
    let report = AccountReport::from(&account);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "deposited {} credits into account {} ({}): balance {} credits",
            args.credits, report.id, report.name, report.balance
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_parse_exactly_and_refuse_nonsense() {
        assert_eq!(parse_credits("100"), Ok(Money::from_micros(100_000_000)));
        assert_eq!(parse_credits("2.5"), Ok(Money::from_micros(2_500_000)));
        for bad in ["", "abc", "-1", "0", "1e3", "0.0000001"] {
            assert!(parse_credits(bad).is_err(), "{bad:?}");
        }
    }
}
