//! The rows of the store, typed with `pictor-core`'s domain types.

use pictor_core::Money;
use pictor_core::api::{PauseReason, Role, TaskOutput, Verdict, WorkerHardware};
use pictor_core::job::{JobSpec, JobState, Tier};
use pictor_core::pricing::Quote;
use pictor_core::task::{TaskState, TaskWork};
use serde::{Deserialize, Serialize};

/// An account: who an API key acts for (its keys are stored elsewhere, only as hashes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    /// Its id, assigned on insertion; a worker or checker account's id is also its worker or
    /// checker id.
    pub id: u64,
    /// The role its API key acts in, fixed at creation: it decides which routes the key may call.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// Creation time, Unix ms.
    pub created_at_ms: u64,
}

/// A registered worker (one per worker account).
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerRow {
    /// The worker account's id (also the worker id).
    pub account_id: u64,
    /// Display name.
    pub name: String,
    /// ed25519 public key.
    pub public_key: [u8; 32],
    /// Hardware and renderers.
    pub hardware: WorkerHardware,
    /// Price per bench-hour.
    pub price: Money,
    /// Speed in thousandths of the reference machine, as the worker declared it.
    pub speed_millis: u32,
    /// Tasks it may hold leases on at once.
    pub slots: u32,
    /// Last request, Unix ms.
    pub last_seen_ms: u64,
    /// What its accepted tasks measured (kept across re-registrations).
    pub record: WorkRecord,
    /// The cheapest service tier whose jobs it takes.
    pub min_tier: Tier,
    /// A render farm's queue delay in seconds; `None` for a single machine.
    pub queue_delay_secs: Option<u32>,
}

/// What a worker's accepted tasks measured: the network's own evidence of its speed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkRecord {
    /// Accepted tasks.
    pub accepted_tasks: u64,
    /// Their estimated work, bench-milliseconds.
    pub bench_ms: u64,
    /// Wall-clock milliseconds from each lease to its result, summed.
    pub wall_ms: u64,
}

/// A job still being split into tasks, batch by batch (see `service::batches`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitRow {
    /// The job being split; the row is deleted once every task is inserted or the job ends.
    pub job_id: u64,
    /// The split index of the next task to insert.
    pub next_index: u32,
    /// How many tasks the job splits into.
    pub total: u32,
    /// Every task's hold, in split order.
    pub holds: Vec<Money>,
    /// Generation of the pending transfer reserving the holds of the tasks not inserted yet.
    pub reservation_generation: u32,
}

/// Which of an owner's jobs a listing shows, in which order, from where.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs in this state (its stored name, e.g. `running`).
    pub state: Option<String>,
    /// Only jobs whose name holds this text (case-insensitive for ASCII letters).
    pub name_contains: Option<String>,
    /// Newest first (by id) instead of oldest first.
    pub newest_first: bool,
    /// The cursor: only jobs after this id in the listing's order.
    pub after: Option<u64>,
}

/// Where a job's tasks are, counted by what a creator watches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskProgress {
    /// Waiting for a worker, never rejected.
    pub queued: u64,
    /// Waiting for a worker again after a checker rejected a result.
    pub rejected: u64,
    /// Leased by a worker.
    pub rendering: u64,
    /// Uploaded, waiting for or under a check.
    pub verifying: u64,
    /// Accepted.
    pub accepted: u64,
    /// Given up after too many attempts.
    pub failed: u64,
    /// Cancelled with the job.
    pub cancelled: u64,
}

impl TaskProgress {
    /// Every task counted.
    pub fn total(&self) -> u64 {
        self.queued
            + self.rejected
            + self.rendering
            + self.verifying
            + self.accepted
            + self.failed
            + self.cancelled
    }
}

/// Counts over a job's tasks, for its view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskSummary {
    /// Tasks inserted so far.
    pub total: u64,
    /// Tasks accepted.
    pub accepted: u64,
    /// The agreed costs of the accepted tasks, summed.
    pub spent: Money,
}

