//! `pictor`: the one command-line tool of the Pictor network.
//!
//! Every subcommand follows the contract of `docs/ARCHITECTURE.md` §9: `--json` prints exactly one
//! JSON object on stdout; failures exit non-zero with a one-line cause on stderr.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: the chain of causes joined, never a backtrace.
            let causes: Vec<String> = error.chain().map(ToString::to_string).collect();
            eprintln!("pictor: {}", causes.join(": "));
            ExitCode::FAILURE
        }
    }
}
