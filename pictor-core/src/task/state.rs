//! The task state machine (ARCHITECTURE.md §5) as a pure transition function.
//!
//! ```text
//! Pending(n) --lease--> Leased(n) --upload--> Uploaded(n) --start_verify--> Verifying(n) --accept--> Accepted
//!     ^                   |  |                                                  |
//!     |   expire / fail   |  | heartbeat (extends the lease)                    | reject
//!     +-------------------+  +--------------------------------------------------+--> Pending(n+1)
//! ```
//! The attempt number `n` is the **fencing token**: a lease hands it out, and every later call from
//! that worker (heartbeat, upload, fail) must present it. When a lease expires the task returns to
//! `Pending(n+1)`, so a slow worker that wakes up later presents `n` and is refused — a result is
//! committed exactly once. After `max_attempts` attempts the task fails for good.

use crate::error::{Error, Result};
use crate::ids::{JobId, TaskId, WorkerId};
use crate::task::TaskWork;
use serde::{Deserialize, Serialize};

/// Retry caps and lease lengths. Documented defaults: 2-minute leases, 5 attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPolicy {
    /// How long a lease lasts without a heartbeat, in milliseconds.
    pub lease_ttl_ms: u64,
    /// Attempts (leases) after which a task fails instead of returning to `Pending`.
    pub max_attempts: u32,
}

impl Default for TaskPolicy {
    fn default() -> Self {
        TaskPolicy {
            lease_ttl_ms: 120_000,
            max_attempts: 5,
        }
    }
}

/// Where a task is in its life. `attempt` counts leases from 1 and doubles as the fencing token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum TaskState {
    /// Waiting for a worker; the next lease will be attempt `attempt`.
    Pending {
        /// The attempt the next lease gets.
        attempt: u32,
    },
    /// A worker holds the task until `expires_at_ms`.
    Leased {
        /// The lease's attempt number (fencing token).
        attempt: u32,
        /// The worker holding the lease.
        worker: WorkerId,
        /// Unix time in ms when the lease lapses without a heartbeat.
        expires_at_ms: u64,
    },
    /// The worker uploaded its result.
    Uploaded {
        /// Attempt that produced the result.
        attempt: u32,
        /// The worker that rendered it.
        worker: WorkerId,
        /// BLAKE3 hex of the uploaded output.
        output_hash: String,
    },
    /// A checker is verifying the result.
    Verifying {
        /// Attempt that produced the result.
        attempt: u32,
        /// The worker that rendered it.
        worker: WorkerId,
        /// BLAKE3 hex of the uploaded output.
        output_hash: String,
    },
    /// Verified; the worker gets paid. Final.
    Accepted {
        /// Attempt that produced the result.
        attempt: u32,
        /// The worker that rendered it.
        worker: WorkerId,
        /// BLAKE3 hex of the accepted output.
        output_hash: String,
    },
    /// Gave up after too many attempts. Final.
    Failed {
        /// Attempts used.
        attempts: u32,
        /// The last failure's cause.
        reason: String,
    },
    /// The job was cancelled. Final.
    Cancelled,
}

/// Something that happens to a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum TaskEvent {
    /// A worker takes the task.
    Lease {
        /// The worker taking the lease; it becomes the task's holder until the lease ends.
        worker: WorkerId,
        /// Current Unix time in ms.
        now_ms: u64,
    },
    /// The lease holder is alive; the lease is extended.
    Heartbeat {
        /// Fencing token presented.
        attempt: u32,
        /// Current Unix time in ms.
        now_ms: u64,
    },
    /// The clock passed; an overdue lease lapses.
    Expire {
        /// Current Unix time in ms.
        now_ms: u64,
    },
    /// The lease holder reports it could not render.
    Fail {
        /// Fencing token presented.
        attempt: u32,
        /// The worker's message; the task's failure reason if this was its last attempt.
        reason: String,
    },
    /// The lease holder uploads its result.
    Upload {
        /// Fencing token presented.
        attempt: u32,
        /// BLAKE3 hex of the output.
        output_hash: String,
    },
    /// A checker starts verifying.
    StartVerify,
    /// The checker accepts the result.
    Accept,
    /// The checker rejects the result; the task goes back to the queue.
    Reject {
        /// The verdict's summary.
        reason: String,
    },
    /// The job is cancelled (or failed): any task not yet final becomes `Cancelled`.
    Cancel,
}

