//! Telling the network what the worker is doing (connected, idle, running its idle command,
//! downloading, rendering or uploading task N, stopped), for its owner's page in Pictor Cloud.
//!
//! Reports go out in order from one background task, each sent once: a lost report only leaves a
//! gap in the owner's timeline, and nothing is paid or scheduled on them. A report equal to the
//! last one sent is not sent again (an idle worker polls every second).

use pictor_core::TaskId;
use pictor_core::api::{WorkerActivity, WorkerActivityReport};
use pictor_sdk::Client;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Reports waiting to be sent; beyond this many the newest are dropped.
const QUEUE: usize = 64;

/// An activity and the task it is about: what is compared with the last report.
type Reported = (WorkerActivity, Option<TaskId>);

/// Sends the worker's activity to the network; cheap to clone.
#[derive(Clone)]
pub(crate) struct ActivityReporter {
    queue: mpsc::Sender<WorkerActivityReport>,
    last: Arc<Mutex<Option<Reported>>>,
}

impl ActivityReporter {
    /// Starts the sender task on `client`; [`ActivityReporter::finish`] ends it.
    pub(crate) fn start(client: Client) -> (Self, JoinHandle<()>) {
        let (queue, mut reports) = mpsc::channel::<WorkerActivityReport>(QUEUE);
        let sender = tokio::spawn(async move {
            while let Some(report) = reports.recv().await {
                if let Err(error) = client.workers().report_activity(report).await {
                    tracing::debug!(%error, "could not report the worker's activity");
                }
            }
        });
        let reporter = ActivityReporter {
            queue,
            last: Arc::default(),
        };
        (reporter, sender)
    }

    /// Reports `activity` (about `task`), unless it is what was reported last.
    pub(crate) fn report(&self, activity: WorkerActivity, task: Option<TaskId>) {
        {
            let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            if *last == Some((activity, task)) {
                return;
            }
            *last = Some((activity, task));
        }
        let report = WorkerActivityReport {
            activity,
            task,
            gpu_utilisation_percent: gpu_utilisation_percent(activity),
        };
        if self.queue.try_send(report).is_err() {
            tracing::debug!("activity reports queued up; one dropped");
        }
    }

    /// Reports `stopped`, then waits (at most 2 s) for the queued reports to go out.
    pub(crate) async fn finish(self, sender: JoinHandle<()>) {
        self.report(WorkerActivity::Stopped, None);
        drop(self);
        let _ = tokio::time::timeout(Duration::from_secs(2), sender).await;
    }
}

/// The GPU's utilisation while rendering, when `nvidia-smi` answers (shown, never trusted).
fn gpu_utilisation_percent(activity: WorkerActivity) -> Option<u8> {
    if activity != WorkerActivity::Rendering {
        return None;
    }
    let output = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=utilization.gpu",
            "--format=csv,noheader,nounits",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()?
        .trim()
        .parse::<u8>()
        .ok()
        .map(|percent| percent.min(100))
}
