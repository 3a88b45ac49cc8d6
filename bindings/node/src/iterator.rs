//! SDK streams as native iterators: `async next()` answers the next item or `null` at the end, and
//! `close()` drops the stream (and with it the HTTP connection) at once, even while a `next()` is
//! waiting. The JS wrapper turns them into `AsyncIterable`s that honour an `AbortSignal`.
//!
//! No task is spawned: the stream is only polled inside `next()`, so once it is closed and the last
//! `next()` has answered, nothing of it is left running.

use crate::error::ResultExt;
use crate::types::{Job, JobEvent};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use napi_derive::napi;
use tokio::sync::{Mutex, watch};

/// A stream of SDK results that can be closed from another call.
struct Closable<T> {
    stream: Mutex<Option<BoxStream<'static, pictor_sdk::Result<T>>>>,
    closed: watch::Sender<bool>,
}

impl<T: Send + 'static> Closable<T> {
    fn new(stream: BoxStream<'static, pictor_sdk::Result<T>>) -> Self {
        Closable {
            stream: Mutex::new(Some(stream)),
            closed: watch::Sender::new(false),
        }
    }

    /// The next item; `None` at the end, after an error, or once closed.
    async fn next(&self) -> napi::Result<Option<T>> {
        let mut closed = self.closed.subscribe();
        if *closed.borrow_and_update() {
            self.stream.lock().await.take();
            return Ok(None);
        }
        let mut guard = self.stream.lock().await;
        let Some(stream) = guard.as_mut() else {
            return Ok(None);
        };
        let item = tokio::select! {
            biased;
            _ = closed.wait_for(|closed| *closed) => None,
            item = stream.next() => item,
        };
        match item {
            Some(Ok(value)) => Ok(Some(value)),
            Some(Err(error)) => {
                guard.take();
                Err(error).napi()
            }
            None => {
                guard.take();
                Ok(None)
            }
        }
    }

    /// Marks the stream closed and drops it unless a `next()` holds it (which then drops it).
    fn close(&self) {
        self.closed.send_replace(true);
        if let Ok(mut guard) = self.stream.try_lock() {
            guard.take();
        }
    }
}

/// A job's events, from `client.watch(jobId)`: ends after `completed`, `failed` or `cancelled`.
/// Reconnects and resumes after a dropped connection without repeating events.
#[napi]
pub struct EventStream {
    inner: Closable<pictor_core::api::JobEventView>,
}

impl EventStream {
    pub(crate) fn new(
        stream: BoxStream<'static, pictor_sdk::Result<pictor_core::api::JobEventView>>,
    ) -> Self {
        EventStream {
            inner: Closable::new(stream),
        }
    }
}

#[napi]
impl EventStream {
    /// The next event, or `null` once the job ended or the stream was closed.
    #[napi]
    pub async fn next(&self) -> napi::Result<Option<JobEvent>> {
        Ok(self.inner.next().await?.map(Into::into))
    }

    /// Stops the stream and closes its connection; a waiting `next()` answers `null`.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

/// The caller's jobs, newest first, fetched page by page as they are read.
#[napi]
pub struct JobList {
    inner: Closable<pictor_core::api::JobView>,
}

impl JobList {
    pub(crate) fn new(
        stream: BoxStream<'static, pictor_sdk::Result<pictor_core::api::JobView>>,
    ) -> Self {
        JobList {
            inner: Closable::new(stream),
        }
    }
}

#[napi]
impl JobList {
    /// The next job, or `null` after the last.
    #[napi]
    pub async fn next(&self) -> napi::Result<Option<Job>> {
        Ok(self.inner.next().await?.map(Into::into))
    }

    /// Stops listing.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
