//! The job events a creator follows: one variant per kind, with typed fields.
//!
//! This enum is the one definition of the event vocabulary. The coordinator emits it, stores it
//! (kind and data), streams it over SSE (`event:` the kind, `data:` the [`JobEventView`] JSON), the
//! SDK yields it, and the Python stubs, the Node typings and the OpenAPI document are checked
//! against it. On the wire an event is `{"seq", "at_ms", "kind", "data"}`: `kind` is the variant's
//! snake_case name and `data` its fields.
//!
//! ```
//! use pictor_core::api::{JobEvent, JobEventView};
//! use pictor_core::TaskId;
//! let json = r#"{"seq": 3, "at_ms": 10, "kind": "completed", "data": {"frames": 24}}"#;
//! let view: JobEventView = serde_json::from_str(json)?;
//! assert_eq!(view.event, JobEvent::Completed { frames: 24 });
//! assert!(view.event.is_final());
//! assert_eq!(view.event.kind(), "completed");
//! # Ok::<(), serde_json::Error>(())
//! ```

use super::{PauseReason, TaskOutput};
use crate::ids::{CheckerId, TaskId, WorkerId};
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// Something that happened to a job, as its creator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum JobEvent {
    /// The job was accepted: its escrow is held and its tasks queued.
    Submitted {
        /// Tasks the job was split into.
        tasks: u32,
        /// Money moved from the creator's balance into the job's escrow.
        escrow_hold: Money,
        /// The scheduling strategy that priced it.
        strategy: String,
    },
    /// A worker leased the job's first task.
    Started {},
    /// A worker leased a pending task (its first lease or a retry); the worker must now heartbeat
    /// to keep the lease.
    TaskLeased {
        /// The task leased: the id the worker's heartbeats, result and failure report name.
        task: TaskId,
        /// The worker that holds the lease.
        worker: WorkerId,
        /// The lease's attempt (fencing token).
        attempt: u32,
        /// The frames the task renders.
        frames: Vec<u32>,
    },
    /// A worker reported progress on a task (with each heartbeat).
    TaskProgress {
        /// The task the heartbeat was for; its lease now lapses `lease_ttl_ms` after `at_ms`.
        task: TaskId,
        /// The worker holding the task's lease, which sent the heartbeat.
        worker: WorkerId,
        /// Progress, per mille (0..=1000).
        progress_permille: u16,
    },
    /// A worker delivered a task's signed result; it waits for a checker.
    TaskUploaded {
        /// The task whose result arrived; it is now `verifying` and a check for it is queued.
        task: TaskId,
        /// The worker that rendered it.
        worker: WorkerId,
        /// The worker's wall-clock render time, ms (as reported, not trusted).
        render_ms: u64,
        /// The outputs, one per frame (or the task's tile).
        outputs: Vec<TaskOutput>,
    },
    /// A checker accepted a task's result: its frames are delivered and its hold paid out.
    TaskAccepted {
        /// The task accepted; `GET /v1/jobs/{id}/frames` lists its outputs under this id.
        task: TaskId,
        /// The worker that rendered the result; its earnings get the worker's share of `cost`.
        worker: WorkerId,
        /// The checker whose accept verdict settled the task; it earns the checker's fee.
        checker: CheckerId,
        /// What the task cost the creator.
        cost: Money,
        /// The frames now downloadable.
        frames: Vec<u32>,
    },
    /// A checker rejected a task's result (or could not decide): the task is rendered again.
    TaskRejected {
        /// The task rejected: queued again with its next attempt, or failed if out of attempts.
        task: TaskId,
        /// The worker whose result was rejected.
        worker: WorkerId,
        /// The checker whose verdict (a reject, or an escalation past the cap) ended the check.
        checker: CheckerId,
        /// The checker's reasons, as JSON text.
        reason: String,
        /// Whether the worker is now barred from the job.
        worker_blocked: bool,
        /// True when escalations ran out without a decision: not counted against the worker.
        inconclusive: bool,
    },
    /// A checker asked for a second check with more evidence.
    TaskEscalated {
        /// The task whose result is checked again; it stays `verifying` until a later verdict.
        task: TaskId,
        /// How many times the result has been escalated.
        escalation: u32,
    },
    /// A worker reported it could not render a task; the task is queued again (or fails).
    TaskFailed {
        /// The task given up on: queued again with its next attempt, or failed if out of attempts.
        task: TaskId,
        /// The worker that held the lease; the failure counts against it in this job.
        worker: WorkerId,
        /// The worker's reason.
        message: String,
    },
    /// A task's lease lapsed without a result; the task is queued again (or fails).
    TaskExpired {
        /// The task whose lease lapsed; a late heartbeat or result of that lease is refused.
        task: TaskId,
        /// The worker that held the lease.
        worker: Option<WorkerId>,
    },
    /// The job stopped taking new leases.
    Paused {
        /// Who or what paused it.
        reason: PauseReason,
        /// For a pause for funds: how much more the creator must deposit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        short: Option<Money>,
    },
    /// The job takes leases again.
    Resumed {
        /// What it was paused for.
        reason: PauseReason,
    },
    /// The creator asked for frames again; their accepted outputs were withdrawn.
    Rerender {
        /// Every frame of the accepted tasks that held the requested frames (a whole chunk or still
        /// is redone), ascending, without duplicates.
        frames: Vec<u32>,
    },
    /// Every task was accepted. Final.
    Completed {
        /// Frames (or tiles) delivered.
        frames: u64,
    },
    /// A task ran out of attempts, so the job failed; its open holds returned. Final.
    Failed {
        /// The task that ran out of attempts (its last `task_failed`, `task_expired` or
        /// `task_rejected` event came just before this one).
        task: TaskId,
        /// Attempts it had.
        attempts: u32,
        /// The last failure's reason.
        reason: String,
    },
    /// The creator cancelled the job; its open holds returned. Final.
    Cancelled {},
}

