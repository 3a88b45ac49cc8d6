//! The coordinator's domain service: every operation of the `/v1` API, independent of HTTP.
//!
//! # Consistency
//!
//! Writes are serialised: a write holds the in-memory [`Ledger`] lock, opens one store write
//! transaction, reads rows, applies `pictor-core`'s pure state machines and ledger operations, and
//! commits the rows, the new journal entries (sealed with the network key) and the job events
//! together. If anything fails before the commit (or the commit's fate is unknown), the transaction
//! rolls back and the in-memory ledger is marked stale: the next write rebuilds it from the durable
//! journal before anything else, so memory never runs ahead of the database. On a store shared
//! with other coordinators, every write first catches the ledger up with their entries.
//!
//! # Lock order
//!
//! `starting_lane` → `ledger` lock → store write connection. Nothing takes them in the other
//! order. A write that starts new work (a lease, a job) takes the starting lane first, so at most
//! one such write waits at the ledger lock; a write that settles work under way (a result, a
//! heartbeat, a check lease, a verdict) goes to the ledger lock directly, ahead of the rest. A
//! write that moves no money may take the write connection alone ([`Store::begin_write`]
//! serialises it).
//!
//! Reads take neither: they run on the store's read-only connections and read balances from
//! [`Coordinator::committed_balance`], a map published after each commit under a short synchronous
//! lock that is never held across an `.await`. So a burst of reads can slow other reads, but never
//! holds up a write (docs/ARCHITECTURE.md, "Consistency and lock order").
//!
//! # Modules, in layers
//!
//! Each module imports only from the layers below it (a test reads the `use super::` lines and
//! fails on a circle):
//!
//! 1. **Plumbing:** `config` (settings), `write` (the write transaction: the ledger lock, the
//!    store transaction, commit and rollback), `error`, `views` (rows → wire views), `auth`.
//! 2. **Money and news:** `escrow` (every hold, top-up, settlement, void and deposit of the
//!    ledger), `events` (job events appended in the write that causes them), `ledger` (journal
//!    persistence and verification), `market` (what a worker may declare).
//! 3. **The ripple:** `lifecycle` (what a task's change does to its job: requeue, failure,
//!    completion, closing an ended job's tasks) and `batches` (big jobs inserted and closed a
//!    batch per write).
//! 4. **Operations**, one module per concern: `accounts`, `assets`, `scenes` (what a job's scene
//!    needs: its renderer, the Blender that saved it), `quotes`, `jobs` (submit and
//!    read), `controls` (cancel, pause, resume, re-render), `registry` (workers), `leases`
//!    (dispatch, heartbeat, expiry), `results` (intake of signed results and failures), `checks`
//!    (checker leases and verdicts).

mod accounts;
mod assets;
mod auth;
mod batches;
mod bonds;
mod budgets;
mod checker_nodes;
mod checks;
mod config;
mod confirmations;
mod controls;
mod error;
mod escrow;
mod events;
mod explorer;
mod idle;
mod jobs;
mod leases;
mod ledger;
mod lifecycle;
pub mod market;
mod money_trail;
mod operator;
mod people;
mod probe_cheats;
mod probes;
mod provider_figures;
mod providers;
mod public_record;
mod quotes;
mod registry;
mod results;
mod scenes;
mod sessions;
mod statements;
mod stills;
pub mod trust;
mod views;
mod webhook_delivery;
mod webhook_signature;
mod webhooks;
mod worker_configs;
pub use views::FrameProgress;
mod write;

pub(crate) use auth::random_bytes;
pub use auth::{Caller, hash_api_key};
pub use budgets::BudgetStatus;
pub use checker_nodes::{CheckerCard, CheckerCheck};
pub use config::Config;
pub use error::{ServiceError, ServiceResult};
pub use events::EventBatch;
pub use explorer::{ExplorerSummary, PublicJob};
pub use ledger::{LedgerPage, read_journal, verify_store};
pub use market::MarketRules;
pub use money_trail::MoneyMove;
pub use operator::{COUNTERS, OperatorView, StuckTask};
pub use people::{PersonView, normalise_login};
pub use provider_figures::{CHART_DAYS, DayEarnings};
pub use providers::{
    ConfigState, MyWorkers, WorkerCard, WorkerDetail, WorkerHistoryItem, WorkerOutcome,
};
pub use public_record::{CheckRecord, FrameRecord, TaskRecord};
pub use sessions::{NewSession, WebSession};
pub use statements::{
    AccountEntry, AccountMoney, EntryTimes, MoneySummary, Statement, signed_credits, statement,
};
pub use webhook_signature::{SignatureError, sign as sign_webhook, verify as verify_webhook};
pub use webhooks::{EVENTS as WEBHOOK_EVENTS, WebhooksView};

