//! Argument parsing and dispatch of the `pictor` subcommands, one module per subcommand.

mod plan;
mod render;
mod verify;

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
    /// Plan a synthetic market (or an ETC matrix) with a scheduling strategy and compare it with
    /// the lower bounds.
    Plan(plan::PlanArgs),
    /// Render one frame, or a region of it, with the built-in path tracer or Blender.
    Render(render::RenderArgs),
    /// Verify one candidate frame with the checker protocol, rendering the references locally.
    Verify(verify::VerifyArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Plan(args) => plan::run(args),
        Command::Render(args) => render::run(args),
        Command::Verify(args) => verify::run(args),
    }
}