impl TaskEvent {
    fn name(&self) -> &'static str {
        match self {
            TaskEvent::Lease { .. } => "lease",
            TaskEvent::Heartbeat { .. } => "heartbeat",
            TaskEvent::Expire { .. } => "expire",
            TaskEvent::Fail { .. } => "fail",
            TaskEvent::Upload { .. } => "upload",
            TaskEvent::StartVerify => "start_verify",
            TaskEvent::Accept => "accept",
            TaskEvent::Reject { .. } => "reject",
            TaskEvent::Cancel => "cancel",
        }
    }
}

impl TaskState {
    /// The state of a new task: pending, its first lease to be attempt 1.
    pub const NEW: TaskState = TaskState::Pending { attempt: 1 };

    /// The state's name (`pending`, `leased`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            TaskState::Pending { .. } => "pending",
            TaskState::Leased { .. } => "leased",
            TaskState::Uploaded { .. } => "uploaded",
            TaskState::Verifying { .. } => "verifying",
            TaskState::Accepted { .. } => "accepted",
            TaskState::Failed { .. } => "failed",
            TaskState::Cancelled => "cancelled",
        }
    }

    /// True for `Accepted`, `Failed` and `Cancelled`.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TaskState::Accepted { .. } | TaskState::Failed { .. } | TaskState::Cancelled
        )
    }

    /// The worker currently responsible for the task, if any.
    pub fn worker(&self) -> Option<WorkerId> {
        match self {
            TaskState::Leased { worker, .. }
            | TaskState::Uploaded { worker, .. }
            | TaskState::Verifying { worker, .. }
            | TaskState::Accepted { worker, .. } => Some(*worker),
            _ => None,
        }
    }

    /// Applies `event`, returning the next state or a typed error (the current state is untouched:
    /// this is a pure function).
    pub fn apply(&self, event: &TaskEvent, policy: &TaskPolicy) -> Result<TaskState> {
        let illegal = || Error::IllegalTransition {
            entity: "task",
            state: self.name().to_string(),
            event: event.name().to_string(),
        };
        let check_token = |current: u32, presented: u32| {
            if current == presented {
                Ok(())
            } else {
                Err(Error::StaleFencingToken {
                    current: u64::from(current),
                    presented: u64::from(presented),
                })
            }
        };
        // After attempt `attempt` ends without success: retry or give up.
        let retry = |attempt: u32, reason: &str| {
            if attempt >= policy.max_attempts {
                TaskState::Failed {
                    attempts: attempt,
                    reason: reason.to_string(),
                }
            } else {
                TaskState::Pending {
                    attempt: attempt + 1,
                }
            }
        };
        match (self, event) {
            (_, TaskEvent::Cancel) if !self.is_final() => Ok(TaskState::Cancelled),
            (TaskState::Pending { attempt }, TaskEvent::Lease { worker, now_ms }) => {
                Ok(TaskState::Leased {
                    attempt: *attempt,
                    worker: *worker,
                    expires_at_ms: now_ms.saturating_add(policy.lease_ttl_ms),
                })
            }
            (
                TaskState::Leased {
                    attempt, worker, ..
                },
                TaskEvent::Heartbeat {
                    attempt: presented,
                    now_ms,
                },
            ) => {
                check_token(*attempt, *presented)?;
                Ok(TaskState::Leased {
                    attempt: *attempt,
                    worker: *worker,
                    expires_at_ms: now_ms.saturating_add(policy.lease_ttl_ms),
                })
            }
            (
                TaskState::Leased {
                    attempt,
                    expires_at_ms,
                    ..
                },
                TaskEvent::Expire { now_ms },
            ) => {
                if now_ms < expires_at_ms {
                    return Err(illegal());
                }
                Ok(retry(*attempt, "lease expired"))
            }
            (
                TaskState::Leased { attempt, .. },
                TaskEvent::Fail {
                    attempt: presented,
                    reason,
                },
            ) => {
                check_token(*attempt, *presented)?;
                Ok(retry(*attempt, reason))
            }
            (
                TaskState::Leased {
                    attempt, worker, ..
                },
                TaskEvent::Upload {
                    attempt: presented,
                    output_hash,
                },
            ) => {
                check_token(*attempt, *presented)?;
                Ok(TaskState::Uploaded {
                    attempt: *attempt,
                    worker: *worker,
                    output_hash: output_hash.clone(),
                })
            }
            // Any other holder of a token (a worker whose lease was lost) is refused as stale.
            (
                TaskState::Pending { attempt }
                | TaskState::Uploaded { attempt, .. }
                | TaskState::Verifying { attempt, .. },
                TaskEvent::Heartbeat {
                    attempt: presented, ..
                }
                | TaskEvent::Upload {
                    attempt: presented, ..
                }
                | TaskEvent::Fail {
                    attempt: presented, ..
                },
            ) if presented != attempt => Err(Error::StaleFencingToken {
                current: u64::from(*attempt),
                presented: u64::from(*presented),
            }),
            (
                TaskState::Uploaded {
                    attempt,
                    worker,
                    output_hash,
                },
                TaskEvent::StartVerify,
            ) => Ok(TaskState::Verifying {
                attempt: *attempt,
                worker: *worker,
                output_hash: output_hash.clone(),
            }),
            (
                TaskState::Verifying {
                    attempt,
                    worker,
                    output_hash,
                },
                TaskEvent::Accept,
            ) => Ok(TaskState::Accepted {
                attempt: *attempt,
                worker: *worker,
                output_hash: output_hash.clone(),
            }),
            (TaskState::Verifying { attempt, .. }, TaskEvent::Reject { reason }) => {
                Ok(retry(*attempt, reason))
            }
            _ => Err(illegal()),
        }
    }
}

