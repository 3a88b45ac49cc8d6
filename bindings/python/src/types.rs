//! The typed results: plain, frozen Python classes converted from the SDK's wire types. Money is
//! exact: every amount is an `int` of micro-credits (`*_micros`) plus its decimal text in credits.

use crate::error::invalid;
use pictor_core::Money;
use pictor_core::api::{AccountView, FrameView, JobEventView, JobView};
use pyo3::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The wire name of an enum value (`standard`, `running`).
pub(crate) fn wire_name<T: Serialize + std::fmt::Debug>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{value:?}"),
    }
}

/// Parses an enum value from its wire name, refusing anything else as a `ValidationError`.
pub(crate) fn parse_wire<T: DeserializeOwned>(field: &str, text: &str) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| invalid(field, format!("{text:?} is not a known value")))
}

/// Parses decimal credits (`"2.5"`) exactly.
pub(crate) fn parse_money(field: &str, text: &str) -> PyResult<Money> {
    text.parse::<Money>()
        .map_err(|error| invalid(field, error.to_string()))
}

/// The caller's account and its balance.
#[pyclass(module = "pictor._pictor", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct Account {
    /// The account's id (for a worker or checker account also its worker or checker id).
    pub id: u64,
    /// Its role: `creator`, `worker`, `checker` or `admin`.
    pub role: String,
    /// Display name.
    pub name: String,
    /// Spendable balance in micro-credits (1 credit = 1 000 000).
    pub balance_micros: u64,
    /// Spendable balance in credits, six decimals (`"12.500000"`).
    pub balance: String,
}

#[pymethods]
impl Account {
    fn __repr__(&self) -> String {
        format!(
            "Account(id={}, name={:?}, role={:?}, balance={:?})",
            self.id, self.name, self.role, self.balance
        )
    }
}

impl From<AccountView> for Account {
    fn from(view: AccountView) -> Self {
        Account {
            id: view.id.0,
            role: wire_name(&view.role),
            name: view.name,
            balance_micros: view.balance.micros(),
            balance: view.balance.to_string(),
        }
    }
}

/// Progress of a folder upload, passed to the `progress` callback after each chunk.
#[pyclass(module = "pictor._pictor", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct UploadProgress {
    /// Bytes of the scene done (uploaded, resumed or already held by the network).
    pub bytes_done: u64,
    /// Bytes of the scene in all.
    pub bytes_total: u64,
    /// Distinct files done.
    pub files_done: u64,
    /// Distinct files in all.
    pub files_total: u64,
}

#[pymethods]
impl UploadProgress {
    fn __repr__(&self) -> String {
        format!(
            "UploadProgress(bytes_done={}, bytes_total={}, files_done={}, files_total={})",
            self.bytes_done, self.bytes_total, self.files_done, self.files_total
        )
    }
}

impl From<pictor_sdk::UploadProgressEvent> for UploadProgress {
    fn from(event: pictor_sdk::UploadProgressEvent) -> Self {
        UploadProgress {
            bytes_done: event.bytes_done,
            bytes_total: event.bytes_total,
            files_done: event.files_done,
            files_total: event.files_total,
        }
    }
}

/// A committed scene folder: put its `id` in a `JobSpec`.
#[pyclass(module = "pictor._pictor", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct UploadedAsset {
    /// The asset id (64 hex digits).
    pub id: String,
    /// Bytes of all files.
    pub total_size: u64,
    /// Files in the scene.
    pub files: u32,
    /// Bytes this upload actually sent (0 when the network already held everything).
    pub bytes_sent: u64,
    /// Files sent.
    pub blobs_uploaded: u64,
    /// Files the network already held: nothing sent.
    pub blobs_skipped: u64,
}

#[pymethods]
impl UploadedAsset {
    fn __repr__(&self) -> String {
        format!(
            "UploadedAsset(id={:?}, files={}, total_size={}, bytes_sent={})",
            self.id, self.files, self.total_size, self.bytes_sent
        )
    }
}

impl From<pictor_sdk::UploadedAsset> for UploadedAsset {
    fn from(asset: pictor_sdk::UploadedAsset) -> Self {
        UploadedAsset {
            id: asset.id.to_string(),
            total_size: asset.total_size,
            files: asset.files,
            bytes_sent: asset.stats.bytes_sent,
            blobs_uploaded: asset.stats.blobs_uploaded,
            blobs_skipped: asset.stats.blobs_skipped,
        }
    }
}

/// One uploaded file (a blob).
#[pyclass(module = "pictor._pictor", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct UploadedBlob {
    /// BLAKE3 hex of the bytes.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Bytes this upload actually sent (0 when the network already held it).
    pub bytes_sent: u64,
}

#[pymethods]
impl UploadedBlob {
    fn __repr__(&self) -> String {
        format!(
            "UploadedBlob(hash={:?}, size={}, bytes_sent={})",
            self.hash, self.size, self.bytes_sent
        )
    }
}

