//! My Workers, what a person reads of their workers: each worker's state, earnings (from the
//! ledger), task history with pay and verdicts, hardware as reported (shown, never used for
//! money) and the network's own measure of it. Creating workers and their configs is
//! `worker_configs`'; the arithmetic of the charts is `provider_figures`'.

use super::provider_figures::{CHART_DAYS, DayEarnings, earnings_per_day, uptime_permille};
use super::statements::{AccountEntry, EntryTimes};
use super::{Coordinator, PersonView, ServiceError, ServiceResult};
use crate::store::prelude::*;
use crate::store::providers::{ActivityRow, AttemptTally, WorkerAttemptRow, WorkerSettings};
use crate::store::{AccountRow, Store, WorkerRow};
use pictor_core::api::{Role, Verdict, WorkerActivity};
use pictor_core::ledger::Account;
use pictor_core::{AccountId, JobId, TaskId};
use std::collections::HashMap;

/// Attempts a worker's page lists.
const HISTORY: u32 = 50;
/// Activity reports a worker's page reads (its timeline and the uptime window).
const TIMELINE: u32 = 500;
const HOUR_MS: u64 = 3_600_000;

/// Where a worker created in Pictor Cloud stands with its config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigState {
    /// Linked by its API key, not created here: no config to issue.
    Linked,
    /// Created; its config has not been downloaded (or was revoked).
    NotIssued {
        /// Configs issued before (and revoked).
        issued_before: u32,
    },
    /// Its config was downloaded at `at_ms` and works.
    Issued {
        /// When.
        at_ms: u64,
    },
}

/// One worker on the My Workers page.
#[derive(Clone, Debug)]
pub struct WorkerCard {
    /// The worker's account.
    pub account: AccountRow,
    /// Its config file.
    pub config: ConfigState,
    /// What it was created with in Pictor Cloud.
    pub settings: Option<WorkerSettings>,
    /// What it registered (hardware, price, speed), once it has started.
    pub registered: Option<WorkerRow>,
    /// Seen within the network's online window.
    pub connected: bool,
    /// What it reported last.
    pub activity: Option<ActivityRow>,
    /// Paid to it for work, micro-credits (from the ledger).
    pub earned: i128,
    /// Its balance, micro-credits (from the ledger).
    pub balance: i128,
    /// How its attempts ended.
    pub tally: AttemptTally,
    /// Leases it holds now.
    pub leases: u64,
}

impl WorkerCard {
    /// Attempts that ended without a result (failed, expired, cancelled), not counting the ones
    /// rendering now.
    pub fn failed(&self) -> u64 {
        self.tally.undelivered.saturating_sub(self.leases)
    }
}

/// What became of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerOutcome {
    /// The worker holds its lease now.
    Rendering,
    /// Its result waits for a checker.
    Verifying,
    /// A checker accepted it.
    Accepted,
    /// A checker rejected it.
    Rejected,
    /// It ended without a result (failed, expired, cancelled) or its result was set aside.
    NotDelivered,
}

impl WorkerOutcome {
    /// A word for it.
    pub fn label(self) -> &'static str {
        match self {
            WorkerOutcome::Rendering => "rendering",
            WorkerOutcome::Verifying => "verifying",
            WorkerOutcome::Accepted => "accepted",
            WorkerOutcome::Rejected => "rejected",
            WorkerOutcome::NotDelivered => "not delivered",
        }
    }
}

/// One row of a worker's task history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerHistoryItem {
    /// The task.
    pub task: TaskId,
    /// Its job.
    pub job: JobId,
    /// The attempt.
    pub attempt: u32,
    /// When the worker leased it.
    pub leased_at_ms: u64,
    /// When its result arrived.
    pub delivered_at_ms: Option<u64>,
    /// What became of it.
    pub outcome: WorkerOutcome,
    /// What the worker was paid for it, micro-credits (from the ledger; 0 unless accepted).
    pub pay: i128,
}

/// Everything on the My Workers page.
#[derive(Clone, Debug, Default)]
pub struct MyWorkers {
    /// One card per worker, oldest first.
    pub cards: Vec<WorkerCard>,
    /// Earnings of every worker per day, the last [`CHART_DAYS`](super::CHART_DAYS) days, oldest first.
    pub days: Vec<DayEarnings>,
    /// Earned by every worker in the last hour, micro-credits.
    pub last_hour: i128,
    /// Per mille of the last 24 hours the workers were connected (averaged over workers that
    /// have started at least once).
    pub uptime_permille: u32,
    /// Every earning of every worker, oldest first, with its worker (times only within the
    /// charts' days).
    pub earnings: Vec<(AccountId, AccountEntry)>,
}