/// One attempt at a task: which worker leased it and when its result arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptRow {
    /// The task attempted; `(task_id, attempt)` identifies the row.
    pub task_id: u64,
    /// The attempt (the lease's fencing token).
    pub attempt: u32,
    /// The worker that leased it.
    pub worker_id: u64,
    /// When it was leased, Unix ms.
    pub leased_at_ms: u64,
    /// When its result arrived, Unix ms.
    pub delivered_at_ms: Option<u64>,
}

/// A committed scene manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetRow {
    /// The creator that committed it.
    pub owner: u64,
    /// The asset id (hash of the manifest).
    pub id: String,
    /// The manifest, JSON.
    pub manifest_json: String,
    /// Sum of the file sizes.
    pub total_size: u64,
    /// Number of files.
    pub files: u32,
    /// The blob hashes it lists (written to the asset→blob index on insert; empty when read).
    pub hashes: Vec<String>,
}

/// A job as stored: spec, state, quote and event counter (its tasks are rows of their own).
#[derive(Clone, Debug, PartialEq)]
pub struct JobRow {
    /// Its id (0 before insertion).
    pub id: u64,
    /// Account id of the creator that submitted it; only it (or an admin) can see the job.
    pub owner: u64,
    /// The submission's idempotency key.
    pub idempotency_key: Option<String>,
    /// BLAKE3 hex of the submitted request body (a reused key with another body is a conflict).
    pub request_hash: String,
    /// What to render.
    pub spec: JobSpec,
    /// Where it is in its life; when `Paused`, `paused_reason` says why.
    pub state: JobState,
    /// Why it is paused.
    pub paused_reason: Option<PauseReason>,
    /// The quote it was accepted on.
    pub quote: Quote,
    /// Submission time, Unix ms.
    pub created_at_ms: u64,
    /// The last event's sequence number.
    pub event_seq: u64,
}

/// A task as stored: its work, state, escrow hold and the outputs of its current result.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRow {
    /// Its id, chosen by the caller (see `next_task_id`) before insertion.
    pub id: u64,
    /// Id of the job it belongs to.
    pub job_id: u64,
    /// Position in the job's split.
    pub index: u32,
    /// What it renders.
    pub work: TaskWork,
    /// Its estimated work, milli-bench-seconds (prices a lease).
    pub work_bench_ms: u64,
    /// Where it is in its life.
    pub state: TaskState,
    /// The outputs of the current result, once uploaded.
    pub outputs: Option<Vec<TaskOutput>>,
    /// The amount its escrow hold reserves (the most the task may cost).
    pub hold: Money,
    /// Generation of its hold (a re-render opens a new one).
    pub hold_generation: u32,
    /// True while the hold is an open pending transfer.
    pub hold_open: bool,
    /// The price agreed with the current lease holder (the task's cost at its price).
    pub agreed_cost: Option<Money>,
    /// Results of this task rejected so far.
    pub rejects: u32,
}

/// Where a check is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Waiting for a checker.
    Pending,
    /// A checker holds its lease until `lease_expires_ms`; once that lapses it is `Pending` again.
    Leased,
    /// A verdict was recorded in `verdict` and `evidence`. Final.
    Done,
    /// The result it checked no longer matters (job cancelled or re-rendered).
    Dropped,
}

impl CheckState {
    /// The name stored in the `checks.state` column (`pending`, `leased`, `done`, `dropped`).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Pending => "pending",
            CheckState::Leased => "leased",
            CheckState::Done => "done",
            CheckState::Dropped => "dropped",
        }
    }
}

/// Why a check exists (docs/TRUST.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckPurpose {
    /// A worker's result, waiting for its first verdict (or an escalation of it).
    Result,
    /// Another checker's opinion on a result already judged: a reject is proven only when a
    /// second checker confirms it, and a new worker's high-value result is accepted only by two.
    Confirm,
    /// A known-outcome check: frames the network knows the verdict of, mixed into a checker's
    /// queue to measure its accuracy.
    Probe,
}

impl CheckPurpose {
    /// The name stored in the `checks.purpose` column.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckPurpose::Result => "result",
            CheckPurpose::Confirm => "confirm",
            CheckPurpose::Probe => "probe",
        }
    }
}

