//! Job notices between coordinators sharing one database: a write announces the jobs that got
//! events with `pg_notify` (delivered at its commit, `EventsTx::announce_jobs`), and every
//! coordinator listens on the channel and wakes its own event-stream watchers.

use super::PgStore;
use crate::store::{EVERY_JOB, JobWatch};
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio::sync::broadcast;

/// The channel job notices travel on; a payload is job ids, comma-separated.
pub(super) const JOB_NOTICE_CHANNEL: &str = "pictor_job_events";

/// How long the listener waits before connecting again after a failure.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// Starts the listener task of [`PgStore::watch_jobs`](crate::store::Store::watch_jobs).
pub(super) fn watch(store: &PgStore, notices: broadcast::Sender<u64>) -> JobWatch {
    let pool = store.readers.clone();
    JobWatch::new(tokio::spawn(async move {
        loop {
            match listen(&pool, &notices).await {
                Ok(()) => {}
                Err(error) => tracing::warn!(%error, "listening for job notices failed"),
            }
            // Whatever was announced while the connection was down is lost: wake every watcher.
            let _ = notices.send(EVERY_JOB);
            tokio::time::sleep(RECONNECT_PAUSE).await;
        }
    }))
}

/// Listens until the connection is lost (`Ok`) or cannot be made (`Err`).
async fn listen(pool: &sqlx::PgPool, notices: &broadcast::Sender<u64>) -> sqlx::Result<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(JOB_NOTICE_CHANNEL).await?;
    // Connected: anything announced before may have been missed.
    let _ = notices.send(EVERY_JOB);
    while let Some(notice) = listener.try_recv().await? {
        for job in notice.payload().split(',') {
            if let Ok(job) = job.parse::<u64>() {
                // Nobody watching is fine.
                let _ = notices.send(job);
            }
        }
    }
    Ok(())
}
