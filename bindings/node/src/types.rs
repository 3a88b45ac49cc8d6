//! The plain objects that cross into JavaScript, and their conversions from the SDK's types.
//!
//! Money is never a float: every amount is a [`MoneyValue`] (`Money` in JS) holding the exact
//! micro-credits as a decimal string and the amount formatted by `pictor_core::Money`'s `Display`
//! (`"12.500000"`).
//! Counters and ids are JS numbers (exact below 2^53).

use crate::error::{ResultExt, invalid, wire_name};
use napi_derive::napi;
use pictor_core::api::{AccountView, CreatedAccount, FrameView, JobEventView, JobView};
use pictor_core::job::{OutputFormat, SeedPolicy, SplitMode, Tier};
use pictor_core::{AssetId, FrameSet, JobSpec};

/// An exact amount of money.
#[napi(object, js_name = "Money")]
pub struct MoneyValue {
    /// Micro-credits (1 credit = 1,000,000), as a decimal string: `BigInt(money.micros)` for arithmetic.
    pub micros: String,
    /// Credits with six decimals, e.g. `"12.500000"`.
    pub formatted: String,
}

impl From<pictor_core::Money> for MoneyValue {
    fn from(money: pictor_core::Money) -> Self {
        MoneyValue {
            micros: money.micros().to_string(),
            formatted: money.to_string(),
        }
    }
}

