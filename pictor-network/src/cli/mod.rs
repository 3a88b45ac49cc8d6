//! Argument parsing and dispatch of the `pictor` subcommands, one module per subcommand.

mod account;
mod bond;
mod checker;
mod database;
mod demo;
mod farm;
mod job;
mod ledger;
mod migrate;
mod model;
mod network_args;
mod plan;
mod render;
mod serve;
mod sim;
mod sim_trust;
mod upscale_job;
mod verify;
mod worker;

use clap::{Parser, Subcommand};

/// Pictor: decentralized GPU rendering.
#[derive(Debug, Parser)]
#[command(name = "pictor", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a whole network on this machine (coordinator, workers, a checker) and render a job on it.
    Demo(demo::DemoArgs),
    /// Run a coordinator on a data directory until SIGINT or SIGTERM.
    Serve(serve::ServeArgs),
    /// Open accounts and credit them (admin key).
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// A worker's or checker's bond: show it, post to it, withdraw from it (the account's key).
    #[command(subcommand)]
    Bond(bond::BondCommand),
    /// Quote, submit, follow, download and cancel render jobs (creator key).
    #[command(subcommand)]
    Job(job::JobCommand),
    /// Check the network's hash-chained, signed ledger.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Move a stopped network's state from its SQLite database to an empty PostgreSQL database.
    Migrate(migrate::MigrateArgs),
    /// Plan a synthetic market (or an ETC matrix) with a scheduling strategy and compare it with
    /// the lower bounds.
    Plan(plan::PlanArgs),
    /// Drive a fresh coordinator with simulated workers and checkers, and report dispatch latency,
    /// cycles per second and fairness; `pictor sim trust` simulates the trust rules as a market.
    Sim(sim::SimArgs),
    /// Render one frame, or a region of it, with the built-in path tracer or Blender.
    Render(render::RenderArgs),
    /// Verify one candidate frame with the checker protocol, rendering the references locally.
    Verify(verify::VerifyArgs),
    /// Register this machine as a worker, benchmark it, and run it.
    #[command(subcommand)]
    Worker(worker::WorkerCommand),
    /// Verify workers' frames for the network.
    #[command(subcommand)]
    Checker(checker::CheckerCommand),
    /// Offer a render farm's capacity through its own queue manager (Slurm): register it, run
    /// its adapter.
    #[command(subcommand)]
    Farm(farm::FarmCommand),
    /// Install and list the super-resolution models upscaling runs (docs/MODELS.md).
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Upscale images with a super-resolution model.
    #[command(subcommand)]
    Upscale(model::UpscaleCommand),
}

/// A failure with its own exit status (other failures exit 1); `main` still prints its message as
/// the one-line cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitStatus {
    /// The process exit status: 2 for a tampered ledger, 3 for a job that did not complete.
    pub code: u8,
    message: String,
}

impl ExitStatus {
    /// A failure that exits with `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        ExitStatus {
            code,
            message: message.into(),
        }
    }
}

/// The exit status for a failure: its [`ExitStatus`] code, else 1.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    error
        .downcast_ref::<ExitStatus>()
        .map_or(1, |status| status.code)
}

/// Parses the command line. Help and version go to stdout (exit 0); a usage error becomes one line
/// (`Err`), like every other failure.
pub fn parse() -> Result<Cli, String> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                error.exit();
            }
            Err(one_line(&error.render().to_string()))
        }
    }
}

/// Clap's multi-line usage error as one line: the message and its details, without the usage
/// block and the `--help` hint.
fn one_line(rendered: &str) -> String {
    let mut parts = Vec::new();
    for line in rendered.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    parts.join(" ")
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Account(command) => account::run(command),
        Command::Bond(command) => bond::run(command),
        Command::Job(command) => job::run(command),
        Command::Ledger(command) => ledger::run(command),
        Command::Migrate(args) => migrate::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Render(args) => render::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Worker(command) => worker::run(command),
        Command::Farm(command) => farm::run(command),
        Command::Checker(command) => checker::run(command),
        Command::Model(command) => model::run(command),
        Command::Upscale(command) => model::run_upscale(command),
    }
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_become_one_line() {
        let rendered = "error: invalid value 'admin' for '--role <ROLE>'\n  [possible values: \
                        creator, worker, checker]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "invalid value 'admin' for '--role <ROLE>' [possible values: creator, worker, checker]"
        );
        let rendered = "error: the following required arguments were not provided:\n  --name \
                        <NAME>\n\nUsage: pictor account create --name <NAME>\n\nFor more \
                        information, try '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "the following required arguments were not provided: --name <NAME>"
        );
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
