//! # pictor-core
//!
//! The domain model of Pictor, a decentralized GPU rendering network: jobs and frame sets, tasks and
//! their state machine, integer money, pricing and quotes, the hash-chained ledger model, the clock,
//! and the API wire types shared by the SDK and the network. No network I/O, no image codecs and no
//! solvers live here: the scheduler is `pictor-schedule`, the frame verifier `pictor-verify`, the
//! renderer interface `pictor-render`, so the SDK and the bindings build only what they use.
#![warn(missing_docs)]

pub mod api;
pub mod asset;
pub mod clock;
pub mod error;
pub mod ids;
pub mod job;
pub mod ledger;
pub mod money;
pub mod pricing;
pub mod private_fs;
#[cfg(feature = "schema")]
pub mod schema;
pub mod task;

pub use asset::{BlobHash, Manifest, ManifestEntry, ManifestLimits};
pub use error::{Error, Result};
pub use ids::{AccountId, AssetId, CheckId, CheckerId, JobId, TaskId, WorkerId};
pub use job::{
    Engine, FrameSet, GpuVendor, HardwareRequirements, JobSpec, OutputFormat, RendererKind,
    Resolution, SeedPolicy, SplitMode, Tier, Version, VersionConstraint,
};
pub use ledger::{
    Account, AccountKind, Journal, Ledger, Seal, Settlement, Transfer, TransferId, TransferStatus,
};
pub use money::{Money, Rounding};
pub use pricing::{
    FeeSplit, OfferKind, PricingConfig, Quote, Reliability, TierMultipliers, TierQuote,
    WorkEstimate, WorkerOffer,
};
