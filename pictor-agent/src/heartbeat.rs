//! Heartbeats: a task's lease is renewed, with the render's progress, while the render runs. The
//! heartbeat also decides when a render must stop early, and says why ([`CancelReason`]).

use crate::events::{EventSink, WorkerEvent};
use crate::retry::is_transient;
use pictor_core::api::TaskLease;
use pictor_core::clock::Clock;
use pictor_render::CancelToken;
use pictor_sdk::Client;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Why a render was cancelled before it finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// The worker is stopping and the render could not finish within its lease: the task is
    /// reported failed so another worker takes it at once.
    ShuttingDown,
    /// The network said the job no longer wants the task (cancelled or paused): dropped quietly.
    NotWanted,
    /// The network refused the heartbeat (the lease moved on, say): dropped quietly.
    LeaseLost(String),
}

impl CancelReason {
    /// True when the network should be told the task failed (only the worker's own stop; in the
    /// other cases the network already knows the task is not this worker's any more).
    pub fn report_failure(&self) -> bool {
        matches!(self, CancelReason::ShuttingDown)
    }
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelReason::ShuttingDown => write!(f, "worker shutting down"),
            CancelReason::NotWanted => {
                write!(f, "the job no longer wants this task (cancelled or paused)")
            }
            CancelReason::LeaseLost(error) => write!(f, "the lease was lost: {error}"),
        }
    }
}

/// The first reason a render was cancelled for, shared between the heartbeat and the executor.
#[derive(Clone, Debug, Default)]
pub(crate) struct CancelSlot(Arc<Mutex<Option<CancelReason>>>);

impl CancelSlot {
    /// Records `reason` unless one was recorded before.
    fn set(&self, reason: CancelReason) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(reason);
        }
    }

    /// The recorded reason, if any.
    pub(crate) fn get(&self) -> Option<CancelReason> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }
}

/// What a heartbeat loop needs: the lease it renews and the render it may cancel.
pub(crate) struct Heartbeat {
    pub(crate) client: Client,
    pub(crate) lease: TaskLease,
    /// The render's progress, per mille, written by the renderer.
    pub(crate) progress: Arc<AtomicU16>,
    pub(crate) cancel: CancelToken,
    /// Set when the render ended; the loop then returns.
    pub(crate) done: Arc<AtomicBool>,
    pub(crate) reason: CancelSlot,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) events: EventSink,
}

impl Heartbeat {
    /// Renews the lease with progress until the render ends. Cancels the render when the network
    /// says the job no longer wants it, when the lease is lost, or on shutdown when the render
    /// cannot end within the lease as it stood.
    pub(crate) async fn run(self) {
        let mut expires_at = self.lease.expires_at_ms;
        let mut shutdown_deadline: Option<u64> = None;
        loop {
            let remaining = expires_at.saturating_sub(self.clock.now_ms());
            let interval = Duration::from_millis((remaining / 4).clamp(250, 5_000));
            tokio::time::sleep(interval).await;
            if self.done.load(Ordering::Relaxed) {
                return;
            }
            if *self.stop.borrow() {
                let deadline = *shutdown_deadline.get_or_insert(expires_at.saturating_sub(2_000));
                if self.clock.now_ms() >= deadline {
                    return self.cancel_for(CancelReason::ShuttingDown);
                }
            }
            let permille = self.progress.load(Ordering::Relaxed);
            let beat = self
                .client
                .workers()
                .heartbeat(self.lease.task, self.lease.attempt, permille)
                .await;
            match beat {
                Ok(renewal) => {
                    if shutdown_deadline.is_none() {
                        expires_at = renewal.expires_at_ms;
                    }
                    self.events.emit(WorkerEvent::Progress {
                        task: self.lease.task.0,
                        permille,
                    });
                    if !renewal.keep_going {
                        return self.cancel_for(CancelReason::NotWanted);
                    }
                }
                Err(error) if is_transient(&error) => {
                    tracing::warn!(task = self.lease.task.0, %error, "heartbeat failed; still rendering");
                }
                Err(error) => return self.cancel_for(CancelReason::LeaseLost(error.to_string())),
            }
        }
    }

    fn cancel_for(&self, reason: CancelReason) {
        self.reason.set(reason);
        self.cancel.cancel();
    }
}