impl From<pictor_sdk::UploadedBlob> for UploadedBlob {
    fn from(blob: pictor_sdk::UploadedBlob) -> Self {
        UploadedBlob {
            hash: blob.hash,
            size: blob.size,
            bytes_sent: blob.stats.bytes_sent,
        }
    }
}

/// The cost of the same plan in one tier.
#[pyclass(module = "pictor._pictor", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct TierQuote {
    /// The tier: `economy`, `standard` or `priority`.
    pub tier: String,
    /// Cost at median work, micro-credits.
    pub cost_p50_micros: u64,
    /// Cost at median work, credits.
    pub cost_p50: String,
    /// Cost at 90th-percentile work, micro-credits.
    pub cost_p90_micros: u64,
    /// Cost at 90th-percentile work, credits.
    pub cost_p90: String,
}

#[pymethods]
impl TierQuote {
    fn __repr__(&self) -> String {
        format!(
            "TierQuote(tier={:?}, cost_p50={:?}, cost_p90={:?})",
            self.tier, self.cost_p50, self.cost_p90
        )
    }
}

/// A price and time estimate. Nothing is held until the job is submitted.
#[pyclass(module = "pictor._pictor", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct Quote {
    /// The scheduling strategy that planned it.
    pub strategy: String,
    /// Cost at median work, micro-credits.
    pub cost_p50_micros: u64,
    /// Cost at median work, credits (`"0.012345"`).
    pub cost_p50: String,
    /// Cost at 90th-percentile work, micro-credits.
    pub cost_p90_micros: u64,
    /// Cost at 90th-percentile work, credits.
    pub cost_p90: String,
    /// Seconds to finish at median work.
    pub eta_p50_secs: f64,
    /// Seconds to finish at 90th-percentile work.
    pub eta_p90_secs: f64,
    /// What submitting moves into escrow, micro-credits: `min(cost_p90, budget_cap)`.
    pub escrow_hold_micros: u64,
    /// What submitting moves into escrow, credits.
    pub escrow_hold: String,
    /// True when the budget cap is below the P90 cost (the job may pause for a top-up).
    pub capped: bool,
    /// True when the deadline is met at median work but not at P90 work.
    pub deadline_at_risk: bool,
    /// The same plan's cost in every tier.
    pub tiers: Vec<TierQuote>,
}

#[pymethods]
impl Quote {
    fn __repr__(&self) -> String {
        format!(
            "Quote(cost_p50={:?}, cost_p90={:?}, eta_p90_secs={:.1}, escrow_hold={:?})",
            self.cost_p50, self.cost_p90, self.eta_p90_secs, self.escrow_hold
        )
    }
}

impl From<pictor_core::Quote> for Quote {
    fn from(quote: pictor_core::Quote) -> Self {
        Quote {
            strategy: quote.strategy,
            cost_p50_micros: quote.cost_p50.micros(),
            cost_p50: quote.cost_p50.to_string(),
            cost_p90_micros: quote.cost_p90.micros(),
            cost_p90: quote.cost_p90.to_string(),
            eta_p50_secs: quote.eta_p50_secs,
            eta_p90_secs: quote.eta_p90_secs,
            escrow_hold_micros: quote.escrow_hold.micros(),
            escrow_hold: quote.escrow_hold.to_string(),
            capped: quote.capped,
            deadline_at_risk: quote.deadline_at_risk,
            tiers: quote
                .tiers
                .into_iter()
                .map(|tier| TierQuote {
                    tier: wire_name(&tier.tier),
                    cost_p50_micros: tier.cost_p50.micros(),
                    cost_p50: tier.cost_p50.to_string(),
                    cost_p90_micros: tier.cost_p90.micros(),
                    cost_p90: tier.cost_p90.to_string(),
                })
                .collect(),
        }
    }
}

/// A render job and its progress.
#[pyclass(module = "pictor._pictor", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct Job {
    /// The job's id: what `job`, `cancel`, `watch`, `frames` and the other job methods take.
    pub id: u64,
    /// Its state: `queued`, `running`, `paused`, `completed`, `failed` or `cancelled`.
    pub state: String,
    /// The scene's asset id.
    pub scene: String,
    /// The frames asked for, e.g. `"1-4"`.
    pub frames: String,
    /// Frames asked for, counted.
    pub frames_total: u64,
    /// Tasks in all (one frame each unless split otherwise).
    pub tasks_total: u32,
    /// Tasks whose frames checkers accepted.
    pub tasks_accepted: u32,
    /// Money still held in escrow, micro-credits.
    pub escrow_micros: u64,
    /// Money still held in escrow, credits.
    pub escrow: String,
    /// Money paid out so far, micro-credits.
    pub spent_micros: u64,
    /// Money paid out so far, credits.
    pub spent: String,
    /// Why the job is paused (`creator` or `funds`), when it is.
    pub paused_reason: Option<String>,
    /// The quote the job was accepted on.
    pub quote: Quote,
    /// Unix time of submission, milliseconds.
    pub created_at_ms: u64,
}

