//! The queries of listings both SQL stores run as one text (a creator's jobs, a page's task counts,
//! a task's checks): a builder pushes the SQL and binds the
//! values, and each backend numbers the placeholders its own way (`?` or `$n`), so the search of
//! a creator's jobs and the progress of a page of jobs are written once.

use super::sql::{Columns, SqlBuilder, get_u64, to_i64};
use super::{JobFilter, StoreResult, TaskProgress};

/// `SELECT * FROM jobs` of `owner` matching `filter`, at most `limit`, in the filter's order.
pub(crate) fn find_jobs<B: SqlBuilder>(
    owner: u64,
    filter: &JobFilter,
    limit: u32,
) -> StoreResult<B> {
    let mut query = B::new("SELECT * FROM jobs WHERE owner = ");
    query.push_bind_int(to_i64(owner, "owner")?);
    if let Some(state) = &filter.state {
        query.push(" AND state = ").push_bind_text(state.clone());
    }
    if let Some(text) = &filter.name_contains {
        query
            .push(" AND LOWER(name) LIKE ")
            .push_bind_text(like_pattern(text))
            .push(" ESCAPE '\\'");
    }
    if let Some(after) = filter.after {
        query
            .push(if filter.newest_first {
                " AND id < "
            } else {
                " AND id > "
            })
            .push_bind_int(to_i64(after, "id")?);
    }
    query
        .push(if filter.newest_first {
            " ORDER BY id DESC LIMIT "
        } else {
            " ORDER BY id LIMIT "
        })
        .push_bind_int(i64::from(limit));
    Ok(query)
}

/// `%text%` in lower case, with the pattern's own wildcards (`%`, `_`) and `\\` escaped.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for character in text.to_lowercase().chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// Per job of `jobs`, its tasks counted by [`TaskProgress`]'s states.
pub(crate) fn task_progress<B: SqlBuilder>(jobs: &[u64]) -> StoreResult<B> {
    let mut query = B::new(
        "SELECT job_id,
           SUM(CASE WHEN state_name = 'pending' AND rejects = 0 THEN 1 ELSE 0 END) AS queued,
           SUM(CASE WHEN state_name = 'pending' AND rejects > 0 THEN 1 ELSE 0 END) AS rejected,
           SUM(CASE WHEN state_name = 'leased' THEN 1 ELSE 0 END) AS rendering,
           SUM(CASE WHEN state_name IN ('uploaded', 'verifying') THEN 1 ELSE 0 END) AS verifying,
           SUM(CASE WHEN state_name = 'accepted' THEN 1 ELSE 0 END) AS accepted,
           SUM(CASE WHEN state_name = 'failed' THEN 1 ELSE 0 END) AS failed,
           SUM(CASE WHEN state_name = 'cancelled' THEN 1 ELSE 0 END) AS cancelled
         FROM tasks WHERE job_id IN (",
    );
    for (index, job) in jobs.iter().enumerate() {
        if index > 0 {
            query.push(", ");
        }
        query.push_bind_int(to_i64(*job, "job_id")?);
    }
    query.push(") GROUP BY job_id");
    Ok(query)
}

/// Every check of `task`, oldest first (walked by the `(task_id, attempt, escalation)` key).
pub(crate) fn checks_of_task<B: SqlBuilder>(task: u64) -> StoreResult<B> {
    let mut query = B::new("SELECT * FROM checks WHERE task_id = ");
    query
        .push_bind_int(to_i64(task, "task_id")?)
        .push(" AND purpose <> 'probe' ORDER BY id");
    Ok(query)
}

/// One row of [`task_progress`]'s answer.
pub(crate) fn task_progress_row(row: &impl Columns) -> StoreResult<(u64, TaskProgress)> {
    Ok((
        get_u64(row, "job_id")?,
        TaskProgress {
            queued: get_u64(row, "queued")?,
            rejected: get_u64(row, "rejected")?,
            rendering: get_u64(row, "rendering")?,
            verifying: get_u64(row, "verifying")?,
            accepted: get_u64(row, "accepted")?,
            failed: get_u64(row, "failed")?,
            cancelled: get_u64(row, "cancelled")?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(like_pattern("Shot"), "%shot%");
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
