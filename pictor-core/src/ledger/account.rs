//! Ledger accounts: who can hold money, and which balance rules apply to each kind.

use crate::{AccountId, JobId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of a ledger [`Account`]; fixes its balance rules and its tag in the canonical encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// The outside world: the source of deposits (and sink of withdrawals). Its balance is the negated
    /// total of money inside the ledger, which is what keeps the trial balance at zero.
    External,
    /// A creator's spendable balance.
    CreatorBalance,
    /// Money held for one job by open pending transfers. Only `create_pending`, `post_pending` and
    /// `void_pending` touch escrow accounts, so an escrow's balance is always the sum of its open holds.
    JobEscrow,
    /// What a worker's owner has earned.
    WorkerEarnings,
    /// What a checker's owner has earned.
    CheckerEarnings,
    /// The network's fee income.
    NetworkFees,
    /// A worker's or checker's bond: money its owner stakes on its honesty. It moves only by direct
    /// transfers: posted from the owner's balance or earnings, withdrawn back to the balance while
    /// nothing of the owner's awaits a verdict, and slashed for a proven cheat.
    Bond,
}

impl AccountKind {
    /// The one-byte tag of this kind in the canonical encoding.
    pub const fn tag(self) -> u8 {
        match self {
            AccountKind::External => 0,
            AccountKind::CreatorBalance => 1,
            AccountKind::JobEscrow => 2,
            AccountKind::WorkerEarnings => 3,
            AccountKind::CheckerEarnings => 4,
            AccountKind::NetworkFees => 5,
            AccountKind::Bond => 6,
        }
    }

    /// The kind with the given canonical tag, if any.
    pub const fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => AccountKind::External,
            1 => AccountKind::CreatorBalance,
            2 => AccountKind::JobEscrow,
            3 => AccountKind::WorkerEarnings,
            4 => AccountKind::CheckerEarnings,
            5 => AccountKind::NetworkFees,
            6 => AccountKind::Bond,
            _ => return None,
        })
    }

    /// Whether the balance of accounts of this kind must stay within `0..=Money::MAX`.
    /// Every kind but [`AccountKind::External`] is bounded.
    pub const fn is_bounded(self) -> bool {
        !matches!(self, AccountKind::External)
    }
}

/// A ledger account: a kind plus, for per-owner kinds, the owner.
///
/// Balances are kept as *credit balances* (credits − debits): a creator with money has a positive
/// balance; the [`Account::External`] account goes negative as money is deposited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// The single external (deposits) account.
    External,
    /// A creator's balance, owned by an account.
    Creator(AccountId),
    /// The escrow of one job: holds from its creator's balance wait here until settled or returned.
    Escrow(JobId),
    /// A worker owner's earnings.
    Worker(AccountId),
    /// A checker owner's earnings.
    Checker(AccountId),
    /// The single network-fees account.
    NetworkFees,
    /// The bond an account (a worker's or a checker's owner) has posted.
    Bond(AccountId),
}

impl Account {
    /// This account's kind.
    pub const fn kind(self) -> AccountKind {
        match self {
            Account::External => AccountKind::External,
            Account::Creator(_) => AccountKind::CreatorBalance,
            Account::Escrow(_) => AccountKind::JobEscrow,
            Account::Worker(_) => AccountKind::WorkerEarnings,
            Account::Checker(_) => AccountKind::CheckerEarnings,
            Account::NetworkFees => AccountKind::NetworkFees,
            Account::Bond(_) => AccountKind::Bond,
        }
    }

    /// The owner (or job) number; `0` for the singleton accounts.
    pub const fn number(self) -> u64 {
        match self {
            Account::External | Account::NetworkFees => 0,
            Account::Creator(id)
            | Account::Worker(id)
            | Account::Checker(id)
            | Account::Bond(id) => id.0,
            Account::Escrow(job) => job.0,
        }
    }

    /// Rebuilds an account from its kind and number. Singleton kinds only accept number `0`, so every
    /// account has exactly one `(kind, number)` pair (the encoding stays canonical).
    pub const fn from_parts(kind: AccountKind, number: u64) -> Option<Self> {
        Some(match kind {
            AccountKind::External if number == 0 => Account::External,
            AccountKind::NetworkFees if number == 0 => Account::NetworkFees,
            AccountKind::External | AccountKind::NetworkFees => return None,
            AccountKind::CreatorBalance => Account::Creator(AccountId(number)),
            AccountKind::JobEscrow => Account::Escrow(JobId(number)),
            AccountKind::WorkerEarnings => Account::Worker(AccountId(number)),
            AccountKind::CheckerEarnings => Account::Checker(AccountId(number)),
            AccountKind::Bond => Account::Bond(AccountId(number)),
        })
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::External => f.write_str("external"),
            Account::Creator(id) => write!(f, "creator {id}"),
            Account::Escrow(job) => write!(f, "escrow of job {job}"),
            Account::Worker(id) => write!(f, "worker earnings {id}"),
            Account::Checker(id) => write!(f, "checker earnings {id}"),
            Account::NetworkFees => f.write_str("network fees"),
            Account::Bond(id) => write!(f, "bond {id}"),
        }
    }
}