#[pymethods]
impl Job {
    /// True once the job is `completed`, `failed` or `cancelled`.
    #[getter]
    fn is_final(&self) -> bool {
        matches!(self.state.as_str(), "completed" | "failed" | "cancelled")
    }

    fn __repr__(&self) -> String {
        format!(
            "Job(id={}, state={:?}, tasks_accepted={}, tasks_total={}, spent={:?})",
            self.id, self.state, self.tasks_accepted, self.tasks_total, self.spent
        )
    }
}

impl From<JobView> for Job {
    fn from(view: JobView) -> Self {
        Job {
            id: view.id.0,
            state: wire_name(&view.state),
            scene: view.spec.scene.to_string(),
            frames: view.spec.frames.to_string(),
            frames_total: view.spec.frames.len() as u64,
            tasks_total: view.tasks_total,
            tasks_accepted: view.tasks_accepted,
            escrow_micros: view.escrow.micros(),
            escrow: view.escrow.to_string(),
            spent_micros: view.spent.micros(),
            spent: view.spent.to_string(),
            paused_reason: view.paused_reason.as_ref().map(wire_name),
            quote: view.quote.into(),
            created_at_ms: view.created_at_ms,
        }
    }
}

/// An accepted frame the network holds.
#[pyclass(module = "pictor._pictor", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct Frame {
    /// The task that rendered it.
    pub task: u64,
    /// The frame number; a still cut into tiles is listed once per tile, each with its own `task`.
    pub frame: u32,
    /// BLAKE3 hex of the image file.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
}

#[pymethods]
impl Frame {
    fn __repr__(&self) -> String {
        format!(
            "Frame(frame={}, task={}, size={})",
            self.frame, self.task, self.size
        )
    }
}

impl From<FrameView> for Frame {
    fn from(view: FrameView) -> Self {
        Frame {
            task: view.task.0,
            frame: view.frame,
            hash: view.hash,
            size: view.size,
        }
    }
}

/// A frame written to disk by `download_frames`.
#[pyclass(module = "pictor._pictor", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct DownloadedFrame {
    /// The frame number, also in the file name; a tiled still gives one merged file, one entry.
    pub frame: u32,
    /// Where it was written: `dir/frame_0007.png`.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// False when a file with the right hash was already there (nothing downloaded).
    pub downloaded: bool,
}

#[pymethods]
impl DownloadedFrame {
    fn __repr__(&self) -> String {
        format!(
            "DownloadedFrame(frame={}, path={:?}, downloaded={})",
            self.frame, self.path, self.downloaded
        )
    }
}

impl From<pictor_sdk::DownloadedFrame> for DownloadedFrame {
    fn from(frame: pictor_sdk::DownloadedFrame) -> Self {
        DownloadedFrame {
            frame: frame.frame,
            path: frame.path.display().to_string(),
            size: frame.size,
            downloaded: frame.downloaded,
        }
    }
}

/// One event of a job, as `watch` yields it.
#[pyclass(module = "pictor._pictor", frozen)]
#[derive(Clone, Debug)]
pub struct JobEvent {
    /// Sequence number within the job, from 1.
    #[pyo3(get)]
    pub seq: u64,
    /// What happened: one of `pictor_core::api::JobEvent::KINDS` (`submitted`, `task_accepted`,
    /// `completed`, …).
    #[pyo3(get)]
    pub kind: String,
    /// Unix time, milliseconds.
    #[pyo3(get)]
    pub at_ms: u64,
    /// The event's fields as JSON text (the wire's `data`); the `data` property parses it.
    #[pyo3(get)]
    pub data_json: String,
    /// The frame number the event is about, when it names one.
    #[pyo3(get)]
    pub frame: Option<u64>,
}

#[pymethods]
impl JobEvent {
    /// The event's details (task id, frame, progress, state, …) as a `dict`.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?.call_method1("loads", (&self.data_json,))
    }

    /// True for `completed`, `failed` and `cancelled`: the last event of a job.
    #[getter]
    fn is_final(&self) -> bool {
        pictor_sdk::is_final_event(&self.kind)
    }

    fn __repr__(&self) -> String {
        format!(
            "JobEvent(seq={}, kind={:?}, data={})",
            self.seq, self.kind, self.data_json
        )
    }
}

impl From<JobEventView> for JobEvent {
    fn from(view: JobEventView) -> Self {
        let data = view.event.data();
        let frame = data.get("frame").and_then(serde_json::Value::as_u64);
        JobEvent {
            seq: view.seq,
            kind: view.kind().to_string(),
            at_ms: view.at_ms,
            data_json: data.to_string(),
            frame,
        }
    }
}