impl JobEvent {
    /// Every kind, in the order of the enum: the vocabulary the typings and documents list.
    pub const KINDS: [&'static str; 16] = [
        "submitted",
        "started",
        "task_leased",
        "task_progress",
        "task_uploaded",
        "task_accepted",
        "task_rejected",
        "task_escalated",
        "task_failed",
        "task_expired",
        "paused",
        "resumed",
        "rerender",
        "completed",
        "failed",
        "cancelled",
    ];

    /// The kinds that end a job's event stream.
    pub const FINAL_KINDS: [&'static str; 3] = ["completed", "failed", "cancelled"];

    /// The event's kind: its wire name (`task_accepted`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            JobEvent::Submitted { .. } => "submitted",
            JobEvent::Started {} => "started",
            JobEvent::TaskLeased { .. } => "task_leased",
            JobEvent::TaskProgress { .. } => "task_progress",
            JobEvent::TaskUploaded { .. } => "task_uploaded",
            JobEvent::TaskAccepted { .. } => "task_accepted",
            JobEvent::TaskRejected { .. } => "task_rejected",
            JobEvent::TaskEscalated { .. } => "task_escalated",
            JobEvent::TaskFailed { .. } => "task_failed",
            JobEvent::TaskExpired { .. } => "task_expired",
            JobEvent::Paused { .. } => "paused",
            JobEvent::Resumed { .. } => "resumed",
            JobEvent::Rerender { .. } => "rerender",
            JobEvent::Completed { .. } => "completed",
            JobEvent::Failed { .. } => "failed",
            JobEvent::Cancelled {} => "cancelled",
        }
    }

    /// True for the events that end a job (completed, failed, cancelled): nothing follows them.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            JobEvent::Completed { .. } | JobEvent::Failed { .. } | JobEvent::Cancelled {}
        )
    }

    /// True when `kind` names a final event.
    pub fn is_final_kind(kind: &str) -> bool {
        Self::FINAL_KINDS.contains(&kind)
    }

    /// The event's fields as JSON (the wire's `data`).
    pub fn data(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.remove("data").unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        }
    }

    /// Rebuilds an event from its kind and data (as stored).
    pub fn from_parts(kind: &str, data: serde_json::Value) -> crate::Result<JobEvent> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "data": data }))
            .map_err(|e| crate::Error::invalid("event", format!("not a {kind:?} job event: {e}")))
    }

    /// The task the event is about, if it is about one.
    pub fn task(&self) -> Option<TaskId> {
        match self {
            JobEvent::TaskLeased { task, .. }
            | JobEvent::TaskProgress { task, .. }
            | JobEvent::TaskUploaded { task, .. }
            | JobEvent::TaskAccepted { task, .. }
            | JobEvent::TaskRejected { task, .. }
            | JobEvent::TaskEscalated { task, .. }
            | JobEvent::TaskFailed { task, .. }
            | JobEvent::TaskExpired { task, .. }
            | JobEvent::Failed { task, .. } => Some(*task),
            _ => None,
        }
    }

    /// The worker the event names, if any.
    pub fn worker(&self) -> Option<WorkerId> {
        match self {
            JobEvent::TaskLeased { worker, .. }
            | JobEvent::TaskProgress { worker, .. }
            | JobEvent::TaskUploaded { worker, .. }
            | JobEvent::TaskAccepted { worker, .. }
            | JobEvent::TaskRejected { worker, .. }
            | JobEvent::TaskFailed { worker, .. } => Some(*worker),
            JobEvent::TaskExpired { worker, .. } => *worker,
            _ => None,
        }
    }
}

