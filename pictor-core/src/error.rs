//! The crate's error type: every fallible operation in `pictor-core` returns [`Error`].

use crate::money::Money;

/// Result alias used throughout `pictor-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the domain model. Variants carry the context a user needs to fix
/// the input: the field that was wrong, the value that would have been feasible, the transition refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of some input failed validation.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Dotted path of the offending field, e.g. `frames` or `resolution.width`.
        field: String,
        /// What is wrong with it, in words a user can act on.
        reason: String,
    },
    /// Checked money arithmetic left the representable range (or went below zero).
    #[error("money arithmetic out of range: {operation}")]
    MoneyOutOfRange {
        /// The operation that overflowed, e.g. `add` or `subtract`.
        operation: &'static str,
    },
    /// A task (or job) state machine refused an event in its current state.
    #[error("illegal transition: cannot apply {event} to a {entity} in state {state}")]
    IllegalTransition {
        /// `task` or `job`.
        entity: &'static str,
        /// The current state's name.
        state: String,
        /// The event's name.
        event: String,
    },
    /// A result or heartbeat carried a fencing token other than the current lease's.
    #[error(
        "stale fencing token: the current attempt is {current}, the request carried {presented}"
    )]
    StaleFencingToken {
        /// The token of the live lease.
        current: u64,
        /// The token presented by the caller.
        presented: u64,
    },
    /// No plan can meet the deadline; `minimum_seconds` is the earliest feasible finish.
    #[error(
        "deadline of {requested_seconds:.0} s is infeasible: the earliest possible finish is {minimum_seconds:.0} s"
    )]
    InfeasibleDeadline {
        /// The deadline asked for, in seconds from now.
        requested_seconds: f64,
        /// The smallest deadline some plan can meet, in seconds from now.
        minimum_seconds: f64,
    },
    /// No plan fits in the budget; `minimum` is the cheapest feasible cost.
    #[error("budget of {requested} is infeasible: the cheapest plan costs at least {minimum}")]
    InfeasibleBudget {
        /// The job's `budget_cap`, below `minimum`.
        requested: Money,
        /// The cheapest cost any plan can achieve.
        minimum: Money,
    },
    /// No worker satisfies a job's requirements.
    #[error("no eligible worker for job {job}: {reason}")]
    NoEligibleWorker {
        /// The job's id as text (for a quote, a provisional id the job does not keep).
        job: String,
        /// Why every worker was filtered out.
        reason: String,
    },
    /// The linear-programming solver behind a lower bound failed.
    #[error("linear program failed: {reason}")]
    LinearProgram {
        /// The solver's message.
        reason: String,
    },
    /// The ledger refused an operation (unknown pending transfer, double resolve, unbalanced entry...).
    #[error("ledger: {reason}")]
    Ledger {
        /// What was refused and why.
        reason: String,
    },
    /// Reading a local file or folder failed (scanning or hashing a scene folder).
    #[error("i/o error on {path}: {reason}")]
    Io {
        /// The file or folder concerned.
        path: String,
        /// The operating system's message.
        reason: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Io`]: `path` could not be read, for the reason `error` gives.
    pub fn io(path: &std::path::Path, error: &std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            reason: error.to_string(),
        }
    }

    /// The field an [`Error::Invalid`] names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
