//! The SQL of [`ProvidersTx`](super::ProvidersTx), one text for both stores: each statement is
//! written once with `?` placeholders, which [`statement`] numbers (`$1`, `$2`, …) for PostgreSQL;
//! [`impl_providers_tx`] implements the trait for a backend's transaction type.

use super::providers::{
    ActivityRow, AttemptTally, CheckerCheckRow, WorkerAttemptRow, WorkerSettingsRow,
};
use super::sql::{Columns, enum_parse, get_json, get_opt_u64, get_u32, get_u64};
use super::{StoreError, StoreResult};
use pictor_core::api::WorkerActivity;

/// How a backend writes placeholders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `?` (SQLite).
    Question,
    /// `$1`, `$2`, … (PostgreSQL).
    Numbered,
}

/// `sql` with its `?` placeholders written the backend's way (the texts here hold no `?` inside
/// string literals).
pub(crate) fn statement(sql: &str, style: Placeholders) -> sqlx::AssertSqlSafe<String> {
    if style == Placeholders::Question {
        return sqlx::AssertSqlSafe(sql.to_string());
    }
    let mut numbered = String::with_capacity(sql.len() + 8);
    let mut next = 0;
    for ch in sql.chars() {
        if ch == '?' {
            next += 1;
            numbered.push('$');
            numbered.push_str(&next.to_string());
        } else {
            numbered.push(ch);
        }
    }
    sqlx::AssertSqlSafe(numbered)
}

/// `n` placeholders separated by commas, for an `IN (…)` list.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

pub(crate) const INSERT_WORKER_SETTINGS: &str = "INSERT INTO worker_settings \
     (account_id, person_id, settings, created_at_ms, config_issued_at_ms, configs_issued) \
     VALUES (?, ?, ?, ?, NULL, 0)";
pub(crate) const WORKER_SETTINGS: &str = "SELECT * FROM worker_settings WHERE account_id = ?";
pub(crate) const WORKER_SETTINGS_OF_PERSON: &str =
    "SELECT * FROM worker_settings WHERE person_id = ? ORDER BY account_id";
pub(crate) const DELETE_API_KEYS: &str = "DELETE FROM api_keys WHERE account_id = ?";
pub(crate) const INSERT_API_KEY: &str = "INSERT INTO api_keys (key_hash, account_id) VALUES (?, ?)";
pub(crate) const CONFIG_ISSUED: &str = "UPDATE worker_settings \
     SET config_issued_at_ms = ?, configs_issued = configs_issued + 1 WHERE account_id = ?";
pub(crate) const CONFIG_REVOKED: &str =
    "UPDATE worker_settings SET config_issued_at_ms = NULL WHERE account_id = ?";
pub(crate) const INSERT_ACTIVITY: &str = "INSERT INTO worker_activity \
     (worker_id, at_ms, activity, task_id, detail) VALUES (?, ?, ?, ?, ?)";
/// Keeps a worker's newest 500 reports.
pub(crate) const PRUNE_ACTIVITY: &str = "DELETE FROM worker_activity WHERE worker_id = ? AND id < \
     (SELECT id FROM worker_activity WHERE worker_id = ? ORDER BY id DESC LIMIT 1 OFFSET 499)";
pub(crate) const ACTIVITY: &str =
    "SELECT * FROM worker_activity WHERE worker_id = ? ORDER BY id DESC LIMIT ?";
pub(crate) const ATTEMPTS_OF_WORKER: &str = "SELECT a.task_id, a.attempt, a.leased_at_ms, \
     a.delivered_at_ms, t.job_id, t.state_name, \
     (SELECT MAX(b.attempt) FROM task_attempts b WHERE b.task_id = a.task_id) AS latest_attempt, \
     (SELECT c.verdict FROM checks c WHERE c.task_id = a.task_id AND c.attempt = a.attempt \
        AND c.purpose <> 'probe' AND c.state = 'done' AND c.verdict IN ('accept', 'reject') \
        ORDER BY c.id DESC LIMIT 1) AS verdict \
     FROM task_attempts a JOIN tasks t ON t.id = a.task_id \
     WHERE a.worker_id = ? ORDER BY a.leased_at_ms DESC, a.task_id DESC LIMIT ?";