/// A task: its place in the job, what it renders, and its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The task's id.
    pub id: TaskId,
    /// The job it belongs to; with `index` it places the task in the job's split.
    pub job: JobId,
    /// Position in the job's split (merge order for tiles).
    pub index: u32,
    /// What it renders.
    pub work: TaskWork,
    /// Where it is in its life.
    pub state: TaskState,
}

impl Task {
    /// A new task of `job`, `Pending` for its first attempt (`TaskState::NEW`).
    pub fn new(id: TaskId, job: JobId, index: u32, work: TaskWork) -> Self {
        Task {
            id,
            job,
            index,
            work,
            state: TaskState::NEW,
        }
    }

    /// Applies `event` to the task's state, in place only when it is legal.
    pub fn apply(&mut self, event: &TaskEvent, policy: &TaskPolicy) -> Result<()> {
        self.state = self.state.apply(event, policy)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const W1: WorkerId = WorkerId(1);
    const W2: WorkerId = WorkerId(2);

    fn policy() -> TaskPolicy {
        TaskPolicy {
            lease_ttl_ms: 1_000,
            max_attempts: 3,
        }
    }

    fn step(state: &TaskState, event: TaskEvent) -> TaskState {
        state.apply(&event, &policy()).expect("legal transition")
    }

    #[test]
    fn happy_path() {
        let leased = step(
            &TaskState::NEW,
            TaskEvent::Lease {
                worker: W1,
                now_ms: 0,
            },
        );
        let leased = step(
            &leased,
            TaskEvent::Heartbeat {
                attempt: 1,
                now_ms: 900,
            },
        );
        assert!(matches!(
            leased,
            TaskState::Leased {
                expires_at_ms: 1_900,
                ..
            }
        ));
        let uploaded = step(
            &leased,
            TaskEvent::Upload {
                attempt: 1,
                output_hash: "ab".into(),
            },
        );
        let verifying = step(&uploaded, TaskEvent::StartVerify);
        let accepted = step(&verifying, TaskEvent::Accept);
        assert!(accepted.is_final());
        assert_eq!(accepted.worker(), Some(W1));
    }

    #[test]
    fn expired_lease_fences_out_the_old_worker() {
        let leased = step(
            &TaskState::NEW,
            TaskEvent::Lease {
                worker: W1,
                now_ms: 0,
            },
        );
        // Too early to expire.
        assert!(matches!(
            leased.apply(&TaskEvent::Expire { now_ms: 999 }, &policy()),
            Err(Error::IllegalTransition { .. })
        ));
        let pending = step(&leased, TaskEvent::Expire { now_ms: 1_000 });
        assert_eq!(pending, TaskState::Pending { attempt: 2 });
        let leased_again = step(
            &pending,
            TaskEvent::Lease {
                worker: W2,
                now_ms: 1_000,
            },
        );
        let late_upload = TaskEvent::Upload {
            attempt: 1,
            output_hash: "old".into(),
        };
        assert_eq!(
            leased_again.apply(&late_upload, &policy()),
            Err(Error::StaleFencingToken {
                current: 2,
                presented: 1
            })
        );
        // Also refused while pending or after the new holder uploaded.
        assert!(matches!(
            pending.apply(&late_upload, &policy()),
            Err(Error::StaleFencingToken { .. })
        ));
    }

    #[test]
    fn retries_are_capped() {
        let mut state = TaskState::NEW;
        for attempt in 1..=3 {
            state = step(
                &state,
                TaskEvent::Lease {
                    worker: W1,
                    now_ms: 0,
                },
            );
            state = step(
                &state,
                TaskEvent::Fail {
                    attempt,
                    reason: "gpu fell off the bus".into(),
                },
            );
        }
        assert_eq!(
            state,
            TaskState::Failed {
                attempts: 3,
                reason: "gpu fell off the bus".into()
            }
        );
    }

    #[test]
    fn reject_requeues_and_illegal_events_are_typed_errors() {
        let mut task = Task::new(TaskId(1), JobId(1), 0, TaskWork::Frames { frames: vec![1] });
        let p = policy();
        task.apply(
            &TaskEvent::Lease {
                worker: W1,
                now_ms: 0,
            },
            &p,
        )
        .expect("lease");
        task.apply(
            &TaskEvent::Upload {
                attempt: 1,
                output_hash: "x".into(),
            },
            &p,
        )
        .expect("upload");
        assert!(
            task.apply(&TaskEvent::Accept, &p).is_err(),
            "must verify first"
        );
        task.apply(&TaskEvent::StartVerify, &p).expect("verify");
        task.apply(
            &TaskEvent::Reject {
                reason: "noise".into(),
            },
            &p,
        )
        .expect("reject");
        assert_eq!(task.state, TaskState::Pending { attempt: 2 });
        let before = task.clone();
        let err = task
            .apply(&TaskEvent::StartVerify, &p)
            .expect_err("illegal");
        assert_eq!(
            err,
            Error::IllegalTransition {
                entity: "task",
                state: "pending".into(),
                event: "start_verify".into()
            }
        );
        assert_eq!(task, before, "a refused event changes nothing");
        task.apply(&TaskEvent::Cancel, &p).expect("cancel");
        assert!(
            task.apply(&TaskEvent::Cancel, &p).is_err(),
            "final states are final"
        );
    }

    fn arb_event() -> impl Strategy<Value = TaskEvent> {
        let worker = (1u64..3).prop_map(WorkerId);
        let attempt = 0u32..5;
        let now = 0u64..5_000;
        prop_oneof![
            (worker, now.clone()).prop_map(|(worker, now_ms)| TaskEvent::Lease { worker, now_ms }),
            (attempt.clone(), now.clone())
                .prop_map(|(attempt, now_ms)| TaskEvent::Heartbeat { attempt, now_ms }),
            now.prop_map(|now_ms| TaskEvent::Expire { now_ms }),
            attempt.clone().prop_map(|attempt| TaskEvent::Fail {
                attempt,
                reason: "x".into()
            }),
            attempt.prop_map(|attempt| TaskEvent::Upload {
                attempt,
                output_hash: "h".into()
            }),
            Just(TaskEvent::StartVerify),
            Just(TaskEvent::Accept),
            Just(TaskEvent::Reject { reason: "r".into() }),
            Just(TaskEvent::Cancel),
        ]
    }

    fn attempt_of(state: &TaskState) -> u32 {
        match state {
            TaskState::Pending { attempt }
            | TaskState::Leased { attempt, .. }
            | TaskState::Uploaded { attempt, .. }
            | TaskState::Verifying { attempt, .. }
            | TaskState::Accepted { attempt, .. } => *attempt,
            TaskState::Failed { attempts, .. } => *attempts,
            TaskState::Cancelled => u32::MAX,
        }
    }

    proptest! {
        #[test]
        fn invariants_hold_for_any_event_sequence(events in prop::collection::vec(arb_event(), 0..60)) {
            let p = policy();
            let mut state = TaskState::NEW;
            let mut accepted_results = 0;
            for event in events {
                if let Ok(next) = state.apply(&event, &p) {
                        // Attempts never go backwards, never exceed the cap.
                        if !matches!(next, TaskState::Cancelled) {
                            prop_assert!(attempt_of(&next) >= attempt_of(&state));
                            prop_assert!(attempt_of(&next) <= p.max_attempts);
                        }
                        // Only the current token can move a lease forward.
                        if let TaskEvent::Upload { attempt, .. } = &event {
                            prop_assert_eq!(*attempt, attempt_of(&state));
                        }
                        if matches!(next, TaskState::Accepted { .. }) {
                            accepted_results += 1;
                        }
                        if state.is_final() {
                            prop_assert!(false, "a final state moved: {:?} -> {:?}", state, next);
                        }
                        state = next;
                }
            }
            prop_assert!(accepted_results <= 1, "a task is accepted at most once");
        }
    }
}