/// One event of a job's stream, as `GET /v1/jobs/{id}/events` sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JobEventView {
    /// Sequence number within the job, from 1; resume with `Last-Event-ID: seq`.
    pub seq: u64,
    /// Unix time, ms.
    pub at_ms: u64,
    /// What happened (on the wire: `kind` and `data`).
    #[serde(flatten)]
    pub event: JobEvent,
}

impl JobEventView {
    /// The event's kind (`task_accepted`, …).
    pub fn kind(&self) -> &'static str {
        self.event.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of_each() -> Vec<JobEvent> {
        let task = TaskId(1);
        let worker = WorkerId(2);
        vec![
            JobEvent::Submitted {
                tasks: 3,
                escrow_hold: Money::from_micros(5),
                strategy: "cost-under-deadline".into(),
            },
            JobEvent::Started {},
            JobEvent::TaskLeased {
                task,
                worker,
                attempt: 1,
                frames: vec![1, 2],
            },
            JobEvent::TaskProgress {
                task,
                worker,
                progress_permille: 500,
            },
            JobEvent::TaskUploaded {
                task,
                worker,
                render_ms: 9,
                outputs: vec![TaskOutput::new(1, "ab", 3)],
            },
            JobEvent::TaskAccepted {
                task,
                worker,
                checker: CheckerId(4),
                cost: Money::from_micros(7),
                frames: vec![1],
            },
            JobEvent::TaskRejected {
                task,
                worker,
                checker: CheckerId(4),
                reason: "[]".into(),
                worker_blocked: true,
                inconclusive: false,
            },
            JobEvent::TaskEscalated {
                task,
                escalation: 1,
            },
            JobEvent::TaskFailed {
                task,
                worker,
                message: "out of memory".into(),
            },
            JobEvent::TaskExpired { task, worker: None },
            JobEvent::Paused {
                reason: PauseReason::Funds,
                short: Some(Money::from_micros(1)),
            },
            JobEvent::Resumed {
                reason: PauseReason::Creator,
            },
            JobEvent::Rerender { frames: vec![2] },
            JobEvent::Completed { frames: 2 },
            JobEvent::Failed {
                task,
                attempts: 5,
                reason: "crash".into(),
            },
            JobEvent::Cancelled {},
        ]
    }

    #[test]
    fn kinds_list_every_variant_in_order_and_round_trip() {
        let events = one_of_each();
        let kinds: Vec<&str> = events.iter().map(JobEvent::kind).collect();
        assert_eq!(kinds, JobEvent::KINDS);
        for event in events {
            let json = serde_json::to_value(&event).expect("serialise");
            assert_eq!(json["kind"], event.kind());
            let back = JobEvent::from_parts(event.kind(), event.data()).expect("parse");
            assert_eq!(back, event);
            assert_eq!(event.is_final(), JobEvent::is_final_kind(event.kind()));
        }
    }

    #[test]
    fn a_view_is_flat_on_the_wire() {
        let view = JobEventView {
            seq: 2,
            at_ms: 10,
            event: JobEvent::Cancelled {},
        };
        let json = serde_json::to_value(&view).expect("serialise");
        assert_eq!(
            json,
            serde_json::json!({"seq": 2, "at_ms": 10, "kind": "cancelled", "data": {}})
        );
        let back: JobEventView = serde_json::from_value(json).expect("parse");
        assert_eq!(back, view);
    }

    #[test]
    fn an_unknown_kind_is_refused() {
        assert!(JobEvent::from_parts("task_requeued", serde_json::json!({})).is_err());
    }
}
