//! Budgets: a creator sets a monthly spending limit (UTC calendar months) with alerts at 50, 80
//! and 100 % of it — `budget.threshold` webhooks and a line on the Credit page — and may choose
//! that no new job is accepted past it.
//!
//! What a month's spending is: the money that left the creator's balance into job escrows that
//! month (holds) less what came back (releases, voids) — the ledger's own entries of the account
//! (`Ledger::account_entries`) from the month's first journal seq on. A job's whole hold is taken
//! when it is submitted, so the check is made there: a job whose hold would take the month past a
//! limit that pauses is refused, before anything is held.

use super::{Coordinator, PersonView, ServiceError, ServiceResult, Write};
use crate::calendar;
use crate::store::budgets::BudgetRow;
use crate::store::prelude::*;
use crate::store::{AccountRow, Store};
use pictor_core::api::{ErrorCode, Role};
use pictor_core::ledger::{Account, Ledger, PostingKind};
use pictor_core::{AccountId, Money};
use serde_json::json;

/// The alerts, in per cent of the limit.
pub const ALERTS: [u32; 3] = [50, 80, 100];
const DAY_MS: u64 = 86_400_000;

/// A budget and where the month stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetStatus {
    /// The budget.
    pub budget: BudgetRow,
    /// The month (`YYYY-MM`).
    pub month: String,
    /// Spent this month so far, micro-credits.
    pub spent: i128,
}

impl BudgetStatus {
    /// Spent as per mille of the limit.
    pub fn permille(&self) -> u64 {
        per_mille(self.spent, self.budget.limit)
    }
}

pub(crate) fn per_mille(spent: i128, limit: Money) -> u64 {
    let limit = i128::from(limit.micros().max(1));
    u64::try_from(spent.max(0) * 1000 / limit).unwrap_or(u64::MAX)
}

/// The month of `now_ms` and its first millisecond.
fn month_of(now_ms: u64) -> (String, u64) {
    let month = calendar::month_of(now_ms);
    let start = calendar::month_range(&month).map_or(now_ms - now_ms % DAY_MS, |(from, _)| from);
    (month, start)
}

/// What left `account` into job escrows from journal seq `first_seq` on, less what came back.
pub(crate) fn outflow_since(ledger: &Ledger, account: Account, first_seq: u64) -> i128 {
    ledger
        .account_entries(account)
        .iter()
        .rev()
        .take_while(|entry| entry.seq >= first_seq)
        .map(|entry| {
            let amount = i128::from(entry.posting.amount.micros());
            match entry.posting.kind {
                PostingKind::Hold if entry.posting.debit == account => amount,
                PostingKind::Release | PostingKind::Void if entry.posting.credit == account => {
                    -amount
                }
                _ => 0,
            }
        })
        .sum()
}

impl<S: Store> Coordinator<S> {
    /// Checks a new job's `hold` against `creator`'s budget in the write that takes it: refused
    /// when the month would pass a limit that pauses; otherwise the alerts it crosses are queued
    /// (`budget.threshold`) and remembered.
    pub(crate) async fn check_budget(
        &self,
        write: &mut Write<'_, S::Tx>,
        creator: u64,
        hold: Money,
    ) -> ServiceResult<()> {
        let Some(mut budget) = write.tx.budget(creator).await? else {
            return Ok(());
        };
        let (month, start) = month_of(write.now_ms);
        let journal_len = write.ledger().journal().len() as u64;
        let first = self
            .first_seq_since(&mut write.tx, journal_len, start)
            .await?;
        let account = Account::Creator(AccountId(creator));
        let spent = outflow_since(write.ledger(), account, first) + i128::from(hold.micros());
        let limit = i128::from(budget.limit.micros());
        if budget.pause_at_limit && spent > limit {
            return Err(ServiceError::new(
                ErrorCode::Infeasible,
                format!(
                    "this job's hold of {hold} would bring this month's spending to {} credits, \
                     over your budget of {}: raise the budget or let it go past its limit",
                    super::signed_credits(spent),
                    budget.limit
                ),
            ));
        }
        if budget.month != month {
            budget.month = month.clone();
            budget.alerted_percent = 0;
        }
        let permille = per_mille(spent, budget.limit);
        let Some(reached) = ALERTS
            .iter()
            .copied()
            .filter(|percent| u64::from(*percent) * 10 <= permille)
            .max()
            .filter(|percent| *percent > budget.alerted_percent)
        else {
            return Ok(());
        };
        budget.alerted_percent = reached;
        write.tx.put_budget(&budget).await?;
        let data = json!({
            "account": creator,
            "month": month,
            "percent": reached,
            "limit": budget.limit,
            "spent": super::signed_credits(spent),
        });
        self.enqueue_webhook(
            &mut write.tx,
            write.now_ms,
            creator,
            "budget.threshold",
            data,
        )
        .await?;
        tracing::info!(account = creator, percent = reached, "budget alert");
        Ok(())
    }

    /// Sets (`limit` > 0) or removes (`None`) the budget of `person`'s creator account `account`
    /// (404 for any other account).
    pub async fn set_budget(
        &self,
        person: &PersonView,
        account: u64,
        limit: Option<Money>,
        pause_at_limit: bool,
    ) -> ServiceResult<()> {
        if !person
            .accounts
            .iter()
            .any(|a| a.id == account && a.role == Role::Creator)
        {
            return Err(ServiceError::not_found(format!(
                "creator account {account}"
            )));
        }
        let mut tx = self.write_without_ledger().await?;
        match limit.filter(|limit| *limit > Money::ZERO) {
            None => tx.delete_budget(account).await?,
            Some(limit) => {
                let (month, _) = month_of(self.now_ms());
                let alerted_percent = match tx.budget(account).await? {
                    Some(old) if old.month == month && old.limit == limit => old.alerted_percent,
                    _ => 0,
                };
                tx.put_budget(&BudgetRow {
                    account_id: account,
                    limit,
                    pause_at_limit,
                    month,
                    alerted_percent,
                })
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// `account`'s budget and this month's spending, if it has one; the caller must have checked
    /// the account is the asker's.
    pub async fn budget_status(&self, account: &AccountRow) -> ServiceResult<Option<BudgetStatus>> {
        let mut tx = self.read().await?;
        let Some(mut budget) = tx.budget(account.id).await? else {
            return Ok(None);
        };
        self.refresh_balances().await?;
        let (month, start) = month_of(self.now_ms());
        // The ledger is not held while the store is read.
        let journal_len = self.ledger.lock().await.journal().len() as u64;
        let first = self.first_seq_since(&mut tx, journal_len, start).await?;
        let spent = {
            let ledger = self.ledger.lock().await;
            if self.ledger_stale.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(ServiceError::new(
                    ErrorCode::Unavailable,
                    "the ledger is being reloaded; try again in a moment",
                ));
            }
            outflow_since(&ledger, Account::Creator(AccountId(account.id)), first)
        };
        if budget.month != month {
            budget.alerted_percent = 0;
        }
        Ok(Some(BudgetStatus {
            budget,
            month,
            spent,
        }))
    }
}
