//! Transfers (what callers ask for) and postings (what the journal records).

use super::account::Account;
use crate::Money;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A caller-chosen 128-bit transfer id. It is the idempotency key of the operation that creates the
/// transfer: re-submitting the same request with the same id returns the existing transfer, while
/// re-using the id for a different request is refused. Settlement postings carry the id of the pending
/// transfer they resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(pub u128);

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl From<u128> for TransferId {
    fn from(raw: u128) -> Self {
        TransferId(raw)
    }
}

/// What kind of transfer a [`Transfer`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// Money entering from [`Account::External`] into a creator balance.
    Deposit,
    /// A direct, immediately posted transfer between two non-escrow accounts.
    Direct,
    /// A two-phase transfer: held in a job escrow until posted or voided.
    Pending,
}

/// Where a transfer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// A deposit or direct transfer: applied at once.
    Posted,
    /// A pending transfer whose amount is still held in escrow.
    Pending,
    /// A pending transfer that was posted: `settled` went to the payees, `released` back to the payer.
    PendingPosted {
        /// Total paid out of the hold to the payees.
        settled: Money,
        /// The remainder of the hold returned to the payer.
        released: Money,
    },
    /// A pending transfer that was voided: the whole hold went back to the payer.
    PendingVoided,
}

/// A transfer as the ledger records it (the result of every ledger operation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transfer {
    /// Its id (the idempotency key).
    pub id: TransferId,
    /// Deposit, direct or pending.
    pub kind: TransferKind,
    /// The account debited (for a pending transfer: the payer).
    pub debit: Account,
    /// The account credited (for a pending transfer: the job escrow).
    pub credit: Account,
    /// The amount moved (for a pending transfer: the amount held).
    pub amount: Money,
    /// Where it stands.
    pub status: TransferStatus,
}

impl Transfer {
    /// Whether this is a pending transfer whose hold is still open.
    pub fn is_open(&self) -> bool {
        self.status == TransferStatus::Pending
    }

    /// Whether `other` is the same *request* (same kind, accounts and amount), status aside.
    pub fn same_request(&self, other: &Transfer) -> bool {
        self.id == other.id
            && self.kind == other.kind
            && self.debit == other.debit
            && self.credit == other.credit
            && self.amount == other.amount
    }
}

/// The kind of one journal posting. Together with the posting's accounts and amount it is enough to
/// replay the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingKind {
    /// External → creator: a deposit.
    Deposit,
    /// Non-escrow account → another at once (`Ledger::transfer`), e.g. a withdrawal to `External`.
    Direct,
    /// Payer → escrow: opens a pending transfer.
    Hold,
    /// Escrow → payee: one leg of posting a pending transfer.
    Settle,
    /// Escrow → payer: the remainder of a posted hold (possibly zero). Always the last posting of a
    /// `post_pending`, so it marks the pending as resolved.
    Release,
    /// Escrow → payer: the whole hold of a voided pending transfer.
    Void,
}

impl PostingKind {
    /// The one-byte tag of this kind in the canonical encoding.
    pub const fn tag(self) -> u8 {
        match self {
            PostingKind::Deposit => 0,
            PostingKind::Direct => 1,
            PostingKind::Hold => 2,
            PostingKind::Settle => 3,
            PostingKind::Release => 4,
            PostingKind::Void => 5,
        }
    }

    /// The kind with the given canonical tag, if any.
    pub const fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => PostingKind::Deposit,
            1 => PostingKind::Direct,
            2 => PostingKind::Hold,
            3 => PostingKind::Settle,
            4 => PostingKind::Release,
            5 => PostingKind::Void,
            _ => return None,
        })
    }
}

/// One double-entry posting: `amount` is debited from `debit` and credited to `credit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Posting {
    /// The transfer this posting belongs to (for settle/release/void: the pending transfer resolved).
    pub transfer: TransferId,
    /// What the posting does.
    pub kind: PostingKind,
    /// The account `amount` leaves: its credit balance goes down.
    pub debit: Account,
    /// The account `amount` arrives in: its credit balance goes up.
    pub credit: Account,
    /// The amount moved; never zero except for the `Release` of a fully settled hold.
    pub amount: Money,
}
