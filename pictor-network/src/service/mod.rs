//! The coordinator's domain service: every operation of the `/v1` API, independent of HTTP.
//!
//! # Consistency
//!
//! Writes are serialised: a write holds the in-memory [`Ledger`] lock, opens one store write
//! transaction, reads rows, applies `pictor-core`'s pure state machines and ledger operations, and
//! commits the rows, the new journal entries (sealed with the network key) and the job events
//! together. If anything fails before the commit, the transaction rolls back and the in-memory ledger
//! is rebuilt from the durable journal, so memory never runs ahead of the database.
//!
//! # Lock order
//!
//! `ledger` lock → store write connection. Nothing takes them in the other order, and a write that
//! moves no money may take the write connection alone ([`Store::begin_write`] serialises it).
//!
//! Reads take neither: they run on the store's read-only connections and read balances from
//! [`Coordinator::committed_balance`], a map published after each commit under a short synchronous
//! lock that is never held across an `.await`. So a burst of reads can slow other reads, but never
//! holds up a write (docs/ARCHITECTURE.md, "Consistency and lock order").

mod accounts;
mod assets;
mod auth;
mod batches;
mod checks;
mod error;
mod events;
mod jobs;
mod ledger;
pub mod market;
mod work;

pub use auth::{Caller, hash_api_key};
pub use error::{ServiceError, ServiceResult};
pub use events::FINAL_EVENT_KINDS;
pub use ledger::{LedgerPage, read_journal, verify_store};
pub use market::MarketRules;

use crate::blobs::{BlobLimits, FsBlobStore};
use crate::store::{Store, StoreTx};
use pictor_core::asset::ManifestLimits;
use pictor_core::ledger::Account;
use pictor_core::ledger::{Ledger, SigningKey};
use pictor_core::pricing::PricingConfig;
use pictor_core::task::TaskPolicy;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::{Mutex, MutexGuard, broadcast};

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
    /// Escalations of one result before it counts as rejected (default 2).
    pub max_escalations: u32,
    /// Largest JSON request body, bytes (default 4 MiB).
    pub max_body_bytes: usize,
    /// Blob size limits.
    pub blob_limits: BlobLimits,
    /// Bytes one account may hold in blobs, counting its uploads in progress at their announced
    /// size (default 64 GiB, a manifest's limit). Keeps one tenant from filling the disk every
    /// tenant and the ledger write to.
    pub storage_quota_bytes: u64,
    /// An upload nobody appended to for this long is removed (default 24 h).
    pub upload_ttl_ms: u64,
    /// Manifest limits.
    pub manifest_limits: ManifestLimits,
    /// The reference machine's speed in samples × pixels per second, which turns a spec into
    /// bench-seconds of work for quotes and prices (default 1.1 M, the built-in tracer on one core
    /// of the reference machine; see docs/BENCHMARKS.md).
    pub reference_samples_px_per_sec: f64,
    /// A worker counts as online this long after its last request (default 60 s).
    pub worker_online_ms: u64,
    /// While no worker able to render a job is online, the job is priced on the workers seen this
    /// recently and waits in the queue (default 7 days); older offers are not a market any more.
    pub market_memory_ms: u64,
    /// How often expired leases are swept (default 1 s).
    pub sweep_interval_ms: u64,
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
            storage_quota_bytes: 64 << 30,
            upload_ttl_ms: 24 * 3_600_000,
            manifest_limits: ManifestLimits::default(),
            reference_samples_px_per_sec: pictor_core::pricing::REFERENCE_SAMPLES_PX_PER_SEC,
            worker_online_ms: 60_000,
            market_memory_ms: 7 * 24 * 3_600_000,
            sweep_interval_ms: 1_000,
        }
    }
}

/// Counters exported at `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// HTTP requests served.
    pub requests: AtomicU64,
    /// Requests answered with an error.
    pub errors: AtomicU64,
    /// Tasks leased.
    pub leases: AtomicU64,
    /// Results accepted and settled.
    pub settlements: AtomicU64,
    /// Results rejected.
    pub rejections: AtomicU64,
    /// Leases that expired.
    pub expired_leases: AtomicU64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The coordinator: store, blobs, ledger and the network key.
pub struct Coordinator<S: Store> {
    store: S,
    blobs: FsBlobStore,
    config: Config,
    ledger: Mutex<Ledger>,
    /// The balances as of the last commit, for readers (see the module's "Lock order").
    committed_balances: RwLock<HashMap<Account, i128>>,
    key: SigningKey,
    events: broadcast::Sender<u64>,
    metrics: Metrics,
    data_dir: PathBuf,
}

/// A write in progress: the ledger lock, the transaction, and what to announce after the commit.
pub(crate) struct Write<'a, T: StoreTx> {
    pub(crate) tx: T,
    pub(crate) ledger: MutexGuard<'a, Ledger>,
    journal_mark: usize,
    touched_jobs: Vec<u64>,
}

