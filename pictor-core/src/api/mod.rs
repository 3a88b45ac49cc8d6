//! Wire types of the network's HTTP API (`/v1`, JSON), shared by `pictor-sdk` and `pictor-network` so
//! the two can never disagree on a field name. Every type here is plain data with serde; the routes
//! that use them are described in `docs/ARCHITECTURE.md` §4.

use crate::error::Error;
use crate::ids::{AccountId, AssetId, CheckId, JobId, TaskId, WorkerId};
use crate::job::{GpuVendor, JobSpec, JobState, RendererKind, Tier, Version};
use crate::money::Money;
use crate::task::TaskWork;
use serde::{Deserialize, Serialize};

mod events;
pub use events::{JobEvent, JobEventView};
mod trust;
pub use trust::{BondAction, BondRequest, BondSource, BondView, CheckerStanding};

/// The version prefix of every route.
pub const API_PREFIX: &str = "/v1";
/// Header carrying a client-chosen key that makes a POST safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Machine-readable error codes. Each maps to one HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is malformed or a field is invalid (400).
    InvalidInput,
    /// No or unknown API key (401).
    Unauthorized,
    /// The key is valid but may not touch this resource (403).
    Forbidden,
    /// No such resource, or not visible to the caller (404).
    NotFound,
    /// The request conflicts with the current state: illegal transition, reused key (409).
    Conflict,
    /// A stale fencing token: the lease moved on (409).
    StaleLease,
    /// The balance does not cover the hold (402).
    InsufficientFunds,
    /// No plan meets the deadline or budget (422).
    Infeasible,
    /// Body or upload too large (413).
    PayloadTooLarge,
    /// Too many requests (429).
    RateLimited,
    /// A fault on the server's side (500).
    Internal,
    /// The coordinator cannot reach its database just now (a restart, a failover): retry
    /// shortly (503, with `Retry-After`).
    Unavailable,
}

impl ErrorCode {
    /// The HTTP status code for this error.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidInput => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::InsufficientFunds => 402,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::StaleLease => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Infeasible => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }
}

/// The body of every error response: `{"error": {"code", "message", "field"?}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    /// What went wrong: a `code` that fixes the HTTP status, a message, and (for input errors)
    /// the offending field.
    pub error: ApiError,
}

/// One error as sent over the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApiError {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable cause.
    pub message: String,
    /// The offending field, for input errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl From<&Error> for ApiError {
    fn from(error: &Error) -> Self {
        let code = match error {
            Error::Invalid { .. } => ErrorCode::InvalidInput,
            Error::MoneyOutOfRange { .. } => ErrorCode::InvalidInput,
            Error::IllegalTransition { .. } => ErrorCode::Conflict,
            Error::StaleFencingToken { .. } => ErrorCode::StaleLease,
            Error::InfeasibleDeadline { .. }
            | Error::InfeasibleBudget { .. }
            | Error::NoEligibleWorker { .. } => ErrorCode::Infeasible,
            Error::Ledger { .. } => ErrorCode::Conflict,
            Error::LinearProgram { .. } | Error::Io { .. } => ErrorCode::Internal,
        };
        ApiError {
            code,
            message: error.to_string(),
            field: error.field().map(str::to_string),
        }
    }
}

/// One page of a list; follow `next_cursor` for the rest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Page_of_{T}"))]
pub struct Page<T> {
    /// At most the requested `limit` items, in the list's order (a full page can be followed by
    /// an empty last one).
    pub items: Vec<T>,
    /// Opaque cursor of the next page; `None` on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The query of `GET /v1/jobs`: which page of the caller's jobs (oldest first: ids above the cursor, ascending).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ListJobsQuery {
    /// The `next_cursor` of the previous page; absent (or empty) for the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Jobs per page (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query of `GET /v1/jobs/{id}/events`: resume a job's stream after an event (the
/// `Last-Event-ID` header, when sent, wins).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JobEventsQuery {
    /// Send only the events with a greater `seq` (default 0: from the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// The query of `GET /v1/ledger/entries`: a page of the public journal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LedgerEntriesQuery {
    /// Send only the entries with a greater sequence number (the `next_after` of the previous
    /// page); absent for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Entries per page (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The role an API key acts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the network.
    Admin,
    /// Submits jobs.
    Creator,
    /// Renders tasks.
    Worker,
    /// Verifies frames.
    Checker,
    /// A render farm presented as one bulk offer.
    Farm,
}