/// Everything on one worker's page.
#[derive(Clone, Debug)]
pub struct WorkerDetail {
    /// The worker's card.
    pub card: WorkerCard,
    /// Its speed as the network believes it (declared, capped by what its accepted tasks
    /// measured), in thousandths of the reference.
    pub believed_speed_millis: u32,
    /// What it reported doing, newest first.
    pub timeline: Vec<ActivityRow>,
    /// Its tasks, newest first.
    pub history: Vec<WorkerHistoryItem>,
    /// Its earnings per day, the last [`CHART_DAYS`](super::CHART_DAYS) days.
    pub days: Vec<DayEarnings>,
    /// Per mille of the last 24 hours it was connected.
    pub uptime_permille: u32,
}

/// What became of `row` (one of the worker's attempts).
fn outcome(row: &WorkerAttemptRow) -> WorkerOutcome {
    match row.verdict {
        Some(Verdict::Accept) => return WorkerOutcome::Accepted,
        Some(Verdict::Reject) => return WorkerOutcome::Rejected,
        _ => {}
    }
    let latest = row.attempt == row.latest_attempt;
    match (row.delivered_at_ms, row.task_state.as_str()) {
        (None, "leased") if latest => WorkerOutcome::Rendering,
        (Some(_), "verifying") if latest => WorkerOutcome::Verifying,
        _ => WorkerOutcome::NotDelivered,
    }
}

impl<S: Store> Coordinator<S> {
    /// The My Workers page of `person`: every worker or farm account of theirs.
    pub async fn my_workers(&self, person: &PersonView) -> ServiceResult<MyWorkers> {
        let now = self.now_ms();
        let times = chart_times(now);
        let mut page = MyWorkers::default();
        let mut uptimes = Vec::new();
        for account in person
            .accounts
            .iter()
            .filter(|a| matches!(a.role, Role::Worker | Role::Farm))
        {
            let entries = self
                .account_entries(Account::Worker(AccountId(account.id)), times)
                .await?;
            let card = self.worker_card(account, &entries).await?;
            if card.registered.is_some() {
                let activity = self.activity_oldest_first(account.id).await?;
                uptimes.push(uptime_permille(&activity, now, card.connected));
            }
            page.earnings.extend(
                entries
                    .into_iter()
                    .filter(AccountEntry::is_earning)
                    .map(|entry| (AccountId(account.id), entry)),
            );
            page.cards.push(card);
        }
        page.earnings
            .sort_by_key(|(_, entry)| (entry.at_ms, entry.seq));
        page.days = earnings_per_day(page.earnings.iter().map(|(_, e)| e), now);
        page.last_hour = page
            .earnings
            .iter()
            .filter(|(_, e)| e.at_ms.is_some_and(|at| at + HOUR_MS > now))
            .map(|(_, e)| e.signed_micros)
            .sum();
        let started = u32::try_from(uptimes.len()).unwrap_or(u32::MAX);
        page.uptime_permille = uptimes
            .iter()
            .sum::<u32>()
            .checked_div(started)
            .unwrap_or(0);
        Ok(page)
    }

