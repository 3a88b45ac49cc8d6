//! What the worker tells whoever runs it (the CLI prints it, the demo draws progress bars).

use std::sync::Arc;

/// What the worker is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerEvent {
    /// Registered with the network as this worker.
    Connected {
        /// The worker's id.
        worker: u64,
    },
    /// The network leased a task to this worker; rendering it starts now.
    Leased {
        /// The task's id; the task's later `Progress`, `Submitted` and `Failed` events name it.
        task: u64,
        /// The job the task belongs to.
        job: u64,
        /// The frames the task renders (for a tile, the still's frame).
        frames: Vec<u32>,
    },
    /// Render progress of a task (per-mille).
    Progress {
        /// The leased task reported on (by a heartbeat, or 1000 once its render is done).
        task: u64,
        /// Done, 0..=1000.
        permille: u16,
    },
    /// The task's signed result was accepted for checking.
    Submitted {
        /// The task whose result the network took; a checker verifies it next.
        task: u64,
    },
    /// The task failed (and was reported failed when the network could be told).
    Failed {
        /// The task whose render or delivery failed; an undelivered result stays in the outbox.
        task: u64,
        /// Why: the renderer's error, or why the result could not be delivered.
        message: String,
    },
    /// No task fits now.
    Idle,
}

/// A callback receiving [`WorkerEvent`]s.
pub type EventCallback = Arc<dyn Fn(WorkerEvent) + Send + Sync>;

/// Where events go: the callback of the worker's options, or nowhere.
#[derive(Clone, Default)]
pub(crate) struct EventSink(pub(crate) Option<EventCallback>);

impl EventSink {
    /// Hands `event` to the callback, if there is one.
    pub(crate) fn emit(&self, event: WorkerEvent) {
        if let Some(callback) = &self.0 {
            callback(event);
        }
    }
}