/// An account as its owner (or an admin) sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccountView {
    /// The account's id (`/v1/accounts/{id}`); a worker's or checker's account id is also its
    /// worker or checker id.
    pub id: AccountId,
    /// The role its API key acts in; it decides which routes the key may call.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// Spendable balance.
    pub balance: Money,
}

pub use crate::asset::{BlobHash, Manifest, ManifestEntry};

/// `POST /v1/assets/missing`: which of these blobs does the network lack?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MissingBlobsRequest {
    /// BLAKE3 hashes of the scene's files.
    pub hashes: Vec<BlobHash>,
}

/// The answer to [`MissingBlobsRequest`]: the hashes the caller must upload before committing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MissingBlobsResponse {
    /// The requested hashes the network does not hold (or the caller has not proven it holds).
    pub missing: Vec<BlobHash>,
}

/// The answer to one chunk of a resumable blob upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadProgress {
    /// Bytes of the blob received so far: the offset of the next chunk.
    pub received: u64,
    /// True once every byte arrived and the hash matched: the blob is stored.
    pub complete: bool,
}

/// The query of `GET /v1/blobs/{hash}/upload`: how much of an upload is staged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadStatusQuery {
    /// The blob's whole size in bytes: an upload is identified by its hash and its size.
    pub size: u64,
}

/// The query of `PUT /v1/blobs/{hash}`: where one chunk of a resumable upload goes (the request
/// body is the chunk's bytes; the answer an [`UploadProgress`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadChunkQuery {
    /// The blob's whole size in bytes, the same for every chunk.
    pub size: u64,
    /// Where the chunk starts in the blob: the `received` of the last answer (0 to start).
    #[serde(default)]
    pub offset: u64,
}

/// `POST /v1/assets`: commit the manifest of a scene whose blobs the caller has all uploaded;
/// answers a [`CommittedAsset`] (201).
///
/// On the wire the manifest is nested: `{"manifest": {"entries": [...], "main_file": ...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CommitAssetRequest {
    /// The scene's files and main file.
    pub manifest: Manifest,
}

/// The answer to [`CommitAssetRequest`]: the new asset's id, to put in a job spec's `scene`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CommittedAsset {
    /// The asset id: the hash of the canonical manifest.
    pub id: AssetId,
    /// Sum of the files' sizes, bytes.
    pub total_size: u64,
    /// Number of files.
    pub files: u32,
}

/// A committed manifest in the flat form `GET /v1/assets/{id}` answers:
/// `{"entries": [...], "main_file": ...}` (the SDK's `Assets::manifest` returns it).
///
/// Committing takes a [`CommitAssetRequest`] instead, which nests the manifest under `manifest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CommitManifestRequest {
    /// The scene's files and main file.
    #[serde(flatten)]
    pub manifest: Manifest,
}

/// `POST /v1/jobs` (send an `Idempotency-Key`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateJobRequest {
    /// What to render.
    pub spec: JobSpec,
    /// The most the creator agreed to have held for the job: the submit is refused (422, field
    /// `max_cost`) when the market's escrow hold is higher, so the market cannot move between the
    /// quote a creator confirmed and the hold. Clients show the quote and send the confirmed cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost: Option<Money>,
}

/// A job as its creator sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JobView {
    /// The job's id: the `{id}` of the `/v1/jobs/{id}/…` routes.
    pub id: JobId,
    /// Where the job is in its life; `completed`, `failed` and `cancelled` are final.
    pub state: JobState,
    /// What was asked for.
    pub spec: JobSpec,
    /// Tasks in all.
    pub tasks_total: u32,
    /// Tasks accepted by checkers.
    pub tasks_accepted: u32,
    /// Money still held in the job's escrow.
    pub escrow: Money,
    /// Money paid out so far.
    pub spent: Money,
    /// Why the job is paused, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<PauseReason>,
    /// The quote the job was accepted on.
    pub quote: crate::pricing::Quote,
    /// Unix time of submission, ms.
    pub created_at_ms: u64,
}