/// One verification of one task result.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckRow {
    /// Its id (0 before insertion).
    pub id: u64,
    /// The task whose result is checked; `(task_id, attempt, escalation)` is unique among result
    /// checks.
    pub task_id: u64,
    /// The attempt whose result is checked.
    pub attempt: u32,
    /// How many escalations came before.
    pub escalation: u32,
    /// Where it is.
    pub state: CheckState,
    /// The checker holding or having done it.
    pub checker: Option<u64>,
    /// Lease expiry, Unix ms.
    pub lease_expires_ms: Option<u64>,
    /// The verdict, when done.
    pub verdict: Option<Verdict>,
    /// The evidence, when done.
    pub evidence: Option<serde_json::Value>,
    /// When a checker leased it, Unix ms (`None` before, and for checks from before this was kept).
    pub leased_at_ms: Option<u64>,
    /// When its verdict came, Unix ms.
    pub done_at_ms: Option<u64>,
    /// Why it exists.
    pub purpose: CheckPurpose,
    /// For a probe: the verdict an honest checker gives and how the frames were made (`honest`,
    /// or `cheat:<class>`).
    pub expected: Option<String>,
    /// The outputs to check when they are not the task's current ones (a confirmation of a
    /// rejected result, a probe's frames).
    pub subject: Option<Vec<TaskOutput>>,
    /// For a confirmation: the judged attempt's agreed cost, which the fees of its checkers and
    /// its worker's slash are reckoned from.
    pub stake: Option<Money>,
}

impl CheckRow {
    /// A new check of `task`'s result of `attempt`, waiting for a checker (`escalation` checks of
    /// the same result came before it).
    pub fn waiting(task_id: u64, attempt: u32, escalation: u32) -> Self {
        CheckRow {
            id: 0,
            task_id,
            attempt,
            escalation,
            state: CheckState::Pending,
            checker: None,
            lease_expires_ms: None,
            verdict: None,
            evidence: None,
            leased_at_ms: None,
            done_at_ms: None,
            purpose: CheckPurpose::Result,
            expected: None,
            subject: None,
            stake: None,
        }
    }

    /// A check by another checker of `attempt`'s result `subject` (see [`CheckPurpose::Confirm`]).
    pub fn confirmation(
        task_id: u64,
        attempt: u32,
        escalation: u32,
        subject: Vec<TaskOutput>,
        stake: Money,
    ) -> Self {
        CheckRow {
            purpose: CheckPurpose::Confirm,
            subject: Some(subject),
            stake: Some(stake),
            ..CheckRow::waiting(task_id, attempt, escalation)
        }
    }

    /// The outputs this check looks at: its own subject, else the task's current outputs.
    pub fn outputs_of(&self, task: &TaskRow) -> Vec<TaskOutput> {
        self.subject
            .clone()
            .or_else(|| task.outputs.clone())
            .unwrap_or_default()
    }
}

/// An accepted output file: one per frame of an accepted chunk, or one per tile task of a still.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRow {
    /// The job the output belongs to (`GET /v1/jobs/{id}/frames` lists its rows).
    pub job_id: u64,
    /// The frame number; the tiles of a still all carry the still's frame (one row per tile task).
    pub frame: u32,
    /// The task that produced it.
    pub task_id: u64,
    /// BLAKE3 hex of the file.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// The file name the scene's output settings give it, for a frame Blender wrote with the
    /// scene's settings.
    pub name: Option<String>,
}

/// A job event as stored: a `JobEvent`'s kind and data, numbered per job.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// The job the event belongs to; `(job_id, seq)` is unique.
    pub job_id: u64,
    /// Sequence number within the job, from 1.
    pub seq: u64,
    /// The event's kind: its wire name (`task_accepted`, …).
    pub kind: String,
    /// When, Unix ms.
    pub at_ms: u64,
    /// The event's fields as JSON (the wire's `data`); `JobEvent::from_parts` rebuilds the event.
    pub data: serde_json::Value,
}
