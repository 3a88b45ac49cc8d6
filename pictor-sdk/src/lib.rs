//! `pictor-sdk`: the async client of the Pictor network API — creator, worker, checker and admin.
//!
//! Build one [`Client`] (cheap to clone) and reach each resource through its handle:
//! [`Client::accounts`], [`Client::assets`], [`Client::quotes`], [`Client::jobs`],
//! [`Client::workers`], [`Client::checks`], [`Client::ledger`]. Every future is `Send + 'static`;
//! lists and events are [`Stream`](futures_util::Stream)s; retries and timeouts are plain data
//! ([`RetryPolicy`], [`Timeouts`]). The wire types are [`pictor_core::api`]'s.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::TryStreamExt;
//! use pictor_core::{FrameSet, JobSpec};
//! use pictor_sdk::Client;
//!
//! let client = Client::builder()
//!     .endpoint("http://127.0.0.1:7878")
//!     .api_key("pk_…")
//!     .build()?;
//! let scene = client.assets().upload_folder("scenes/shot42", "shot42.blend").send().await?;
//! let spec = JobSpec::builder(scene.id, FrameSet::range(1, 48)?).build()?;
//! let quote = client.quotes().create(spec.clone()).await?;
//! println!("P90 {} in {:.0} s", quote.cost_p90, quote.eta_p90_secs);
//! let job = client.jobs().submit(spec).send().await?;
//! let events = client.jobs().events(job.id);
//! futures_util::pin_mut!(events);
//! while let Some(event) = events.try_next().await? {
//!     println!("{} {}", event.seq, event.kind());
//! }
//! client.jobs().download_frames(job.id, "out").await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod accounts;
pub mod assets;
pub mod blend;
pub mod checks;
mod client;
mod config;
mod download;
mod error;
pub mod events;
pub mod frames;
pub mod jobs;
pub mod ledger;
pub mod quotes;
mod retry;
mod scan;
mod sse;
mod tls;
pub mod workers;

pub use assets::{UploadProgressEvent, UploadStats, UploadedAsset, UploadedBlob};
pub use blend::{PackedBlend, pack_blend};
pub use client::{Client, ClientBuilder};
pub use config::{ClientConfig, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, Timeouts};
pub use error::{Error, Result};
pub use events::{FINAL_EVENT_KINDS, is_final_event};
pub use frames::DownloadedFrame;
pub use retry::RetryPolicy;
pub use tls::install_tls_provider;
pub use workers::{LeasePoll, public_key_hex, sign_result};

/// The wire types, re-exported for convenience.
pub use pictor_core::api;