/// A frame (or tile) that passed verification and can be downloaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FrameView {
    /// The task that produced it.
    pub task: TaskId,
    /// The frame number, one of the job's `frames`; a still cut into tiles is listed once per
    /// tile task.
    pub frame: u32,
    /// BLAKE3 hex of the image file.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// The file's name as the scene's output settings name it, for a frame Blender wrote with the
    /// scene's settings (see [`TaskOutput::name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A worker's hardware and software, declared at registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WorkerHardware {
    /// GPU maker.
    pub vendor: GpuVendor,
    /// GPU model, as reported by the driver.
    pub gpu_name: String,
    /// GPU memory, MiB.
    pub vram_mib: u32,
    /// Renderers installed, with versions.
    pub renderers: Vec<(RendererKind, Version)>,
}

/// `POST /v1/workers`: register a worker with its public key and its own price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RegisterWorkerRequest {
    /// Display name.
    pub name: String,
    /// ed25519 public key, 64 hex digits; results are signed with it.
    pub public_key_hex: String,
    /// Hardware and renderers.
    pub hardware: WorkerHardware,
    /// The worker's price per bench-hour of work.
    pub price_per_bench_hour: Money,
    /// Measured speed, in thousandths of the reference machine (1000 = reference).
    pub speed_millis: u32,
    /// Tasks the worker renders at once: the most leases it may hold (default 1).
    #[serde(default = "one_slot")]
    pub slots: u32,
    /// The cheapest service tier whose jobs the worker takes (default `economy`: every job;
    /// `standard`: standard and priority jobs; `priority`: priority jobs only).
    #[serde(default)]
    pub min_tier: Tier,
    /// For a farm account only: seconds a task typically waits in the farm's own queue before it
    /// starts (the network plans the farm's work after it). Absent for a single machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_delay_secs: Option<u32>,
}

fn one_slot() -> u32 {
    1
}

/// A leased task, as the worker receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaskLease {
    /// The task leased: the `{id}` of its heartbeat, result and fail routes.
    pub task: TaskId,
    /// The job the task belongs to (`scene` and `spec` below are that job's).
    pub job: JobId,
    /// The fencing token: present it with every heartbeat, result and failure.
    pub attempt: u32,
    /// The scene's asset id: fetch the manifest with `GET /v1/assets/{id}`, then its files' blobs.
    pub scene: AssetId,
    /// The job's spec: renderer, resolution, samples, seed policy, output format.
    pub spec: JobSpec,
    /// What to render.
    pub work: TaskWork,
    /// Unix time in ms when the lease lapses without a heartbeat.
    pub expires_at_ms: u64,
}

/// `POST /v1/tasks/{id}/heartbeat`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HeartbeatRequest {
    /// The lease's fencing token.
    pub attempt: u32,
    /// Progress in per-mille (0..=1000).
    pub progress_permille: u16,
}

/// `POST /v1/tasks/{id}/result`: the rendered output, committed by hash and signed by the worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ResultSubmission {
    /// The lease's fencing token.
    pub attempt: u32,
    /// The task's outputs, uploaded first as blobs, one per frame in the task's order.
    pub outputs: Vec<TaskOutput>,
    /// ed25519 signature (hex) over [`result_signing_message`].
    pub signature_hex: String,
    /// Wall-clock render time, ms.
    pub render_ms: u64,
}

/// A checker's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The frame is honest work: pay the worker.
    Accept,
    /// The frame is not what was asked for: requeue, do not pay.
    Reject,
    /// Not sure: re-check with more tiles.
    Escalate,
}

/// `POST /v1/checks/{id}/verdict`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VerdictSubmission {
    /// `accept` pays the worker, `reject` requeues the task, `escalate` queues a re-check with more
    /// evidence (past the escalation cap it is inconclusive).
    pub verdict: Verdict,
    /// Every statistic and the tile list (see docs/VERIFICATION.md), as JSON.
    pub evidence: serde_json::Value,
}