pub(crate) use write::Write;

use crate::blobs::Blobs;
use crate::store::{JobWatch, Store};
use pictor_core::ledger::Account;
use pictor_core::ledger::{Ledger, SigningKey};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::{Mutex, broadcast};

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
    /// Proven cheats whose worker's bond was slashed.
    pub slashes: AtomicU64,
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
    blobs: Blobs,
    config: Config,
    ledger: Mutex<Ledger>,
    /// Writes that start new work queue for `ledger` here first, one at a time (see
    /// `Coordinator::write_settling`).
    starting_lane: Mutex<()>,
    /// Set when a write failed after moving the in-memory ledger (or its commit's fate is
    /// unknown): the next write rebuilds the ledger from the store first.
    ledger_stale: AtomicBool,
    /// The balances as of the last commit, for readers (see the module's "Lock order").
    committed_balances: RwLock<HashMap<Account, i128>>,
    key: SigningKey,
    events: broadcast::Sender<u64>,
    metrics: Metrics,
    data_dir: PathBuf,
    /// Accounts by API-key hash, as authentication found them (see `auth::KnownKeys`).
    known_keys: auth::KnownKeys,
    /// Workers whose last lease request found nothing (see `idle::IdleWorkers`).
    idle_workers: idle::IdleWorkers,
    /// Reads of job events shared by the streams following one job (`events::SharedEventReads`).
    event_reads: events::SharedEventReads,
    /// Journal seqs found at times (`statements::SeqAtTime`).
    seq_at_time: statements::SeqAtTime,
    /// The `/metrics` counters sampled over time, for the operator's charts.
    metric_history: operator::MetricHistory,
    /// On a shared store, the task forwarding other coordinators' job notices to `events`.
    _job_watch: Option<JobWatch>,
}

/// File name of the network's ed25519 signing key (64 hex digits) in the data directory, generated
/// at first start.
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
        blobs: Blobs,
        config: Config,
        data_dir: &Path,
    ) -> ServiceResult<Arc<Self>> {
        let key = auth::load_or_create_network_key(&data_dir.join(NETWORK_KEY_FILE))?;
        let ledger = ledger::load(&store, &key.verifying_key()).await?;
        let (events, _) = broadcast::channel(1024);
        let job_watch = store.watch_jobs(events.clone());
        let committed_balances = RwLock::new(ledger.accounts().collect());
        let coordinator = Arc::new(Coordinator {
            store,
            blobs,
            config,
            ledger: Mutex::new(ledger),
            ledger_stale: AtomicBool::new(false),
            starting_lane: Mutex::new(()),
            committed_balances,
            key,
            events,
            metrics: Metrics::default(),
            data_dir: data_dir.to_path_buf(),
            known_keys: auth::KnownKeys::default(),
            idle_workers: idle::IdleWorkers::default(),
            event_reads: events::SharedEventReads::default(),
            seq_at_time: statements::SeqAtTime::default(),
            metric_history: operator::MetricHistory::default(),
            _job_watch: job_watch,
        });
        coordinator.bind_network_key().await?;
        coordinator.bootstrap_admin().await?;
        Ok(coordinator)
    }

    /// The settings the coordinator was opened with; they do not change while it runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counters `/metrics` exports, bumped as requests are served.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The blob store holding uploaded scene files and rendered outputs, by BLAKE3 hash.
    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    /// The database of the coordinator's state; writing to it directly bypasses the ledger.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The directory holding the network key and the bootstrap admin key.
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

    /// The time now, from the configured [`Config::clock`].
    pub(crate) fn now_ms(&self) -> u64 {
        self.config.clock.now_ms()
    }
}
