//! A job's event stream: Server-Sent Events with reconnection, resumption and de-duplication.

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::sse::{SseEvent, SseParser};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use pictor_core::JobId;
use pictor_core::api::{JobEvent, JobEventView, routes};
use pictor_core::job::JobState;
use std::collections::VecDeque;
use std::pin::Pin;

/// The event kinds after which a job's stream ends ([`JobEvent::FINAL_KINDS`]).
pub const FINAL_EVENT_KINDS: [&str; 3] = JobEvent::FINAL_KINDS;

/// True for `completed`, `failed` and `cancelled` ([`JobEvent::is_final_kind`]).
///
/// ```
/// assert!(pictor_sdk::is_final_event("completed"));
/// assert!(!pictor_sdk::is_final_event("task_accepted"));
/// ```
pub fn is_final_event(kind: &str) -> bool {
    JobEvent::is_final_kind(kind)
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

struct Connection {
    body: ByteStream,
    parser: SseParser,
    /// Events delivered by this connection.
    delivered: u64,
}

struct State {
    client: Client,
    job: JobId,
    last_seq: Option<u64>,
    connection: Option<Connection>,
    pending: VecDeque<SseEvent>,
    /// Consecutive failed connections (reset by any byte received).
    failures: u32,
    finished: bool,
}

/// The stream behind [`Jobs::events`](crate::jobs::Jobs::events).
pub(crate) fn job_events(
    client: Client,
    job: JobId,
    after: Option<u64>,
) -> impl Stream<Item = Result<JobEventView>> + Send + 'static {
    let state = State {
        client,
        job,
        last_seq: after,
        connection: None,
        pending: VecDeque::new(),
        failures: 0,
        finished: false,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    })
}

impl State {
    /// The next event, an error, or `None` at the end.
    async fn next(&mut self) -> Option<Result<JobEventView>> {
        loop {
            if self.finished {
                return None;
            }
            if let Some(raw) = self.pending.pop_front() {
                match self.accept(raw) {
                    Some(Ok(event)) => {
                        if event.event.is_final() {
                            self.finished = true;
                            self.connection = None;
                        }
                        return Some(Ok(event));
                    }
                    Some(Err(error)) => return Some(Err(error)),
                    None => continue, // A duplicate.
                }
            }
            let Some(connection) = &mut self.connection else {
                if let Err(error) = self.connect().await {
                    self.finished = true;
                    return Some(Err(error));
                }
                continue;
            };
            match connection.body.next().await {
                Some(Ok(bytes)) => {
                    self.failures = 0;
                    let events = connection.parser.push(&bytes);
                    connection.delivered += events.len() as u64;
                    self.pending.extend(events);
                }
                Some(Err(error)) => {
                    tracing::debug!(job = %self.job, %error, "event stream broke");
                    self.connection = None;
                    if let Err(error) = self.count_failure(Error::transport(error)) {
                        self.finished = true;
                        return Some(Err(error));
                    }
                }
                None => {
                    let delivered = connection.delivered;
                    self.connection = None;
                    // Closed before a final event. If this connection had nothing to say and the job
                    // is over, everything was delivered before (a resume after the final event).
                    if delivered == 0 {
                        match self
                            .client
                            .json::<pictor_core::api::JobView>(Call::get(routes::job(self.job.0)))
                            .await
                        {
                            Ok(view) if is_final_state(view.state) => {
                                self.finished = true;
                                return None;
                            }
                            _ => {}
                        }
                    }
                    let premature = Error::decode("event stream", "closed before a final event");
                    if let Err(error) = self.count_failure(premature) {
                        self.finished = true;
                        return Some(Err(error));
                    }
                }
            }
        }
    }

    /// Decodes one SSE event; `None` for a duplicate (seq already seen).
    fn accept(&mut self, raw: SseEvent) -> Option<Result<JobEventView>> {
        let event: JobEventView = match serde_json::from_str(&raw.data) {
            Ok(event) => event,
            Err(error) => {
                // Skip past it on resume when its id is readable.
                if let Some(seq) = raw
                    .id
                    .as_deref()
                    .and_then(|id| id.trim().parse::<u64>().ok())
                {
                    self.last_seq = Some(self.last_seq.map_or(seq, |last| last.max(seq)));
                }
                return Some(Err(Error::decode(
                    format!("job event {:?}", raw.event),
                    error,
                )));
            }
        };
        if self.last_seq.is_some_and(|last| event.seq <= last) {
            return None;
        }
        self.last_seq = Some(event.seq);
        Some(Ok(event))
    }

    /// Records a failed or dropped connection; the error once retries are exhausted.
    fn count_failure(&mut self, error: Error) -> Result<()> {
        self.failures += 1;
        if self.failures > self.client.config().retry.max_retries {
            return Err(error);
        }
        Ok(())
    }

    /// Opens a connection after the backoff the failures so far call for.
    async fn connect(&mut self) -> Result<()> {
        loop {
            if self.failures > 0 {
                let delay = self
                    .client
                    .config()
                    .retry
                    .delay_with_hint(self.failures - 1, None);
                tokio::time::sleep(delay).await;
            }
            let mut call = Call::get(routes::job_events(self.job.0))
                .header("accept", "text/event-stream")
                .unbounded()
                .no_retry();
            if let Some(seq) = self.last_seq {
                call = call.header("last-event-id", seq.to_string());
            }
            match self.client.streaming(call).await {
                Ok(response) => {
                    tracing::debug!(job = %self.job, after = ?self.last_seq, "event stream open");
                    self.connection = Some(Connection {
                        body: Box::pin(response.bytes_stream()),
                        parser: SseParser::new(),
                        delivered: 0,
                    });
                    return Ok(());
                }
                Err(error) if error.is_retryable() => self.count_failure(error)?,
                Err(error) => return Err(error),
            }
        }
    }
}

fn is_final_state(state: JobState) -> bool {
    matches!(
        state,
        JobState::Completed | JobState::Failed | JobState::Cancelled
    )
}