/// A worker in the public list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WorkerView {
    /// The worker's id: the account id of its API key (leases and events name it).
    pub id: WorkerId,
    /// Display name.
    pub name: String,
    /// Hardware and renderers.
    pub hardware: WorkerHardware,
    /// Price per bench-hour.
    pub price_per_bench_hour: Money,
    /// Speed in thousandths of the reference machine.
    pub speed_millis: u32,
    /// True when it was seen recently.
    pub online: bool,
    /// The cheapest service tier whose jobs it takes.
    #[serde(default)]
    pub min_tier: Tier,
    /// A render farm's bulk offer: its queue delay in seconds (absent for a single machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub farm_queue_delay_secs: Option<u32>,
}

/// What a worker is doing, as it reports it (`POST /v1/workers/activity`): shown to its owner in
/// Pictor Cloud, never used for money or scheduling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum WorkerActivity {
    /// Started and registered.
    Connected,
    /// No task: waiting for one.
    Idle,
    /// No task: running its idle-time command.
    IdleCommand,
    /// Fetching a task's scene.
    Downloading,
    /// Rendering a task.
    Rendering,
    /// Delivering a task's result.
    Uploading,
    /// Stopped (shut down cleanly).
    Stopped,
}

impl WorkerActivity {
    /// Every activity, in declaration order.
    pub const ALL: [WorkerActivity; 7] = [
        WorkerActivity::Connected,
        WorkerActivity::Idle,
        WorkerActivity::IdleCommand,
        WorkerActivity::Downloading,
        WorkerActivity::Rendering,
        WorkerActivity::Uploading,
        WorkerActivity::Stopped,
    ];

    /// The wire name (`idle_command`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            WorkerActivity::Connected => "connected",
            WorkerActivity::Idle => "idle",
            WorkerActivity::IdleCommand => "idle_command",
            WorkerActivity::Downloading => "downloading",
            WorkerActivity::Rendering => "rendering",
            WorkerActivity::Uploading => "uploading",
            WorkerActivity::Stopped => "stopped",
        }
    }

    /// The activity with wire name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|activity| activity.as_str() == name)
    }
}

/// `POST /v1/workers/activity` (worker): what the calling worker is doing now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WorkerActivityReport {
    /// The activity it started.
    pub activity: WorkerActivity,
    /// The task it is about, for downloading, rendering and uploading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
    /// GPU utilisation in percent, where the worker can read it (shown, never trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_utilisation_percent: Option<u8>,
}

/// The ledger's head, for public verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LedgerHead {
    /// Sequence number of the last entry.
    pub seq: u64,
    /// BLAKE3 hex of the last entry.
    pub hash: String,
    /// ed25519 signature (hex) of the network key over the head.
    pub signature_hex: String,
    /// The network's ed25519 public key, hex.
    pub public_key_hex: String,
}

/// `POST /v1/accounts` (admin): open an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateAccountRequest {
    /// The role its API key acts in.
    pub role: Role,
    /// Display name (1–64 printable characters).
    pub name: String,
}

/// The answer to [`CreateAccountRequest`]: the account and its API key, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreatedAccount {
    /// The account just opened; its balance is zero until a deposit (or, for a worker or
    /// checker, until it earns).
    pub account: AccountView,
    /// The secret API key (`pk_…`); the network stores only its hash.
    pub api_key: String,
}

/// `POST /v1/accounts/{id}/deposits` (admin): credit an account from outside the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DepositRequest {
    /// The amount, > 0.
    pub amount: Money,
}

/// `POST /v1/quotes` and the body of a job submission's quote check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct QuoteRequest {
    /// What would be rendered.
    pub spec: JobSpec,
}

/// `POST /v1/jobs/{id}/rerender`: render these frames again (they must belong to the job).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RerenderRequest {
    /// The frames to render again.
    pub frames: crate::job::FrameSet,
}

