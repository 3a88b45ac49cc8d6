//! # pictor-agent
//!
//! The programs a GPU owner and a checker run against a Pictor network, built on `pictor-sdk`, cut
//! by concern:
//!
//! - [`config`] — `worker.toml`, the file a GPU owner imports, and the worker's key.
//! - [`events`] — what the worker tells whoever runs it ([`WorkerEvent`]).
//! - [`registration`] — `init_worker`, what the machine offers (renderers, hardware, benchmark)
//!   and registering it.
//! - `activity` — telling the network what the worker is doing, for its owner's page.
//! - [`worker`] — `run_worker`: the run loop that leases tasks, `slots` at a time, and the idle
//!   command between them.
//! - [`executor`] — one leased task end to end: fetch the scene, render, upload, sign.
//! - [`upscale_job`] — an upscale task's pixels: the job's models from the models folder
//!   ([`ShelfUpscaler`]), or another [`Upscaler`].
//! - [`heartbeat`] — renewing a lease while its task renders, and why a render is cancelled
//!   ([`CancelReason`]).
//! - [`outbox`] — signed results kept on disk until the network has them ([`Outbox`]).
//! - [`checker`] — `run_checker`: lease checks, verify with `pictor-verify`, post verdicts.
//! - [`cache`], [`scene`] — the content-addressed blob cache and safe scene materialization.
//! - [`idle`] — the `--idle-command` supervisor.
//! - [`farm`] — render farms as compute sources: the farm adapter on Slurm and what its nodes run.
//! - [`retry`] — the one retry helper, with its policy as data ([`RetryPolicy`]).
#![warn(missing_docs)]

mod activity;
pub mod cache;
pub mod checker;
pub mod config;
pub mod events;
pub mod executor;
pub mod farm;
pub mod heartbeat;
pub mod idle;
pub mod outbox;
pub mod registration;
mod render_job;
pub mod retry;
pub mod scene;
pub mod upscale_job;
pub mod worker;

pub use cache::BlobCache;
pub use checker::{
    CheckerEvent, CheckerOptions, CheckerSummary, DEFAULT_KEEP_SCENE_OPEN, run_checker,
};
pub use config::WorkerConfig;
pub use events::WorkerEvent;
pub use executor::{RendererFactory, installed_renderers, standard_renderer};
pub use heartbeat::CancelReason;
pub use outbox::Outbox;
pub use registration::{RenderersOffered, benchmark_builtin, init_worker};
pub use retry::RetryPolicy;
pub use upscale_job::{ShelfUpscaler, Upscaler};
pub use worker::{WorkerOptions, WorkerSummary, run_worker};
