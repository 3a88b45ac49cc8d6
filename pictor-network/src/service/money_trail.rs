//! A job's money trail, for its page: every journal entry that moved money in or out of the job's
//! escrow — the holds taken from its creator, the pay of each worker and checker and the network's
//! fee as its tasks were accepted, and what returned to the creator — read from the in-memory
//! ledger's index of entries by job (`Ledger::job_entries`), as committed.

use super::statements::task_of;
use super::{Caller, Coordinator, ServiceError, ServiceResult};
use crate::store::Store;
use pictor_core::ledger::{Account, PostingKind};
use pictor_core::{JobId, Money, TaskId};
use std::sync::atomic::Ordering;

/// One movement of a job's money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoneyMove {
    /// The journal entry's seq (the ledger page shows the same entry).
    pub seq: u64,
    /// What the entry does: a hold, a payment (settle), a release or a void.
    pub kind: PostingKind,
    /// The account the amount left.
    pub from: Account,
    /// The account it arrived in.
    pub to: Account,
    /// The amount.
    pub amount: Money,
    /// The task whose hold it is or settles, when it is a task's (not the job's reservation).
    pub task: Option<TaskId>,
}

impl<S: Store> Coordinator<S> {
    /// The money trail of the caller's `job` (404 for another's), oldest first.
    pub async fn job_money(&self, caller: &Caller, job: JobId) -> ServiceResult<Vec<MoneyMove>> {
        {
            let mut tx = self.read().await?;
            self.visible_job(&mut tx, caller, job).await?;
        }
        self.money_of(job).await
    }

    /// The money trail of `job`, whoever asks (the Explorer's frame records show their part).
    pub(crate) async fn money_of(&self, job: JobId) -> ServiceResult<Vec<MoneyMove>> {
        self.refresh_balances().await?;
        let ledger = self.ledger.lock().await;
        // A failed write may have left uncommitted entries in memory until the next write
        // rebuilds it: show nothing rather than money that did not move.
        if self.ledger_stale.load(Ordering::SeqCst) {
            return Err(ServiceError::new(
                pictor_core::api::ErrorCode::Unavailable,
                "the ledger is being reloaded; try again in a moment",
            ));
        }
        Ok(ledger
            .job_entries(job)
            .into_iter()
            .map(|entry| MoneyMove {
                seq: entry.seq,
                kind: entry.posting.kind,
                from: entry.posting.debit,
                to: entry.posting.credit,
                amount: entry.posting.amount,
                task: task_of(entry.posting.transfer),
            })
            .collect())
    }
}