/// Why a job is paused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// The creator paused it with `POST /v1/jobs/{id}/pause`; `POST /v1/jobs/{id}/resume` lifts it.
    Creator,
    /// The escrow ran out; a deposit resumes it.
    Funds,
}

/// One output file of a task: a frame (or the task's tile of a still).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaskOutput {
    /// The frame this file renders; for a tile task, the still's frame number.
    pub frame: u32,
    /// BLAKE3 hex of the uploaded image file (uploaded first as a blob).
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// The file's name as the scene's output settings name it (`shot_0001.png`) when Blender
    /// wrote it with the scene's settings (`output: scene`); absent for frames Pictor encodes,
    /// which download as `frame_NNNN.<ext>`. A plain file name: see [`valid_output_name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the checker verifies this frame with, when Blender finished it with the scene's
    /// settings: the render before denoising, compositing and the view transform (see
    /// docs/VERIFICATION.md, "Faithful frames").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceFile>,
    /// The renderer version that finished the frame (`4.2.0`), for a frame Blender finished with
    /// the scene's settings: the checker refinishes with the same version, or escalates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer_version: Option<String>,
}

/// Longest [`TaskOutput::renderer_version`], in bytes.
pub const MAX_RENDERER_VERSION_LEN: usize = 32;

impl TaskOutput {
    /// An output with neither a scene-given name nor evidence.
    pub fn new(frame: u32, hash: impl Into<String>, size: u64) -> Self {
        TaskOutput {
            frame,
            hash: hash.into(),
            size,
            name: None,
            evidence: None,
            renderer_version: None,
        }
    }
}

/// A render's evidence file, uploaded as a blob beside its frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EvidenceFile {
    /// BLAKE3 hex of the evidence (a multilayer OpenEXR).
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
}

/// Longest output file name, in bytes.
pub const MAX_OUTPUT_NAME_LEN: usize = 200;

/// True for a file name a frame may be delivered under: 1..=200 bytes of letters, digits and
/// `._- +#()`, not starting with a dot, with no path separator — safe to create in any folder.
pub fn valid_output_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_OUTPUT_NAME_LEN
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._- +#()".contains(c))
}

/// What a worker's result signature covers: `"pictor-result-v2"` ‖ task id (u64 LE) ‖ attempt
/// (u32 LE) ‖ for each output in order: frame (u32 LE) ‖ 32-byte hash ‖ evidence (`0`, or `1` ‖
/// its 32-byte hash) ‖ name length (u16 LE, 0 when absent) ‖ the name's bytes ‖ renderer version
/// length (u16 LE, 0 when absent) ‖ its bytes. The signature binds the deliverable, its evidence,
/// the name it is delivered under and the renderer that finished it.
///
/// ```
/// use pictor_core::api::{result_signing_message, TaskOutput};
/// use pictor_core::TaskId;
/// let out = TaskOutput::new(1, "00".repeat(32), 3);
/// let message = result_signing_message(TaskId(7), 2, std::slice::from_ref(&out))?;
/// assert_eq!(message.len(), 16 + 8 + 4 + 4 + 32 + 1 + 2 + 2);
/// # Ok::<(), pictor_core::Error>(())
/// ```
pub fn result_signing_message(
    task: TaskId,
    attempt: u32,
    outputs: &[TaskOutput],
) -> Result<Vec<u8>, Error> {
    let mut message = Vec::with_capacity(28 + outputs.len() * 72);
    message.extend_from_slice(b"pictor-result-v2");
    message.extend_from_slice(&task.0.to_le_bytes());
    message.extend_from_slice(&attempt.to_le_bytes());
    let hash_bytes = |hex_hash: &str, field: String| {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(hex_hash, &mut hash)
            .map_err(|_| Error::invalid(field, "must be 64 hex digits (a BLAKE3 hash)"))?;
        Ok::<_, Error>(hash)
    };
    for (i, output) in outputs.iter().enumerate() {
        message.extend_from_slice(&output.frame.to_le_bytes());
        message.extend_from_slice(&hash_bytes(&output.hash, format!("outputs[{i}].hash"))?);
        match &output.evidence {
            None => message.push(0),
            Some(evidence) => {
                message.push(1);
                message.extend_from_slice(&hash_bytes(
                    &evidence.hash,
                    format!("outputs[{i}].evidence.hash"),
                )?);
            }
        }
        let name = output.name.as_deref().unwrap_or("");
        if !name.is_empty() && !valid_output_name(name) {
            return Err(Error::invalid(
                format!("outputs[{i}].name"),
                format!(
                    "{name:?}: a plain file name of 1..={MAX_OUTPUT_NAME_LEN} letters, digits and ._- +#()"
                ),
            ));
        }
        // At most MAX_OUTPUT_NAME_LEN bytes, checked above.
        message.extend_from_slice(&(name.len() as u16).to_le_bytes());
        message.extend_from_slice(name.as_bytes());
        let version = output.renderer_version.as_deref().unwrap_or("");
        if version.len() > MAX_RENDERER_VERSION_LEN
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(Error::invalid(
                format!("outputs[{i}].renderer_version"),
                format!("at most {MAX_RENDERER_VERSION_LEN} letters, digits, dots and dashes"),
            ));
        }
        message.extend_from_slice(&(version.len() as u16).to_le_bytes());
        message.extend_from_slice(version.as_bytes());
    }
    Ok(message)
}

