//! The public Explorer's reads: network figures, the newest jobs without anything private, and the
//! whole ledger verified the way `pictor ledger verify` does. No caller: everyone may see these.

use super::{Coordinator, ServiceResult};
use crate::store::Store;
use crate::store::prelude::*;
use pictor_core::api::LedgerHead;
use pictor_core::job::JobState;
use pictor_core::ledger::{Account, TamperReport, VerifyReport};
use pictor_core::{JobId, Money};

/// A day, ms.
const DAY_MS: u64 = 86_400_000;

/// The network at a glance.
#[derive(Clone, Debug)]
pub struct ExplorerSummary {
    /// Workers whose last request is within the online window.
    pub workers_online: u64,
    /// Tasks whose results checkers accepted since midnight UTC.
    pub tasks_verified_today: u64,
    /// Credits paid to workers so far (their earnings; there are no withdrawals yet).
    pub paid_to_workers: Money,
    /// Credits paid to checkers so far.
    pub paid_to_checkers: Money,
    /// The newest jobs, newest first.
    pub recent_jobs: Vec<PublicJob>,
    /// The ledger's last seal.
    pub ledger_head: LedgerHead,
}

/// What anyone may see of a job: no owner, scene, tags or money.
#[derive(Clone, Debug)]
pub struct PublicJob {
    /// The job.
    pub id: JobId,
    /// Its state.
    pub state: JobState,
    /// Tasks accepted so far.
    pub tasks_accepted: u32,
    /// Tasks in all.
    pub tasks_total: u32,
    /// When it was submitted, ms since the Unix epoch.
    pub created_at_ms: u64,
}

impl From<&pictor_core::api::JobView> for PublicJob {
    fn from(view: &pictor_core::api::JobView) -> Self {
        PublicJob {
            id: view.id,
            state: view.state,
            tasks_accepted: view.tasks_accepted,
            tasks_total: view.tasks_total,
            created_at_ms: view.created_at_ms,
        }
    }
}

impl<S: Store> Coordinator<S> {
    /// The Explorer's figures and newest jobs (at most `limit`).
    pub async fn explorer_summary(&self, limit: u32) -> ServiceResult<ExplorerSummary> {
        self.refresh_balances().await?;
        let now = self.now_ms();
        let mut tx = self.read().await?;
        let workers_online = tx
            .workers_seen_since(now.saturating_sub(self.config().worker_online_ms))
            .await?;
        let tasks_verified_today = tx.events_since("task_accepted", now - now % DAY_MS).await?;
        let mut recent_jobs = Vec::new();
        for row in tx.recent_jobs(limit).await? {
            let view = self.job_view(&mut tx, &row).await?;
            recent_jobs.push(PublicJob::from(&view));
        }
        drop(tx);
        let (paid_to_workers, paid_to_checkers) = self.earnings_paid();
        Ok(ExplorerSummary {
            workers_online,
            tasks_verified_today,
            paid_to_workers,
            paid_to_checkers,
            recent_jobs,
            ledger_head: self.ledger_head().await?,
        })
    }

    /// The whole journal read from the store and verified against the network key: every
    /// entry's hash chain and every seal's signature.
    pub async fn verify_ledger(&self) -> ServiceResult<Result<VerifyReport, TamperReport>> {
        super::verify_store(&self.store, &self.key.verifying_key()).await
    }

    /// Credits on workers' and on checkers' accounts, as of the last commit.
    fn earnings_paid(&self) -> (Money, Money) {
        // A poisoned lock only means a panic elsewhere while publishing; the map is still whole.
        let balances = self
            .committed_balances
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mut workers, mut checkers) = (0i128, 0i128);
        for (account, balance) in balances.iter() {
            match account {
                Account::Worker(_) => workers += balance,
                Account::Checker(_) => checkers += balance,
                _ => {}
            }
        }
        let money = |micros: i128| Money::from_micros(u64::try_from(micros).unwrap_or(0));
        (money(workers), money(checkers))
    }
}
