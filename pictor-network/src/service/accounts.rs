//! Accounts, API keys, deposits and network counters.

use super::auth::{hash_api_key, new_api_key, role_name};
use super::escrow::deposit_transfer;
use super::{Caller, Coordinator, ServiceError, ServiceResult};
use crate::store::prelude::*;
use crate::store::{AccountRow, Countable, Store};
use pictor_core::api::{
    AccountView, CreateAccountRequest, CreatedAccount, DepositRequest, NetworkStats, Role,
};
use pictor_core::ledger::Account;
use pictor_core::{AccountId, Money};

/// The ledger account holding an account's money, by role.
pub(crate) fn ledger_account(account: &AccountRow) -> Option<Account> {
    let id = AccountId(account.id);
    match account.role {
        Role::Creator => Some(Account::Creator(id)),
        Role::Worker | Role::Farm => Some(Account::Worker(id)),
        Role::Checker => Some(Account::Checker(id)),
        Role::Admin => None,
    }
}

/// The view of `account`, its balance read through `balance_of` (the in-progress ledger of a write,
/// or the committed balances of a read).
pub(crate) fn account_view(
    balance_of: impl Fn(Account) -> i128,
    account: &AccountRow,
) -> AccountView {
    let balance = ledger_account(account).map(balance_of).unwrap_or(0);
    AccountView {
        id: AccountId(account.id),
        role: account.role,
        name: account.name.clone(),
        balance: Money::from_micros(u64::try_from(balance.max(0)).unwrap_or(u64::MAX)),
    }
}

fn validate_name(name: &str) -> ServiceResult<()> {
    let length = name.chars().count();
    if !(1..=64).contains(&length) || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "name",
            "must be 1 to 64 characters without control characters",
        ));
    }
    Ok(())
}

/// BLAKE3 hex of a request body, to tell a retried keyed request from a different one.
pub(crate) fn request_hash<T: serde::Serialize>(request: &T) -> ServiceResult<String> {
    let bytes = serde_json::to_vec(request).map_err(|e| ServiceError::internal(&e))?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

impl<S: Store> Coordinator<S> {
    /// Opens an account (admin only) and answers its API key once.
    pub async fn create_account(
        &self,
        caller: &Caller,
        request: &CreateAccountRequest,
    ) -> ServiceResult<CreatedAccount> {
        caller.require(Role::Admin)?;
        validate_name(&request.name)?;
        let key = new_api_key()?;
        let mut write = self.write().await?;
        let result = write
            .tx
            .insert_account(
                role_name(request.role),
                &request.name,
                &hash_api_key(&key),
                write.now_ms,
            )
            .await
            .map_err(ServiceError::from);
        let id = self.finish(write, result).await?;
        tracing::info!(
            account = id,
            role = role_name(request.role),
            "account created"
        );
        Ok(CreatedAccount {
            account: AccountView {
                id: AccountId(id),
                role: request.role,
                name: request.name.clone(),
                balance: Money::ZERO,
            },
            api_key: key,
        })
    }

    /// The caller's own account.
    pub async fn me(&self, caller: &Caller) -> ServiceResult<AccountView> {
        self.refresh_balances().await?;
        Ok(account_view(|a| self.committed_balance(a), &caller.account))
    }

    /// Any account (admin only).
    pub async fn account(&self, caller: &Caller, id: AccountId) -> ServiceResult<AccountView> {
        caller.require(Role::Admin)?;
        let id = id.0;
        self.refresh_balances().await?;
        let mut tx = self.read().await?;
        let account = tx
            .account(id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("account {id}")))?;
        Ok(account_view(|a| self.committed_balance(a), &account))
    }

    /// Credits an account's balance from outside the network (admin only): a creator's to pay
    /// for jobs, a worker's or checker's to post a bond from. With an idempotency key a
    /// retry answers the first response and moves no more money. Jobs of that creator paused for lack
    /// of funds resume when the new balance covers them.
    pub async fn deposit(
        &self,
        caller: &Caller,
        id: AccountId,
        request: &DepositRequest,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<AccountView> {
        caller.require(Role::Admin)?;
        let id = id.0;
        if request.amount == Money::ZERO {
            return Err(ServiceError::invalid("amount", "must be more than 0"));
        }
        let route = format!("deposit:{id}");
        let hash = request_hash(&(id, request))?;
        let mut write = self.write().await?;
        let result = async {
            if let Some(key) = idempotency_key
                && let Some((stored_hash, response)) = write
                    .tx
                    .idempotent_response(caller.id(), &route, key)
                    .await?
            {
                if stored_hash != hash {
                    return Err(ServiceError::conflict(
                        "this Idempotency-Key was used for a different request",
                    ));
                }
                return serde_json::from_str(&response).map_err(|e| ServiceError::internal(&e));
            }
            let account = write
                .tx
                .account(id)
                .await?
                .ok_or_else(|| ServiceError::not_found(format!("account {id}")))?;
            // A worker's or checker's deposit funds its bond (docs/TRUST.md).
            if account.role == Role::Admin {
                return Err(ServiceError::invalid(
                    "account",
                    "deposits go to creator, worker, farm and checker accounts",
                ));
            }
            let transfer = deposit_transfer(id, idempotency_key)?;
            write.escrow().deposit(transfer, id, request.amount)?;
            self.resume_funded_jobs(&mut write, id).await?;
            let view = account_view(|a| write.balance(a), &account);
            if let Some(key) = idempotency_key {
                let response =
                    serde_json::to_string(&view).map_err(|e| ServiceError::internal(&e))?;
                write
                    .tx
                    .store_idempotent_response(caller.id(), &route, key, &hash, &response)
                    .await?;
            }
            Ok(view)
        }
        .await;
        self.finish(write, result).await
    }

    /// Network counters (admin only).
    pub async fn stats(&self, caller: &Caller) -> ServiceResult<NetworkStats> {
        caller.require(Role::Admin)?;
        let mut tx = self.read().await?;
        Ok(NetworkStats {
            accounts: tx.count(Countable::Accounts).await?,
            workers: tx.count(Countable::Workers).await?,
            jobs_active: tx.count(Countable::ActiveJobs).await?,
            tasks_pending: tx.count_tasks_in_state("pending").await?,
            checks_pending: tx.count_checks_in_state("pending").await?,
            ledger_entries: tx.count(Countable::LedgerEntries).await?,
        })
    }
}