/// The answer to a heartbeat: the lease's new expiry, and whether the job still wants the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LeaseRenewal {
    /// Unix time in ms when the lease now lapses.
    pub expires_at_ms: u64,
    /// False once the job ended (cancelled or failed): stop rendering and drop the task. A paused
    /// job lets its running tasks finish, so this stays true while it is paused.
    pub keep_going: bool,
}

/// `POST /v1/tasks/{id}/fail`: the lease holder could not render.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FailureReport {
    /// The lease's fencing token.
    pub attempt: u32,
    /// The renderer's message.
    pub message: String,
}

/// The state of a task as the network answers a result or failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaskStateView {
    /// The task the result, failure report or verdict was about.
    pub task: TaskId,
    /// Its state name (`pending`, `leased`, `uploaded`, `verifying`, `accepted`, `failed`, `cancelled`).
    pub state: String,
    /// Its current attempt (fencing token).
    pub attempt: u32,
}

/// A check leased to a checker: everything it needs to run the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckLease {
    /// The check leased: the `{id}` to post its verdict to (`POST /v1/checks/{id}/verdict`).
    pub check: CheckId,
    /// The task whose result is checked.
    pub task: TaskId,
    /// The task's job.
    pub job: JobId,
    /// The attempt that produced the result.
    pub attempt: u32,
    /// The job's spec (renderer, resolution, samples, seed policy).
    pub spec: JobSpec,
    /// What the task rendered.
    pub work: TaskWork,
    /// The outputs to verify (download each with `GET /v1/blobs/{hash}`).
    pub outputs: Vec<TaskOutput>,
    /// How many times this result was escalated before (0 on a first check).
    pub escalation: u32,
    /// Unix time in ms when the check lease lapses.
    pub expires_at_ms: u64,
}

/// Most renderers a checker may declare when leasing a check.
pub const MAX_CHECKER_RENDERERS: usize = 16;

/// Most scenes a checker may declare open when leasing a check ([`CheckLeaseRequest::open_scenes`]).
pub const MAX_CHECKER_OPEN_SCENES: usize = 4;

/// `POST /v1/checks/lease`: what the checker can verify. A checker that declares its renderers is
/// only leased checks it can verify exactly: a frame Blender finished with the scene's settings
/// ([`TaskOutput::renderer_version`]) is refinished sample for sample only by that same Blender
/// version, so such a check goes to a checker with it ([`CheckLeaseRequest::can_verify`]). An empty
/// list (`{}`) declares nothing and is leased any check.
///
/// A checker also names the scenes it has open (a renderer running with the scene loaded, from
/// its last check): among the checks it can verify, the network leases it one of those scenes
/// first, so a checker verifies a job's frames without starting its renderer and loading the
/// scene for each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckLeaseRequest {
    /// The checker's renderers and their versions (at most [`MAX_CHECKER_RENDERERS`]).
    #[serde(default)]
    pub renderers: Vec<(RendererKind, Version)>,
    /// The scene assets the checker has open (at most [`MAX_CHECKER_OPEN_SCENES`]): their checks
    /// are leased to it first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_scenes: Vec<AssetId>,
}

