//! Second opinions (docs/TRUST.md): a reject is proven only when another checker confirms it, and
//! a new worker's high-value result is paid only when two checkers accept it. Each confirmation is
//! a check of the judged attempt's outputs (kept on the check: the task may have moved on) by a
//! checker who has not judged that result; the votes decide by [`decide`]. A proven cheat's bond
//! pays each catching checker's fee, the creator's re-render and the network ([`slash_split`]);
//! what the bond does not cover of the catchers' fees the network pays from its fee income.

use super::bonds::bond_account;
use super::escrow::{TrustMove, creator_account};
use super::trust::{Decision, checker_fee, decide, slash_split};
use super::views::state_view;
use super::{Caller, Coordinator, Metrics, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{CheckPurpose, CheckRow, CheckState, JobRow, Store, TaskRow};
use pictor_core::api::{TaskStateView, Verdict, VerdictSubmission};
use pictor_core::ledger::Account;
use pictor_core::task::TaskState;
use pictor_core::{AccountId, CheckerId, Money, WorkerId};

/// The checkers who accepted and who rejected one result, each counted once.
#[derive(Debug, Default)]
struct Votes {
    accepting: Vec<u64>,
    rejecting: Vec<u64>,
    /// Confirmations already answered (escalations included): they bound the asking.
    confirmations: u32,
}

impl<S: Store> Coordinator<S> {
    /// How many checkers must accept `task`'s current result from `worker` (by its accepted
    /// tasks and the result's agreed cost).
    pub(crate) async fn accepts_needed(
        &self,
        write: &mut Write<'_, S::Tx>,
        worker: WorkerId,
        task: &TaskRow,
    ) -> ServiceResult<u32> {
        let cost = task.agreed_cost.unwrap_or(Money::ZERO);
        let accepted = self.accepted_tasks_of(write, worker.0).await?;
        Ok(self.config.trust.accepts_needed(accepted, cost))
    }

    async fn accepted_tasks_of(
        &self,
        write: &mut Write<'_, S::Tx>,
        worker: u64,
    ) -> ServiceResult<u64> {
        Ok(write
            .tx
            .worker(worker)
            .await?
            .map(|w| w.record.accepted_tasks)
            .unwrap_or(0))
    }

    /// Asks another checker about `task`'s current result of `attempt` (its outputs and agreed
    /// cost kept on the check).
    pub(crate) async fn open_confirmation(
        &self,
        write: &mut Write<'_, S::Tx>,
        task: &TaskRow,
        attempt: u32,
    ) -> ServiceResult<()> {
        let outputs = task.outputs.clone().unwrap_or_default();
        let stake = task.agreed_cost.unwrap_or(Money::ZERO);
        let row = CheckRow::confirmation(task.id, attempt, 0, outputs, stake);
        write.tx.insert_check(&row).await?;
        Ok(())
    }

    /// Whether `task`'s result, just paid on one checker's word, is audited (`TrustRules::
    /// audit_from`, `audit_per_mille`; drawn from the operating system's random source).
    pub(crate) fn audit_drawn(&self, task: &TaskRow) -> ServiceResult<bool> {
        let rules = &self.config.trust;
        if rules.audit_per_mille == 0 || task.agreed_cost.unwrap_or(Money::ZERO) < rules.audit_from
        {
            return Ok(false);
        }
        let draw = u64::from_le_bytes(super::auth::random_bytes::<8>()?) % 1000;
        Ok(draw < rules.audit_per_mille)
    }

    async fn votes(
        &self,
        write: &mut Write<'_, S::Tx>,
        task: u64,
        attempt: u32,
    ) -> ServiceResult<Votes> {
        let mut votes = Votes::default();
        for check in write.tx.checks_of_task(task).await? {
            if check.attempt != attempt || check.state != CheckState::Done {
                continue;
            }
            if check.purpose == CheckPurpose::Confirm {
                votes.confirmations += 1;
            }
            let Some(checker) = check.checker else {
                continue;
            };
            if votes.accepting.contains(&checker) || votes.rejecting.contains(&checker) {
                continue;
            }
            match check.verdict {
                Some(Verdict::Accept) => votes.accepting.push(checker),
                Some(Verdict::Reject) => votes.rejecting.push(checker),
                _ => {}
            }
        }
        Ok(votes)
    }

    /// Takes a confirmation's verdict (already recorded on `check`): settles a result waiting for
    /// its second accept, rejects a waiting result someone disputes, asks another checker while
    /// the votes do not decide, and slashes a proven cheat.
    pub(crate) async fn confirm(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        check: &CheckRow,
        submission: &VerdictSubmission,
    ) -> ServiceResult<TaskStateView> {
        let mut task = write
            .tx
            .task(check.task_id)
            .await?
            .ok_or_else(|| ServiceError::internal(&"check without task"))?;
        let worker = write
            .tx
            .attempt(task.id, check.attempt)
            .await?
            .ok_or_else(|| ServiceError::internal(&"confirmation of an attempt never leased"))?
            .worker_id;
        let votes = self.votes(write, task.id, check.attempt).await?;
        let stake = check.stake.unwrap_or(Money::ZERO);
        let rules = &self.config.trust;
        let needed = rules.accepts_needed(self.accepted_tasks_of(write, worker).await?, stake);
        let mut decision = decide(
            votes.accepting.len() as u32,
            votes.rejecting.len() as u32,
            needed,
            rules.max_votes,
        );
        if decision == Decision::AskAnother && votes.confirmations + 1 >= rules.max_votes {
            decision = Decision::Unproven;
        }
        let mut job = self.job_of_task(write, &task).await?;
        let waiting = matches!(task.state,
            TaskState::Verifying { attempt, .. } if attempt == check.attempt);
        // An audit of a result already paid, rather than a confirmation of a reject.
        let paid = matches!(task.state,
            TaskState::Accepted { attempt, .. } if attempt == check.attempt);
        if waiting {
            match decision {
                Decision::Settle => {
                    let checkers: Vec<CheckerId> =
                        votes.accepting.iter().map(|c| CheckerId(*c)).collect();
                    self.accept(write, &mut job, &mut task, WorkerId(worker), &checkers)
                        .await?;
                    return Ok(state_view(&task));
                }
                Decision::AskAnother if votes.rejecting.is_empty() => {}
                _ => {
                    // Disputed (or undecidable): the creator does not pay for it.
                    let inconclusive = votes.rejecting.is_empty();
                    let checker = CheckerId(caller.id());
                    self.reject(
                        write,
                        &job,
                        &mut task,
                        WorkerId(worker),
                        checker,
                        submission,
                        inconclusive,
                    )
                    .await?;
                }
            }
        }
        match decision {
            Decision::AskAnother => {
                let subject = check.subject.clone().unwrap_or_default();
                let row = CheckRow::confirmation(task.id, check.attempt, 0, subject, stake);
                write.tx.insert_check(&row).await?;
            }
            Decision::Proven => {
                self.slash(write, &job, worker, check, stake, &votes.rejecting)?;
                write.tx.forget_reputation(worker).await?;
                // A known cheat now: it counts in each judge's standing.
                for checker in &votes.accepting {
                    self.judged_proven_cheat(write, *checker, true).await?;
                }
                for checker in &votes.rejecting {
                    self.judged_proven_cheat(write, *checker, false).await?;
                }
            }
            Decision::Unproven
                if !waiting && !paid && votes.accepting.len() > votes.rejecting.len() =>
            {
                self.compensate(write, worker, check, stake)?;
            }
            Decision::Settle | Decision::Unproven => {}
        }
        Ok(state_view(&task))
    }

    /// A worker whose result a lone checker rejected and the majority then cleared gets the
    /// worker's share of it from the network's fee income (as far as it goes): an honest worker
    /// loses pay only when two checkers wrongly reject it (docs/TRUST.md).
    fn compensate(
        &self,
        write: &mut Write<'_, S::Tx>,
        worker: u64,
        check: &CheckRow,
        stake: Money,
    ) -> ServiceResult<()> {
        let (to_worker, _, _) = self.config.pricing.fees.split(stake)?;
        let paid = to_worker.min(write.available(Account::NetworkFees));
        write
            .escrow()
            .pay_from_network(check.id, &[(Account::Worker(AccountId(worker)), paid)])?;
        Ok(())
    }

    /// Slashes a proven cheat's bond (`slash_split`): each of `catchers` gets the checker's fee
    /// of the task, the creator the re-render's cost, the network the rest; the network pays what
    /// the bond did not cover of the catchers' fees, as far as its fee income goes.
    fn slash(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &JobRow,
        worker: u64,
        check: &CheckRow,
        stake: Money,
        catchers: &[u64],
    ) -> ServiceResult<()> {
        let fee = checker_fee(&self.config.pricing.fees, stake);
        let bond = write.available(bond_account(worker));
        let split = slash_split(&self.config.trust, bond, stake, fee, catchers.len());
        let mut legs: Vec<(Account, Money)> = catchers
            .iter()
            .zip(&split.to_checkers)
            .map(|(checker, paid)| (Account::Checker(AccountId(*checker)), *paid))
            .collect();
        legs.push((creator_account(job.owner), split.to_creator));
        legs.push((Account::NetworkFees, split.to_network));
        write
            .escrow()
            .pay_from_bond(worker, TrustMove::Slash, check.id, &legs)?;
        let mut income = write.available(Account::NetworkFees);
        let mut top_ups = Vec::with_capacity(catchers.len());
        for (checker, paid) in catchers.iter().zip(&split.to_checkers) {
            let short = fee.checked_sub(*paid).unwrap_or(Money::ZERO).min(income);
            income = income.checked_sub(short).unwrap_or(Money::ZERO);
            top_ups.push((Account::Checker(AccountId(*checker)), short));
        }
        write.escrow().pay_from_network(check.id, &top_ups)?;
        Metrics::bump(&self.metrics.slashes);
        tracing::info!(
            worker,
            task = check.task_id,
            attempt = check.attempt,
            slashed = %split.total(),
            "a proven cheat: the worker's bond is slashed"
        );
        Ok(())
    }
}
