//! Job events: appended in the same transaction as the change they report, numbered per job, and
//! announced to watchers after the commit.

use super::{Caller, Coordinator, ServiceResult, Write};
use crate::clock::now_ms;
use crate::store::{EventRow, JobRow, Store, StoreTx};
use pictor_core::api::JobEventView;

/// Event kinds that end a job's stream.
pub const FINAL_EVENT_KINDS: [&str; 3] = ["completed", "failed", "cancelled"];

/// Appends an event to `job` (bumping and saving its sequence and state) in the write's transaction.
pub(crate) async fn emit<T: StoreTx>(
    write: &mut Write<'_, T>,
    job: &mut JobRow,
    kind: &str,
    data: serde_json::Value,
) -> ServiceResult<()> {
    job.event_seq += 1;
    write
        .tx
        .insert_event(&EventRow {
            job_id: job.id,
            seq: job.event_seq,
            kind: kind.to_string(),
            at_ms: now_ms(),
            data,
        })
        .await?;
    write.tx.update_job(job).await?;
    write.touched(job.id);
    Ok(())
}

impl<S: Store> Coordinator<S> {
    /// The job's events after `after`, at most `limit`, for its creator (or an admin).
    pub async fn events_after(
        &self,
        caller: &Caller,
        job: u64,
        after: u64,
        limit: u32,
    ) -> ServiceResult<Vec<JobEventView>> {
        let mut tx = self.read().await?;
        self.visible_job(&mut tx, caller, job).await?;
        Ok(tx
            .events_after(job, after, limit)
            .await?
            .into_iter()
            .map(|row| JobEventView {
                seq: row.seq,
                kind: row.kind,
                at_ms: row.at_ms,
                data: row.data,
            })
            .collect())
    }
}