    /// One worker's page, for its owner `person` (404 for anyone else's).
    pub async fn worker_detail(
        &self,
        person: &PersonView,
        account: u64,
    ) -> ServiceResult<WorkerDetail> {
        let now = self.now_ms();
        let row = owned_worker_account(person, account)?;
        let entries = self
            .account_entries(Account::Worker(AccountId(account)), chart_times(now))
            .await?;
        let card = self.worker_card(row, &entries).await?;
        let (timeline, attempts) = {
            let mut tx = self.read().await?;
            (
                tx.worker_activity(account, TIMELINE).await?,
                tx.attempts_of_worker(account, HISTORY).await?,
            )
        };
        let mut pay_by_task: HashMap<TaskId, i128> = HashMap::new();
        for entry in entries.iter().filter(|e| e.is_earning()) {
            if let Some(task) = entry.task {
                *pay_by_task.entry(task).or_default() += entry.signed_micros;
            }
        }
        let history = attempts
            .iter()
            .map(|attempt| {
                let outcome = outcome(attempt);
                let task = TaskId(attempt.task_id);
                WorkerHistoryItem {
                    task,
                    job: JobId(attempt.job_id),
                    attempt: attempt.attempt,
                    leased_at_ms: attempt.leased_at_ms,
                    delivered_at_ms: attempt.delivered_at_ms,
                    outcome,
                    pay: if outcome == WorkerOutcome::Accepted {
                        pay_by_task.get(&task).copied().unwrap_or(0)
                    } else {
                        0
                    },
                }
            })
            .collect();
        let oldest_first: Vec<ActivityRow> = timeline.iter().rev().cloned().collect();
        let believed_speed_millis = card.registered.as_ref().map_or(0, |worker| {
            (self.config.market.believed_speed(worker) * 1000.0).round() as u32
        });
        Ok(WorkerDetail {
            uptime_permille: uptime_permille(&oldest_first, now, card.connected),
            days: earnings_per_day(&entries, now),
            believed_speed_millis,
            timeline,
            history,
            card,
        })
    }

    /// Every earning of every worker of `person`, oldest first, with its worker and time (the
    /// earnings CSV).
    pub async fn earnings_export(
        &self,
        person: &PersonView,
    ) -> ServiceResult<Vec<(AccountId, AccountEntry)>> {
        let mut earnings = Vec::new();
        for account in person
            .accounts
            .iter()
            .filter(|a| matches!(a.role, Role::Worker | Role::Farm))
        {
            let entries = self
                .account_entries(Account::Worker(AccountId(account.id)), EntryTimes::All)
                .await?;
            earnings.extend(
                entries
                    .into_iter()
                    .filter(AccountEntry::is_earning)
                    .map(|entry| (AccountId(account.id), entry)),
            );
        }
        earnings.sort_by_key(|(_, entry)| (entry.at_ms, entry.seq));
        Ok(earnings)
    }

    /// The card of worker `account`, whose ledger entries are `entries`.
    async fn worker_card(
        &self,
        account: &AccountRow,
        entries: &[AccountEntry],
    ) -> ServiceResult<WorkerCard> {
        let now = self.now_ms();
        let mut tx = self.read().await?;
        let settings = tx.worker_settings(account.id).await?;
        let registered = tx.worker(account.id).await?;
        let activity = tx.worker_activity(account.id, 1).await?.into_iter().next();
        let tally = tx.attempt_tally(account.id).await?;
        let leases = tx.count_leases_of(account.id).await?;
        let connected = registered
            .as_ref()
            .is_some_and(|w| now.saturating_sub(w.last_seen_ms) <= self.config.worker_online_ms)
            && activity
                .as_ref()
                .is_none_or(|a| a.activity != WorkerActivity::Stopped);
        let config = match &settings {
            None => ConfigState::Linked,
            Some(row) => match row.config_issued_at_ms {
                Some(at_ms) => ConfigState::Issued { at_ms },
                None => ConfigState::NotIssued {
                    issued_before: row.configs_issued,
                },
            },
        };
        Ok(WorkerCard {
            account: account.clone(),
            config,
            settings: settings.map(|row| row.settings),
            registered,
            connected,
            activity,
            earned: entries
                .iter()
                .filter(|e| e.is_earning())
                .map(|e| e.signed_micros)
                .sum(),
            balance: entries.iter().map(|e| e.signed_micros).sum(),
            tally,
            leases,
        })
    }

    async fn activity_oldest_first(&self, worker: u64) -> ServiceResult<Vec<ActivityRow>> {
        let mut tx = self.read().await?;
        let mut rows = tx.worker_activity(worker, TIMELINE).await?;
        rows.reverse();
        Ok(rows)
    }
}

/// The entries' times the pages need: those within the charts' days.
fn chart_times(now_ms: u64) -> EntryTimes {
    let day = 86_400_000;
    EntryTimes::Since((now_ms / day).saturating_sub(CHART_DAYS - 1) * day)
}

/// `person`'s worker (or farm) account `account`; 404 for any other.
fn owned_worker_account(person: &PersonView, account: u64) -> ServiceResult<&AccountRow> {
    person
        .accounts
        .iter()
        .find(|a| a.id == account && matches!(a.role, Role::Worker | Role::Farm))
        .ok_or_else(|| ServiceError::not_found(format!("worker {account}")))
}
