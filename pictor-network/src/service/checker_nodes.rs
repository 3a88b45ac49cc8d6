//! Checker Nodes: a person's checkers — what each is checking now, its checks by verdict, the
//! fees it earned (from the ledger: a fee is paid on the accepting check), and how long each check
//! took against the render it checked.
//!
//! Known-outcome checks (frames whose verdict the network already knows, mixed into a checker's
//! queue to measure its accuracy) are not run by this network yet; the page says so.

use super::probes::standing_view;
use super::statements::{AccountEntry, EntryTimes};
use super::{Coordinator, PersonView, ServiceResult};
use crate::store::AccountRow;
use crate::store::Store;
use crate::store::prelude::*;
use pictor_core::api::{CheckerStanding, Role, Verdict};
use pictor_core::ledger::Account;
use pictor_core::{AccountId, CheckId, JobId, TaskId};
use std::collections::HashMap;

/// Checks a checker's card lists.
const RECENT_CHECKS: u32 = 50;

/// One check a checker took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckerCheck {
    /// The check.
    pub check: CheckId,
    /// The task checked.
    pub task: TaskId,
    /// Its job.
    pub job: JobId,
    /// The attempt whose result it checked.
    pub attempt: u32,
    /// `leased` (checking now), `done`, `dropped` or `expired`.
    pub state: String,
    /// The verdict, when done.
    pub verdict: Option<Verdict>,
    /// When the verdict came, Unix ms.
    pub done_at_ms: Option<u64>,
    /// How long the check took (lease to verdict), ms.
    pub check_ms: Option<u64>,
    /// How long the render it checked took (lease to result), ms.
    pub render_ms: Option<u64>,
    /// The fee this check earned, micro-credits (from the ledger).
    pub fee: i128,
}

/// One checker on the Checker Nodes page.
#[derive(Clone, Debug)]
pub struct CheckerCard {
    /// The checker's account.
    pub account: AccountRow,
    /// Finished checks by verdict: accept, reject, escalate.
    pub accepted: u64,
    /// Rejects.
    pub rejected: u64,
    /// Escalations.
    pub escalated: u64,
    /// Fees earned, micro-credits (from the ledger).
    pub fees: i128,
    /// Its balance, micro-credits.
    pub balance: i128,
    /// Its newest checks, newest first.
    pub checks: Vec<CheckerCheck>,
    /// Its record on known-outcome checks (docs/TRUST.md).
    pub standing: CheckerStanding,
    /// Its bond, micro-credits.
    pub bond: i128,
}

impl CheckerCard {
    /// The check it holds now, if any.
    pub fn checking(&self) -> Option<&CheckerCheck> {
        self.checks.iter().find(|check| check.state == "leased")
    }
}

impl<S: Store> Coordinator<S> {
    /// The Checker Nodes page of `person`: every checker account of theirs.
    pub async fn checker_nodes(&self, person: &PersonView) -> ServiceResult<Vec<CheckerCard>> {
        let mut cards = Vec::new();
        for account in person.accounts.iter().filter(|a| a.role == Role::Checker) {
            let entries = self
                .account_entries(
                    Account::Checker(AccountId(account.id)),
                    EntryTimes::Newest(0),
                )
                .await?;
            cards.push(self.checker_card(account, &entries).await?);
        }
        Ok(cards)
    }

    async fn checker_card(
        &self,
        account: &AccountRow,
        entries: &[AccountEntry],
    ) -> ServiceResult<CheckerCard> {
        let (rows, (accepted, rejected, escalated), standing) = {
            let mut tx = self.read().await?;
            (
                tx.checks_of_checker(account.id, RECENT_CHECKS).await?,
                tx.check_tally(account.id).await?,
                tx.checker_standing(account.id).await?,
            )
        };
        let mut fee_by_task: HashMap<TaskId, i128> = HashMap::new();
        for entry in entries.iter().filter(|e| e.is_earning()) {
            if let Some(task) = entry.task {
                *fee_by_task.entry(task).or_default() += entry.signed_micros;
            }
        }
        let span = |from: Option<u64>, to: Option<u64>| Some(to?.saturating_sub(from?));
        let checks = rows
            .into_iter()
            .map(|row| {
                let task = TaskId(row.task_id);
                CheckerCheck {
                    check: CheckId(row.check_id),
                    task,
                    job: JobId(row.job_id),
                    attempt: row.attempt,
                    fee: if row.verdict == Some(Verdict::Accept) {
                        fee_by_task.remove(&task).unwrap_or(0)
                    } else {
                        0
                    },
                    check_ms: span(row.leased_at_ms, row.done_at_ms),
                    render_ms: span(row.render_leased_at_ms, row.render_delivered_at_ms),
                    state: row.state,
                    verdict: row.verdict,
                    done_at_ms: row.done_at_ms,
                }
            })
            .collect();
        Ok(CheckerCard {
            account: account.clone(),
            accepted,
            rejected,
            escalated,
            fees: entries
                .iter()
                .filter(|e| e.is_earning())
                .map(|e| e.signed_micros)
                .sum(),
            balance: entries.iter().map(|e| e.signed_micros).sum(),
            checks,
            standing: standing_view(&standing),
            bond: self.committed_balance(Account::Bond(AccountId(account.id))),
        })
    }
}
