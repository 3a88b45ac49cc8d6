//! Creators' monthly spending limits and which alert of the month was sent last.

use super::StoreResult;
use pictor_core::Money;
use std::future::Future;

/// A creator's monthly spending limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetRow {
    /// The creator account.
    pub account_id: u64,
    /// Most it means to spend in a calendar month (UTC).
    pub limit: Money,
    /// Whether new jobs are refused once the month's spending reaches the limit.
    pub pause_at_limit: bool,
    /// The month `alerted_percent` refers to (`YYYY-MM`).
    pub month: String,
    /// The highest alert sent that month: 0, 50, 80 or 100.
    pub alerted_percent: u32,
}

/// Budgets.
pub trait BudgetsTx: Send {
    /// An account's budget.
    fn budget(
        &mut self,
        account: u64,
    ) -> impl Future<Output = StoreResult<Option<BudgetRow>>> + Send;

    /// Sets (inserts or replaces) a budget.
    fn put_budget(&mut self, row: &BudgetRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// Removes an account's budget.
    fn delete_budget(&mut self, account: u64) -> impl Future<Output = StoreResult<()>> + Send;
}
