//! Job events: appended in the same transaction as the change they report, numbered per job, and
//! announced to watchers after the commit. The vocabulary is [`JobEvent`], defined once in
//! `pictor_core::api`.

use super::{Caller, Coordinator, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{EventRow, JobRow, Store};
use pictor_core::JobId;
use pictor_core::api::{JobEvent, JobEventView};

/// Appends `event` to `job` (bumping and saving its sequence and state) in the write's transaction.
pub(crate) async fn emit<T: StoreTx>(
    write: &mut Write<'_, T>,
    job: &mut JobRow,
    event: JobEvent,
) -> ServiceResult<()> {
    job.event_seq += 1;
    let row = EventRow {
        job_id: job.id,
        seq: job.event_seq,
        kind: event.kind().to_string(),
        at_ms: write.now_ms,
        data: event.data(),
    };
    write.tx.insert_event(&row).await?;
    write.tx.update_job(job).await?;
    write.touched(job.id);
    Ok(())
}

impl<S: Store> Coordinator<S> {
    /// The job's events after `after`, at most `limit`, for its creator (or an admin).
    pub async fn events_after(
        &self,
        caller: &Caller,
        job: JobId,
        after: u64,
        limit: u32,
    ) -> ServiceResult<Vec<JobEventView>> {
        let mut tx = self.read().await?;
        self.visible_job(&mut tx, caller, job).await?;
        tx.events_after(job.0, after, limit)
            .await?
            .into_iter()
            .map(|row| {
                let event = JobEvent::from_parts(&row.kind, row.data)
                    .map_err(|e| ServiceError::internal(&e))?;
                Ok(JobEventView {
                    seq: row.seq,
                    at_ms: row.at_ms,
                    event,
                })
            })
            .collect()
    }
}
