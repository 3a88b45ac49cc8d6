//! Job events: appended in the same transaction as the change they report, numbered per job, and
//! announced to watchers after the commit. The vocabulary is [`JobEvent`], defined once in
//! `pictor_core::api`.

use super::{Caller, Coordinator, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{EventRow, JobRow, Store};
use bytes::Bytes;
use pictor_core::JobId;
use pictor_core::api::{JobEvent, JobEventView};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Appends `event` to `job` (bumping and saving its sequence and state) in the write's transaction,
/// with the webhook deliveries it calls for (`Coordinator::enqueue_job_webhooks`).
pub(crate) async fn emit<S: Store>(
    coordinator: &Coordinator<S>,
    write: &mut Write<'_, S::Tx>,
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
    coordinator.enqueue_job_webhooks(write, job, &event).await
}

/// Reads of a job's events shared by the streams waiting at the same place: when one job's page is
/// open in 200 browsers, each new event costs one read of the store, not 200. A stream joins a read
/// only if it started after the stream was woken, so no stream is handed an answer older than the
/// notice that woke it.
#[derive(Default)]
pub(crate) struct SharedEventReads {
    in_flight: std::sync::Mutex<HashMap<(u64, u64), (Instant, SharedRead)>>,
}

/// One read's answer, for everyone who joined it.
type SharedRead = Arc<tokio::sync::OnceCell<Result<Arc<EventBatch>, String>>>;

/// Events read once for every stream waiting at the same place, and their wire form, encoded once
/// by the first stream that sends them (`EventBatch::encoded`).
#[derive(Debug, Default)]
pub struct EventBatch {
    /// The events, in order.
    pub events: Vec<JobEventView>,
    encoded: OnceLock<Bytes>,
}

impl EventBatch {
    /// A batch of `events`.
    pub fn new(events: Vec<JobEventView>) -> Self {
        EventBatch {
            events,
            encoded: OnceLock::new(),
        }
    }

    /// The batch as `encode` writes it, encoded by the first caller and shared by the rest.
    pub fn encoded(&self, encode: impl FnOnce(&[JobEventView]) -> Bytes) -> Bytes {
        self.encoded.get_or_init(|| encode(&self.events)).clone()
    }
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
        read_events(&mut tx, job, after, limit).await
    }

    /// The job's events after `after` for a stream that was woken at `woken_at` and whose caller
    /// was already shown to see the job (by [`Coordinator::events_after`]): streams asking for
    /// the same place share one read begun after they were woken.
    pub async fn shared_events_after(
        &self,
        job: JobId,
        after: u64,
        limit: u32,
        woken_at: Instant,
    ) -> ServiceResult<Arc<EventBatch>> {
        let key = (job.0, after);
        let cell = {
            let mut in_flight = self
                .event_reads
                .in_flight
                .lock()
                .map_err(|_| ServiceError::internal(&"the event reads' lock is poisoned"))?;
            match in_flight.get(&key) {
                Some((started, cell)) if *started >= woken_at => cell.clone(),
                _ => {
                    let cell = SharedRead::default();
                    in_flight.insert(key, (Instant::now(), cell.clone()));
                    cell
                }
            }
        };
        let answer = cell
            .get_or_init(|| async {
                let read = async {
                    let mut tx = self.read().await?;
                    read_events(&mut tx, job, after, limit).await
                };
                read.await
                    .map(|events| Arc::new(EventBatch::new(events)))
                    .map_err(|error| error.to_string())
            })
            .await
            .clone();
        if let Ok(mut in_flight) = self.event_reads.in_flight.lock()
            && in_flight
                .get(&key)
                .is_some_and(|(_, current)| Arc::ptr_eq(current, &cell))
        {
            in_flight.remove(&key);
        }
        answer.map_err(|message| ServiceError::internal(&message))
    }
}

/// The job's events after `after`, at most `limit`, read in `tx`.
async fn read_events<T: StoreTx>(
    tx: &mut T,
    job: JobId,
    after: u64,
    limit: u32,
) -> ServiceResult<Vec<JobEventView>> {
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
