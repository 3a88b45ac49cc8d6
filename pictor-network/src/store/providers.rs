//! What GPU owners and checkers see of their own machines: workers created in Pictor Cloud (their
//! settings and whether their config is issued), what each worker reported doing, each worker's
//! task attempts with their verdicts, each checker's checks, and when ledger entries were committed.

use super::StoreResult;
use pictor_core::Money;
use pictor_core::api::{Verdict, WorkerActivity};
use pictor_core::job::Tier;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// What a worker created in Pictor Cloud is set to: what its config file carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerSettings {
    /// Display name.
    pub name: String,
    /// Price per bench-hour.
    pub price: Money,
    /// The cheapest service tier whose jobs it takes.
    pub min_tier: Tier,
    /// A command run (`sh -c`) while it has no task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_command: Option<String>,
    /// Tasks it renders at once.
    pub slots: u32,
    /// The renderers it offers: `blender` (Blender and the built-in renderer) or `builtin`.
    #[serde(default = "blender")]
    pub renderer: String,
}

fn blender() -> String {
    "blender".to_string()
}

/// A worker created in Pictor Cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerSettingsRow {
    /// The worker's account (its worker id).
    pub account_id: u64,
    /// The person who created it.
    pub person_id: u64,
    /// Its settings.
    pub settings: WorkerSettings,
    /// When it was created, Unix ms.
    pub created_at_ms: u64,
    /// When its current config (API key) was issued; `None` before the first download and after a
    /// revocation.
    pub config_issued_at_ms: Option<u64>,
    /// How many configs were issued in all.
    pub configs_issued: u32,
}

/// One thing a worker reported doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityRow {
    /// When the coordinator heard it, Unix ms.
    pub at_ms: u64,
    /// What it started doing.
    pub activity: WorkerActivity,
    /// The task it is about.
    pub task_id: Option<u64>,
    /// GPU utilisation it reported, percent.
    pub gpu_utilisation_percent: Option<u8>,
}

/// One attempt of a task a worker leased, with what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerAttemptRow {
    /// The task.
    pub task_id: u64,
    /// The attempt (fencing token).
    pub attempt: u32,
    /// The task's job.
    pub job_id: u64,
    /// When the worker leased it, Unix ms.
    pub leased_at_ms: u64,
    /// When its result arrived.
    pub delivered_at_ms: Option<u64>,
    /// The verdict that ended its check (accept or reject), if one did.
    pub verdict: Option<Verdict>,
    /// The task's state now (`leased`, `verifying`, `accepted`, …).
    pub task_state: String,
    /// The task's newest attempt.
    pub latest_attempt: u32,
}

/// How a worker's attempts ended, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttemptTally {
    /// Attempts leased in all.
    pub leased: u64,
    /// Results accepted.
    pub accepted: u64,
    /// Results rejected.
    pub rejected: u64,
    /// Attempts without a result (failed, expired, cancelled, or still rendering).
    pub undelivered: u64,
}

/// One check a checker took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckerCheckRow {
    /// The check.
    pub check_id: u64,
    /// The task checked.
    pub task_id: u64,
    /// Its job.
    pub job_id: u64,
    /// The attempt whose result it checked.
    pub attempt: u32,
    /// `leased`, `done`, `dropped` or `expired`.
    pub state: String,
    /// The verdict, when done.
    pub verdict: Option<Verdict>,
    /// When the checker leased it.
    pub leased_at_ms: Option<u64>,
    /// When its verdict came.
    pub done_at_ms: Option<u64>,
    /// When the checked attempt was leased to its worker.
    pub render_leased_at_ms: Option<u64>,
    /// When the checked attempt's result arrived.
    pub render_delivered_at_ms: Option<u64>,
}

/// Workers created in Pictor Cloud, worker activity, and the per-worker and per-checker lists.
pub trait ProvidersTx: Send {
    /// Records a worker created in Pictor Cloud.
    fn insert_worker_settings(
        &mut self,
        row: &WorkerSettingsRow,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// One worker created in Pictor Cloud.
    fn worker_settings(
        &mut self,
        account: u64,
    ) -> impl Future<Output = StoreResult<Option<WorkerSettingsRow>>> + Send;

    /// The workers a person created, oldest first.
    fn worker_settings_of_person(
        &mut self,
        person: u64,
    ) -> impl Future<Output = StoreResult<Vec<WorkerSettingsRow>>> + Send;

    /// Replaces every API key of `account` by the one hashing to `key_hash` (issued at `now_ms`),
    /// or, with `None`, deletes them (revoked): the old key is refused from the next request on.
    fn set_worker_config(
        &mut self,
        account: u64,
        key_hash: Option<&[u8; 32]>,
        now_ms: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Appends what a worker reported doing; keeps its newest 500 reports.
    fn insert_worker_activity(
        &mut self,
        worker: u64,
        row: &ActivityRow,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// A worker's newest `limit` reports, newest first.
    fn worker_activity(
        &mut self,
        worker: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<ActivityRow>>> + Send;

    /// A worker's newest `limit` attempts, newest first.
    fn attempts_of_worker(
        &mut self,
        worker: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<WorkerAttemptRow>>> + Send;

    /// How all of a worker's attempts ended.
    fn attempt_tally(
        &mut self,
        worker: u64,
    ) -> impl Future<Output = StoreResult<AttemptTally>> + Send;

    /// A checker's newest `limit` checks, newest first.
    fn checks_of_checker(
        &mut self,
        checker: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<CheckerCheckRow>>> + Send;

    /// A checker's finished checks counted by verdict: `(accept, reject, escalate)`.
    fn check_tally(
        &mut self,
        checker: u64,
    ) -> impl Future<Output = StoreResult<(u64, u64, u64)>> + Send;

    /// When each of `seqs` was committed (`None` for entries from before times were kept).
    fn ledger_entry_times(
        &mut self,
        seqs: &[u64],
    ) -> impl Future<Output = StoreResult<Vec<(u64, Option<u64>)>>> + Send;
}