/// A u64 counter, id or timestamp as a JS number (saturating: every real value fits).
pub(crate) fn number(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A JS number that must be a non-negative integer id.
pub(crate) fn id(field: &str, value: i64) -> napi::Result<u64> {
    u64::try_from(value).map_err(|_| invalid(field, format!("{value} is not a non-negative id")))
}

/// Parses an amount of credits (`"100"`, `"2.5"`, `"0.000001"`) exactly.
pub(crate) fn parse_money(field: &str, text: &str) -> napi::Result<pictor_core::Money> {
    text.parse::<pictor_core::Money>()
        .map_err(|error| invalid(field, error))
}

/// Options of `new Client(...)`.
#[napi(object)]
pub struct ClientOptions {
    /// The network's base URL, e.g. `http://127.0.0.1:7878`.
    pub endpoint: String,
    /// The API key (`pk_…`), sent as a bearer token; never logged.
    pub api_key: Option<String>,
    /// Total time limit of one ordinary request in milliseconds (default 60 000). Uploads, downloads
    /// and event streams have no total limit.
    pub timeout_ms: Option<u32>,
    /// Connection timeout in milliseconds (default 5 000).
    pub connect_timeout_ms: Option<u32>,
    /// Retries of idempotent requests after a connection error or a 429/502/503/504 (default 3).
    pub max_retries: Option<u32>,
}

/// What to render: the fields of a job spec. Omitted fields take the SDK's defaults (built-in
/// renderer, 640×360, 64 samples, PNG 8-bit, one frame per task, standard tier).
#[napi(object)]
pub struct JobSpecInput {
    /// The uploaded scene's asset id (from `uploadFolder`).
    pub scene: String,
    /// Frames, e.g. `"1-24"`, `"1,5,9-12"`.
    pub frames: String,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Samples per pixel.
    pub samples: Option<u32>,
    /// `"scene"` (Blender writes the frames with the scene's own settings; the default for
    /// Blender), `"png"` (the default for the built-in renderer), `"png16"` or `"exr"`.
    pub output: Option<String>,
    /// `"economy"`, `"standard"` or `"priority"`.
    pub tier: Option<String>,
    /// Frames per task (default 1).
    pub frames_per_task: Option<u32>,
    /// A fixed Monte Carlo seed for every frame (default 0).
    pub seed: Option<u32>,
    /// The most to pay, in credits (decimal string, exact): e.g. `"25"` or `"2.5"`.
    pub budget_cap: Option<String>,
    /// Seconds after submission by which the job should finish.
    pub deadline_secs: Option<u32>,
    /// Free-form labels.
    pub tags: Option<Vec<String>>,
    /// Makes the job an upscale of the asset's images (`000001.png`, … one per frame) with the
    /// catalog's SPAN models; `width`, `height` and `samples` are then not given.
    pub upscale: Option<UpscaleInput>,
}

/// An upscale job's settings.
#[napi(object)]
pub struct UpscaleInput {
    /// 2, 4, 8 (×4 then ×2) or 16 (×4 then ×4).
    pub factor: u32,
    /// The input images' width.
    pub input_width: u32,
    /// The input images' height.
    pub input_height: u32,
    /// Tile side of each pass, in input pixels (default 128).
    pub tile: Option<u32>,
    /// Context around each tile, in input pixels (default 24).
    pub context: Option<u32>,
    /// Cut a single image's output into tasks of this many pixels a side.
    pub task_tile: Option<u32>,
}

impl JobSpecInput {
    /// The SDK's [`JobSpec`], validated by its builder (the error names the field).
    pub(crate) fn into_spec(self) -> napi::Result<JobSpec> {
        let scene: AssetId = self.scene.parse().napi()?;
        let frames: FrameSet = self.frames.parse().napi()?;
        let mut builder = JobSpec::builder(scene, frames);
        if let Some(upscale) = &self.upscale {
            if self.width.is_some() || self.height.is_some() || self.samples.is_some() {
                return Err(invalid(
                    "upscale",
                    "an upscale's size is its input's times the factor: give no width, height \
                     or samples",
                ));
            }
            let input = pictor_core::job::Resolution {
                width: upscale.input_width,
                height: upscale.input_height,
            };
            let spec = pictor_core::job::catalog::span_spec(
                upscale.factor,
                input,
                upscale.tile.unwrap_or(128),
                upscale.context.unwrap_or(24),
            )
            .napi()?;
            builder = builder.upscale(spec);
            if let Some(side) = upscale.task_tile {
                builder = builder.split(SplitMode::Tiles {
                    tile_width: side,
                    tile_height: side,
                });
            }
        }
        if self.width.is_some() || self.height.is_some() {
            let (Some(width), Some(height)) = (self.width, self.height) else {
                return Err(invalid("width", "give both width and height"));
            };
            builder = builder.resolution(width, height);
        }
        if let Some(samples) = self.samples {
            builder = builder.samples(samples);
        }
        if let Some(output) = &self.output {
            builder = builder.output(output.parse::<OutputFormat>().napi()?);
        }
        if let Some(tier) = &self.tier {
            builder = builder.tier(tier.parse::<Tier>().napi()?);
        }
        if let Some(frames_per_task) = self.frames_per_task {
            builder = builder.split(SplitMode::FrameChunks { frames_per_task });
        }
        if let Some(seed) = self.seed {
            builder = builder.seed(SeedPolicy::Fixed(u64::from(seed)));
        }
        if let Some(cap) = &self.budget_cap {
            builder = builder.budget_cap(parse_money("budgetCap", cap)?);
        }
        if let Some(deadline) = self.deadline_secs {
            builder = builder.deadline_secs(u64::from(deadline));
        }
        for tag in self.tags.unwrap_or_default() {
            builder = builder.tag(tag);
        }
        builder.build().napi()
    }
}

/// Upload progress, reported after each chunk (and once at the start and the end).
#[napi(object)]
#[derive(Clone, Copy)]
pub struct UploadProgress {
    /// Bytes of the scene done (uploaded, resumed or already held by the network).
    pub bytes_done: i64,
    /// Bytes of the scene in all.
    pub bytes_total: i64,
    /// Distinct files done.
    pub files_done: i64,
    /// Distinct files in all.
    pub files_total: i64,
}

impl From<pictor_sdk::UploadProgressEvent> for UploadProgress {
    fn from(event: pictor_sdk::UploadProgressEvent) -> Self {
        UploadProgress {
            bytes_done: number(event.bytes_done),
            bytes_total: number(event.bytes_total),
            files_done: number(event.files_done),
            files_total: number(event.files_total),
        }
    }
}

/// What an upload moved.
#[napi(object)]
pub struct UploadStats {
    /// Bytes actually sent.
    pub bytes_sent: i64,
    /// Blobs sent.
    pub blobs_uploaded: i64,
    /// Blobs the network already held (nothing sent).
    pub blobs_skipped: i64,
}

impl From<pictor_sdk::UploadStats> for UploadStats {
    fn from(stats: pictor_sdk::UploadStats) -> Self {
        UploadStats {
            bytes_sent: number(stats.bytes_sent),
            blobs_uploaded: number(stats.blobs_uploaded),
            blobs_skipped: number(stats.blobs_skipped),
        }
    }
}

/// What `uploadFolder` answers: the committed scene's asset id and size, and what the upload moved.
#[napi(object)]
pub struct UploadedAsset {
    /// The asset id to put in a job spec's `scene`.
    pub id: String,
    /// Bytes of all files.
    pub total_size: i64,
    /// Files in the manifest.
    pub files: u32,
    /// What this upload moved.
    pub stats: UploadStats,
}

impl From<pictor_sdk::UploadedAsset> for UploadedAsset {
    fn from(asset: pictor_sdk::UploadedAsset) -> Self {
        UploadedAsset {
            id: asset.id.to_string(),
            total_size: number(asset.total_size),
            files: asset.files,
            stats: asset.stats.into(),
        }
    }
}

/// One uploaded blob.
#[napi(object)]
pub struct UploadedBlob {
    /// BLAKE3 hex of the bytes.
    pub hash: String,
    /// Size in bytes.
    pub size: i64,
    /// What this upload moved.
    pub stats: UploadStats,
}

impl From<pictor_sdk::UploadedBlob> for UploadedBlob {
    fn from(blob: pictor_sdk::UploadedBlob) -> Self {
        UploadedBlob {
            hash: blob.hash,
            size: number(blob.size),
            stats: blob.stats.into(),
        }
    }
}

/// The cost of a plan in one tier.
#[napi(object)]
pub struct TierQuote {
    /// `"economy"`, `"standard"` or `"priority"`.
    pub tier: String,
    /// Cost at P50 work.
    pub cost_p50: MoneyValue,
    /// Cost at P90 work.
    pub cost_p90: MoneyValue,
}

/// How the P90 cost would be shared at settlement.
#[napi(object)]
pub struct FeeSplit {
    /// The workers' share.
    pub worker: MoneyValue,
    /// The checkers' share.
    pub checker: MoneyValue,
    /// The network's share.
    pub network: MoneyValue,
}

/// A price and time estimate.
#[napi(object)]
pub struct Quote {
    /// The strategy that planned it.
    pub strategy: String,
    /// Cost at the median work estimate.
    pub cost_p50: MoneyValue,
    /// Cost at the 90th-percentile work estimate.
    pub cost_p90: MoneyValue,
    /// Seconds to finish at P50 work.
    pub eta_p50_secs: f64,
    /// Seconds to finish at P90 work.
    pub eta_p90_secs: f64,
    /// Amount moved into escrow on submit.
    pub escrow_hold: MoneyValue,
    /// True when the budget cap is below the P90 cost.
    pub capped: bool,
    /// True when the deadline is met at P50 but not at P90.
    pub deadline_at_risk: bool,
    /// The P90 cost's split.
    pub fee_split_p90: FeeSplit,
    /// The same plan in every tier.
    pub tiers: Vec<TierQuote>,
}

impl From<pictor_core::Quote> for Quote {
    fn from(quote: pictor_core::Quote) -> Self {
        let (worker, checker, network) = quote.fee_split_p90;
        Quote {
            strategy: quote.strategy,
            cost_p50: quote.cost_p50.into(),
            cost_p90: quote.cost_p90.into(),
            eta_p50_secs: quote.eta_p50_secs,
            eta_p90_secs: quote.eta_p90_secs,
            escrow_hold: quote.escrow_hold.into(),
            capped: quote.capped,
            deadline_at_risk: quote.deadline_at_risk,
            fee_split_p90: FeeSplit {
                worker: worker.into(),
                checker: checker.into(),
                network: network.into(),
            },
            tiers: quote
                .tiers
                .into_iter()
                .map(|tier| TierQuote {
                    tier: wire_name(&tier.tier),
                    cost_p50: tier.cost_p50.into(),
                    cost_p90: tier.cost_p90.into(),
                })
                .collect(),
        }
    }
}

/// The spec a job was submitted with (the main fields).
#[napi(object)]
pub struct JobSpecView {
    /// The scene's asset id.
    pub scene: String,
    /// The frames, e.g. `"1-24"`.
    pub frames: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Samples per pixel.
    pub samples: u32,
    /// `"png8"`, `"png16"` or `"exr"`.
    pub output: String,
    /// `"economy"`, `"standard"` or `"priority"`.
    pub tier: String,
    /// `"builtin"`, `"blender"` or `"upscale"`.
    pub renderer: String,
    /// An upscale job's factor.
    pub upscale_factor: Option<u32>,
    /// The budget cap, if any.
    pub budget_cap: Option<MoneyValue>,
    /// The deadline in seconds after submission, if any.
    pub deadline_secs: Option<i64>,
    /// Labels.
    pub tags: Vec<String>,
}

impl From<JobSpec> for JobSpecView {
    fn from(spec: JobSpec) -> Self {
        JobSpecView {
            scene: spec.scene.to_string(),
            frames: spec.frames.to_string(),
            width: spec.resolution.width,
            height: spec.resolution.height,
            samples: spec.samples,
            output: wire_name(&spec.output),
            tier: wire_name(&spec.tier),
            renderer: spec.renderer.kind.to_string(),
            upscale_factor: spec.upscale.as_ref().map(|upscale| upscale.factor),
            budget_cap: spec.budget_cap.map(Into::into),
            deadline_secs: spec.deadline_secs.map(number),
            tags: spec.tags.into_iter().collect(),
        }
    }
}

/// A job as its creator sees it.
#[napi(object)]
pub struct Job {
    /// The job's id: what `getJob`, `watch`, `frames`, `cancelJob` and the other job methods take.
    pub id: i64,
    /// `"quoted"`, `"queued"`, `"running"`, `"paused"`, `"completed"`, `"failed"` or `"cancelled"`.
    pub state: String,
    /// What was asked for.
    pub spec: JobSpecView,
    /// Tasks in all.
    pub tasks_total: u32,
    /// Tasks accepted by checkers.
    pub tasks_accepted: u32,
    /// Money still held in escrow.
    pub escrow: MoneyValue,
    /// Money paid out so far.
    pub spent: MoneyValue,
    /// `"creator"` or `"funds"` when paused.
    pub paused_reason: Option<String>,
    /// The quote the job was accepted on.
    pub quote: Quote,
    /// Unix time of submission, ms.
    pub created_at_ms: i64,
}

impl From<JobView> for Job {
    fn from(view: JobView) -> Self {
        Job {
            id: number(view.id.0),
            state: wire_name(&view.state),
            spec: view.spec.into(),
            tasks_total: view.tasks_total,
            tasks_accepted: view.tasks_accepted,
            escrow: view.escrow.into(),
            spent: view.spent.into(),
            paused_reason: view.paused_reason.as_ref().map(wire_name),
            quote: view.quote.into(),
            created_at_ms: number(view.created_at_ms),
        }
    }
}

/// One event of a job.
#[napi(object)]
pub struct JobEvent {
    /// Sequence number within the job, from 1.
    pub seq: i64,
    /// What happened: one of `pictor_core::api::JobEvent::KINDS` (`submitted`, `task_accepted`,
    /// `completed`, …).
    pub kind: String,
    /// Unix time, ms.
    pub at_ms: i64,
    /// The event's details (task id, frame, progress, state, …) as the network sent them.
    pub data: serde_json::Value,
}

impl From<JobEventView> for JobEvent {
    fn from(event: JobEventView) -> Self {
        JobEvent {
            seq: number(event.seq),
            kind: event.kind().to_string(),
            at_ms: number(event.at_ms),
            data: event.event.data(),
        }
    }
}

/// A verified frame (or tile) that can be downloaded.
#[napi(object)]
pub struct Frame {
    /// The task that produced it.
    pub task: i64,
    /// The frame number; a still cut into tiles is listed once per tile, each with its own `task`.
    pub frame: u32,
    /// BLAKE3 hex of the image file.
    pub hash: String,
    /// Size in bytes.
    pub size: i64,
}

impl From<FrameView> for Frame {
    fn from(frame: FrameView) -> Self {
        Frame {
            task: number(frame.task.0),
            frame: frame.frame,
            hash: frame.hash,
            size: number(frame.size),
        }
    }
}

/// A frame written by `downloadFrames`.
#[napi(object)]
pub struct DownloadedFrame {
    /// The frame number, also in the file name; a tiled still gives one merged file, one entry.
    pub frame: u32,
    /// Where it was written: `dir/frame_0001.png`.
    pub path: String,
    /// Its size in bytes.
    pub size: i64,
    /// False when a file with the right hash was already there.
    pub downloaded: bool,
}

impl From<pictor_sdk::DownloadedFrame> for DownloadedFrame {
    fn from(frame: pictor_sdk::DownloadedFrame) -> Self {
        DownloadedFrame {
            frame: frame.frame,
            path: frame.path.display().to_string(),
            size: number(frame.size),
            downloaded: frame.downloaded,
        }
    }
}

/// An account, as `me`, `getAccount` and `deposit` answer it.
#[napi(object)]
pub struct Account {
    /// The account's id, as `getAccount` and `deposit` take it (for a worker or checker account
    /// also its worker or checker id).
    pub id: i64,
    /// `"admin"`, `"creator"`, `"worker"`, `"checker"` or `"farm"`.
    pub role: String,
    /// Display name.
    pub name: String,
    /// Spendable balance.
    pub balance: MoneyValue,
}

impl From<AccountView> for Account {
    fn from(view: AccountView) -> Self {
        Account {
            id: number(view.id.0),
            role: wire_name(&view.role),
            name: view.name,
            balance: view.balance.into(),
        }
    }
}

/// A new account and its API key (shown this once; keep it secret).
#[napi(object)]
pub struct NewAccount {
    /// The account just opened; its balance stays zero until a deposit (or earnings).
    pub account: Account,
    /// The API key (`pk_…`).
    pub api_key: String,
}

impl From<CreatedAccount> for NewAccount {
    fn from(created: CreatedAccount) -> Self {
        NewAccount {
            account: created.account.into(),
            api_key: created.api_key,
        }
    }
}