impl<T: StoreTx> Write<'_, T> {
    /// Remembers that `job` got events, to wake its watchers after the commit.
    pub(crate) fn touched(&mut self, job: u64) {
        if !self.touched_jobs.contains(&job) {
            self.touched_jobs.push(job);
        }
    }
}

/// File names in the data directory.
pub const NETWORK_KEY_FILE: &str = "network.key";
/// The bootstrap admin key, written at first start with mode 0600.
pub const ADMIN_KEY_FILE: &str = "admin.key";

impl<S: Store> Coordinator<S> {
    /// Opens the coordinator on `store` and `blobs`, with its key and bootstrap files in `data_dir`:
    /// loads (or generates, on first start) the network's ed25519 key, rebuilds the ledger from the
    /// journal (refusing to start on a tampered one), and creates the bootstrap admin account when
    /// there are no accounts yet.
    pub async fn open(
        store: S,
        blobs: FsBlobStore,
        config: Config,
        data_dir: &Path,
    ) -> ServiceResult<Arc<Self>> {
        let key = auth::load_or_create_network_key(&data_dir.join(NETWORK_KEY_FILE))?;
        let ledger = ledger::load(&store, &key.verifying_key()).await?;
        let (events, _) = broadcast::channel(1024);
        let committed_balances = RwLock::new(ledger.accounts().collect());
        let coordinator = Arc::new(Coordinator {
            store,
            blobs,
            config,
            ledger: Mutex::new(ledger),
            committed_balances,
            key,
            events,
            metrics: Metrics::default(),
            data_dir: data_dir.to_path_buf(),
        });
        coordinator.bootstrap_admin().await?;
        Ok(coordinator)
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The blob store.
    pub fn blobs(&self) -> &FsBlobStore {
        &self.blobs
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The network's public key.
    pub fn public_key(&self) -> pictor_core::ledger::VerifyingKey {
        self.key.verifying_key()
    }

    /// A receiver of "job N has new events" notices.
    pub fn subscribe(&self) -> broadcast::Receiver<u64> {
        self.events.subscribe()
    }

    /// The balance of `account` as of the last committed write, without waiting for a writer.
    pub fn committed_balance(&self, account: Account) -> i128 {
        // A poisoned lock only means a panic elsewhere while publishing; the map is still whole.
        let balances = self
            .committed_balances
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        balances.get(&account).copied().unwrap_or(0)
    }

    /// Publishes the balances the journal entries after `mark` changed (called after their commit).
    fn publish_balances(&self, ledger: &Ledger, mark: usize) {
        let entries = ledger.journal().entries().get(mark..).unwrap_or_default();
        if entries.is_empty() {
            return;
        }
        let mut balances = self
            .committed_balances
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for entry in entries {
            for account in [entry.posting.debit, entry.posting.credit] {
                balances.insert(account, ledger.balance(account));
            }
        }
    }

    async fn write(&self) -> ServiceResult<Write<'_, S::Tx>> {
        let ledger = self.ledger.lock().await;
        let journal_mark = ledger.journal().len();
        let tx = self.store.begin_write().await?;
        Ok(Write {
            tx,
            ledger,
            journal_mark,
            touched_jobs: Vec::new(),
        })
    }

    /// Ends a write: commits on `Ok` (sealing and persisting new journal entries first), rolls back
    /// on `Err`; in both failure cases the in-memory ledger is rebuilt from the store if it moved.
    async fn finish<R>(
        &self,
        write: Write<'_, S::Tx>,
        result: ServiceResult<R>,
    ) -> ServiceResult<R> {
        let Write {
            mut tx,
            mut ledger,
            journal_mark,
            touched_jobs,
        } = write;
        let value = match result {
            Ok(value) => value,
            Err(error) => {
                drop(tx);
                if ledger.journal().len() != journal_mark {
                    *ledger = ledger::load(&self.store, &self.key.verifying_key()).await?;
                }
                return Err(error);
            }
        };
        let persisted = ledger::persist_new(&mut tx, &mut ledger, journal_mark, &self.key).await;
        let committed = match persisted {
            Ok(()) => tx.commit().await.map_err(ServiceError::from),
            Err(error) => Err(error),
        };
        if let Err(error) = committed {
            *ledger = ledger::load(&self.store, &self.key.verifying_key()).await?;
            return Err(error);
        }
        self.publish_balances(&ledger, journal_mark);
        drop(ledger);
        for job in touched_jobs {
            // Nobody listening is fine.
            let _ = self.events.send(job);
        }
        Ok(value)
    }

    /// A read-only transaction: waits for neither the ledger nor the writer.
    async fn read(&self) -> ServiceResult<S::Tx> {
        Ok(self.store.begin_read().await?)
    }

    /// A write transaction for a change that moves no money: the write connection alone, without
    /// the ledger lock (the lock order allows it; see the module's docs).
    async fn write_without_ledger(&self) -> ServiceResult<S::Tx> {
        Ok(self.store.begin_write().await?)
    }
}
