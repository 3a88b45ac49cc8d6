//! The coordinator's settings, each with its documented default.

use super::MarketRules;
use super::trust::TrustRules;
use crate::blobs::{BlobLimits, BlobLocation};
use pictor_core::asset::ManifestLimits;
use pictor_core::clock::Clock;
use pictor_core::pricing::PricingConfig;
use pictor_core::task::TaskPolicy;
use std::sync::Arc;

/// Settings of a coordinator, with documented defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// Lease length and retry cap of tasks (defaults: 120 s, 5 attempts).
    pub task_policy: TaskPolicy,
    /// How long a checker holds a check without answering (default 300 s).
    pub check_lease_ttl_ms: u64,
    /// Fee split and tier multipliers.
    pub pricing: PricingConfig,
    /// Rejected results after which a worker is barred from a job (default 1: a checker's false
    /// reject is rarer than 1 in 1,000, and a barred honest worker only loses that job).
    pub block_after_rejects: u32,
    /// Failed or expired attempts after which a worker is barred from a job (default 2): one worker
    /// can spend at most this many of a task's attempts, so a job fails only when several workers
    /// have failed it.
    pub block_after_failures: u32,
    /// What a worker may declare and what the network believes of it.
    pub market: MarketRules,
    /// Escalations of one result before it is inconclusive: not paid, rendered again, and not
    /// counted against its worker (default 2).
    pub max_escalations: u32,
    /// Largest JSON request body, bytes (default 4 MiB).
    pub max_body_bytes: usize,
    /// Blob size limits.
    pub blob_limits: BlobLimits,
    /// Where the blobs live (default: the data directory's `blobs/` folder).
    pub blob_location: BlobLocation,
    /// Bytes one account may hold in blobs, counting its uploads in progress at their announced
    /// size (default 64 GiB, a manifest's limit). Keeps one tenant from filling the disk every
    /// tenant and the ledger write to.
    pub storage_quota_bytes: u64,
    /// An upload nobody appended to for this long is removed (default 24 h).
    pub upload_ttl_ms: u64,
    /// A web session (Pictor Cloud) stops working this long after sign-in (default 12 h).
    pub web_session_ttl_ms: u64,
    /// Sign-in attempts one client address may make per minute (default 10); the whole
    /// coordinator takes at most 10 times as many.
    pub sign_in_attempts_per_minute: u32,
    /// Mark the session cookie `Secure` (set when the app is served over HTTPS, e.g. behind a TLS
    /// proxy; default false, so that plain-HTTP sign-in on 127.0.0.1 works).
    pub secure_cookies: bool,
    /// Manifest limits.
    pub manifest_limits: ManifestLimits,
    /// The reference machine's speed in samples × pixels per second, which turns a spec into
    /// bench-seconds of work for quotes and prices (default 1.1 M, the built-in tracer on one core
    /// of the reference machine; see docs/BENCHMARKS.md).
    pub reference_samples_px_per_sec: f64,
    /// A worker counts as online this long after its last request (default 60 s).
    pub worker_online_ms: u64,
    /// Lease requests a second the idle workers together should make at most (default 500): past
    /// that, a `204` to a lease request carries `Retry-After` spreading their polls (0: never).
    pub idle_polls_per_second: u32,
    /// While no worker able to render a job is online, the job is priced on the workers seen this
    /// recently and waits in the queue (default 7 days); older offers are not a market any more.
    pub market_memory_ms: u64,
    /// How often expired leases are swept (default 1 s).
    pub sweep_interval_ms: u64,
    /// Webhook endpoints may be plain `http://` on a loopback address, and deliveries may go to
    /// loopback addresses (default false: only `https://` to public addresses; tests and local
    /// development turn it on).
    pub webhooks_allow_loopback: bool,
    /// The wait after a webhook delivery's first failed try, doubled after each further one up
    /// to an hour (default 1 s).
    pub webhook_retry_base_ms: u64,
    /// Bonds, redundant checks, probes and penalties (docs/TRUST.md).
    pub trust: TrustRules,
    /// Where the coordinator reads the time (default: the wall clock). Tests hand it a
    /// [`ManualClock`](pictor_core::clock::ManualClock) and move time instead of waiting.
    pub clock: Arc<dyn Clock>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            task_policy: TaskPolicy::default(),
            check_lease_ttl_ms: 300_000,
            pricing: PricingConfig::default(),
            block_after_rejects: 1,
            block_after_failures: 2,
            market: MarketRules::default(),
            max_escalations: 2,
            max_body_bytes: 4 << 20,
            blob_limits: BlobLimits::default(),
            blob_location: BlobLocation::default(),
            storage_quota_bytes: 64 << 30,
            upload_ttl_ms: 24 * 3_600_000,
            web_session_ttl_ms: 12 * 3_600_000,
            sign_in_attempts_per_minute: 10,
            secure_cookies: false,
            manifest_limits: ManifestLimits::default(),
            reference_samples_px_per_sec: pictor_core::pricing::REFERENCE_SAMPLES_PX_PER_SEC,
            worker_online_ms: 60_000,
            idle_polls_per_second: 500,
            market_memory_ms: 7 * 24 * 3_600_000,
            sweep_interval_ms: 1_000,
            webhooks_allow_loopback: false,
            webhook_retry_base_ms: 1_000,
            trust: TrustRules::default(),
            clock: pictor_core::clock::system(),
        }
    }
}