pub(crate) const ATTEMPT_TALLY: &str = "SELECT COUNT(*) AS leased, \
     COALESCE(SUM(CASE WHEN a.delivered_at_ms IS NULL THEN 1 ELSE 0 END), 0) AS undelivered, \
     COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM checks c WHERE c.task_id = a.task_id \
        AND c.attempt = a.attempt AND c.purpose <> 'probe' AND c.state = 'done' AND c.verdict = 'accept') \
        THEN 1 ELSE 0 END), 0) AS accepted, \
     COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM checks c WHERE c.task_id = a.task_id \
        AND c.attempt = a.attempt AND c.purpose <> 'probe' AND c.state = 'done' AND c.verdict = 'reject') \
        THEN 1 ELSE 0 END), 0) AS rejected \
     FROM task_attempts a WHERE a.worker_id = ?";
pub(crate) const CHECKS_OF_CHECKER: &str = "SELECT c.id, c.task_id, c.attempt, c.state, \
     c.verdict, c.leased_at_ms, c.done_at_ms, t.job_id, a.leased_at_ms AS render_leased_at_ms, \
     a.delivered_at_ms AS render_delivered_at_ms \
     FROM checks c JOIN tasks t ON t.id = c.task_id \
     LEFT JOIN task_attempts a ON a.task_id = c.task_id AND a.attempt = c.attempt \
     WHERE c.checker = ? ORDER BY c.id DESC LIMIT ?";
pub(crate) const CHECK_TALLY: &str = "SELECT \
     COALESCE(SUM(CASE WHEN verdict = 'accept' THEN 1 ELSE 0 END), 0) AS accepted, \
     COALESCE(SUM(CASE WHEN verdict = 'reject' THEN 1 ELSE 0 END), 0) AS rejected, \
     COALESCE(SUM(CASE WHEN verdict = 'escalate' THEN 1 ELSE 0 END), 0) AS escalated \
     FROM checks WHERE checker = ? AND state = 'done'";
/// Seqs per `IN (…)` list of [`ledger_entry_times`](super::ProvidersTx::ledger_entry_times).
pub(crate) const TIMES_CHUNK: usize = 500;

/// `SELECT seq, at_ms FROM ledger_entries WHERE seq IN (…)` for `n` seqs.
pub(crate) fn entry_times(n: usize) -> String {
    format!(
        "SELECT seq, at_ms FROM ledger_entries WHERE seq IN ({})",
        placeholders(n)
    )
}

pub(crate) fn worker_settings_row(row: &impl Columns) -> StoreResult<WorkerSettingsRow> {
    Ok(WorkerSettingsRow {
        account_id: get_u64(row, "account_id")?,
        person_id: get_u64(row, "person_id")?,
        settings: get_json(row, "settings")?,
        created_at_ms: get_u64(row, "created_at_ms")?,
        config_issued_at_ms: get_opt_u64(row, "config_issued_at_ms")?,
        configs_issued: get_u32(row, "configs_issued")?,
    })
}

pub(crate) fn activity_row(row: &impl Columns) -> StoreResult<ActivityRow> {
    let name = row.text("activity")?;
    let activity =
        WorkerActivity::from_name(&name).ok_or(StoreError::OutOfRange { column: "activity" })?;
    let gpu_utilisation_percent = row
        .opt_text("detail")?
        .and_then(|detail| detail.parse::<u8>().ok());
    Ok(ActivityRow {
        at_ms: get_u64(row, "at_ms")?,
        activity,
        task_id: get_opt_u64(row, "task_id")?,
        gpu_utilisation_percent,
    })
}

pub(crate) fn worker_attempt_row(row: &impl Columns) -> StoreResult<WorkerAttemptRow> {
    Ok(WorkerAttemptRow {
        task_id: get_u64(row, "task_id")?,
        attempt: get_u32(row, "attempt")?,
        job_id: get_u64(row, "job_id")?,
        leased_at_ms: get_u64(row, "leased_at_ms")?,
        delivered_at_ms: get_opt_u64(row, "delivered_at_ms")?,
        verdict: row
            .opt_text("verdict")?
            .map(|text| enum_parse(text, "verdict"))
            .transpose()?,
        task_state: row.text("state_name")?,
        latest_attempt: get_u32(row, "latest_attempt")?,
    })
}