impl CheckLeaseRequest {
    /// Refuses more than [`MAX_CHECKER_RENDERERS`] renderers or [`MAX_CHECKER_OPEN_SCENES`] open
    /// scenes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.renderers.len() > MAX_CHECKER_RENDERERS {
            return Err(Error::invalid(
                "renderers",
                format!("at most {MAX_CHECKER_RENDERERS}"),
            ));
        }
        if self.open_scenes.len() > MAX_CHECKER_OPEN_SCENES {
            return Err(Error::invalid(
                "open_scenes",
                format!("at most {MAX_CHECKER_OPEN_SCENES}"),
            ));
        }
        Ok(())
    }

    /// Whether the checker has `scene` open ([`CheckLeaseRequest::open_scenes`]).
    pub fn has_open(&self, scene: &AssetId) -> bool {
        self.open_scenes.contains(scene)
    }

    /// Whether this checker can verify the outputs of a job rendered with `kind`: it declared
    /// nothing, or it has that renderer and, for every output that names the renderer version it
    /// was finished with, exactly that version.
    pub fn can_verify(&self, kind: RendererKind, outputs: &[TaskOutput]) -> bool {
        if self.renderers.is_empty() {
            return true;
        }
        let has_kind = self.renderers.iter().any(|(own, _)| *own == kind);
        has_kind
            && outputs.iter().all(|output| {
                output.renderer_version.as_deref().is_none_or(|version| {
                    self.renderers.iter().any(|(own, own_version)| {
                        *own == kind && own_version.to_string() == version
                    })
                })
            })
    }
}

/// Network-wide counters for operators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NetworkStats {
    /// Accounts in all.
    pub accounts: u64,
    /// Registered workers.
    pub workers: u64,
    /// Jobs not final.
    pub jobs_active: u64,
    /// Tasks waiting for a worker.
    pub tasks_pending: u64,
    /// Checks waiting for a checker.
    pub checks_pending: u64,
    /// Ledger entries.
    pub ledger_entries: u64,
}

/// A page of the public journal: entries and seals in their canonical binary encodings, hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LedgerEntriesPage {
    /// Entries with `seq > after`, in order (hex of [`crate::ledger::codec::encode_entry`]).
    pub entries: Vec<String>,
    /// Seals whose `upto_seq` falls within the page's entries (hex of the seal encoding).
    pub seals: Vec<String>,
    /// Pass as `after` for the next page; `None` on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
}

