//! `GET /v1/jobs/{id}/events`: the job's events as Server-Sent Events (`id:` = seq, `event:` = kind,
//! `data:` = the JSON event), resumable with `Last-Event-ID` or `?after=`. The stream ends after the
//! job's final event; keep-alive comments after 15 quiet seconds. Every stream following one job
//! shares its reads and their encoding (`EventBatch`): a batch of events is one chunk of bytes
//! written to each stream.

use super::AppState;
use super::error::{HttpResult, invalid};
use super::extract::{Auth, Path, Query};
use crate::service::{Caller, EventBatch};
use crate::store::{EVERY_JOB, Store};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use pictor_core::JobId;
use pictor_core::api::{JobEventView, JobEventsQuery};
use std::convert::Infallible;
use std::fmt::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

const BATCH: u32 = 256;
/// The least time between two reads of one stream: events arriving faster are sent together, so
/// a busy job costs each open stream (a job page in a browser) at most two reads and writes a
/// second, and its events still arrive within half a second (the page's goal is one).
const MIN_READ_INTERVAL: Duration = Duration::from_millis(500);
/// A comment line sent after this long without events keeps proxies from closing the stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

struct Cursor<S: Store> {
    state: AppState<S>,
    caller: Caller,
    job: JobId,
    after: u64,
    /// Events read and not sent yet.
    pending: Option<Arc<EventBatch>>,
    notices: broadcast::Receiver<u64>,
    finished: bool,
    /// The job was seen in a final state once (its events are read once more after that).
    job_was_final: bool,
    /// When the stream last woke (a notice, or a timeout): its reads must be newer.
    woken_at: Instant,
    /// When the stream last sent anything.
    sent_at: Instant,
    /// Whether to look at the job's state when a read finds nothing new: at the start (a job that
    /// ended before this connection has no final event to come) and after a quiet timeout, not on
    /// every notice — the final event itself ends the stream.
    check_final: bool,
}

/// The first read tick at or after `at`: ticks fall every [`MIN_READ_INTERVAL`] from one instant
/// for the whole process, so streams woken by one notice read at the same moment.
fn next_tick(at: Instant) -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    let interval = MIN_READ_INTERVAL.as_nanos().max(1);
    let ticks = at
        .saturating_duration_since(base)
        .as_nanos()
        .div_ceil(interval);
    base + MIN_READ_INTERVAL * u32::try_from(ticks).unwrap_or(u32::MAX)
}

/// Events in the `text/event-stream` wire form: `id:` the seq, `event:` the kind, `data:` the
/// JSON (one line: serde_json writes no newlines).
fn encode_events(events: &[JobEventView]) -> Bytes {
    let mut wire = String::new();
    for view in events {
        let data = serde_json::to_string(view).unwrap_or_else(|_| "{}".into());
        let _ = write!(
            wire,
            "id: {}\nevent: {}\ndata: {data}\n\n",
            view.seq,
            view.kind()
        );
    }
    Bytes::from(wire)
}

/// `GET /v1/jobs/{id}/events`: streams the job's events after `Last-Event-ID` (else `?after=`)
/// and ends the stream after a final event.
pub async fn job_events<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(job): Path<JobId>,
    Query(query): Query<JobEventsQuery>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let header_after = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| invalid("Last-Event-ID", "must be an event seq"))?,
        ),
    };
    let after = header_after.or(query.after).unwrap_or(0);
    stream_job_events(state, caller, job, after).await
}

/// The events of `job` after `after` as Server-Sent Events for `caller` (an unknown or foreign job
/// is a 404 before the stream starts), ending after a final event: the API's stream and the web
/// app's live job page share it.
pub(crate) async fn stream_job_events<S: Store>(
    state: AppState<S>,
    caller: Caller,
    job: JobId,
    after: u64,
) -> HttpResult<Response> {
    // Subscribe before the first read so no notice falls between the read and the wait.
    let notices = state.subscribe();
    // Authorise up front: an unknown or foreign job is a 404 before the stream starts.
    let first = state.events_after(&caller, job, after, BATCH).await?;
    let now = Instant::now();
    let cursor = Cursor {
        state,
        caller,
        job,
        after,
        pending: Some(Arc::new(EventBatch::new(first))),
        notices,
        finished: false,
        job_was_final: false,
        woken_at: now,
        sent_at: now,
        check_final: true,
    };
    // Each item is a whole batch of events, encoded once for every stream that shares its read.
    let events = stream::unfold(cursor, |mut cursor| async move {
        loop {
            if let Some(batch) = cursor.pending.take()
                && let Some(last) = batch.events.last()
            {
                cursor.after = last.seq;
                cursor.finished = batch.events.iter().any(|view| view.event.is_final());
                cursor.sent_at = Instant::now();
                return Some((
                    Ok::<Bytes, Infallible>(batch.encoded(encode_events)),
                    cursor,
                ));
            }
            if cursor.finished {
                return None;
            }
            // Streams following the same job share this read (`shared_events_after`).
            match cursor
                .state
                .shared_events_after(cursor.job, cursor.after, BATCH, cursor.woken_at)
                .await
            {
                Ok(more) if !more.events.is_empty() => {
                    cursor.pending = Some(more);
                    continue;
                }
                Ok(_) => {}
                Err(_) => return None,
            }
            if cursor.check_final {
                cursor.check_final = false;
                match cursor.state.get_job(&cursor.caller, cursor.job).await {
                    Ok(view) if view.state.is_final() => {
                        if cursor.job_was_final {
                            // A final job whose final event was sent before this connection.
                            return None;
                        }
                        // The job may have ended between the read of its events and this one:
                        // read its events once more before ending the stream.
                        cursor.job_was_final = true;
                        cursor.check_final = true;
                        cursor.woken_at = Instant::now();
                        continue;
                    }
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
            // Wait for a notice about this job (or re-poll after a while, or when notices lagged).
            let wait = async {
                loop {
                    match cursor.notices.recv().await {
                        Ok(job) if job == cursor.job.0 || job == EVERY_JOB => return,
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(_)) => return,
                        Err(broadcast::error::RecvError::Closed) => {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            return;
                        }
                    }
                }
            };
            if tokio::time::timeout(Duration::from_secs(5), wait)
                .await
                .is_err()
            {
                cursor.check_final = true;
                if cursor.sent_at.elapsed() >= KEEP_ALIVE {
                    cursor.sent_at = Instant::now();
                    cursor.woken_at = Instant::now();
                    return Some((Ok(Bytes::from_static(b":\n\n")), cursor));
                }
            }
            // Events of a busy job are sent together, at most every MIN_READ_INTERVAL, on ticks
            // every stream shares: streams following one job wake together and share one read.
            // The next tick after the one the last read woke on.
            let tick = next_tick(Instant::now().max(cursor.woken_at + Duration::from_nanos(1)));
            tokio::time::sleep_until(tick.into()).await;
            // The read covers every notice that came in meanwhile.
            while !matches!(
                cursor.notices.try_recv(),
                Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
            ) {}
            cursor.woken_at = tick;
        }
    });
    Ok((
        [
            (CONTENT_TYPE, "text/event-stream"),
            (CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(events),
    )
        .into_response())
}