pub(crate) fn attempt_tally(row: &impl Columns) -> StoreResult<AttemptTally> {
    Ok(AttemptTally {
        leased: get_u64(row, "leased")?,
        accepted: get_u64(row, "accepted")?,
        rejected: get_u64(row, "rejected")?,
        undelivered: get_u64(row, "undelivered")?,
    })
}

pub(crate) fn checker_check_row(row: &impl Columns) -> StoreResult<CheckerCheckRow> {
    Ok(CheckerCheckRow {
        check_id: get_u64(row, "id")?,
        task_id: get_u64(row, "task_id")?,
        job_id: get_u64(row, "job_id")?,
        attempt: get_u32(row, "attempt")?,
        state: row.text("state")?,
        verdict: row
            .opt_text("verdict")?
            .map(|text| enum_parse(text, "verdict"))
            .transpose()?,
        leased_at_ms: get_opt_u64(row, "leased_at_ms")?,
        done_at_ms: get_opt_u64(row, "done_at_ms")?,
        render_leased_at_ms: get_opt_u64(row, "render_leased_at_ms")?,
        render_delivered_at_ms: get_opt_u64(row, "render_delivered_at_ms")?,
    })
}

/// Implements [`ProvidersTx`](super::ProvidersTx) for a backend's transaction type (whose `tx`
/// field is its open transaction, run through the backend's `exec` module) with the backend's [`Placeholders`]: invoked once by each
/// backend.
macro_rules! impl_providers_tx {
    ($tx:ty, $style:expr) => {
        impl $crate::store::ProvidersTx for $tx {
            async fn insert_worker_settings(
                &mut self,
                row: &$crate::store::providers::WorkerSettingsRow,
            ) -> StoreResult<()> {
                use $crate::store::providers_sql as q;
                exec::query(q::statement(q::INSERT_WORKER_SETTINGS, $style))
                    .bind(to_i64(row.account_id, "account_id")?)
                    .bind(to_i64(row.person_id, "person_id")?)
                    .bind($crate::store::sql::json(&row.settings, "settings")?)
                    .bind(to_i64(row.created_at_ms, "created_at_ms")?)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn worker_settings(
                &mut self,
                account: u64,
            ) -> StoreResult<Option<$crate::store::providers::WorkerSettingsRow>> {
                use $crate::store::providers_sql as q;
                exec::query(q::statement(q::WORKER_SETTINGS, $style))
                    .bind(to_i64(account, "account_id")?)
                    .fetch_optional(&mut *self.tx)
                    .await?
                    .as_ref()
                    .map(q::worker_settings_row)
                    .transpose()
            }

            async fn worker_settings_of_person(
                &mut self,
                person: u64,
            ) -> StoreResult<Vec<$crate::store::providers::WorkerSettingsRow>> {
                use $crate::store::providers_sql as q;
                exec::query(q::statement(q::WORKER_SETTINGS_OF_PERSON, $style))
                    .bind(to_i64(person, "person_id")?)
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(q::worker_settings_row)
                    .collect()
            }

            async fn set_worker_config(
                &mut self,
                account: u64,
                key_hash: Option<&[u8; 32]>,
                now_ms: u64,
            ) -> StoreResult<()> {
                use $crate::store::providers_sql as q;
                let account = to_i64(account, "account_id")?;
                exec::query(q::statement(q::DELETE_API_KEYS, $style))
                    .bind(account)
                    .execute(&mut *self.tx)
                    .await?;
                match key_hash {
                    Some(hash) => {
                        exec::query(q::statement(q::INSERT_API_KEY, $style))
                            .bind(&hash[..])
                            .bind(account)
                            .execute(&mut *self.tx)
                            .await?;
                        exec::query(q::statement(q::CONFIG_ISSUED, $style))
                            .bind(to_i64(now_ms, "config_issued_at_ms")?)
                            .bind(account)
                            .execute(&mut *self.tx)
                            .await?;
                    }
                    None => {
                        exec::query(q::statement(q::CONFIG_REVOKED, $style))
                            .bind(account)
                            .execute(&mut *self.tx)
                            .await?;
                    }
                }
                Ok(())
            }

            async fn insert_worker_activity(
                &mut self,
                worker: u64,
                row: &$crate::store::providers::ActivityRow,
            ) -> StoreResult<()> {
                use $crate::store::providers_sql as q;
                let worker = to_i64(worker, "worker_id")?;
                exec::query(q::statement(q::INSERT_ACTIVITY, $style))
                    .bind(worker)
                    .bind(to_i64(row.at_ms, "at_ms")?)
                    .bind(row.activity.as_str())
                    .bind(row.task_id.map(|id| to_i64(id, "task_id")).transpose()?)
                    .bind(row.gpu_utilisation_percent.map(|p| p.to_string()))
                    .execute(&mut *self.tx)
                    .await?;
                exec::query(q::statement(q::PRUNE_ACTIVITY, $style))
                    .bind(worker)
                    .bind(worker)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn worker_activity(
                &mut self,
                worker: u64,
                limit: u32,
            ) -> StoreResult<Vec<$crate::store::providers::ActivityRow>> {
                use $crate::store::providers_sql as q;
                exec::query(q::statement(q::ACTIVITY, $style))
                    .bind(to_i64(worker, "worker_id")?)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(q::activity_row)
                    .collect()
            }

            async fn attempts_of_worker(
                &mut self,
                worker: u64,
                limit: u32,
            ) -> StoreResult<Vec<$crate::store::providers::WorkerAttemptRow>> {
                use $crate::store::providers_sql as q;
                exec::query(q::statement(q::ATTEMPTS_OF_WORKER, $style))
                    .bind(to_i64(worker, "worker_id")?)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(q::worker_attempt_row)
                    .collect()
            }

            async fn attempt_tally(
                &mut self,
                worker: u64,
            ) -> StoreResult<$crate::store::providers::AttemptTally> {
                use $crate::store::providers_sql as q;
                let row = exec::query(q::statement(q::ATTEMPT_TALLY, $style))
                    .bind(to_i64(worker, "worker_id")?)
                    .fetch_one(&mut *self.tx)
                    .await?;
                q::attempt_tally(&row)
            }

            async fn checks_of_checker(
                &mut self,
                checker: u64,
                limit: u32,
            ) -> StoreResult<Vec<$crate::store::providers::CheckerCheckRow>> {
                use $crate::store::providers_sql as q;
                exec::query(q::statement(q::CHECKS_OF_CHECKER, $style))
                    .bind(to_i64(checker, "checker")?)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(q::checker_check_row)
                    .collect()
            }

            async fn check_tally(&mut self, checker: u64) -> StoreResult<(u64, u64, u64)> {
                use $crate::store::providers_sql as q;
                use $crate::store::sql::get_u64;
                let row = exec::query(q::statement(q::CHECK_TALLY, $style))
                    .bind(to_i64(checker, "checker")?)
                    .fetch_one(&mut *self.tx)
                    .await?;
                Ok((
                    get_u64(&row, "accepted")?,
                    get_u64(&row, "rejected")?,
                    get_u64(&row, "escalated")?,
                ))
            }

            async fn ledger_entry_times(
                &mut self,
                seqs: &[u64],
            ) -> StoreResult<Vec<(u64, Option<u64>)>> {
                use $crate::store::providers_sql as q;
                use $crate::store::sql::{get_opt_u64, get_u64};
                let mut times = Vec::with_capacity(seqs.len());
                for chunk in seqs.chunks(q::TIMES_CHUNK) {
                    let sql = q::entry_times(chunk.len());
                    let mut query = exec::query(q::statement(&sql, $style));
                    for seq in chunk {
                        query = query.bind(to_i64(*seq, "seq")?);
                    }
                    for row in query.fetch_all(&mut *self.tx).await? {
                        times.push((get_u64(&row, "seq")?, get_opt_u64(&row, "at_ms")?));
                    }
                }
                times.sort_unstable();
                Ok(times)
            }
        }
    };
}
pub(crate) use impl_providers_tx;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        assert_eq!(
            statement("a = ? AND b IN (?, ?)", Placeholders::Numbered).0,
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(statement("a = ?", Placeholders::Question).0, "a = ?");
        assert_eq!(entry_times(2).matches('?').count(), 2);
    }
}
