//! `pictor`: the one command-line tool of the Pictor network.
//!
//! Every subcommand follows the contract of `docs/ARCHITECTURE.md` §9: `--json` prints exactly one
//! JSON object on stdout; failures exit non-zero with a one-line cause on stderr. The exit status is
//! 1 unless a command documents its own (`ledger verify`: 2 on a tampered journal; `job watch`: 3 when
//! the job fails or is cancelled).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::parse() {
        Ok(args) => args,
        Err(line) => {
            eprintln!("pictor: {line}");
            return ExitCode::FAILURE;
        }
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: the chain of causes joined, never a backtrace. A cause that its parent's
            // message already quotes is left out.
            let mut causes: Vec<String> = Vec::new();
            for cause in error.chain().map(ToString::to_string) {
                if !causes.last().is_some_and(|parent| parent.contains(&cause)) {
                    causes.push(cause);
                }
            }
            eprintln!("pictor: {}", causes.join(": ").replace('\n', " "));
            ExitCode::from(cli::exit_code(&error))
        }
    }
}
