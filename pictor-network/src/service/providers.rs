//! My Workers: a person creates workers in Pictor Cloud, downloads each worker's config once
//! (its API key is minted then and kept only as a hash), revokes and re-issues it; workers report
//! what they are doing; the person reads each worker's state, earnings (from the ledger), task
//! history with pay and verdicts, hardware as reported (shown, never used for money) and the
//! network's own measure of it.
//!
//! A worker's signing key is never made here: the worker app generates it on the owner's machine
//! at its first start (`WorkerConfig::signing_key_or_generate`).

use super::auth::{hash_api_key, new_api_key, random_bytes};
use super::statements::AccountEntry;
use super::{Coordinator, PersonView, ServiceError, ServiceResult};
use crate::store::prelude::*;
use crate::store::providers::{
    ActivityRow, AttemptTally, WorkerAttemptRow, WorkerSettings, WorkerSettingsRow,
};
use crate::store::{AccountRow, Store, WorkerRow};
use pictor_core::api::{Role, Verdict, WorkerActivity, WorkerActivityReport};
use pictor_core::ledger::Account;
use pictor_core::{AccountId, JobId, TaskId};
use std::collections::HashMap;

/// Days of earnings the charts show.
pub const CHART_DAYS: u64 = 14;
/// Attempts a worker's page lists.
const HISTORY: u32 = 50;
/// Activity reports a worker's page reads (its timeline and the uptime window).
const TIMELINE: u32 = 500;
const DAY_MS: u64 = 86_400_000;
const HOUR_MS: u64 = 3_600_000;
/// The longest idle-time command accepted, characters.
const MAX_IDLE_COMMAND_CHARS: usize = 1_000;

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

/// Earnings of one UTC day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayEarnings {
    /// The day's first millisecond, Unix ms.
    pub day_start_ms: u64,
    /// Earned that day, micro-credits.
    pub micros: i128,
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
    /// Earnings of every worker per day, the last [`CHART_DAYS`] days, oldest first.
    pub days: Vec<DayEarnings>,
    /// Earned by every worker in the last hour, micro-credits.
    pub last_hour: i128,
    /// Per mille of the last 24 hours the workers were connected (averaged over workers that
    /// have started at least once).
    pub uptime_permille: u32,
    /// Every earning of every worker, oldest first, with its worker (for the CSV export).
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
    /// Its earnings per day, the last [`CHART_DAYS`] days.
    pub days: Vec<DayEarnings>,
    /// Per mille of the last 24 hours it was connected.
    pub uptime_permille: u32,
}

/// Checks what a person sets a new worker to.
fn validate_settings(
    settings: &WorkerSettings,
    rules: &super::MarketRules,
) -> ServiceResult<WorkerSettings> {
    let name = settings.name.trim().to_string();
    let length = name.chars().count();
    if !(1..=64).contains(&length) || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "name",
            "must be 1 to 64 characters without control characters",
        ));
    }
    if settings.price == pictor_core::Money::ZERO || settings.price > rules.max_price_per_bench_hour
    {
        return Err(ServiceError::invalid(
            "price",
            format!(
                "must be more than 0 and at most {} per bench-hour (this network's ceiling)",
                rules.max_price_per_bench_hour
            ),
        ));
    }
    if !(1..=rules.max_slots).contains(&settings.slots) {
        return Err(ServiceError::invalid(
            "slots",
            format!("must be 1 to {}", rules.max_slots),
        ));
    }
    let idle_command = settings
        .idle_command
        .as_deref()
        .map(str::trim)
        .filter(|command| !command.is_empty());
    if let Some(command) = idle_command
        && (command.chars().count() > MAX_IDLE_COMMAND_CHARS
            || command.chars().any(char::is_control))
    {
        return Err(ServiceError::invalid(
            "idle_command",
            format!("must be one line of at most {MAX_IDLE_COMMAND_CHARS} characters"),
        ));
    }
    let renderer = match settings.renderer.trim() {
        "blender" => "blender",
        "builtin" => "builtin",
        _ => {
            return Err(ServiceError::invalid(
                "renderer",
                "must be blender (Blender and the built-in renderer) or builtin",
            ));
        }
    };
    Ok(WorkerSettings {
        name,
        idle_command: idle_command.map(str::to_string),
        renderer: renderer.to_string(),
        ..settings.clone()
    })
}

