//! Bonds and checkers' standing on the wire (docs/TRUST.md).

use crate::{AccountId, Money};
use serde::{Deserialize, Serialize};

/// What a bond request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BondAction {
    /// Move money into the bond.
    Post,
    /// Move money from the bond back to the balance (only while none of the account's work awaits
    /// a verdict).
    Withdraw,
}

/// Where a posted bond comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BondSource {
    /// The account's balance (deposits).
    #[default]
    Balance,
    /// What the account has earned (a worker's or checker's earnings).
    Earnings,
}

/// `POST /v1/bond`: post to or withdraw from the caller's bond. With an `Idempotency-Key` a retry
/// moves no more money.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BondRequest {
    /// Post or withdraw.
    pub action: BondAction,
    /// How much, > 0.
    pub amount: Money,
    /// Where a post draws from (default: the balance).
    #[serde(default)]
    pub source: BondSource,
}

/// `GET /v1/bond`: the caller's bond and what it allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BondView {
    /// The account.
    pub account: AccountId,
    /// Money in the bond.
    pub bond: Money,
    /// Spendable balance.
    pub balance: Money,
    /// Earnings (as a worker or a checker).
    pub earnings: Money,
    /// Results of the account's still awaiting a verdict: while any does, nothing can be
    /// withdrawn.
    pub open_work: u64,
    /// For a worker: its accepted tasks, which raise the largest task it may take unbonded.
    pub accepted_tasks: u64,
    /// For a worker: the largest task (agreed cost) it may take without a bond.
    pub unbonded_task_limit: Money,
    /// For a checker: the bond the network requires to lease checks.
    pub checker_min_bond: Money,
}

/// A checker's record on known-outcome checks, as the checker (and the Checker Nodes page) sees
/// it: `GET /v1/checkers/standing`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckerStanding {
    /// The checker account.
    pub account: AccountId,
    /// Known-outcome checks answered as an honest checker does.
    pub probes_passed: u64,
    /// Known cheats it was shown: cheat probes, and results a majority of checkers proved cheats.
    pub cheats_seen: u64,
    /// Of those, how many it accepted.
    pub cheats_accepted: u64,
    /// Known-honest frames it was shown.
    pub honest_seen: u64,
    /// Of those, how many it rejected.
    pub honest_rejected: u64,
    /// Offences counted against it.
    pub strikes: u32,
    /// Fees taken back over all offences.
    pub fees_forfeited: Money,
    /// Whether it is barred from checking.
    pub barred: bool,
}