pub mod routes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_of_finished_frames_go_to_checkers_with_the_finishing_blender() {
        let blender =
            |major, minor, patch| (RendererKind::Blender, Version::new(major, minor, patch));
        let raw = TaskOutput::new(1, "ab", 5);
        let finished = TaskOutput {
            renderer_version: Some("4.2.0".into()),
            ..TaskOutput::new(1, "ab", 5)
        };
        let anything = CheckLeaseRequest::default();
        let old_blender = CheckLeaseRequest {
            renderers: vec![blender(3, 4, 1)],
            ..CheckLeaseRequest::default()
        };
        let both = CheckLeaseRequest {
            renderers: vec![blender(3, 4, 1), blender(4, 2, 0)],
            ..CheckLeaseRequest::default()
        };
        let builtin = CheckLeaseRequest {
            renderers: vec![(RendererKind::Builtin, Version::new(0, 1, 0))],
            ..CheckLeaseRequest::default()
        };
        assert!(anything.can_verify(RendererKind::Blender, std::slice::from_ref(&finished)));
        assert!(old_blender.can_verify(RendererKind::Blender, std::slice::from_ref(&raw)));
        assert!(!old_blender.can_verify(RendererKind::Blender, std::slice::from_ref(&finished)));
        assert!(both.can_verify(RendererKind::Blender, &[raw.clone(), finished.clone()]));
        assert!(!builtin.can_verify(RendererKind::Blender, std::slice::from_ref(&raw)));
        assert!(builtin.can_verify(RendererKind::Builtin, &[raw]));
        let too_many = CheckLeaseRequest {
            renderers: vec![blender(3, 4, 1); MAX_CHECKER_RENDERERS + 1],
            ..CheckLeaseRequest::default()
        };
        assert!(too_many.validate().is_err());
        assert!(both.validate().is_ok());
        let parsed: CheckLeaseRequest = serde_json::from_str("{}").expect("an empty body parses");
        assert_eq!(parsed, anything);
    }

    #[test]
    fn a_checker_declares_a_few_open_scenes() {
        let scene = AssetId::of_bytes(b"scene a");
        let open = CheckLeaseRequest {
            open_scenes: vec![scene.clone()],
            ..CheckLeaseRequest::default()
        };
        assert!(open.validate().is_ok());
        assert!(open.has_open(&scene));
        assert!(!open.has_open(&AssetId::of_bytes(b"scene b")));
        let too_many = CheckLeaseRequest {
            open_scenes: vec![scene; MAX_CHECKER_OPEN_SCENES + 1],
            ..CheckLeaseRequest::default()
        };
        let error = too_many.validate().expect_err("five open scenes");
        assert!(error.to_string().contains("open_scenes"), "{error}");
        // Checkers that predate open scenes send none, and none is not serialized.
        let json = serde_json::to_value(CheckLeaseRequest::default()).expect("json");
        assert_eq!(json, serde_json::json!({ "renderers": [] }));
    }

    #[test]
    fn core_errors_map_to_codes_and_fields() {
        let invalid = ApiError::from(&Error::invalid("frames", "backwards"));
        assert_eq!(invalid.code, ErrorCode::InvalidInput);
        assert_eq!(invalid.code.http_status(), 400);
        assert_eq!(invalid.field.as_deref(), Some("frames"));
        let stale = ApiError::from(&Error::StaleFencingToken {
            current: 2,
            presented: 1,
        });
        assert_eq!(stale.code.http_status(), 409);
        let body = ErrorBody { error: invalid };
        let json = serde_json::to_value(&body).expect("json");
        assert_eq!(json["error"]["code"], "invalid_input");
        assert_eq!(json["error"]["field"], "frames");
    }

    #[test]
    fn commit_manifest_keeps_a_flat_wire_shape() {
        let hash = BlobHash::of_bytes(b"scene");
        let json = serde_json::json!({
            "entries": [{"path": "scene.blend", "hash": hash.to_hex(), "size": 5}],
            "main_file": "scene.blend",
        });
        let request: CommitManifestRequest = serde_json::from_value(json.clone()).expect("parse");
        assert_eq!(request.manifest.entries[0].hash, hash);
        assert_eq!(serde_json::to_value(&request).expect("json"), json);
        let bad = serde_json::json!({
            "entries": [{"path": "scene.blend", "hash": "xyz", "size": 5}],
            "main_file": "scene.blend",
        });
        assert!(serde_json::from_value::<CommitManifestRequest>(bad).is_err());
        let commit = CommitAssetRequest {
            manifest: request.manifest.clone(),
        };
        assert_eq!(
            serde_json::to_value(&commit).expect("json"),
            serde_json::json!({ "manifest": json })
        );
        let query: UploadChunkQuery =
            serde_json::from_value(serde_json::json!({ "size": 9 })).expect("parse");
        assert_eq!(query, UploadChunkQuery { size: 9, offset: 0 });
        let missing: MissingBlobsRequest =
            serde_json::from_value(serde_json::json!({ "hashes": [hash.to_hex()] }))
                .expect("parse");
        assert_eq!(missing.hashes, vec![hash]);
    }

    #[test]
    fn io_errors_are_internal() {
        let error = Error::io(
            std::path::Path::new("/x"),
            &std::io::Error::other("disk on fire"),
        );
        let api = ApiError::from(&error);
        assert_eq!(api.code, ErrorCode::Internal);
        assert!(api.message.contains("disk on fire"));
    }
}