/// The per-day sums of `entries`' earnings over the [`CHART_DAYS`] days up to `now_ms`.
pub fn earnings_per_day<'a>(
    entries: impl IntoIterator<Item = &'a AccountEntry>,
    now_ms: u64,
) -> Vec<DayEarnings> {
    let today = now_ms / DAY_MS;
    let first = today.saturating_sub(CHART_DAYS - 1);
    let mut days: Vec<DayEarnings> = (first..=today)
        .map(|day| DayEarnings {
            day_start_ms: day * DAY_MS,
            micros: 0,
        })
        .collect();
    for entry in entries {
        if let (true, Some(at)) = (entry.is_earning(), entry.at_ms)
            && let Some(slot) = (at / DAY_MS)
                .checked_sub(first)
                .and_then(|i| days.get_mut(usize::try_from(i).ok()?))
        {
            slot.micros += entry.signed_micros;
        }
    }
    days
}

/// Per mille of the 24 hours before `now_ms` that a worker was connected, from its activity
/// (oldest first): a session runs from a `connected` report to a `stopped` report or to its last
/// report before the next `connected`; the session going on now (when `connected_now`) runs to
/// `now_ms`.
pub fn uptime_permille(
    activity_oldest_first: &[ActivityRow],
    now_ms: u64,
    connected_now: bool,
) -> u32 {
    let from = now_ms.saturating_sub(DAY_MS);
    let mut total = 0u64;
    let mut session: Option<(u64, u64)> = None;
    let close = |session: Option<(u64, u64)>, total: &mut u64| {
        if let Some((start, end)) = session {
            *total += end.min(now_ms).saturating_sub(start.max(from));
        }
    };
    for row in activity_oldest_first {
        match row.activity {
            WorkerActivity::Connected => {
                close(session.take(), &mut total);
                session = Some((row.at_ms, row.at_ms));
            }
            WorkerActivity::Stopped => {
                if let Some((start, _)) = session.take() {
                    close(Some((start, row.at_ms)), &mut total);
                }
            }
            _ => {
                if let Some((_, end)) = session.as_mut() {
                    *end = row.at_ms;
                }
            }
        }
    }
    if let Some((start, end)) = session {
        let end = if connected_now { now_ms } else { end };
        close(Some((start, end)), &mut total);
    }
    u32::try_from(total.min(DAY_MS) * 1000 / DAY_MS).unwrap_or(1000)
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
    /// Creates a worker for `person`: a worker account linked to them, with no usable key until
    /// its config is downloaded ([`issue_worker_config`](Self::issue_worker_config)). Answers its
    /// id.
    pub async fn create_cloud_worker(
        &self,
        person: &PersonView,
        settings: &WorkerSettings,
    ) -> ServiceResult<u64> {
        let settings = validate_settings(settings, &self.config.market)?;
        // No key works until the config is issued: the account starts with the hash of 32 random
        // bytes nobody keeps.
        let unusable = *blake3::hash(&random_bytes::<32>()?).as_bytes();
        let now = self.now_ms();
        let mut tx = self.write_without_ledger().await?;
        let account = tx
            .insert_account("worker", &settings.name, &unusable, now)
            .await?;
        tx.link_account(person.id, account).await?;
        tx.insert_worker_settings(&WorkerSettingsRow {
            account_id: account,
            person_id: person.id,
            settings,
            created_at_ms: now,
            config_issued_at_ms: None,
            configs_issued: 0,
        })
        .await?;
        tx.commit().await?;
        tracing::info!(
            person = person.id,
            worker = account,
            "worker created in Pictor Cloud"
        );
        Ok(account)
    }

    /// Issues the config of `person`'s worker `account`: mints its API key (the only time it
    /// exists outside the worker's file) and answers it with the worker's settings. Refused (409)
    /// while a config issued before still works: revoke it first.
    pub async fn issue_worker_config(
        &self,
        person: &PersonView,
        account: u64,
    ) -> ServiceResult<(WorkerSettingsRow, String)> {
        let key = new_api_key()?;
        let mut tx = self.write_without_ledger().await?;
        let row = owned_settings(&mut tx, person, account).await?;
        if row.config_issued_at_ms.is_some() {
            return Err(ServiceError::conflict(
                "this worker's config was already downloaded; revoke it to issue a new one",
            ));
        }
        tx.set_worker_config(account, Some(&hash_api_key(&key)), self.now_ms())
            .await?;
        tx.commit().await?;
        self.known_keys.forget_account(account);
        tracing::info!(
            person = person.id,
            worker = account,
            issued = row.configs_issued + 1,
            "worker config issued"
        );
        Ok((row, key))
    }

    /// Revokes the config of `person`'s worker `account`: its key is refused from the next
    /// request on, so the running worker stops being given work.
    pub async fn revoke_worker_config(
        &self,
        person: &PersonView,
        account: u64,
    ) -> ServiceResult<()> {
        let mut tx = self.write_without_ledger().await?;
        owned_settings(&mut tx, person, account).await?;
        tx.set_worker_config(account, None, self.now_ms()).await?;
        tx.commit().await?;
        self.known_keys.forget_account(account);
        tracing::info!(
            person = person.id,
            worker = account,
            "worker config revoked"
        );
        Ok(())
    }

    /// Records what the calling worker reports doing (and that it was seen).
    pub async fn report_activity(
        &self,
        caller: &super::Caller,
        report: &WorkerActivityReport,
    ) -> ServiceResult<()> {
        caller.require_any(&[Role::Worker, Role::Farm])?;
        let now = self.now_ms();
        let mut tx = self.write_without_ledger().await?;
        tx.insert_worker_activity(
            caller.id(),
            &ActivityRow {
                at_ms: now,
                activity: report.activity,
                task_id: report.task.map(|task| task.0),
                gpu_utilisation_percent: report.gpu_utilisation_percent.map(|p| p.min(100)),
            },
        )
        .await?;
        tx.touch_worker(caller.id(), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The My Workers page of `person`: every worker or farm account of theirs.
    pub async fn my_workers(&self, person: &PersonView) -> ServiceResult<MyWorkers> {
        let now = self.now_ms();
        let mut page = MyWorkers::default();
        let mut uptimes = Vec::new();
        for account in person
            .accounts
            .iter()
            .filter(|a| matches!(a.role, Role::Worker | Role::Farm))
        {
            let entries = self
                .account_entries(Account::Worker(AccountId(account.id)))
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
        let row = owned_worker_account(person, account)?;
        let entries = self
            .account_entries(Account::Worker(AccountId(account)))
            .await?;
        let card = self.worker_card(row, &entries).await?;
        let now = self.now_ms();
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

/// `person`'s worker (or farm) account `account`; 404 for any other.
fn owned_worker_account(person: &PersonView, account: u64) -> ServiceResult<&AccountRow> {
    person
        .accounts
        .iter()
        .find(|a| a.id == account && matches!(a.role, Role::Worker | Role::Farm))
        .ok_or_else(|| ServiceError::not_found(format!("worker {account}")))
}

/// The settings of the worker `account` that `person` created here; 404 for any other.
async fn owned_settings<T: StoreTx>(
    tx: &mut T,
    person: &PersonView,
    account: u64,
) -> ServiceResult<WorkerSettingsRow> {
    tx.worker_settings(account)
        .await?
        .filter(|row| row.person_id == person.id)
        .ok_or_else(|| ServiceError::not_found(format!("worker {account}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(at_ms: u64, activity: WorkerActivity) -> ActivityRow {
        ActivityRow {
            at_ms,
            activity,
            task_id: None,
            gpu_utilisation_percent: None,
        }
    }

    #[test]
    fn uptime_counts_sessions_within_the_last_day() {
        let now = 10 * DAY_MS;
        let hour = HOUR_MS;
        // Six hours online then a clean stop; then online for the last two hours.
        let activity = vec![
            report(now - 10 * hour, WorkerActivity::Connected),
            report(now - 5 * hour, WorkerActivity::Idle),
            report(now - 4 * hour, WorkerActivity::Stopped),
            report(now - 2 * hour, WorkerActivity::Connected),
        ];
        assert_eq!(uptime_permille(&activity, now, true), 333);
        // Not connected now: the second session ends at its last report.
        assert_eq!(uptime_permille(&activity, now, false), 250);
        // A session begun two days ago counts from the window's start.
        let old = vec![report(now - 2 * DAY_MS, WorkerActivity::Connected)];
        assert_eq!(uptime_permille(&old, now, true), 1000);
    }

    #[test]
    fn earnings_fall_on_their_day_and_only_settles_count() {
        let now = 20 * DAY_MS + 5;
        let entry = |at_ms, kind, micros| AccountEntry {
            seq: 0,
            at_ms: Some(at_ms),
            kind,
            counterparty: Account::External,
            signed_micros: micros,
            job: None,
            task: None,
        };
        let entries = [
            entry(now, pictor_core::ledger::PostingKind::Settle, 7),
            entry(now - DAY_MS, pictor_core::ledger::PostingKind::Settle, 5),
            entry(now, pictor_core::ledger::PostingKind::Direct, -3),
            entry(
                now - 30 * DAY_MS,
                pictor_core::ledger::PostingKind::Settle,
                9,
            ),
        ];
        let days = earnings_per_day(&entries, now);
        assert_eq!(days.len(), CHART_DAYS as usize);
        assert_eq!(days[days.len() - 1].micros, 7);
        assert_eq!(days[days.len() - 2].micros, 5);
        assert_eq!(days.iter().map(|d| d.micros).sum::<i128>(), 12);
    }

    #[test]
    fn settings_are_checked_and_trimmed() {
        let rules = super::super::MarketRules::default();
        let good = WorkerSettings {
            name: "  gpu-1 ".into(),
            price: pictor_core::Money::from_credits(2).expect("price"),
            min_tier: pictor_core::job::Tier::Standard,
            idle_command: Some("   ".into()),
            slots: 1,
            renderer: "builtin".into(),
        };
        let checked = validate_settings(&good, &rules).expect("valid");
        assert_eq!(checked.name, "gpu-1");
        assert_eq!(checked.idle_command, None);
        for bad in [
            WorkerSettings {
                name: String::new(),
                ..good.clone()
            },
            WorkerSettings {
                slots: 0,
                ..good.clone()
            },
            WorkerSettings {
                price: pictor_core::Money::ZERO,
                ..good.clone()
            },
            WorkerSettings {
                idle_command: Some("a\nb".into()),
                ..good.clone()
            },
            WorkerSettings {
                renderer: "cycles".into(),
                ..good.clone()
            },
        ] {
            assert!(validate_settings(&bad, &rules).is_err(), "{bad:?}");
        }
    }

    /// The config's key leaves the coordinator only in the answer: its issue is logged by who
    /// and which worker, never with the key.
    #[tokio::test(flavor = "current_thread")]
    async fn issuing_a_config_logs_it_without_its_key() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("log").extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let dir = tempfile::tempdir().expect("tempdir");
        let coordinator = crate::server::open(dir.path(), crate::service::Config::default())
            .await
            .expect("open");
        let admin_key = std::fs::read_to_string(dir.path().join(crate::service::ADMIN_KEY_FILE))
            .expect("admin key");
        let admin = coordinator
            .authenticate(Some(admin_key.trim()))
            .await
            .expect("admin");
        let creator = coordinator
            .create_account(
                &admin,
                &pictor_core::api::CreateAccountRequest {
                    role: Role::Creator,
                    name: "ada".into(),
                },
            )
            .await
            .expect("account");
        let session = coordinator
            .sign_in_with_key(&creator.api_key)
            .await
            .expect("session");
        let web = coordinator.web_session(&session.token).await.expect("web");
        coordinator
            .create_person(&web, "ada", "correct horse battery")
            .await
            .expect("person");
        let person_session = coordinator
            .sign_in_with_password("ada", "correct horse battery")
            .await
            .expect("signed in");
        let person = coordinator
            .web_session(&person_session.token)
            .await
            .expect("web")
            .person
            .expect("a person");
        let settings = WorkerSettings {
            name: "gpu".into(),
            price: pictor_core::Money::from_credits(2).expect("price"),
            min_tier: pictor_core::job::Tier::Economy,
            idle_command: None,
            slots: 1,
            renderer: "builtin".into(),
        };
        let worker = coordinator
            .create_cloud_worker(&person, &settings)
            .await
            .expect("worker");
        let (_, key) = coordinator
            .issue_worker_config(&person, worker)
            .await
            .expect("config");
        let log = String::from_utf8(captured.0.lock().expect("log").clone()).expect("utf-8");
        assert!(log.contains("worker config issued"), "{log}");
        assert!(!log.contains(&key), "{log}");
        assert!(!log.contains(&key[3..]), "not even without its prefix");
    }
}
