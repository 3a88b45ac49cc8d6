//! Wire types of the network's HTTP API (`/v1`, JSON), shared by `pictor-sdk` and `pictor-network` so
//! the two can never disagree on a field name. Every type here is plain data with serde; the routes
//! that use them are described in `docs/ARCHITECTURE.md` §4.

use crate::error::Error;
use crate::ids::{AccountId, AssetId, CheckerId, JobId, TaskId, WorkerId};
use crate::job::{GpuVendor, JobSpec, JobState, RendererKind, Version};
use crate::money::Money;
use crate::task::TaskWork;
use serde::{Deserialize, Serialize};

/// The version prefix of every route.
pub const API_PREFIX: &str = "/v1";
/// Header carrying a client-chosen key that makes a POST safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Machine-readable error codes. Each maps to one HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
        }
    }
}

/// The body of every error response: `{"error": {"code", "message", "field"?}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ApiError,
}

/// One error as sent over the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Opaque cursor of the next page; `None` on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The role an API key acts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
pub struct AccountView {
    /// The account.
    pub id: AccountId,
    /// Its role.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// Spendable balance.
    pub balance: Money,
}

pub use crate::asset::{BlobHash, Manifest, ManifestEntry};

/// `POST /v1/assets/missing`: which of these blobs does the network lack?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingBlobsRequest {
    /// BLAKE3 hashes of the scene's files.
    pub hashes: Vec<BlobHash>,
}

/// The answer to [`MissingBlobsRequest`]: the hashes the caller must upload before committing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingBlobsResponse {
    /// The requested hashes the network does not hold (or the caller has not proven it holds).
    pub missing: Vec<BlobHash>,
}

/// The answer to one chunk of a resumable blob upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadProgress {
    /// Bytes of the blob received so far: the offset of the next chunk.
    pub received: u64,
    /// True once every byte arrived and the hash matched: the blob is stored.
    pub complete: bool,
}

/// `POST /v1/assets`: commit a manifest whose blobs are all uploaded; answers an [`AssetId`].
///
/// On the wire the manifest's fields sit at the top level: `{"entries": [...], "main_file": ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitManifestRequest {
    /// The scene's files and main file.
    #[serde(flatten)]
    pub manifest: Manifest,
}

/// `POST /v1/jobs` (send an `Idempotency-Key`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateJobRequest {
    /// What to render.
    pub spec: JobSpec,
}

/// A job as its creator sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    /// The job.
    pub id: JobId,
    /// Its state.
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
    /// Unix time of submission, ms.
    pub created_at_ms: u64,
}

/// A frame (or tile) that passed verification and can be downloaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameView {
    /// The task that produced it.
    pub task: TaskId,
    /// The frame number.
    pub frame: u32,
    /// BLAKE3 hex of the image file.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
}

/// A worker's hardware and software, declared at registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// A leased task, as the worker receives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLease {
    /// The task.
    pub task: TaskId,
    /// Its job.
    pub job: JobId,
    /// The fencing token: present it with every heartbeat, result and failure.
    pub attempt: u32,
    /// The scene to download.
    pub scene: AssetId,
    /// What to render.
    pub work: TaskWork,
    /// Unix time in ms when the lease lapses without a heartbeat.
    pub expires_at_ms: u64,
}

/// `POST /v1/tasks/{id}/heartbeat`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    /// The lease's fencing token.
    pub attempt: u32,
    /// Progress in per-mille (0..=1000).
    pub progress_permille: u16,
}

/// `POST /v1/tasks/{id}/result`: the rendered output, committed by hash and signed by the worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultSubmission {
    /// The lease's fencing token.
    pub attempt: u32,
    /// BLAKE3 hex of the uploaded output.
    pub output_hash: String,
    /// ed25519 signature (hex) over `task id ‖ attempt ‖ output hash`.
    pub signature_hex: String,
    /// Wall-clock render time, ms.
    pub render_ms: u64,
}

/// A checker's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
pub struct VerdictSubmission {
    /// The checker.
    pub checker: CheckerId,
    /// The task checked.
    pub task: TaskId,
    /// The verdict.
    pub verdict: Verdict,
    /// Every statistic and the tile list (see VERIFICATION.md), as JSON.
    pub evidence: serde_json::Value,
}

/// A worker in the public list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerView {
    /// The worker.
    pub id: WorkerId,
    /// Display name.
    pub name: String,
    /// Hardware and renderers.
    pub hardware: WorkerHardware,
    /// Price per bench-hour.
    pub price_per_bench_hour: Money,
    /// True when it heartbeat recently.
    pub online: bool,
}

/// The ledger's head, for public verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerHead {
    /// Sequence number of the last entry.
    pub seq: u64,
    /// BLAKE3 hex of the last entry.
    pub hash: String,
    /// ed25519 signature (hex) of the network key over the head.
    pub signature_hex: String,
}

#[cfg(test)]
mod tests {
    use super::*;

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
