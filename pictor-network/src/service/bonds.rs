//! Bonds: money a worker or checker stakes on its honesty (docs/TRUST.md). A worker needs one to
//! take tasks bigger than its reputation allows unbonded; a checker needs the network's minimum to
//! lease checks. Posting draws from the account's balance (deposits) or earnings; withdrawing
//! returns to the balance, and only while none of the account's results or verdicts awaits a
//! decision, so a cheat cannot empty its bond before the catch.

use super::accounts::ledger_account;
use super::escrow::{TrustMove, bond_transfer};
use super::{Caller, Coordinator, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{AccountRow, Store, WorkerRow};
use pictor_core::api::{BondAction, BondRequest, BondSource, BondView, Role};
use pictor_core::ledger::Account;
use pictor_core::{AccountId, Money};

/// The bond account of `owner`.
pub(crate) fn bond_account(owner: u64) -> Account {
    Account::Bond(AccountId(owner))
}

impl<S: Store> Coordinator<S> {
    /// The caller's bond and what it allows.
    pub async fn bond(&self, caller: &Caller) -> ServiceResult<BondView> {
        caller.require_any(&[Role::Worker, Role::Farm, Role::Checker, Role::Creator])?;
        let mut write = self.write().await?;
        let result = self.bond_view(&mut write, &caller.account).await;
        self.finish(write, result).await
    }

    /// Posts to or withdraws from the caller's bond. With an idempotency key a retry moves no
    /// more money (the transfer id is derived from the key).
    pub async fn change_bond(
        &self,
        caller: &Caller,
        request: &BondRequest,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<BondView> {
        caller.require_any(&[Role::Worker, Role::Farm, Role::Checker])?;
        if request.amount == Money::ZERO {
            return Err(ServiceError::invalid("amount", "must be more than 0"));
        }
        let owner = caller.id();
        let kind = match request.action {
            BondAction::Post => TrustMove::Post,
            BondAction::Withdraw => TrustMove::Withdraw,
        };
        let transfer = bond_transfer(kind, owner, idempotency_key)?;
        let mut write = self.write().await?;
        let result = async {
            // A retry of a request that went through moves nothing more (the ledger would refuse
            // the same id for anything else).
            let done = match write.ledger().get_transfer(transfer) {
                Some(moved) if moved.amount == request.amount => true,
                Some(_) => {
                    return Err(ServiceError::conflict(
                        "this Idempotency-Key was used for a different request",
                    ));
                }
                None => false,
            };
            match request.action {
                _ if done => {}
                BondAction::Post => {
                    let source = match request.source {
                        BondSource::Balance => Account::Creator(AccountId(owner)),
                        BondSource::Earnings => ledger_account(&caller.account)
                            .ok_or_else(|| ServiceError::internal(&"a role without earnings"))?,
                    };
                    let available = write.available(source);
                    if available < request.amount {
                        return Err(ServiceError::invalid(
                            "amount",
                            format!(
                                "the {} holds {available}, less than {}",
                                source_name(request.source),
                                request.amount
                            ),
                        ));
                    }
                    write
                        .escrow()
                        .post_bond(transfer, source, owner, request.amount)?;
                }
                BondAction::Withdraw => {
                    let open = self.open_work(&mut write, &caller.account).await?;
                    if open > 0 {
                        return Err(ServiceError::conflict(format!(
                            "{open} of this account's results or verdicts still await a decision: \
                             the bond can be withdrawn once none does"
                        )));
                    }
                    let bond = write.available(bond_account(owner));
                    if bond < request.amount {
                        return Err(ServiceError::invalid(
                            "amount",
                            format!("the bond holds {bond}, less than {}", request.amount),
                        ));
                    }
                    write
                        .escrow()
                        .withdraw_bond(transfer, owner, request.amount)?;
                }
            }
            self.bond_view(&mut write, &caller.account).await
        }
        .await;
        self.finish(write, result).await
    }

    /// How many of `account`'s results (a worker) or leased checks (a checker) await a decision.
    async fn open_work(
        &self,
        write: &mut Write<'_, S::Tx>,
        account: &AccountRow,
    ) -> ServiceResult<u64> {
        Ok(match account.role {
            Role::Worker | Role::Farm => write.tx.open_work_of_worker(account.id).await?,
            Role::Checker => write
                .tx
                .checks_of_checker(account.id, 100)
                .await?
                .iter()
                .filter(|check| check.state == "leased")
                .count() as u64,
            Role::Creator | Role::Admin => 0,
        })
    }

    async fn bond_view(
        &self,
        write: &mut Write<'_, S::Tx>,
        account: &AccountRow,
    ) -> ServiceResult<BondView> {
        let accepted_tasks = match account.role {
            Role::Worker | Role::Farm => write
                .tx
                .worker(account.id)
                .await?
                .map(|worker| worker.record.accepted_tasks)
                .unwrap_or(0),
            _ => 0,
        };
        let earnings = ledger_account(account)
            .filter(|a| !matches!(a, Account::Creator(_)))
            .map(|a| write.available(a))
            .unwrap_or(Money::ZERO);
        Ok(BondView {
            account: AccountId(account.id),
            bond: write.available(bond_account(account.id)),
            balance: write.available(Account::Creator(AccountId(account.id))),
            earnings,
            open_work: self.open_work(write, account).await?,
            accepted_tasks,
            unbonded_task_limit: self.config.trust.unbonded_limit(accepted_tasks),
            checker_min_bond: self.config.trust.checker_min_bond,
        })
    }

    /// Whether `worker`, holding `held` leases, may take a task costing `cost`: within its
    /// reputation's unbonded limit, or with enough bond (`TrustRules::may_take`).
    pub(crate) fn may_take(
        &self,
        write: &Write<'_, S::Tx>,
        worker: &WorkerRow,
        held: u64,
        cost: Money,
    ) -> bool {
        let bond = write.available(bond_account(worker.account_id));
        self.config
            .trust
            .may_take(worker.record.accepted_tasks, bond, held, cost)
    }
}

fn source_name(source: BondSource) -> &'static str {
    match source {
        BondSource::Balance => "balance",
        BondSource::Earnings => "earnings account",
    }
}
